"""Random Loss Weighting (Lin et al., TMLR 2022 / arXiv 2021, "Reasonable effectiveness of
random weighting").

Each step draws ``z ~ N(0, I_k)`` and weights the step's losses by ``k * softmax(z)``:
random convex weights (scaled to sum to ``k`` so the loss scale matches equal weighting).
The draw happens once per *optimizer step* (micro-batches of one step share it).

Randomness comes from a seeded numpy ``PCG64`` generator of its own (``seed``, default
``training.seed``), never from torch's global RNG, so adding RLW does not change dropout
masks, and its state goes into ``extra_state`` as plain JSON for exact resumption.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch
from pydantic import BaseModel, ConfigDict

from mtl_pipeline.losses.base import TaskWeighting


class RandomLossWeighting(TaskWeighting):
    name = "rlw"
    description = "Random loss weights k*softmax(z), z ~ N(0, I), per step (Lin et al. 2021)."
    mode = "loss"

    class Options(BaseModel):
        model_config = ConfigDict(extra="forbid")

        seed: int | None = None

    def __init__(self, task_names: list[str], options: Options) -> None:
        super().__init__(task_names, options)
        self._rng: np.random.Generator | None = None
        self._drawn: tuple[int, list[str], list[float]] | None = None

    def generator(self) -> np.random.Generator:
        """The weighting's own generator, created on first use (after ``bind`` has had the
        chance to supply ``training.seed``)."""
        if self._rng is None:
            seed = self.options.seed
            if seed is None:
                seed = self.context.seed if self.context is not None else 0
            self._rng = np.random.Generator(np.random.PCG64(seed))
        return self._rng

    def weights_for(self, tasks: list[str], step: int) -> list[float]:
        if self._drawn is None or self._drawn[0] != step or self._drawn[1] != tasks:
            z = self.generator().standard_normal(len(tasks))
            e = np.exp(z - z.max())
            self._drawn = (step, list(tasks), (len(tasks) * e / e.sum()).tolist())
        return list(self._drawn[2])

    def combine_losses(self, losses: dict[str, torch.Tensor], step: int) -> torch.Tensor:
        tasks = list(losses)
        stacked = torch.stack([v.float().reshape(()) for v in losses.values()])
        weights = self.weights_for(tasks, step)
        self._last_weights = dict(zip(tasks, weights, strict=True))
        return (torch.tensor(weights, dtype=stacked.dtype, device=stacked.device) * stacked).sum()

    def extra_state(self) -> dict[str, Any]:
        return {
            "rng": self.generator().bit_generator.state,
            "drawn": list(self._drawn) if self._drawn is not None else None,
        }

    def load_extra_state(self, state: dict[str, Any]) -> None:
        if not state:
            return
        self.generator().bit_generator.state = state["rng"]
        drawn = state.get("drawn")
        self._drawn = (
            (int(drawn[0]), list(drawn[1]), [float(w) for w in drawn[2]]) if drawn else None
        )
