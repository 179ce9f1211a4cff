"""Uncertainty weighting (Kendall, Gal & Cipolla, CVPR 2018).

Each task ``i`` has a learnable log-variance ``s_i = log sigma_i^2`` (homoscedastic task
noise). The step's loss is ``sum_i c_i exp(-s_i) L_i + s_i / 2`` with ``c_i = 1/2`` for a
regression task (Gaussian likelihood: ``L / (2 sigma^2) + log sigma``) and ``c_i = 1`` for a
classification task (scaled softmax: ``L / sigma^2 + log sigma``). For fixed ``L_i`` the
optimal ``s_i`` gives ``sigma_i^2 = 2 c_i L_i`` (the loss itself for regression), so the
variance tracks the task's loss: noisy (high-loss) tasks are down-weighted, and the
``s_i / 2`` term stops all weights from collapsing to zero.

Which form a task gets: ``regression_tasks`` when given, otherwise derived from the task
types the trainer passes in ``bind`` (task type ``regression``). An unbound weighting
with no option treats every task as classification.
"""

from __future__ import annotations

import torch
from pydantic import BaseModel, ConfigDict, PositiveFloat
from torch import nn

from mtl_pipeline.errors import ConfigError
from mtl_pipeline.losses.base import TaskWeighting, WeightingContext


class UncertaintyWeighting(TaskWeighting):
    name = "uncertainty"
    description = "Learned homoscedastic-uncertainty weights (Kendall et al. 2018)."
    mode = "loss"

    class Options(BaseModel):
        model_config = ConfigDict(extra="forbid")

        regression_tasks: list[str] | None = None
        init_log_variance: float = 0.0
        # Why not training.learning_rate by default: fine-tuning rates (1e-5..1e-4) move a
        # log-variance by at most ~lr per Adam step, i.e. <0.1 over a typical run, which
        # would make the method indistinguishable from equal weighting.
        learning_rate: PositiveFloat | None = 0.01

    def __init__(self, task_names: list[str], options: Options) -> None:
        super().__init__(task_names, options)
        if options.regression_tasks is not None:
            unknown = sorted(set(options.regression_tasks) - set(task_names))
            if unknown:
                raise ConfigError(
                    f"training.loss.regression_tasks: unknown task(s) {', '.join(map(repr, unknown))}; "
                    f"the tasks of this run are {', '.join(task_names)}."
                )
        self._index = {t: i for i, t in enumerate(task_names)}
        self.log_vars = nn.Parameter(
            torch.full((len(task_names),), float(options.init_log_variance))
        )
        self.regression = set(options.regression_tasks or [])

    def bind(self, context: WeightingContext) -> None:
        super().bind(context)
        if self.options.regression_tasks is None:
            self.regression = {t for t, kind in context.task_types.items() if kind == "regression"}

    @property
    def learning_rate(self) -> float | None:
        return self.options.learning_rate

    def factors(self, tasks: list[str]) -> list[float]:
        """``c_i``: 1/2 for regression tasks, 1 for the others."""
        return [0.5 if t in self.regression else 1.0 for t in tasks]

    def combine_losses(self, losses: dict[str, torch.Tensor], step: int) -> torch.Tensor:
        tasks = list(losses)
        stacked = torch.stack([v.float().reshape(()) for v in losses.values()])
        idx = torch.tensor([self._index[t] for t in tasks], device=self.log_vars.device)
        s = self.log_vars.index_select(0, idx).to(stacked.device)
        c = torch.tensor(self.factors(tasks), dtype=stacked.dtype, device=stacked.device)
        precision = c * torch.exp(-s)
        self._last_weights = dict(zip(tasks, precision.detach().cpu().tolist(), strict=True))
        return (precision * stacked + 0.5 * s).sum()

    def log_variances(self) -> dict[str, float]:
        return dict(zip(self.task_names, self.log_vars.detach().cpu().tolist(), strict=True))
