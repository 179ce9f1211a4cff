"""IMTL-G, impartial multi-task learning, gradient part (Liu et al., ICLR 2021).

Find the update ``d = sum_i a_i g_i`` with ``sum_i a_i = 1`` whose projection onto every
*unit* task gradient ``u_i = g_i / |g_i|`` is the same (``d . u_i = d . u_j``): no task is
favoured, whatever its gradient magnitude. Closed form with
``D = [g_1 - g_i]_{i>=2}`` and ``U = [u_1 - u_i]_{i>=2}`` (rows):
``a_{2:k} = g_1 U^T (D U^T)^{-1}``, ``a_1 = 1 - sum a_{2:k}``.

All of ``g_1 U^T`` and ``D U^T`` are inner products of gradients, so they come from the
``(k, k)`` Gram matrix; the ``(k-1)`` system is solved by least squares (robust when two
gradients coincide and ``D U^T`` is singular). Tasks with a zero gradient have no
direction to be impartial to: they get weight 0 and are left out of the system.
(The paper's IMTL-L loss-scale half is not included; use ``uncertainty`` for that idea.)
"""

from __future__ import annotations

import numpy as np
import torch

from mtl_pipeline.losses.gradient_base import GradientWeighting, gram_matrix


def imtl_g_weights(gram: np.ndarray) -> np.ndarray:
    """``a`` with ``sum a = 1`` and ``(gram @ a)_i / |g_i|`` equal for every task."""
    k = gram.shape[0]
    norms = np.sqrt(np.clip(np.diag(gram), 0.0, None))
    active = np.flatnonzero(norms > 0)
    weights = np.zeros(k)
    if active.size == 0:
        return np.full(k, 1.0 / k)
    if active.size == 1:
        weights[active] = 1.0
        return weights
    g = gram[np.ix_(active, active)]
    n = norms[active]
    # g_1 . (u_1 - u_j) and (g_1 - g_a) . (u_1 - u_b), j, a, b >= 2, from Gram entries.
    g1u = g[0, 0] / n[0] - g[0, 1:] / n[1:]
    du = (g[0, 0] / n[0] - g[0, 1:][None, :] / n[1:][None, :]) - (
        g[1:, 0][:, None] / n[0] - g[1:, 1:] / n[1:][None, :]
    )
    rest = np.linalg.lstsq(du.T, g1u, rcond=None)[0]
    weights[active] = np.concatenate(([1.0 - rest.sum()], rest))
    return weights


class IMTLG(GradientWeighting):
    name = "imtl"
    description = (
        "IMTL-G: update with equal projections on every unit task gradient (Liu et al. 2021)."
    )

    def task_weights(
        self, grads: torch.Tensor, tasks: list[str], losses: torch.Tensor, step: int
    ) -> np.ndarray:
        if len(tasks) == 1:
            return np.ones(1)
        return imtl_g_weights(gram_matrix(grads))
