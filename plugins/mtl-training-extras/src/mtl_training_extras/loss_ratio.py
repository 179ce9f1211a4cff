"""Loss-ratio task sampling: draw most the tasks whose training loss has fallen least.

Each task's progress is its *inverse training rate* ``r_t = L_t / L_t(0)``: the smoothed
current training loss over the first one observed, the quantity GradNorm balances
(Chen, Badrinarayanan, Lee, Rabinovich. "GradNorm: Gradient Normalization for Adaptive
Loss Balancing in Deep Multitask Networks." ICML 2018). Sampling tasks in proportion to
how far they lag behind is the adaptive-schedule idea of Jean, Firat, Johnson. "Adaptive
Scheduling for Multi-Task Learning." NeurIPS 2018 Continual Learning workshop,
arXiv:1909.06434 (there with validation metrics; here with the training loss, which is
available at every step for free):

    p_t = (1 - floor) * r_t^(1/T) / sum_u r_u^(1/T) + floor / K

``T`` flattens (large T: uniform) or sharpens (small T: the most lagging task) the
distribution; ``floor`` keeps every task drawn now and then, so its loss estimate stays
current. A task not yet trained has ``r = 1`` (no progress).

Where the losses come from: the trainer gives every sampler each step's task losses
(``TaskSampler.observe_losses``). ``L_t`` and ``L_t(0)`` are in ``extra_state()``, so a
resumed run draws exactly the same tasks.

Data parallelism (torchrun): the trainer calls ``observe_losses`` on every rank with the
losses already averaged over the ranks, so every rank holds the same statistics and draws
from one distribution with its identical RNG.
"""

from __future__ import annotations

import math
from typing import Any

from mtl_pipeline.samplers.base import TaskSampler, normalize
from pydantic import BaseModel, ConfigDict, Field


class LossRatioOptions(BaseModel):
    """Options of ``training.sampler: {name: loss_ratio, ...}``."""

    model_config = ConfigDict(extra="forbid")

    T: float = Field(default=1.0, gt=0.0, description="Temperature: p ∝ ratio^(1/T).")
    smoothing: float = Field(
        default=0.9, ge=0.0, lt=1.0, description="EMA factor of the training loss (0: last)."
    )
    floor: float = Field(
        default=0.1, ge=0.0, le=1.0, description="Share of the uniform distribution mixed in."
    )


class LossRatioSampler(TaskSampler):
    """p_t ∝ (EMA loss / first loss)^(1/T), mixed with a uniform floor."""

    name = "loss_ratio"
    description = "p ∝ (training loss / initial loss)^(1/T): lagging tasks drawn more."
    Options = LossRatioOptions

    def __init__(self, task_sizes: dict[str, int], **kwargs: Any) -> None:
        super().__init__(task_sizes, **kwargs)
        self.initial_loss: dict[str, float] = {}
        self.ema_loss: dict[str, float] = {}

    def observe_losses(self, step: int, losses: dict[str, float]) -> None:
        self.record_losses(losses)

    def record_losses(self, losses: dict[str, float]) -> None:
        """Fold one step's ``{task: training loss}`` in (non-finite values are ignored)."""
        beta = self.options.smoothing  # type: ignore[attr-defined]
        for task, value in losses.items():
            if task not in self.task_sizes or not math.isfinite(float(value)):
                continue
            value = float(value)
            if task not in self.ema_loss:
                self.initial_loss[task] = value
                self.ema_loss[task] = value
            else:
                self.ema_loss[task] = beta * self.ema_loss[task] + (1.0 - beta) * value

    def ratios(self) -> dict[str, float]:
        """``r_t``: 1.0 for a task not trained yet."""
        out = {}
        for task in self.task_names:
            first = self.initial_loss.get(task)
            if first is None or first <= 0.0:
                out[task] = 1.0
            else:
                out[task] = max(self.ema_loss[task] / first, 1e-12)
        return out

    def probabilities(self, step: int) -> dict[str, float]:
        opts = self.options
        k = len(self.task_names)
        tilted = normalize({t: r ** (1.0 / opts.T) for t, r in self.ratios().items()})  # type: ignore[attr-defined]
        floor = opts.floor  # type: ignore[attr-defined]
        return {t: (1.0 - floor) * p + floor / k for t, p in tilted.items()}

    def extra_state(self) -> dict[str, Any]:
        return {"initial_loss": dict(self.initial_loss), "ema_loss": dict(self.ema_loss)}

    def load_extra_state(self, state: dict[str, Any]) -> None:
        self.initial_loss = {t: float(v) for t, v in state.get("initial_loss", {}).items()}
        self.ema_loss = {t: float(v) for t, v in state.get("ema_loss", {}).items()}
