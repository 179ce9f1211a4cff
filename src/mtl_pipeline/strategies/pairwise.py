"""``pairwise``: the target trained jointly with one supporting task (Weller et al. 2022).

One joint run over the two tasks, with the configured loss and sampler, whose best step
is chosen by the *target's* main metric alone: the supporting task is there only to help
the target, so its own dev score must not pull model selection. The saved model answers
for both tasks (the supporting task's head as it was at the target's best step).
"""

from __future__ import annotations

from mtl_pipeline.strategies.base import Phase, Strategy, StrategyContext, StrategyResult


class Pairwise(Strategy):
    name = "pairwise"
    description = "Target and one supporting task trained jointly; selection by the target."
    training_keys = {"target_task": True, "supporting_task": True}
    task_keys = ("target_task", "supporting_task")

    @staticmethod
    def train(ctx: StrategyContext, target: str, support: str, steps: int | None = None) -> Phase:
        return ctx.phase(
            f"pairwise:{target}+{support}", [target, support], steps=steps, selection=[target]
        )

    def run(self, ctx: StrategyContext) -> StrategyResult:
        target, support = ctx.train_cfg.target_task, ctx.train_cfg.supporting_task
        assert target is not None and support is not None  # check_strategy_keys guarantees it
        phase = self.train(ctx, target, support)
        return StrategyResult(self.name, [phase], {target: phase, support: phase})
