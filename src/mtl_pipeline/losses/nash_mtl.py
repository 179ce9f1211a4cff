"""Nash-MTL, multi-task learning as a bargaining game (Navon et al., ICML 2022).

The Nash bargaining solution among the tasks is the update ``d = sum_i a_i g_i`` with
``a > 0`` solving ``G G^T a = 1 / a`` (element-wise), i.e. ``a_i (g_i . d) = 1``: each task's
gain is inversely proportional to its weight.

How it is solved: that condition is exactly the stationarity condition of the strictly
convex ``f(a) = 1/2 |G^T a|^2 - sum_i log a_i`` on ``a > 0``, whose minimizer is therefore
the unique solution. We minimize ``f`` in log-coordinates ``a = exp(b)`` (unconstrained,
positivity for free) with ``scipy.optimize.minimize(method="trust-exact")`` and the exact
gradient ``a * (M a) - 1`` and Hessian ``diag(a) M diag(a) + diag(a * (M a))``. That is robust
and converges quadratically; the paper's cvxpy sequence of convex approximations (CCP) is
not needed, and cvxpy is not a dependency. If the solver still fails (residual of the
optimality condition above ``1e-4``) the step falls back to equal weights, with a warning.

Scale: the solver works on ``M = G G^T / N`` with ``N = |G G^T|_F``, which keeps its
iterates O(1) whatever the gradient scale; its solution ``b`` satisfies ``b_i (M b)_i = 1``,
and the returned weights are ``a = b / sqrt(N)``, which satisfy the paper's condition on the
unnormalized Gram matrix, ``a_i (G G^T a)_i = 1``. This is what the authors' code does (its
constraint multiplies the normalization factor back in). It makes the update
``d = sum_i a_i g_i`` scale-invariant, as the method intends: scaling every gradient by
``s`` scales ``a`` by ``1/s`` and leaves ``d`` unchanged, and ``|d|^2 = a^T G G^T a = k``.
A tiny relative ridge keeps ``f`` bounded when the gradients exactly cancel (no bargaining
solution exists then; the weights grow large and nearly equal, and the base class combines
them in float64 so the cancelled update stays near zero); a task with a zero gradient
gets weight 0. The authors' own ``max_norm`` clipping is ``training.max_grad_norm`` here.
"""

from __future__ import annotations

import logging

import numpy as np
import torch
from pydantic import BaseModel, ConfigDict, PositiveInt
from scipy.optimize import minimize

from mtl_pipeline.losses.gradient_base import GradientWeighting, gram_matrix

logger = logging.getLogger(__name__)

#: Relative ridge ``M + RIDGE diag(M)``: bounds ``f`` when 0 is in the gradients' cone
#: (exactly opposed gradients), while moving the solution by only ~RIDGE in relative terms
#: even when gradient norms differ by orders of magnitude (an absolute ridge would not).
RIDGE = 1e-10


def nash_residual(gram: np.ndarray, alpha: np.ndarray) -> float:
    """``max_i |alpha_i (G G^T alpha)_i - 1|`` for ``gram = G G^T`` (unnormalized): 0 at the
    bargaining solution."""
    return float(np.max(np.abs(alpha * (gram @ alpha) - 1.0)))


def nash_weights(gram: np.ndarray, max_iter: int = 200) -> tuple[np.ndarray, float]:
    """(``alpha`` solving ``gram alpha = 1 / alpha``, residual of that condition).

    Solved for the normalized ``M = gram / |gram|_F`` and rescaled by ``1 / sqrt(|gram|_F)``;
    the residual ``max_i |alpha_i (gram alpha)_i - 1|`` is the same for both forms.
    """
    k = gram.shape[0]
    norms = np.sqrt(np.clip(np.diag(gram), 0.0, None))
    active = np.flatnonzero(norms > 0)
    weights = np.zeros(k)
    if active.size == 0:
        return np.ones(k), 0.0
    scale = np.linalg.norm(gram)
    m = gram[np.ix_(active, active)] / scale
    m = m + RIDGE * np.diag(np.diag(m))

    def f(b: np.ndarray) -> float:
        a = np.exp(b)
        return float(0.5 * a @ m @ a - b.sum())

    def jac(b: np.ndarray) -> np.ndarray:
        a = np.exp(b)
        return a * (m @ a) - 1.0

    def hess(b: np.ndarray) -> np.ndarray:
        a = np.exp(b)
        return m * np.outer(a, a) + np.diag(a * (m @ a))

    result = minimize(
        f,
        np.zeros(active.size),
        jac=jac,
        hess=hess,
        method="trust-exact",
        options={"maxiter": max_iter, "gtol": 1e-10},
    )
    alpha = np.exp(result.x)
    residual = float(np.max(np.abs(alpha * (m @ alpha) - 1.0)))
    weights[active] = alpha / np.sqrt(scale)
    return weights, residual


class NashMTL(GradientWeighting):
    name = "nash_mtl"
    description = (
        "Nash bargaining solution G G^T a = 1/a over the task gradients (Navon et al. 2022)."
    )

    class Options(BaseModel):
        model_config = ConfigDict(extra="forbid")

        max_iter: PositiveInt = 200

    def task_weights(
        self, grads: torch.Tensor, tasks: list[str], losses: torch.Tensor, step: int
    ) -> np.ndarray:
        k = len(tasks)
        if k == 1:
            return np.ones(1)
        weights, residual = nash_weights(gram_matrix(grads), self.options.max_iter)
        if not np.isfinite(residual) or residual > 1e-4:
            logger.warning(
                "nash_mtl: solver residual %.2e at step %d; using equal weights for this step",
                residual,
                step + 1,
            )
            return np.ones(k)
        return weights
