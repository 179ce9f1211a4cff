"""Equal weighting: the plain sum of the step's task losses."""

from __future__ import annotations

import torch

from mtl_pipeline.losses.base import TaskWeighting


class EqualWeighting(TaskWeighting):
    name = "equal"
    description = "Sum of task losses, every weight 1 (the usual baseline)."
    mode = "loss"

    def combine_losses(self, losses: dict[str, torch.Tensor], step: int) -> torch.Tensor:
        self._last_weights = dict.fromkeys(losses, 1.0)
        return torch.stack(list(losses.values())).sum()
