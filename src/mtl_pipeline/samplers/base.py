"""The task-sampler interface (after jiant's ``BaseMultiTaskSampler``).

A sampler produces the step plan: at each step, ``tasks_per_step`` distinct task names
(``k = 1`` is jiant/MT-DNN style, one task per step). The trainer then draws the next
batch of each named task from that task's own shuffled stream.

Epochs: a *task epoch* is one pass over that task's training set (its stream reshuffles
then). A *mixture epoch* is ``steps_per_epoch = ceil(sum(train sizes) / (batch_size * k))``
steps, the number of steps that would show every example once if the tasks were drawn in
proportion to their size. Schedules that change over "epochs" (annealed) use mixture
epochs; ``max_steps`` always ends training, whatever epoch it falls in.

With ``k > 1`` the ``k`` tasks are drawn *without replacement* by the probabilities
(successive sampling: the first task ~ p, the next ~ p renormalized over the rest, ...).
The chance that a task is among the ``k`` (its *inclusion probability*) is therefore not
``k * p_t``: large tasks saturate towards 1 and small ones gain. ``inclusion_probabilities``
computes the exact values (see docs/samplers.md).

All randomness comes from ``self.rng`` (a seeded numpy ``Generator``), and
``state_dict()`` returns plain JSON, so resuming continues the identical sequence.
``probabilities(step)`` must be a pure function of the step and the sampler's state (it
never touches ``self.rng``): the trainer records it for the report without changing the plan.
"""

from __future__ import annotations

import math
from abc import ABC, abstractmethod
from collections.abc import Mapping
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
        if np.count_nonzero(p > 0) < k:
            # numpy would fail with a bare "fewer non-zero entries" message.
            raise ConfigError(
                f"training.sampler: {self.name!r} gives a positive probability to only "
                f"{np.count_nonzero(p > 0)} task(s) at step {step} ({probs}), but "
                f"training.tasks_per_step is {k}; give at least {k} tasks a positive probability."
            )
        if k == 1:
            return [self.task_names[int(self.rng.choice(len(p), p=p))]]
        picked = self.rng.choice(len(p), size=k, replace=False, p=p)
        return [self.task_names[int(i)] for i in sorted(picked)]

    def observe(self, step: int, scores: dict[str, float]) -> None:
        """Evaluation feedback ``{task: main metric}`` (used by dynamic samplers)."""

    def observe_losses(self, step: int, losses: dict[str, float]) -> None:
        """Training feedback, after every optimizer step ``step`` (1-based): ``{task: loss}``
        of the step's tasks, averaged over micro-batches and ranks, so every rank sees the
        same values (a skipped step's may be non-finite). Called on every rank before the
        next ``sample``; state derived from it belongs in ``extra_state`` so a resumed run
        draws the same tasks. Default: ignored."""

    def state_dict(self) -> dict[str, Any]:
        return {"rng": self.rng.bit_generator.state, "extra": self.extra_state()}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.rng.bit_generator.state = state["rng"]
        self.load_extra_state(state.get("extra", {}))

    def extra_state(self) -> dict[str, Any]:
        return {}

    def load_extra_state(self, state: dict[str, Any]) -> None:
        pass


def normalize(weights: Mapping[str, float]) -> dict[str, float]:
    total = float(sum(weights.values()))
    return {t: float(w) / total for t, w in weights.items()}


#: Above this many candidate subsets the exact computation is refused (it is for reports
#: and tests on a handful of tasks, not for a 100-task mixture with k = 50).
MAX_SUBSETS = 200_000


def subset_probabilities(probs: Mapping[str, float], k: int) -> dict[frozenset[str], float]:
    """Exact probability of each ``k``-task set under ``sample``'s successive sampling.

    Dynamic programming over the sets drawn so far: from set S, task j comes next with
    probability ``p_j / (1 - sum_{i in S} p_i)``. numpy's ``choice(replace=False, p=...)``
    keeps the first distinct values of an i.i.d. stream, which is exactly this process.
    """
    names = list(probs)
    p = normalize(probs)
    if k > len(names):
        raise ValueError(f"k={k} exceeds the number of tasks ({len(names)})")
    if math.comb(len(names), k) > MAX_SUBSETS:
        raise ValueError(f"too many {k}-subsets of {len(names)} tasks to enumerate exactly")
    layer: dict[frozenset[str], float] = {frozenset(): 1.0}
    for _ in range(k):
        nxt: dict[frozenset[str], float] = {}
        for drawn, prob in layer.items():
            rest = 1.0 - sum(p[t] for t in drawn)
            if prob == 0.0 or rest <= 0.0:
                continue
            for t in names:
                if t not in drawn and p[t] > 0.0:
                    key = drawn | {t}
                    nxt[key] = nxt.get(key, 0.0) + prob * p[t] / rest
        layer = nxt
    return layer


def inclusion_probabilities(probs: Mapping[str, float], k: int) -> dict[str, float]:
    """Exact chance that each task is among the ``k`` of one step (sums to ``k``).

    For ``k = 1`` this is ``p`` itself; for ``k > 1`` it is what the per-task batch counts
    converge to (divided by the number of steps), not ``k * p``.
    """
    if k == 1:
        return normalize(probs)
    out = dict.fromkeys(probs, 0.0)
    for subset, prob in subset_probabilities(probs, k).items():
        for t in subset:
            out[t] += prob
    return out
