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
parameters the trainer optimizes (at ``learning_rate`` when a weighting sets one, else at
``training.learning_rate``); any other state must live in buffers or in
``extra_state()`` (JSON) so that a checkpoint restores it exactly.

Before the first step the trainer calls ``bind(WeightingContext)``: facts about the run a
weighting cannot get from config alone (each task's type, the training seed, which slice
of the flat shared-gradient vector is the last shared layer). A weighting built outside a
trainer (unit tests, notebooks) is simply never bound and must still work.
"""

from __future__ import annotations

from abc import ABC
from dataclasses import dataclass, field
from typing import Any, ClassVar, Literal

import torch
from pydantic import BaseModel
from torch import nn

from mtl_pipeline.components import Component


@dataclass(frozen=True)
class WeightingContext:
    """What the trainer tells a weighting before the first step (see ``bind``).

    ``task_types``: task -> task-type name (``classification``, ``regression``...).
    ``shared_parameter_names``/``shared_parameter_sizes``: the shared parameters in the
    order their gradients are flattened into a row of ``grads``.
    ``last_shared_layer``: ``(start, stop)`` ranges of that flat vector holding the last
    shared layer (cheap MGDA/GradNorm variants use only these); empty when unknown.
    ``seed``: ``training.seed``, the default seed of stochastic weightings.
    """

    task_types: dict[str, str] = field(default_factory=dict)
    shared_parameter_names: tuple[str, ...] = ()
    shared_parameter_sizes: tuple[int, ...] = ()
    last_shared_layer: tuple[tuple[int, int], ...] = ()
    seed: int = 0

    def last_layer_columns(self, grads: torch.Tensor) -> torch.Tensor | None:
        """``grads[:, last shared layer]`` (a view when the layer is contiguous), or None."""
        if not self.last_shared_layer:
            return None
        parts = [grads[:, start:stop] for start, stop in self.last_shared_layer]
        return parts[0] if len(parts) == 1 else torch.cat(parts, dim=1)


class TaskWeighting(nn.Module, Component, ABC):
    """Base class of every loss/weighting method."""

    mode: ClassVar[Literal["loss", "gradient"]] = "loss"

    def __init__(self, task_names: list[str], options: BaseModel) -> None:
        super().__init__()
        self.task_names = list(task_names)
        self.options = options
        self._last_weights: dict[str, float] = {}
        self.context: WeightingContext | None = None

    def bind(self, context: WeightingContext) -> None:
        """Called once by the trainer before the first step. Subclasses that derive
        settings from the context override it (and call ``super().bind``)."""
        self.context = context

    @property
    def learning_rate(self) -> float | None:
        """Learning rate of this weighting's own parameters; None: ``training.learning_rate``."""
        return None

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
