"""Conflict-Averse Gradient descent, CAGrad (Liu, Liu, Jin, Stone & Liu, NeurIPS 2021).

Find the update ``d`` that maximizes the worst task's improvement within a ball around the
average gradient ``g_0``: ``max_d min_i <g_i, d>`` s.t. ``|d - g_0| <= c |g_0|``. Its dual is
a ``k``-dimensional problem over the simplex,

    min_w  g_w . g_0 + sqrt(phi) |g_w|,    g_w = sum_i w_i g_i,  phi = c^2 |g_0|^2,

solved here with ``scipy.optimize.minimize`` (SLSQP, analytic gradient, the equality and
bound constraints of the simplex), as in the authors' code. Then
``d = g_0 + (sqrt(phi) / |g_w|) g_w``, divided by ``1 + c^2`` (``rescale: 1``, the
authors' default), ``1 + c`` (``rescale: 2``) or left as is (``rescale: 0``). ``c = 0``
gives the average gradient exactly. A step with a single task passes its gradient
through unchanged (as every gradient method here does).

Everything depends on the gradients only through the Gram matrix; it is divided by its
mean diagonal before solving (the minimizer is invariant to that scaling, SLSQP's
absolute tolerances are not). Note the scale: ``g_0`` is the *mean*, not the sum, of the
task gradients (1/k of equal weighting's update before clipping).
"""

from __future__ import annotations

import logging
from typing import Literal

import numpy as np
import torch
from pydantic import BaseModel, ConfigDict, NonNegativeFloat, PositiveInt
from scipy.optimize import minimize

from mtl_pipeline.losses.gradient_base import GradientWeighting, gram_matrix

logger = logging.getLogger(__name__)


def cagrad_weights(gram: np.ndarray, c: float, rescale: int = 1, max_iter: int = 100) -> np.ndarray:
    """Weights ``a`` with ``d = sum_i a_i g_i`` the CAGrad update for Gram matrix ``gram``."""
    k = gram.shape[0]
    if k == 1:  # nothing to be conflict-averse about: pass the gradient through
        return np.ones(1)
    mean = np.full(k, 1.0 / k)
    if c == 0:
        weights = mean.copy()
    else:
        scale = np.trace(gram) / k
        a = gram / scale if scale > 0 else gram
        ab = a @ mean
        g0_norm = float(np.sqrt(max(mean @ ab, 0.0)))
        cc = c * g0_norm

        def objective(x: np.ndarray) -> tuple[float, np.ndarray]:
            ax = a @ x
            norm = np.sqrt(max(x @ ax, 0.0) + 1e-12)
            return float(x @ ab + cc * norm), ab + cc * ax / norm

        result = minimize(
            objective,
            mean,
            jac=True,
            method="SLSQP",
            bounds=[(0.0, 1.0)] * k,
            constraints=(
                {"type": "eq", "fun": lambda x: 1.0 - x.sum(), "jac": lambda x: -np.ones_like(x)},
            ),
            options={"maxiter": max_iter, "ftol": 1e-12},
        )
        if not result.success:
            logger.debug(
                "cagrad: SLSQP did not converge (%s); using its last iterate", result.message
            )
        w = np.clip(result.x, 0.0, None)
        w = w / w.sum() if w.sum() > 0 else mean
        gw_norm = float(np.sqrt(max(w @ a @ w, 0.0)))
        weights = mean + (cc / (gw_norm + 1e-12)) * w
    if rescale == 1:
        return weights / (1.0 + c**2)
    if rescale == 2:
        return weights / (1.0 + c)
    return weights


class CAGrad(GradientWeighting):
    name = "cagrad"
    description = (
        "Conflict-averse gradient: best worst-task gain near the mean gradient (Liu et al. 2021)."
    )

    class Options(BaseModel):
        model_config = ConfigDict(extra="forbid")

        c: NonNegativeFloat = 0.4
        rescale: Literal[0, 1, 2] = 1
        max_iter: PositiveInt = 100

    def task_weights(
        self, grads: torch.Tensor, tasks: list[str], losses: torch.Tensor, step: int
    ) -> np.ndarray:
        opts = self.options
        if opts.c == 0 or len(tasks) == 1:  # no solve needed: skip the Gram product
            return cagrad_weights(np.eye(len(tasks)), opts.c, opts.rescale)
        return cagrad_weights(gram_matrix(grads), opts.c, opts.rescale, opts.max_iter)
