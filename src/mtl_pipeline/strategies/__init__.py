"""Transfer strategies: how the tasks are combined over one or more training runs.

``training.strategy`` picks one; ``run_strategy`` is what ``run_training`` calls for every
strategy but ``mtl_all`` (whose path is unchanged). See docs/strategies.md.
"""

from __future__ import annotations

from typing import Any

from mtl_pipeline.strategies.base import Phase, Strategy, StrategyContext, StrategyResult, package
from mtl_pipeline.strategies.mtl_all import MtlAll
from mtl_pipeline.strategies.mtl_then_finetune import MtlThenFinetune
from mtl_pipeline.strategies.pairwise import Pairwise
from mtl_pipeline.strategies.single_task import SingleTask
from mtl_pipeline.strategies.stilts import Stilts

STRATEGIES: dict[str, type[Strategy]] = {
    cls.name: cls for cls in (SingleTask, MtlAll, Pairwise, Stilts, MtlThenFinetune)
}

__all__ = [
    "STRATEGIES",
    "Phase",
    "Strategy",
    "StrategyContext",
    "StrategyResult",
    "package",
    "run_strategy",
]


def run_strategy(
    model_cfg: Any,
    train_cfg: Any,
    task_cfgs: dict[str, Any],
    task_data: dict[str, Any],
    *,
    keep_final_checkpoint: bool = False,
) -> tuple[Any, dict[str, Any]]:
    """Run ``train_cfg.strategy`` and package the result as ``run_training`` returns it:
    ``(MultiTaskModel, history)``."""
    from mtl_pipeline.errors import ConfigError

    for key in ("target_task", "supporting_task"):
        task = getattr(train_cfg, key)
        if task is not None and task not in task_data:
            raise ConfigError(
                f"training.{key}: {task!r} is not among the tasks ({', '.join(task_data)})"
            )
    ctx = StrategyContext(
        model_cfg, train_cfg, task_cfgs, task_data, keep_final_checkpoints=keep_final_checkpoint
    )
    result = STRATEGIES[train_cfg.strategy]().run(ctx)
    return package(result, ctx)
