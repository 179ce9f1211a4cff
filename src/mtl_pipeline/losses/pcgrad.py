"""PCGrad, gradient surgery (Yu et al., NeurIPS 2020).

For each task ``i`` (in parallel), visit the other tasks ``j`` in a random order; whenever
the running ``g_i^PC`` conflicts with the *original* ``g_j`` (negative inner product),
project it onto ``g_j``'s normal plane: ``g_i^PC -= (g_i^PC . g_j / |g_j|^2) g_j``. The
update is ``sum_i g_i^PC``; with no conflicts that is the plain sum.

Vectorization: every ``g_i^PC`` stays a linear combination ``sum_j C_ij g_j`` of the
original gradients, and every inner product it needs is a row of ``C @ Gram``. So the
whole procedure runs on the ``(k, k)`` coefficient matrix (k rounds, all tasks at once),
exactly reproducing the sequential algorithm, and the ``(P,)`` update is one
``1^T C @ grads``. The reported weight of task ``j`` is ``sum_i C_ij``: how much of its
raw gradient ends up in the update.

Projection orders come from the weighting's own seeded numpy generator (``seed``, default
``training.seed``); its state is in ``extra_state``.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch
from pydantic import BaseModel, ConfigDict

from mtl_pipeline.losses.gradient_base import GradientWeighting, gram_matrix


def pcgrad_coefficients(gram: np.ndarray, orders: np.ndarray) -> np.ndarray:
    """``C`` with ``g_i^PC = sum_j C_ij g_j``. ``orders[i]`` is a permutation of
    ``range(k)`` giving the order in which task ``i`` visits the others (``i`` skipped)."""
    k = gram.shape[0]
    coef = np.eye(k)
    rows = np.arange(k)
    norms2 = np.diag(gram)
    for position in range(k):
        j = orders[:, position]
        dots = (coef @ gram)[rows, j]  # g_i^PC . g_j for every i at once
        conflict = (j != rows) & (dots < 0) & (norms2[j] > 0)
        step = np.where(conflict, dots / np.where(norms2[j] > 0, norms2[j], 1.0), 0.0)
        coef[rows, j] -= step
    return coef


class PCGrad(GradientWeighting):
    name = "pcgrad"
    description = (
        "Project conflicting task gradients onto each other's normal plane (Yu et al. 2020)."
    )

    class Options(BaseModel):
        model_config = ConfigDict(extra="forbid")

        seed: int | None = None

    def __init__(self, task_names: list[str], options: Options) -> None:
        super().__init__(task_names, options)
        self._rng: np.random.Generator | None = None

    def generator(self) -> np.random.Generator:
        if self._rng is None:
            seed = self.options.seed
            if seed is None:
                seed = self.context.seed if self.context is not None else 0
            self._rng = np.random.Generator(np.random.PCG64(seed))
        return self._rng

    def task_weights(
        self, grads: torch.Tensor, tasks: list[str], losses: torch.Tensor, step: int
    ) -> np.ndarray:
        k = len(tasks)
        if k == 1:
            return np.ones(1)
        orders = self.generator().permuted(np.tile(np.arange(k), (k, 1)), axis=1)
        return pcgrad_coefficients(gram_matrix(grads), orders).sum(axis=0)

    def extra_state(self) -> dict[str, Any]:
        return {"rng": self.generator().bit_generator.state}

    def load_extra_state(self, state: dict[str, Any]) -> None:
        if state:
            self.generator().bit_generator.state = state["rng"]
