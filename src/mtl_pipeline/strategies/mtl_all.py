"""``mtl_all``: one model trained jointly on every task (the project's default).

The main pipeline runs it straight through ``training.run.train_phase`` (this class is the
same call, for the experiments grid and for symmetry): best step by the mean of all tasks'
main metrics.
"""

from __future__ import annotations

from mtl_pipeline.strategies.base import Phase, Strategy, StrategyContext, StrategyResult


class MtlAll(Strategy):
    name = "mtl_all"
    description = "One model trained jointly on all tasks."

    @staticmethod
    def train(ctx: StrategyContext, steps: int | None = None, name: str = "mtl_all") -> Phase:
        return ctx.phase(name, ctx.tasks, steps=steps)

    def run(self, ctx: StrategyContext) -> StrategyResult:
        phase = self.train(ctx)
        return StrategyResult(self.name, [phase], dict.fromkeys(ctx.tasks, phase))
