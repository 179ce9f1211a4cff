"""GradNorm, gradient normalization for adaptive loss balancing (Chen et al., ICML 2018).

Task weights ``w_i`` are learned so that the weighted gradient norms
``G_i = w_i |g_i|`` move toward a common target ``mean_j(G_j) * r_i^alpha``, where
``r_i = (L_i / L_i(0)) / mean_j(L_j / L_j(0))`` is task ``i``'s relative inverse training
rate (a task that has trained less gets a larger target norm); ``alpha`` sets how hard
that asymmetry pulls (``alpha = 0``: plain gradient-norm equalization). The update is
``sum_i w_i g_i`` with the current weights; then the weights take one step on the
GradNorm loss ``sum_i |G_i - target_i|`` (target held constant, as in the paper) and are
renormalized.

Why gradient mode: the paper needs ``|g_i|`` per task, which the gradient-mode trainer
computes anyway, so GradNorm needs no extra backward pass and no second-order graph.

Implementation choices (documented in docs/losses.md):

* The weights are a buffer updated here, not parameters of the trainer's optimizer (their
  objective is the GradNorm loss, not the task loss). The step is gradient descent on
  ``log w_i`` (keeps weights positive) scaled by ``1 / mean_j G_j`` (independent of the
  gradients' scale): ``w_i <- w_i exp(-lr * sign(G_i - target_i) * G_i / mean_j G_j)``.
* Renormalization: the weights of all ``K`` tasks sum to ``K``. With ``k < K`` tasks per
  step only the step's weights move, rescaled to keep their previous total, so absent
  tasks keep theirs and the sum stays ``K``.
* ``L_i(0)`` is the first loss observed for task ``i``.
* ``params: last_layer`` measures ``|g_i|`` on the last shared layer only (the paper's
  choice of ``W``); default ``all`` uses every shared parameter (free here).
"""

from __future__ import annotations

from typing import Literal

import numpy as np
import torch
from pydantic import BaseModel, ConfigDict, NonNegativeFloat, PositiveFloat

from mtl_pipeline.losses.gradient_base import GradientWeighting


class GradNorm(GradientWeighting):
    name = "gradnorm"
    description = "Learned weights that balance per-task gradient norms (Chen et al. 2018)."

    class Options(BaseModel):
        model_config = ConfigDict(extra="forbid")

        alpha: NonNegativeFloat = 1.5
        lr: PositiveFloat = 0.025
        params: Literal["all", "last_layer"] = "all"

    def __init__(self, task_names: list[str], options: Options) -> None:
        super().__init__(task_names, options)
        self._index = {t: i for i, t in enumerate(task_names)}
        self.register_buffer("weights", torch.ones(len(task_names), dtype=torch.float32))
        self.register_buffer(
            "initial_losses", torch.full((len(task_names),), float("nan"), dtype=torch.float32)
        )

    def task_weights(
        self, grads: torch.Tensor, tasks: list[str], losses: torch.Tensor, step: int
    ) -> np.ndarray:
        idx = torch.tensor([self._index[t] for t in tasks])
        weights = self.weights.cpu()[idx].numpy().copy()
        rows = self._rows_for_weights(grads, self.options.params)
        norms = torch.linalg.vector_norm(rows, dim=1).double().cpu().numpy()
        loss = losses.numpy()
        initial = self.initial_losses.cpu()[idx].numpy()
        initial = np.where(np.isfinite(initial), initial, loss)
        self.initial_losses[idx.to(self.initial_losses.device)] = torch.from_numpy(initial).to(
            self.initial_losses
        )
        self._update(idx, weights, norms, loss, initial)
        return weights

    def _update(
        self,
        idx: torch.Tensor,
        weights: np.ndarray,
        norms: np.ndarray,
        loss: np.ndarray,
        initial: np.ndarray,
    ) -> None:
        """One step of the weights on the GradNorm loss, then renormalization."""
        g = weights * norms
        mean_g = g.mean()
        if (
            len(weights) < 2
            or not np.isfinite(mean_g)
            or mean_g <= 0
            or not np.all(np.isfinite(loss))
        ):
            return
        ratio = np.where(initial > 0, loss / np.where(initial > 0, initial, 1.0), 1.0)
        r = ratio / ratio.mean() if ratio.mean() > 0 else np.ones_like(ratio)
        target = mean_g * r**self.options.alpha
        new = weights * np.exp(-self.options.lr * np.sign(g - target) * g / mean_g)
        new = new * (weights.sum() / new.sum())
        self.weights[idx.to(self.weights.device)] = torch.from_numpy(new).to(self.weights)

    def current_weights(self) -> dict[str, float]:
        """Every task's weight (the step only reports its own tasks')."""
        return dict(zip(self.task_names, self.weights.cpu().tolist(), strict=True))
