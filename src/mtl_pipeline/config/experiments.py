"""The experiments pipeline's settings (``parameters_experiments.yml``, docs/strategies.md)."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import (
    Field,
    NonNegativeFloat,
    PositiveInt,
    field_validator,
)

from mtl_pipeline.config.base import StrictModel


class ExperimentsBudget(StrictModel):
    """What one grid cell may spend; the grid's run time is linear in ``steps``."""

    steps: PositiveInt = Field(default=100, description="Optimizer steps per task and phase.")
    joint_steps_per_task: bool = Field(
        default=True,
        description="Joint runs get steps x their task count (pairwise 2x, mtl_all Nx), so every "
        "method sees each task for about `steps` batches; false: every run gets `steps`.",
    )
    evaluations: PositiveInt = Field(
        default=3, description="Evaluations per phase (the best one per target is kept)."
    )
    max_train_examples: PositiveInt | dict[str, PositiveInt] | None = Field(
        default=None,
        description="Seeded random training subset: one cap for every task, or per task.",
    )
    max_eval_examples: PositiveInt | None = Field(
        default=None, description="Validation examples scored per evaluation (null: all)."
    )


class ExperimentsConfig(StrictModel):
    """``kedro run --pipelines ingestion,tokenization,experiments``: the transfer grid."""

    targets: list[str] | None = Field(default=None, description="Target tasks (null: all).")
    supports: list[str] | None = Field(
        default=None, description="Supporting tasks (null: all; a task never supports itself)."
    )
    strategies: list[Literal["pairwise", "stilts", "mtl_all", "mtl_then_finetune"]] = Field(
        default_factory=lambda: ["pairwise", "stilts", "mtl_all"],
        description="Strategies compared with the single-task baseline (always run).",
    )
    seeds: list[int] = Field(
        default_factory=lambda: [0],
        min_length=1,
        description="Training seeds; a number n means 0..n-1 (handy with --params).",
    )
    budget: ExperimentsBudget = ExperimentsBudget()
    training: dict[str, Any] = Field(
        default_factory=lambda: {"batch_size": 32},
        description="`training` keys overridden for the grid's runs only (e.g. batch_size), so "
        "tuning the main run does not change the grid's cost.",
    )
    tie_tolerance: NonNegativeFloat = Field(
        default=0.0,
        description="Pairwise and STILTs means closer than this count as a tie (no winner).",
    )

    @field_validator("seeds", mode="before")
    @classmethod
    def _seed_count(cls, value: Any) -> Any:
        # `--params experiments.seeds=3`: Kedro splits --params on commas, so no lists there.
        if isinstance(value, int) and not isinstance(value, bool):
            if value < 1:
                raise ValueError(f"expected a positive number of seeds or a list, got {value}")
            return list(range(value))
        return value

    @field_validator("targets", "supports", "strategies", "seeds")
    @classmethod
    def _unique(cls, values: list[Any] | None) -> list[Any] | None:
        if values is not None and len(set(values)) != len(values):
            raise ValueError(f"expected each entry once, got {values}")
        return values
