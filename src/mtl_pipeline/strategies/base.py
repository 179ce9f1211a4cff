"""The strategy interface: a strategy is a short sequence of training phases.

Every phase is one ``training.phase.train_phase`` call: fresh heads, fresh optimizer and
schedule, best step kept. Strategies are components registered through the plugin hook
``register_strategies`` (the built-ins in ``builtin_plugin``); ``training.run.run_training``
looks ``training.strategy`` up in the registry and calls its ``fit``.
A strategy only decides which tasks each phase trains, what a phase starts from (an
earlier phase's weights via ``init``), which tasks pick its best step, and which phase's
model answers for which task. ``package`` turns that into the one ``MultiTaskModel`` and
history the training node returns, so evaluation and reporting need not know strategies.
"""

from __future__ import annotations

import hashlib
import math
import re
from abc import ABC, abstractmethod
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar

from mtl_pipeline.components import Component
from mtl_pipeline.config import STRATEGY_TRAINING_KEYS, ModelConfig, TaskConfig, TrainingConfig
from mtl_pipeline.errors import ConfigError


@dataclass
class Phase:
    """One finished training run: the model at its best step and the trainer's history."""

    name: str
    tasks: list[str]
    selection: list[str]
    model: Any  # MultiTaskModel
    history: dict[str, Any]
    transfer: dict[str, Any] | None = None  # TransferReport.as_dict() when it started from another

    def best_for(
        self, task: str, higher_is_better: bool, metric: str
    ) -> tuple[int, dict[str, float]]:
        """``(step, metrics)`` of the evaluation best for ``task`` alone (earliest on ties).

        For a phase selected on ``task`` this is the restored best step; for MTL-ALL it is
        the step each target would keep with a checkpoint of its own.
        """
        best: tuple[int, dict[str, float]] | None = None
        for entry in self.history.get("evaluations", []):
            values = entry["metrics"][task]
            value = values[metric]
            if not math.isfinite(value):
                continue
            if best is None or (
                value > best[1][metric] if higher_is_better else value < best[1][metric]
            ):
                best = (int(entry["step"]), values)
        if best is None:
            raise ValueError(f"phase {self.name}: no finite evaluation of {task}.{metric}")
        return best

    def identity(self) -> str:
        """What a later phase started from, for its checkpoint fingerprint."""
        return f"|{self.name}@{self.history.get('best_step')}:{self.history.get('best_score')!r}"


@dataclass
class StrategyContext:
    """Parsed configs and data one strategy run (or one grid cell) works with."""

    model_cfg: ModelConfig
    train_cfg: TrainingConfig
    task_cfgs: dict[str, TaskConfig]
    task_data: dict[str, dict[str, Any]]
    #: Evaluations per phase; None keeps ``training.eval_every`` (the experiments grid sets it
    #: because its phases have different lengths).
    evaluations: int | None = None
    #: Each phase keeps its last-step checkpoint for the caller (``run_training``).
    keep_final_checkpoints: bool = False

    @property
    def tasks(self) -> list[str]:
        return list(self.task_data)

    def phase(
        self,
        name: str,
        tasks: list[str],
        *,
        steps: int | None = None,
        selection: list[str] | None = None,
        init: Callable[[Any], Any] | None = None,
        source: Phase | None = None,
    ) -> Phase:
        """Train ``tasks`` for ``steps`` (default ``training.max_steps``), selecting on
        ``selection`` (default: all of them); ``init(architecture)`` may load weights and
        return a report (``source`` is the phase it loads from)."""
        from mtl_pipeline.training.phase import train_phase

        missing = [t for t in tasks if t not in self.task_data]
        if missing:
            raise ConfigError(f"phase {name}: no data for task(s) {', '.join(missing)}")
        max_steps = steps or self.train_cfg.max_steps
        update: dict[str, Any] = {
            "max_steps": max_steps,
            # Each phase checkpoints on its own, so phases never resume each other's state.
            "checkpoint_dir": str(Path(self.train_cfg.checkpoint_dir) / _safe(name)),
            "strategy": "mtl_all",
            **dict.fromkeys(STRATEGY_TRAINING_KEYS),
        }
        if self.evaluations:
            update["eval_every"] = evaluation_interval(max_steps, self.evaluations)
        cfg = self.train_cfg.model_copy(update=update)
        reports: list[Any] = []

        def _init(architecture: Any) -> None:
            assert init is not None
            reports.append(init(architecture))

        model, history = train_phase(
            self.model_cfg,
            cfg,
            {t: self.task_cfgs[t] for t in tasks},
            {t: self.task_data[t] for t in tasks},
            init=_init if init is not None else None,
            selection_tasks=selection,
            fingerprint_extra=_digest(source.identity()) if source is not None else "",
            keep_final_checkpoint=self.keep_final_checkpoints,
        )
        report = reports[0] if reports else None
        transfer = report.as_dict() if hasattr(report, "as_dict") else None
        return Phase(name, list(tasks), list(selection or tasks), model, history, transfer)


@dataclass
class StrategyResult:
    """The phases a strategy ran, and which phase's model answers for each task."""

    strategy: str
    phases: list[Phase]
    serving: dict[str, Phase] = field(default_factory=dict)


class Strategy(Component, ABC):
    """A transfer strategy, selected by ``training.strategy`` (a registered component).

    A strategy declares which of the strategy keys of ``training``
    (``STRATEGY_TRAINING_KEYS``) it reads, so that the run's configuration is checked
    against the strategy itself, before any data is read: a key it does not read is an
    error rather than a silent no-op, and a required key it lacks is named.
    """

    name: ClassVar[str] = ""
    description: ClassVar[str] = ""
    #: The strategy keys of ``training`` this strategy reads: key -> required.
    training_keys: ClassVar[Mapping[str, bool]] = {}
    #: Keys (among ``training_keys``) naming the tasks the strategy trains: when non-empty,
    #: the run trains exactly these tasks, each a different one, and ``task_selection``
    #: narrows the configured tasks to them.
    task_keys: ClassVar[tuple[str, ...]] = ()

    @abstractmethod
    def run(self, ctx: StrategyContext) -> StrategyResult:
        """Train and say which model serves which task (every task of ``ctx`` it covers)."""

    def fit(self, ctx: StrategyContext) -> tuple[Any, dict[str, Any]]:
        """``(MultiTaskModel, history)`` as the training node returns them: ``run``, then
        one model for every served task and one history on one step axis (``package``)."""
        return package(self.run(ctx), ctx)


def evaluation_interval(steps: int, evaluations: int) -> int:
    """``eval_every`` that gives ``evaluations`` evaluations over ``steps`` steps (the last
    one at the final step); the experiments grid's phases differ in length."""
    return max(1, math.ceil(steps / evaluations))


def _safe(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", name)


def _digest(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def package(result: StrategyResult, ctx: StrategyContext) -> tuple[Any, dict[str, Any]]:
    """One ``MultiTaskModel`` for every served task, and one history for the reports.

    One phase serving everything (pairwise): that phase's model. Several (single-task,
    STILTs, fine-tuning): a ``per_task`` bundle whose copy for task ``t`` holds exactly the
    weights of the phase serving ``t``.
    """
    phases = {id(p): p for p in result.serving.values()}
    if len(phases) == 1:
        model = next(iter(phases.values())).model
    else:
        model = _bundle(result, ctx)
    return model, merge_histories(result, ctx, model)


def _bundle(result: StrategyResult, ctx: StrategyContext) -> Any:
    from mtl_pipeline.encoders import load_encoder
    from mtl_pipeline.modeling.multitask_model import MultiTaskModel, build_architecture
    from mtl_pipeline.strategies.transfer import carry_over

    model_cfg = ctx.model_cfg
    base = {"name": model_cfg.architecture.name, **model_cfg.architecture.options}
    metas = {task: phase.model.tasks[task] for task, phase in result.serving.items()}
    encoder = load_encoder(model_cfg.encoder, trust_remote_code=model_cfg.trust_remote_code)
    architecture = build_architecture("per_task", {"base": base}, encoder, metas)
    for task, phase in result.serving.items():
        carry_over(phase.model.architecture, architecture.models[task], keep_tasks=[task])
    architecture.eval()
    tokenizer = next(iter(result.serving.values())).model.tokenizer
    config = {
        "encoder": model_cfg.encoder,
        "max_length": model_cfg.max_length,
        "architecture": {"name": "per_task", "base": base},
        "trust_remote_code": model_cfg.trust_remote_code,
    }
    return MultiTaskModel(architecture, tokenizer, metas, config)


def merge_histories(result: StrategyResult, ctx: StrategyContext, model: Any) -> dict[str, Any]:
    """The phases' histories on one step axis (phase 2 continues where phase 1 stopped).

    Entries keep their phase's name under ``phase``; ``phases`` summarizes each phase
    (steps, best step, what it carried over); ``serving`` says which phase answers for
    which task. ``best_step`` is set when one phase serves every task, else null (each task
    has its own, under ``best_per_task``).
    """
    merged: dict[str, Any] = {
        "strategy": result.strategy,
        "steps": [],
        "evaluations": [],
        "sampler_probabilities": [],
        "gradient_conflicts": [],
        "skipped_steps": [],
        "phases": [],
    }
    offsets, seconds = _merge_phases(result.phases, merged)
    last = result.phases[-1].history
    serving = {task: phase.name for task, phase in result.serving.items()}
    best_per_task = {}
    for task, phase in result.serving.items():
        step = phase.history["best_step"]
        entry = next((e for e in phase.history.get("evaluations", []) if e["step"] == step), None)
        best_per_task[task] = {
            "phase": phase.name,
            "step": step + offsets[phase.name],
            "metrics": entry["metrics"][task] if entry else None,
        }
    single = len({id(p) for p in result.serving.values()}) == 1
    only = next(iter(result.serving.values()))
    merged.update(
        {
            "serving": serving,
            "best_per_task": best_per_task,
            "best_step": only.history["best_step"] + offsets[only.name] if single else None,
            "best_score": only.history["best_score"] if single else None,
            "seconds": seconds,
            "device": last.get("device"),
            "precision": last.get("precision"),
            "architecture_report": model.architecture.report(),
            "config": {"model": ctx.model_cfg.model_dump(), "training": ctx.train_cfg.model_dump()},
        }
    )
    return merged


def _merge_phases(phases: list[Phase], merged: dict[str, Any]) -> tuple[dict[str, int], float]:
    """Append every phase's entries to ``merged`` on one step axis (each shifted by the
    steps before it, tagged with its phase) and summarize each phase under ``phases``.
    Returns each phase's step offset and the total seconds."""
    offsets: dict[str, int] = {}
    offset, seconds = 0, 0.0
    for phase in phases:
        history = phase.history
        offsets[phase.name] = offset
        for key in ("steps", "evaluations", "sampler_probabilities", "gradient_conflicts"):
            for entry in history.get(key) or []:
                merged[key].append({**entry, "step": entry["step"] + offset, "phase": phase.name})
        merged["skipped_steps"] += [s + offset for s in history.get("skipped_steps") or []]
        merged["phases"].append(
            {
                "name": phase.name,
                "tasks": phase.tasks,
                "selection": phase.selection,
                "first_step": offset + 1,
                "steps": len(history.get("steps") or []),
                "best_step": history["best_step"] + offset,
                "best_score": history["best_score"],
                "seconds": history.get("seconds", 0.0),
                "transfer": phase.transfer,
            }
        )
        offset += len(history.get("steps") or [])
        seconds += float(history.get("seconds") or 0.0)
    return offsets, seconds


def check_strategy_keys(
    strategy: type[Strategy],
    training: TrainingConfig,
    tasks: list[str],
    readers_of: Callable[[str], list[str]],
) -> None:
    """Refuse strategy keys of ``training`` that ``strategy`` does not read, required keys
    it lacks, and task keys that name unknown, repeated or missing tasks.

    ``readers_of(key)`` lists the registered strategies that read ``key`` (for the message).
    """
    name = strategy.name
    for key in STRATEGY_TRAINING_KEYS:
        if getattr(training, key) is not None and key not in strategy.training_keys:
            readers = ", ".join(readers_of(key)) or "none"
            raise ConfigError(
                f"training.{key} is not read by strategy {name}; strategies that read it: {readers}"
            )
    missing = [k for k, required in strategy.training_keys.items() if required]
    missing = [k for k in missing if getattr(training, k) is None]
    if missing:
        raise ConfigError(
            f"training.strategy {name} needs " + " and ".join(f"training.{k}" for k in missing)
        )
    named = [getattr(training, key) for key in strategy.task_keys]
    for key, task in zip(strategy.task_keys, named, strict=True):
        if task not in tasks:
            raise ConfigError(f"training.{key}: {task!r} is not in tasks ({', '.join(tasks)})")
    if len(set(named)) != len(named):
        keys = " and ".join(f"training.{k}" for k in strategy.task_keys)
        raise ConfigError(f"{keys} name the same task {named[0]!r}; expected different tasks")
    extra = sorted(set(tasks) - set(named)) if named else []
    if extra:
        raise ConfigError(
            f"training.strategy {name} trains only "
            + " and ".join(strategy.task_keys)
            + f", but the run's tasks also include {', '.join(extra)} (from run.tasks; "
            "evaluation needs a model for every task of the run). Leave run.tasks unset (the "
            "strategy then selects its tasks), or compare strategies over all tasks with "
            "`kedro run --pipelines ingestion,tokenization,experiments`."
        )


def strategy_readers(registry: Any) -> Callable[[str], list[str]]:
    """``key -> names of the registered strategies that read training.<key>``."""

    def readers_of(key: str) -> list[str]:
        names = registry.names("strategy")
        return [n for n in names if key in registry.get("strategy", n).training_keys]

    return readers_of
