"""The grid: targets x supporting tasks x strategies x seeds, and each run's step budget."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from mtl_pipeline.config import ExperimentsBudget, ExperimentsConfig, parse_section

#: The baseline every cell is compared with; always run (it is also STILTs' first phase).
BASELINE = "single_task"
#: Strategies that pair a target with one supporting task.
PAIR_STRATEGIES = ("pairwise", "stilts")


@dataclass(frozen=True)
class Grid:
    targets: list[str]
    supports: list[str]
    strategies: list[str]
    seeds: list[int]
    budget: ExperimentsBudget

    @property
    def tasks(self) -> list[str]:
        """Every task the grid trains (MTL-ALL's task set), in configuration order."""
        return list(dict.fromkeys(self.targets + self.supports))

    def supports_for(self, target: str) -> list[str]:
        return [s for s in self.supports if s != target]

    @property
    def needs_pairs(self) -> bool:
        return any(s in PAIR_STRATEGIES for s in self.strategies)

    @property
    def needs_mtl(self) -> bool:
        return any(s in ("mtl_all", "mtl_then_finetune") for s in self.strategies)

    def steps(self, n_tasks: int = 1) -> int:
        """Optimizer steps of a run over ``n_tasks`` tasks at once (1: a single-task phase)."""
        per_task = self.budget.steps
        return per_task * n_tasks if self.budget.joint_steps_per_task else per_task

    def train_cap(self, task: str) -> int | None:
        caps = self.budget.max_train_examples
        return caps.get(task) if isinstance(caps, dict) else caps

    def cell_count(self) -> dict[str, int]:
        """Training runs per seed, by kind (for the time estimate in docs/strategies.md)."""
        pairs = sum(len(self.supports_for(t)) for t in self.targets)
        counts = {BASELINE: len(self.tasks)}
        for strategy in self.strategies:
            if strategy in PAIR_STRATEGIES:
                counts[strategy] = pairs
            elif strategy == "mtl_all":
                counts[strategy] = 1
            elif strategy == "mtl_then_finetune":
                counts[strategy] = len(self.targets)
        return counts

    def steps_per_seed(self) -> int:
        """Optimizer steps one seed of the grid trains (evaluations not counted)."""
        counts = self.cell_count()
        n = len(self.tasks)
        total = counts[BASELINE] * self.steps()
        total += counts.get("pairwise", 0) * self.steps(2)
        total += counts.get("stilts", 0) * self.steps()  # phase 1 is the support's baseline
        if self.needs_mtl:
            total += self.steps(n)
        total += counts.get("mtl_then_finetune", 0) * self.steps()
        return total


def resolve_grid(experiments: dict[str, Any] | ExperimentsConfig, task_names: list[str]) -> Grid:
    """The grid for the configured tasks (``targets``/``supports`` null: all of them)."""
    cfg = (
        experiments
        if isinstance(experiments, ExperimentsConfig)
        else parse_section(ExperimentsConfig, experiments, "experiments")
    )
    order = {t: i for i, t in enumerate(task_names)}
    targets = sorted(cfg.targets or task_names, key=order.__getitem__)
    supports = sorted(cfg.supports or task_names, key=order.__getitem__)
    return Grid(targets, supports, list(cfg.strategies), list(cfg.seeds), cfg.budget)
