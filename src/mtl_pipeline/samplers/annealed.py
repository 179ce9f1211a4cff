"""Annealed sampling (Stickland & Murray 2019, "BERT and PALs", section 4).

p_t ∝ n_t^α with α = 1 − decay·(e − 1)/(E − 1), e = 1..E the mixture epoch. Training
starts proportional (α = 1: learn from all the data) and ends close to uniform
(α = 0.2 with the paper's decay 0.8), so that tasks seen little early on are not
forgotten or under-trained by the end. E is the number of mixture epochs that
``max_steps`` spans, ``ceil(max_steps / steps_per_epoch)`` (``TaskSampler.num_epochs``);
with E = 1 α stays 1 (proportional) for the whole run.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from mtl_pipeline.samplers.base import TaskSampler, normalize


class AnnealedOptions(BaseModel):
    model_config = ConfigDict(extra="forbid")

    #: How far α falls from 1 by the last epoch (the paper's 0.8; 1.0 ends exactly uniform).
    decay: float = Field(default=0.8, ge=0.0, le=1.0)


class AnnealedSampler(TaskSampler):
    name = "annealed"
    description = (
        "p ∝ size^α, α = 1 − 0.8·(e−1)/(E−1) over mixture epochs e (Stickland & Murray 2019)"
    )
    Options = AnnealedOptions

    def alpha(self, epoch: int) -> float:
        """The exponent in 1-based mixture epoch ``epoch`` (clamped to 1..E)."""
        total = self.num_epochs
        if total == 1:
            return 1.0
        e = min(max(epoch, 1), total)
        return 1.0 - self.options.decay * (e - 1) / (total - 1)  # type: ignore[attr-defined]

    def probabilities(self, step: int) -> dict[str, float]:
        a = self.alpha(self.epoch(step))
        return normalize({t: n**a for t, n in self.task_sizes.items()})
