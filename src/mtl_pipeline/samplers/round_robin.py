"""Round-robin: a fixed cycle over the tasks, no randomness (e.g. MT-DNN-style task
alternation; jiant's and many codebases' simplest deterministic schedule).

Step s takes the next ``k`` tasks of the cycle: tasks ``order[(s·k + i) mod n]`` for
``i < k``. Every task gets the same number of batches (± 1 within a cycle), whatever its
size, so in the long run it matches ``uniform`` but without sampling noise, and small tasks
repeat their epochs far more often than large ones. The plan depends only on the step, so
the seed does not change it and resuming is exact by construction.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict

from mtl_pipeline.errors import ConfigError
from mtl_pipeline.samplers.base import TaskSampler


class RoundRobinOptions(BaseModel):
    model_config = ConfigDict(extra="forbid")

    #: The cycle; ``None`` uses the order of ``tasks`` in the config.
    order: list[str] | None = None


class RoundRobinSampler(TaskSampler):
    name = "round_robin"
    description = "Deterministic cycle over the tasks (the next k each step); seed-independent."
    Options = RoundRobinOptions

    def __init__(self, task_sizes: dict[str, int], **kwargs: Any) -> None:
        super().__init__(task_sizes, **kwargs)
        order = self.options.order  # type: ignore[attr-defined]
        if order is None:
            self.order = list(self.task_names)
        else:
            unknown = [t for t in order if t not in self.task_sizes]
            missing = [t for t in self.task_names if t not in order]
            repeated = sorted({t for t in order if order.count(t) > 1})
            if unknown or missing or repeated:
                problems = []
                if unknown:
                    problems.append(f"unknown task(s) {', '.join(map(repr, unknown))}")
                if missing:
                    problems.append(f"missing task(s) {', '.join(map(repr, missing))}")
                if repeated:
                    problems.append(f"repeated task(s) {', '.join(map(repr, repeated))}")
                raise ConfigError(
                    f"training.sampler.order: {'; '.join(problems)}; expected each of "
                    f"{', '.join(self.task_names)} exactly once."
                )
            self.order = list(order)

    def probabilities(self, step: int) -> dict[str, float]:
        """The long-run share (uniform); the plan itself is deterministic, see ``sample``."""
        share = 1.0 / len(self.task_names)
        return dict.fromkeys(self.task_names, share)

    def sample(self, step: int) -> list[str]:
        n, k = len(self.order), self.tasks_per_step
        return [self.order[(step * k + i) % n] for i in range(k)]
