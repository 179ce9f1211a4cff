"""The task-weighting interface (after LibMTL's ``AbsWeighting``).

A step holds batches of ``k`` tasks (the sampler decides which). Two families:

* ``mode = "loss"``: ``combine_losses`` turns the per-task losses into one scalar that
  the trainer backpropagates once (equal, static, uncertainty, DWA, RLW...).
* ``mode = "gradient"``: the trainer backpropagates each task's loss on its own, flattens
  the gradient on the architecture's *shared* parameters into row ``i`` of ``grads``
  (``(k, P)``, float32 whatever the autocast precision), and ``combine_gradients`` returns
  the ``(P,)`` vector written back as the shared gradient (PCGrad, CAGrad, MGDA...).
  Task-specific parameters (heads) always keep their own task's gradient.

A weighting is an ``nn.Module``: learnable weights (uncertainty's log-variances) are
parameters the trainer optimizes; any other state must live in buffers or in
``extra_state()`` (JSON) so that a checkpoint restores it exactly.
"""

from __future__ import annotations

from abc import ABC
from typing import Any, ClassVar, Literal

import torch
from pydantic import BaseModel
from torch import nn

from mtl_pipeline.components import Component


class TaskWeighting(nn.Module, Component, ABC):
    """Base class of every loss/weighting method."""

    mode: ClassVar[Literal["loss", "gradient"]] = "loss"

    def __init__(self, task_names: list[str], options: BaseModel) -> None:
        super().__init__()
        self.task_names = list(task_names)
        self.options = options
        self._last_weights: dict[str, float] = {}

    def combine_losses(self, losses: dict[str, torch.Tensor], step: int) -> torch.Tensor:
        """Scalar to backpropagate; ``losses`` holds the tasks of this step (a subset of
        ``task_names``), each a 0-dim tensor with grad. Loss-mode methods override this."""
        raise NotImplementedError(f"{self.name} is a gradient method; use combine_gradients")

    def combine_gradients(
        self, grads: torch.Tensor, losses: dict[str, torch.Tensor], step: int
    ) -> torch.Tensor:
        """``grads[i]`` is the shared gradient of ``list(losses)[i]``; return ``(P,)``.
        ``losses`` are detached. Gradient-mode methods override this."""
        raise NotImplementedError(f"{self.name} is a loss method; use combine_losses")

    def last_weights(self) -> dict[str, float]:
        """The weight each task of the last step got (for logs and plots)."""
        return dict(self._last_weights)

    def extra_state(self) -> dict[str, Any]:
        """JSON-serializable state beyond parameters/buffers (loss histories...)."""
        return {}

    def load_extra_state(self, state: dict[str, Any]) -> None:
        """Restore what ``extra_state`` returned."""
