"""Uniform sampling: every task is equally likely at every step, whatever its size.

The usual baseline (e.g. jiant's ``UniformMultiTaskSampler``). Small tasks are revisited
many times per pass over a large one, so they overfit first while large tasks stay
under-trained; the other samplers exist to trade these two effects off.
"""

from __future__ import annotations

from mtl_pipeline.components import NoOptions
from mtl_pipeline.samplers.base import TaskSampler


class UniformSampler(TaskSampler):
    name = "uniform"
    description = "p = 1/#tasks at every step, whatever the task sizes."
    Options = NoOptions

    def probabilities(self, step: int) -> dict[str, float]:
        share = 1.0 / len(self.task_names)
        return dict.fromkeys(self.task_names, share)
