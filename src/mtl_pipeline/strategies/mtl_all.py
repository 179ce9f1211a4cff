"""``mtl_all``: one model trained jointly on every task (the project's default).

Run by the training node as one plain ``train_phase`` over every task, with the
configuration exactly as given (its checkpoint folder, its history); best step by the mean of
all tasks' main metrics. ``run`` is the same training as a one-phase result, for the
strategies that start from it (MT-DNN's fine-tuning) and the experiments grid.
"""

from __future__ import annotations

from typing import Any

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

    def fit(self, ctx: StrategyContext) -> tuple[Any, dict[str, Any]]:
        """One ``train_phase`` on the configuration as given: no phase subfolder for its
        checkpoints and the trainer's own history, which is what a resume expects."""
        from mtl_pipeline.training.phase import train_phase

        return train_phase(
            ctx.model_cfg,
            ctx.train_cfg,
            ctx.task_cfgs,
            ctx.task_data,
            keep_final_checkpoint=ctx.keep_final_checkpoints,
        )
