"""Specified probabilities: the mixture is given outright (jiant's
``SpecifiedProbMultiTaskSampler``).

For when the mixture was tuned elsewhere or should be held fixed across experiments.
Weights need not sum to 1 (they are normalized), but every task must be listed, so a
task added to the config later is never silently dropped or silently given weight 0.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, NonNegativeFloat, field_validator

from mtl_pipeline.errors import ConfigError
from mtl_pipeline.samplers.base import TaskSampler, normalize


class SpecifiedOptions(BaseModel):
    model_config = ConfigDict(extra="forbid")

    probabilities: dict[str, NonNegativeFloat]

    @field_validator("probabilities")
    @classmethod
    def _positive_total(cls, value: dict[str, float]) -> dict[str, float]:
        if not sum(value.values()) > 0:
            raise ValueError("the probabilities must sum to more than 0")
        return value


class SpecifiedSampler(TaskSampler):
    name = "specified"
    description = "Fixed probabilities given per task in `probabilities` (normalized)."
    Options = SpecifiedOptions

    def __init__(self, task_sizes: dict[str, int], **kwargs: Any) -> None:
        super().__init__(task_sizes, **kwargs)
        given: dict[str, float] = self.options.probabilities  # type: ignore[attr-defined]
        unknown = [t for t in given if t not in self.task_sizes]
        missing = [t for t in self.task_names if t not in given]
        if unknown or missing:
            problems = []
            if unknown:
                problems.append(f"unknown task(s) {', '.join(map(repr, unknown))}")
            if missing:
                problems.append(f"missing task(s) {', '.join(map(repr, missing))}")
            raise ConfigError(
                f"training.sampler.probabilities: {'; '.join(problems)}; expected one "
                f"non-negative weight for each of {', '.join(self.task_names)}."
            )
        positive = sum(1 for v in given.values() if v > 0)
        if positive < self.tasks_per_step:
            raise ConfigError(
                f"training.sampler.probabilities: only {positive} task(s) have a positive "
                f"weight, but training.tasks_per_step is {self.tasks_per_step}."
            )
        self._probs = normalize({t: given[t] for t in self.task_names})

    def probabilities(self, step: int) -> dict[str, float]:
        return dict(self._probs)
