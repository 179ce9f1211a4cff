"""Examples-proportional sampling: p_t ∝ n_t (MT-DNN, Liu et al. 2019; T5's "examples-
proportional mixing" without a cap).

Every training example is equally likely to be seen, as if the task sets were
concatenated and shuffled, so one mixture epoch is (in expectation) one task epoch for
every task at once. Tiny tasks are barely trained when sizes differ by orders of magnitude.
"""

from __future__ import annotations

from mtl_pipeline.components import NoOptions
from mtl_pipeline.samplers.base import TaskSampler, normalize


class ProportionalSampler(TaskSampler):
    name = "proportional"
    description = "p ∝ training-set size: every example equally likely (concatenate-and-shuffle)."
    Options = NoOptions

    def probabilities(self, step: int) -> dict[str, float]:
        return normalize(self.task_sizes)
