"""Dynamic Weight Averaging (Liu, Johns & Davison, CVPR 2019, "End-to-end multi-task
learning with attention").

Paper: ``w_i(t) = K exp(r_i(t-1) / T) / sum_j exp(r_j(t-1) / T)`` with
``r_i(t-1) = L_i(t-1) / L_i(t-2)``, where ``L_i(t)`` is task ``i``'s mean loss over epoch
``t``; a task whose loss falls slowly gets more weight. Weights are 1 for the first two
epochs.

Here an "epoch" is a *window* of ``window`` optimizer steps (windows ``[0, window)``,
``[window, 2 window)``...): multi-task epochs are ill-defined when tasks differ in size
and a step holds only ``k`` of the ``K`` tasks, so each task's loss is averaged over the
steps of the window in which it was drawn. ``r_i`` uses the task's last two *completed*
windows in which it was seen (1 until there are two). With ``k < K`` tasks per step the
softmax runs over the step's tasks and is scaled to sum to ``k``, so ``k = K`` is the paper
exactly and every step's weights average 1, as with equal weighting.
"""

from __future__ import annotations

import math
from typing import Any

import torch
from pydantic import BaseModel, ConfigDict, PositiveFloat, PositiveInt

from mtl_pipeline.losses.base import TaskWeighting


class DynamicWeightAverage(TaskWeighting):
    name = "dwa"
    description = "Dynamic Weight Averaging: softmax of loss-descent ratios (Liu et al. 2019)."
    mode = "loss"

    class Options(BaseModel):
        model_config = ConfigDict(extra="forbid")

        temperature: PositiveFloat = 2.0
        window: PositiveInt = 100

    def __init__(self, task_names: list[str], options: Options) -> None:
        super().__init__(task_names, options)
        self._window = 0
        self._sums = dict.fromkeys(task_names, 0.0)
        self._counts = dict.fromkeys(task_names, 0)
        self._history: dict[str, list[float]] = {t: [] for t in task_names}

    def _roll(self, step: int) -> None:
        window = step // self.options.window
        if window == self._window:
            return
        for task in self.task_names:
            if self._counts[task]:
                mean = self._sums[task] / self._counts[task]
                self._history[task] = (self._history[task] + [mean])[-2:]
            self._sums[task], self._counts[task] = 0.0, 0
        self._window = window

    def ratio(self, task: str) -> float:
        """``L_i(t-1) / L_i(t-2)`` over the task's last two completed windows, else 1."""
        past = self._history[task]
        if len(past) < 2 or not past[0] > 0 or not math.isfinite(past[1] / past[0]):
            return 1.0
        return past[1] / past[0]

    def weights_for(self, tasks: list[str]) -> list[float]:
        ratios = torch.tensor([self.ratio(t) for t in tasks], dtype=torch.float64)
        return (len(tasks) * torch.softmax(ratios / self.options.temperature, dim=0)).tolist()

    def combine_losses(self, losses: dict[str, torch.Tensor], step: int) -> torch.Tensor:
        self._roll(step)
        tasks = list(losses)
        stacked = torch.stack([v.float().reshape(()) for v in losses.values()])
        weights = self.weights_for(tasks)
        # Called once per micro-batch: every micro-batch's loss enters the window mean.
        for task, value in zip(tasks, stacked.detach().cpu().tolist(), strict=True):
            if math.isfinite(value):
                self._sums[task] += value
                self._counts[task] += 1
        self._last_weights = dict(zip(tasks, weights, strict=True))
        return (torch.tensor(weights, dtype=stacked.dtype, device=stacked.device) * stacked).sum()

    def extra_state(self) -> dict[str, Any]:
        return {
            "window": self._window,
            "sums": dict(self._sums),
            "counts": dict(self._counts),
            "history": {t: list(v) for t, v in self._history.items()},
        }

    def load_extra_state(self, state: dict[str, Any]) -> None:
        if not state:
            return
        self._window = int(state["window"])
        self._sums = {t: float(state["sums"].get(t, 0.0)) for t in self.task_names}
        self._counts = {t: int(state["counts"].get(t, 0)) for t in self.task_names}
        self._history = {
            t: [float(x) for x in state["history"].get(t, [])] for t in self.task_names
        }
