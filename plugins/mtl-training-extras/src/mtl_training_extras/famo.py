"""FAMO: Fast Adaptive Multitask Optimization (Liu et al. 2023).

Liu, Liu, Jin, Stone, Liu. "FAMO: Fast Adaptive Multitask Optimization." NeurIPS 2023,
arXiv:2306.03792. Reference code: https://github.com/Cranial-XIX/FAMO.

FAMO aims for an equal *rate* of loss decrease across tasks, in O(1) memory and time per
step (no per-task gradients, unlike MGDA/PCGrad/Nash-MTL). It keeps task logits ``w``;
with ``z = softmax(w)`` over the step's tasks and ``D_i = loss_i - min_i + eps`` (``min_i``
is 0: cross-entropy and MSE are non-negative), the step minimizes

    sum_i z_i * log(D_i) / c,   c = sum_i z_i / D_i   (c held constant),

whose gradient is ``sum_i (z_i / (c * D_i)) * grad loss_i``: a convex combination of the
task gradients (the weights sum to 1). This implementation backpropagates exactly that,
``sum_i w_i * loss_i`` with ``w_i = z_i / (c * D_i)`` held constant (same gradient, and the
weights can be made identical on every data-parallel rank). After the step the logits
follow the observed decrease of the log-losses, ``delta_i = log D_i(before) -
log D_i(after)``, through ``grad_w = J_softmax(w)^T delta`` and an Adam step with weight
decay ``gamma``: a task whose loss fell faster than the others loses weight.

Adaptation to this trainer: the paper measures ``D_i(after)`` with an extra forward pass on
the same batch after the optimizer step. That doubles the forward cost, so here
``D_i(after)`` is the task's loss the next time it is trained (a fresh batch, after the
step): the same expected signal, noisier, and free. With ``training.tasks_per_step: 1`` a
step holds one task, whose weight is then always 1 (FAMO reduces to plain training); use
``tasks_per_step >= 2`` for FAMO to balance anything.
"""

from __future__ import annotations

import math
from typing import Any

import torch
from mtl_pipeline.errors import TrainingError
from mtl_pipeline.losses.base import TaskWeighting
from pydantic import BaseModel, ConfigDict, Field

#: Adam's betas and epsilon, as in torch.optim.Adam's defaults (the reference code's choice).
_BETA1, _BETA2, _ADAM_EPS = 0.9, 0.999, 1e-8


class FamoOptions(BaseModel):
    """Options of ``training.loss: {name: famo, ...}`` (defaults: the paper's)."""

    model_config = ConfigDict(extra="forbid")

    w_lr: float = Field(default=0.025, gt=0.0, description="Adam learning rate of the logits.")
    gamma: float = Field(default=0.01, ge=0.0, description="Weight decay of the logits.")
    eps: float = Field(default=1e-8, gt=0.0, description="Added to losses before the log.")


class Famo(TaskWeighting):
    """Loss-mode weighting; all state is in buffers, so checkpoints restore it exactly."""

    name = "famo"
    description = "FAMO: equalizes the rate of loss decrease, O(1) per step (Liu et al. 2023)."
    mode = "loss"
    Options = FamoOptions

    def __init__(self, task_names: list[str], options: BaseModel) -> None:
        super().__init__(task_names, options)
        n = len(self.task_names)
        self.index = {t: i for i, t in enumerate(self.task_names)}
        self.register_buffer("logits", torch.zeros(n))
        self.register_buffer("adam_m", torch.zeros(n))
        self.register_buffer("adam_v", torch.zeros(n))
        self.register_buffer("adam_t", torch.zeros((), dtype=torch.long))
        self.register_buffer("prev_loss", torch.zeros(n))
        self.register_buffer("has_prev", torch.zeros(n, dtype=torch.bool))
        self._current_step: int | None = None
        # Detached losses of the current step's micro-batches: {task: [values]}.
        self._pending: dict[str, list[float]] = {}

    # --- the weighted loss ------------------------------------------------------------
    def combine_losses(self, losses: dict[str, torch.Tensor], step: int) -> torch.Tensor:
        names = list(losses)
        stacked = torch.stack([losses[t].float().reshape(()) for t in names])
        values = _mean_over_ranks(stacked.detach()).cpu().double()
        if bool((values < 0).any()):
            bad = {t: float(v) for t, v in zip(names, values, strict=True) if v < 0}
            raise TrainingError(
                f"training.loss: famo needs non-negative task losses (it takes their log); "
                f"got {bad} at step {step + 1}."
            )
        if step != self._current_step:
            # First micro-batch of a new step: the last step's losses become "before", this
            # batch's are "after"; update the logits once per optimizer step.
            self._finish_pending()
            self._update_logits(names, values)
            self._current_step = step
        for t, v in zip(names, values.tolist(), strict=True):
            if math.isfinite(v):  # a skipped non-finite step must not poison the logits
                self._pending.setdefault(t, []).append(v)

        eps = self.options.eps  # type: ignore[attr-defined]
        idx = torch.tensor([self.index[t] for t in names], device=self.logits.device)
        z = torch.softmax(self.logits[idx].double().cpu(), dim=0)
        d = values + eps
        c = (z / d).sum()
        weights = z / (c * d)
        self._last_weights = dict(zip(names, weights.tolist(), strict=True))
        return (weights.to(device=stacked.device, dtype=stacked.dtype) * stacked).sum()

    # --- the logit update ---------------------------------------------------------------
    def _finish_pending(self) -> None:
        for t, vals in self._pending.items():
            i = self.index[t]
            self.prev_loss[i] = sum(vals) / len(vals)
            self.has_prev[i] = True
        self._pending = {}

    def _update_logits(self, names: list[str], current: torch.Tensor) -> None:
        eps = self.options.eps  # type: ignore[attr-defined]
        idx = torch.tensor([self.index[t] for t in names], device=self.logits.device)
        seen = self.has_prev[idx]
        if not bool(seen.any()):
            return
        before = self.prev_loss[idx].double().cpu()
        delta = torch.log(before + eps) - torch.log(current + eps)
        usable = seen.cpu() & torch.isfinite(delta)
        delta = torch.where(usable, delta, torch.zeros_like(delta))
        z = torch.softmax(self.logits[idx].double().cpu(), dim=0)
        # Softmax Jacobian (symmetric) times delta: z_j * (delta_j - sum_i z_i delta_i).
        grad_sub = z * (delta - (z * delta).sum())
        grad = torch.zeros_like(self.logits, dtype=torch.float64, device="cpu")
        grad[idx.cpu()] = grad_sub
        self._adam_step(grad)

    def _adam_step(self, grad: torch.Tensor) -> None:
        """torch.optim.Adam(lr=w_lr, weight_decay=gamma) on the logits, state in buffers."""
        opts = self.options
        w = self.logits.double().cpu()
        grad = grad + opts.gamma * w  # type: ignore[attr-defined]  # L2 decay, as Adam does
        t = int(self.adam_t) + 1
        m = _BETA1 * self.adam_m.double().cpu() + (1 - _BETA1) * grad
        v = _BETA2 * self.adam_v.double().cpu() + (1 - _BETA2) * grad * grad
        m_hat = m / (1 - _BETA1**t)
        v_hat = v / (1 - _BETA2**t)
        w = w - opts.w_lr * m_hat / (v_hat.sqrt() + _ADAM_EPS)  # type: ignore[attr-defined]
        self.logits.copy_(w.to(self.logits.dtype))
        self.adam_m.copy_(m.to(self.adam_m.dtype))
        self.adam_v.copy_(v.to(self.adam_v.dtype))
        self.adam_t.fill_(t)

    # --- introspection and checkpoints --------------------------------------------------
    def task_logit_weights(self) -> dict[str, float]:
        """``softmax(w)`` over all tasks: FAMO's current preference, for reports."""
        z = torch.softmax(self.logits.double(), dim=0).cpu().tolist()
        return dict(zip(self.task_names, z, strict=True))

    def extra_state(self) -> dict[str, Any]:
        return {
            "current_step": self._current_step,
            "pending": {t: list(v) for t, v in self._pending.items()},
        }

    def load_extra_state(self, state: dict[str, Any]) -> None:
        self._current_step = state.get("current_step")
        self._pending = {
            t: [float(x) for x in v if math.isfinite(x)]
            for t, v in state.get("pending", {}).items()
        }


def _mean_over_ranks(values: torch.Tensor) -> torch.Tensor:
    """``values`` averaged over the ranks of an initialized process group (else as is).

    Each rank sees its own shard of the batch; weights computed from local losses would
    differ between ranks and so would the logits. All ranks call ``combine_losses`` for the
    same tasks at the same step (the sampler is seeded identically), so this collective
    lines up.
    """
    import torch.distributed as dist

    if dist.is_available() and dist.is_initialized() and dist.get_world_size() > 1:
        values = values.clone()
        dist.all_reduce(values)
        values /= dist.get_world_size()
    return values
