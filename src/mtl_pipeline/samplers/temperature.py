"""Temperature sampling (Arivazhagan et al. 2019): p_t ∝ n_t^(1/T).

T = 1 is proportional sampling, T = 2 square-root sampling, T → ∞ uniform. It lifts
small tasks without letting them repeat endlessly.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from mtl_pipeline.samplers.base import TaskSampler, normalize


class TemperatureOptions(BaseModel):
    model_config = ConfigDict(extra="forbid")

    T: float = Field(default=2.0, gt=0.0)


class TemperatureSampler(TaskSampler):
    name = "temperature"
    description = "p ∝ size^(1/T); T=1 proportional, T=2 square-root, large T uniform."
    Options = TemperatureOptions

    def probabilities(self, step: int) -> dict[str, float]:
        exponent = 1.0 / self.options.T  # type: ignore[attr-defined]
        return normalize({t: n**exponent for t, n in self.task_sizes.items()})
