"""Capped examples-proportional sampling: p_t ∝ min(n_t, cap)^(1/T).

From T5 (Raffel et al. 2020, "examples-proportional mixing" with artificial limit K) and
jiant's ``TemperatureMultiTaskSampler(examples_cap=...)``: proportional sampling, except
that no task counts as bigger than ``cap`` examples, so one huge task cannot crowd the
others out. ``T`` (default 1, i.e. T5's rule) optionally flattens further, as in jiant.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field, PositiveInt

from mtl_pipeline.samplers.base import TaskSampler, normalize


class CappedOptions(BaseModel):
    model_config = ConfigDict(extra="forbid")

    #: 2**16 is the smallest limit T5 tried; it caps MNLI/QQP/QNLI-sized GLUE tasks.
    cap: PositiveInt = 2**16
    T: float = Field(default=1.0, gt=0.0)


class CappedSampler(TaskSampler):
    name = "capped"
    description = "p ∝ min(size, cap)^(1/T) (T5 / jiant examples cap); T=1 by default."
    Options = CappedOptions

    def probabilities(self, step: int) -> dict[str, float]:
        opts: CappedOptions = self.options  # type: ignore[assignment]
        exponent = 1.0 / opts.T
        return normalize({t: min(n, opts.cap) ** exponent for t, n in self.task_sizes.items()})
