"""The task-sampler interface (after jiant's ``BaseMultiTaskSampler``).

A sampler produces the step plan: at each step, ``tasks_per_step`` distinct task names
(``k = 1`` is jiant/MT-DNN style, one task per step). The trainer then draws the next
batch of each named task from that task's own shuffled stream.

Epochs: a *task epoch* is one pass over that task's training set (its stream reshuffles
then). A *mixture epoch* is ``steps_per_epoch = ceil(sum(train sizes) / (batch_size * k))``
steps, the number of steps that would show every example once if the tasks were drawn in
proportion to their size. Schedules that change over "epochs" (annealed) use mixture
epochs; ``max_steps`` always ends training, whatever epoch it falls in.

All randomness comes from ``self.rng`` (a seeded numpy ``Generator``), and
``state_dict()`` returns plain JSON, so resuming continues the identical sequence.
"""

from __future__ import annotations

import math
from abc import ABC, abstractmethod
from typing import Any

import numpy as np
from pydantic import BaseModel

from mtl_pipeline.components import Component
from mtl_pipeline.errors import ConfigError


class TaskSampler(Component, ABC):
    """Base class of every sampler. Subclasses implement ``probabilities``."""

    def __init__(
        self,
        task_sizes: dict[str, int],
        *,
        tasks_per_step: int,
        max_steps: int,
        batch_size: int,
        seed: int,
        options: BaseModel,
    ) -> None:
        if tasks_per_step > len(task_sizes):
            raise ConfigError(
                f"training.tasks_per_step: {tasks_per_step} tasks per step, but only "
                f"{len(task_sizes)} tasks ({', '.join(task_sizes)}); expected at most {len(task_sizes)}."
            )
        self.task_names = list(task_sizes)
        self.task_sizes = dict(task_sizes)
        self.tasks_per_step = tasks_per_step
        self.max_steps = max_steps
        self.batch_size = batch_size
        self.options = options
        self.rng = np.random.Generator(np.random.PCG64(seed))
        self.steps_per_epoch = max(
            1, math.ceil(sum(task_sizes.values()) / (batch_size * tasks_per_step))
        )

    def epoch(self, step: int) -> int:
        """1-based mixture epoch of 0-based ``step``."""
        return step // self.steps_per_epoch + 1

    @property
    def num_epochs(self) -> int:
        return max(1, math.ceil(self.max_steps / self.steps_per_epoch))

    @abstractmethod
    def probabilities(self, step: int) -> dict[str, float]:
        """The distribution tasks are drawn from at 0-based ``step`` (sums to 1)."""

    def sample(self, step: int) -> list[str]:
        """The tasks of ``step``: ``k`` distinct tasks drawn without replacement."""
        probs = self.probabilities(step)
        p = np.array([probs[t] for t in self.task_names], dtype=np.float64)
        p = p / p.sum()
        k = self.tasks_per_step
        if k == 1:
            return [self.task_names[int(self.rng.choice(len(p), p=p))]]
        picked = self.rng.choice(len(p), size=k, replace=False, p=p)
        return [self.task_names[int(i)] for i in sorted(picked)]

    def observe(self, step: int, scores: dict[str, float]) -> None:
        """Evaluation feedback ``{task: main metric}`` (used by dynamic samplers)."""

    def state_dict(self) -> dict[str, Any]:
        return {"rng": self.rng.bit_generator.state, "extra": self.extra_state()}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.rng.bit_generator.state = state["rng"]
        self.load_extra_state(state.get("extra", {}))

    def extra_state(self) -> dict[str, Any]:
        return {}

    def load_extra_state(self, state: dict[str, Any]) -> None:
        pass


def normalize(weights: dict[str, float]) -> dict[str, float]:
    total = float(sum(weights.values()))
    return {t: float(w) / total for t, w in weights.items()}
