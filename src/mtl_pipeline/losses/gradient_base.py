"""Shared machinery of the gradient-mode weightings.

Every built-in gradient method returns a *linear combination* of the task gradients,
``d = sum_i w_i g_i``: MGDA, IMTL-G, Nash-MTL and GradNorm by construction, CAGrad as
``g_0 + lambda * g_w``, and even PCGrad (each projected gradient is the original minus
multiples of the others). So each method only computes the ``k`` weights, from the
``(k, k)`` Gram matrix ``G G^T`` and the losses, and the base class applies them with one
``(k,) @ (k, P)`` product. The ``P``-sized work per step is one Gram product
(``k^2 P`` flops) and one combination (``k P``); all method logic is ``k x k`` algebra in
float64 on the CPU, which is exact enough and costs microseconds.

The Gram product runs in the rows' dtype (float32 from the trainer, whatever the autocast
precision) on the rows' device, and only the ``k x k`` result is moved and widened.

The combination ``w @ grads`` runs in float64 (``combine_rows``). Why: where gradients
nearly cancel (exactly opposed tasks) the weights can reach ~1e5 while the update should be
near zero; rounding the weights, or the products, to float32 there leaves a spurious
update of ``~1e5 * 6e-8 * |g|``, about 1% of the gradient (Nash-MTL), and pushes CAGrad's
update off its constraint ball. float64 leaves ~1e-11 of it. Only the ``(P,)`` result is
rounded back to the rows' dtype.
"""

from __future__ import annotations

import logging
from abc import ABC, abstractmethod

import numpy as np
import torch

from mtl_pipeline.losses.base import TaskWeighting

logger = logging.getLogger(__name__)


def mean_over_ranks(values: torch.Tensor) -> torch.Tensor:
    """``values`` averaged over the ranks of an initialized ``torch.distributed`` group.

    Why: under data parallelism the trainer all-reduces the gradient rows but passes each
    rank its *local* losses. A method whose weights depend on the losses (GradNorm's
    training rates, MGDA's loss normalizers) would then compute different weights, hence
    different shared updates, on different ranks, and the replicas would drift apart.
    """
    import torch.distributed as dist

    if dist.is_available() and dist.is_initialized() and dist.get_world_size() > 1:
        values = values.clone()
        dist.all_reduce(values)
        values /= dist.get_world_size()
    return values


#: Columns widened to float64 at a time by ``combine_rows``: bounds its extra memory to
#: ``(k + 1) * COMBINE_CHUNK`` doubles (~50 MB at k = 5) whatever the parameter count.
COMBINE_CHUNK = 1 << 20


def combine_rows(weights: np.ndarray, rows: torch.Tensor) -> torch.Tensor:
    """``weights @ rows`` accumulated in float64, returned in ``rows``' dtype and device.

    Done in column chunks so that a ``(k, P)`` float64 copy of the rows is never held.
    """
    w = torch.from_numpy(np.asarray(weights, dtype=np.float64)).to(rows.device)
    if rows.dtype == torch.float64:
        return w @ rows
    out = torch.empty(rows.shape[1], dtype=rows.dtype, device=rows.device)
    for start in range(0, rows.shape[1], COMBINE_CHUNK):
        stop = start + COMBINE_CHUNK
        out[start:stop] = (w @ rows[:, start:stop].double()).to(rows.dtype)
    return out


def gram_matrix(rows: torch.Tensor) -> np.ndarray:
    """``rows @ rows.T`` as a float64 numpy array (symmetrized against rounding)."""
    gram = (rows @ rows.T).double().cpu().numpy()
    return (gram + gram.T) / 2.0


class GradientWeighting(TaskWeighting, ABC):
    """A gradient-mode weighting defined by its task weights ``w`` (``d = w @ grads``)."""

    mode = "gradient"

    @abstractmethod
    def task_weights(
        self, grads: torch.Tensor, tasks: list[str], losses: torch.Tensor, step: int
    ) -> np.ndarray:
        """The ``(k,)`` weights of the step's task gradients. ``losses`` is the ``(k,)``
        float64 CPU tensor of the step's (detached) losses in row order."""

    def combine_gradients(
        self, grads: torch.Tensor, losses: dict[str, torch.Tensor], step: int
    ) -> torch.Tensor:
        tasks = list(losses)
        values = mean_over_ranks(
            torch.stack([v.detach().float().reshape(()) for v in losses.values()])
        )
        values = values.double().cpu()
        weights = np.asarray(self.task_weights(grads, tasks, values, step), dtype=np.float64)
        self._last_weights = {t: float(w) for t, w in zip(tasks, weights, strict=True)}
        return combine_rows(weights, grads)

    def _rows_for_weights(self, grads: torch.Tensor, params: str) -> torch.Tensor:
        """``grads`` itself, or its last-shared-layer columns for ``params: last_layer``
        (falling back, with one warning, to all columns when the trainer did not say
        where that layer is)."""
        if params != "last_layer":
            return grads
        columns = self.context.last_layer_columns(grads) if self.context is not None else None
        if columns is None:
            if not getattr(self, "_warned_no_slice", False):
                logger.warning(
                    "%s: params=last_layer but the last shared layer is unknown (weighting not "
                    "bound by a trainer); using all shared parameters.",
                    self.name,
                )
                self._warned_no_slice = True
            return grads
        return columns
