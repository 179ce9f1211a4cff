"""MGDA, multiple-gradient descent as multi-objective optimization (Sener & Koltun,
NeurIPS 2018).

The update is the min-norm point of the convex hull of the task gradients,
``d = sum_i w_i g_i`` with ``w = argmin_{w in simplex} |sum_i w_i g_i|^2``: a direction that
decreases every task's loss unless the point is Pareto-stationary (then ``d = 0``). Solved
with the paper's Frank-Wolfe solver on the ``(k, k)`` Gram matrix: start from the best
pair (closed-form 2-task solution), then repeatedly step toward the vertex with the
smallest directional derivative with an exact line search, until the weights move less
than ``tolerance`` (L1) or ``max_iter`` is reached. Plain Frank-Wolfe only converges as
O(1/t) when the optimum is inside a face of the hull, so its result is finished with
Wolfe's min-norm-point corrective steps (exact, a few ``k x k`` solves).

``params: last_layer`` (the paper's cheaper MGDA-UB spirit): the Gram matrix, hence the
weights, comes only from the columns of the last shared layer (``WeightingContext``), a
few percent of an encoder's parameters; the weights are then applied to the full
gradients. Without a trainer-provided slice it falls back to all parameters.

``normalization`` (the authors' ``gradient_normalizers``): solve for the gradients
divided by ``s_i`` = 1 (``none``), ``|g_i|`` (``l2``), ``L_i`` (``loss``) or
``L_i |g_i|`` (``loss+``), and apply the solution to those normalized gradients, i.e.
weights ``w_i / s_i`` on the raw ones (as LibMTL). Weights sum to 1 with ``none``: the
update is a convex combination, about 1/k of equal weighting's sum.
"""

from __future__ import annotations

from typing import Literal

import numpy as np
import torch
from pydantic import BaseModel, ConfigDict, PositiveFloat, PositiveInt

from mtl_pipeline.losses.gradient_base import GradientWeighting, gram_matrix


def _segment_min(aa: float, ab: float, bb: float) -> tuple[float, float]:
    """``gamma`` in [0, 1] minimizing ``|gamma a + (1 - gamma) b|^2``, and that minimum."""
    denom = aa + bb - 2.0 * ab
    gamma = 0.5 if denom <= 0 else min(1.0, max(0.0, (bb - ab) / denom))
    return gamma, gamma * gamma * aa + 2.0 * gamma * (1.0 - gamma) * ab + (1.0 - gamma) ** 2 * bb


def min_norm_weights(gram: np.ndarray, max_iter: int = 250, tolerance: float = 1e-6) -> np.ndarray:
    """``argmin_{w in simplex} w^T gram w``: Sener & Koltun's Frank-Wolfe solver, finished
    by Wolfe's exact corrective steps (``_wolfe_polish``)."""
    k = gram.shape[0]
    if k == 1:
        return np.ones(1)
    best, sol = np.inf, np.zeros(k)
    for i in range(k):
        for j in range(i + 1, k):
            gamma, cost = _segment_min(gram[i, i], gram[i, j], gram[j, j])
            if cost < best:
                best, sol = cost, np.zeros(k)
                sol[i], sol[j] = gamma, 1.0 - gamma
    if k == 2:
        return sol
    for _ in range(max_iter):
        grad = gram @ sol
        t = int(np.argmin(grad))
        gamma, _ = _segment_min(float(sol @ grad), float(grad[t]), float(gram[t, t]))
        new = gamma * sol
        new[t] += 1.0 - gamma
        change = np.abs(new - sol).sum()
        sol = new
        if change < tolerance:
            break
    polished = _wolfe_polish(gram, sol)
    return polished if polished @ gram @ polished <= sol @ gram @ sol else sol


def _affine_min_norm(gram: np.ndarray, support: list[int]) -> np.ndarray:
    """Weights (summing to 1) of the min-norm point of the affine hull of ``support``."""
    n = len(support)
    g = gram[np.ix_(support, support)]
    kkt = np.block([[g, np.ones((n, 1))], [np.ones((1, n)), np.zeros((1, 1))]])
    return np.linalg.lstsq(kkt, np.concatenate([np.zeros(n), [1.0]]), rcond=None)[0][:n]


def _wolfe_polish(gram: np.ndarray, start: np.ndarray, max_iter: int = 100) -> np.ndarray:
    """Wolfe's (1976) min-norm-point algorithm, warm-started from ``start``.

    Why: plain Frank-Wolfe converges only as O(1/t) when the optimum lies inside a face of
    the hull, zig-zagging between its vertices (errors of ~1e-3 of the gradient norm after
    250 iterations are common). Wolfe's method is the fully-corrective member of the same
    family: it adds the Frank-Wolfe vertex to an active set, then moves to the min-norm
    point of the set's affine hull (one small KKT solve), dropping vertices whose weight
    would turn negative. It stops at a zero Frank-Wolfe gap, i.e. the exact optimum, in a
    few iterations from the Frank-Wolfe estimate.
    """
    lam = np.clip(start, 0.0, None)
    lam = lam / lam.sum()
    support = [int(i) for i in np.flatnonzero(lam > 1e-12)]
    scale = max(float(np.max(np.diag(gram))), 1e-300)
    for _ in range(max_iter):
        for _ in range(len(lam) + 1):  # minor cycles: each one drops at least one vertex
            mu = _affine_min_norm(gram, support)
            if not np.all(np.isfinite(mu)):
                return start
            if mu.min() >= 0:
                lam = np.zeros_like(lam)
                lam[support] = mu
                break
            current = lam[support]
            negative = mu < 0
            theta = float(np.min(current[negative] / (current[negative] - mu[negative])))
            lam = np.zeros_like(lam)
            lam[support] = current + theta * (mu - current)
            support = [i for i in support if lam[i] > 1e-15]
        grad = gram @ lam
        j = int(np.argmin(grad))
        if lam @ grad - grad[j] <= 1e-12 * scale or j in support:
            break
        support.append(j)
    lam = np.clip(lam, 0.0, None)
    return lam / lam.sum()


class MGDA(GradientWeighting):
    name = "mgda"
    description = (
        "Min-norm point of the task gradients' convex hull, Frank-Wolfe (Sener & Koltun 2018)."
    )

    class Options(BaseModel):
        model_config = ConfigDict(extra="forbid")

        params: Literal["all", "last_layer"] = "all"
        normalization: Literal["none", "l2", "loss", "loss+"] = "none"
        max_iter: PositiveInt = 250
        tolerance: PositiveFloat = 1e-6

    def task_weights(
        self, grads: torch.Tensor, tasks: list[str], losses: torch.Tensor, step: int
    ) -> np.ndarray:
        opts = self.options
        if len(tasks) == 1:
            return np.ones(1)
        gram = gram_matrix(self._rows_for_weights(grads, opts.params))
        norms = np.sqrt(np.clip(np.diag(gram), 0.0, None))
        loss = np.abs(losses.numpy())
        scale = {"none": np.ones_like(norms), "l2": norms, "loss": loss, "loss+": loss * norms}[
            opts.normalization
        ]
        scale = np.where(scale > 0, scale, 1.0)
        weights = min_norm_weights(gram / np.outer(scale, scale), opts.max_iter, opts.tolerance)
        return weights / scale
