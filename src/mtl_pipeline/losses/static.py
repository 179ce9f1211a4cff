"""Static weighting: a fixed, hand-chosen weight per task."""

from __future__ import annotations

import torch
from pydantic import BaseModel, ConfigDict, Field, NonNegativeFloat

from mtl_pipeline.errors import ConfigError
from mtl_pipeline.losses.base import TaskWeighting


class StaticWeighting(TaskWeighting):
    """``sum_i w_i L_i`` with ``w`` from config.

    Why validate at construction: a misspelt task name would otherwise silently keep
    weight ``default`` and the run would look fine, so unknown names stop the run before
    the first step, listing the run's tasks.
    """

    name = "static"
    description = "Fixed per-task loss weights from config (tasks not listed get `default`)."
    mode = "loss"

    class Options(BaseModel):
        model_config = ConfigDict(extra="forbid")

        weights: dict[str, NonNegativeFloat] = Field(default_factory=dict)
        default: NonNegativeFloat = 1.0

    def __init__(self, task_names: list[str], options: Options) -> None:
        super().__init__(task_names, options)
        unknown = sorted(set(options.weights) - set(task_names))
        if unknown:
            raise ConfigError(
                f"training.loss.weights: unknown task(s) {', '.join(map(repr, unknown))}; "
                f"the tasks of this run are {', '.join(task_names)}."
            )
        self.weights = {t: float(options.weights.get(t, options.default)) for t in task_names}
        if not any(self.weights.values()):
            raise ConfigError(
                "training.loss.weights: every task weight is 0; nothing would be trained."
            )

    def combine_losses(self, losses: dict[str, torch.Tensor], step: int) -> torch.Tensor:
        stacked = torch.stack([v.float().reshape(()) for v in losses.values()])
        weights = torch.tensor(
            [self.weights[t] for t in losses], dtype=stacked.dtype, device=stacked.device
        )
        self._last_weights = {t: self.weights[t] for t in losses}
        return (weights * stacked).sum()
