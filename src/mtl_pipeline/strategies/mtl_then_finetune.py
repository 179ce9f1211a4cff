"""``mtl_then_finetune``: MT-DNN's recipe (Liu et al. 2019): MTL, then per-task fine-tuning.

Phase 1 trains one model on all tasks (as ``mtl_all``). Then, for every task, a model for
that task alone starts from the multi-task model's encoder *and that task's head* (the
other heads are dropped) and is fine-tuned on the task for ``training.finetune_steps``
(default ``max_steps``) with a fresh optimizer, keeping its best step. Each task is
answered by its own fine-tuned copy (a ``per_task`` bundle).
"""

from __future__ import annotations

from mtl_pipeline.strategies.base import Phase, Strategy, StrategyContext, StrategyResult
from mtl_pipeline.strategies.mtl_all import MtlAll


class MtlThenFinetune(Strategy):
    name = "mtl_then_finetune"
    description = "MTL on all tasks, then a fine-tuned copy per task (MT-DNN)."
    training_keys = {"finetune_steps": False}

    @staticmethod
    def finetune(ctx: StrategyContext, mtl: Phase, task: str, steps: int | None = None) -> Phase:
        from mtl_pipeline.strategies.transfer import carry_over

        source = mtl.model.architecture
        return ctx.phase(
            f"finetune:{task}",
            [task],
            steps=steps,
            init=lambda architecture: carry_over(source, architecture, keep_tasks=[task]),
            source=mtl,
        )

    def run(self, ctx: StrategyContext) -> StrategyResult:
        from mtl_pipeline.strategies.transfer import check_transferable

        check_transferable(ctx, ctx.tasks, ctx.tasks[:1], keep_tasks=ctx.tasks[:1])
        mtl = MtlAll.train(ctx, name="mtl")
        tuned = {
            t: self.finetune(ctx, mtl, t, steps=ctx.train_cfg.finetune_steps) for t in ctx.tasks
        }
        return StrategyResult(self.name, [mtl, *tuned.values()], tuned)
