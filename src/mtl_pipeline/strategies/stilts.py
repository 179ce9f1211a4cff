"""``stilts``: train on an intermediate task, then on the target (Phang et al. 2018).

Phase 1 is the supporting (intermediate) task's single-task run. Phase 2 builds a fresh
model for the target alone and copies in phase 1's encoder, leaving the intermediate head
behind: the target head is newly initialized and the optimizer and schedule start over,
as in STILTs, so only what the encoder learned carries over. Phase 2 runs
``training.finetune_steps`` (default ``max_steps``) and keeps the target's best step.
The saved model answers for the target with phase 2 and for the intermediate task with
phase 1 (a ``per_task`` bundle).
"""

from __future__ import annotations

from mtl_pipeline.strategies.base import Phase, Strategy, StrategyContext, StrategyResult
from mtl_pipeline.strategies.single_task import SingleTask


class Stilts(Strategy):
    name = "stilts"
    description = "Intermediate task first, then the target; encoder carried over, heads dropped."
    training_keys = {"target_task": True, "supporting_task": True, "finetune_steps": False}
    task_keys = ("target_task", "supporting_task")

    @staticmethod
    def transfer(
        ctx: StrategyContext, intermediate: Phase, target: str, steps: int | None = None
    ) -> Phase:
        """Phase 2: ``target`` from ``intermediate``'s encoder (its head dropped)."""
        from mtl_pipeline.strategies.transfer import carry_over

        source = intermediate.model.architecture
        return ctx.phase(
            f"stilts:{'+'.join(intermediate.tasks)}>{target}",
            [target],
            steps=steps,
            init=lambda architecture: carry_over(source, architecture),
            source=intermediate,
        )

    def run(self, ctx: StrategyContext) -> StrategyResult:
        target, support = ctx.train_cfg.target_task, ctx.train_cfg.supporting_task
        assert target is not None and support is not None  # check_strategy_keys guarantees it
        from mtl_pipeline.strategies.transfer import check_transferable

        check_transferable(ctx, [support], [target])
        intermediate = SingleTask.train(ctx, support)
        final = self.transfer(ctx, intermediate, target, steps=ctx.train_cfg.finetune_steps)
        return StrategyResult(
            self.name, [intermediate, final], {target: final, support: intermediate}
        )
