"""``single_task``: every task trained alone from the pretrained encoder (no transfer).

The baseline every transfer strategy is measured against, and STILTs' first phase (the
intermediate model is the supporting task's single-task model). In the main pipeline each
configured task gets its own model; they are saved together as one ``per_task`` model.
"""

from __future__ import annotations

from mtl_pipeline.strategies.base import Phase, Strategy, StrategyContext, StrategyResult


class SingleTask(Strategy):
    name = "single_task"
    description = "Each task alone from the pretrained encoder; one model per task."

    @staticmethod
    def train(ctx: StrategyContext, task: str, steps: int | None = None) -> Phase:
        return ctx.phase(f"single_task:{task}", [task], steps=steps)

    def run(self, ctx: StrategyContext) -> StrategyResult:
        phases = [self.train(ctx, task) for task in ctx.tasks]
        return StrategyResult(self.name, phases, {p.tasks[0]: p for p in phases})
