"""Run the configured training: parse the sections and hand them to the strategy.

Kept apart from the Kedro node so that benchmarks, experiments and tests call the exact
same code path as ``kedro run``. Every strategy, ``mtl_all`` included, is looked up in the
registry (``training.strategy``) and run the same way; each of its phases is one
``training.phase.train_phase`` call.
"""

from __future__ import annotations

from typing import Any

from mtl_pipeline.config import ModelConfig, TaskConfig, TrainingConfig, parse_section
from mtl_pipeline.registry import get_registry
from mtl_pipeline.strategies.base import StrategyContext, check_strategy_keys, strategy_readers
from mtl_pipeline.training.phase import (
    fit_decisions,
    run_fingerprint,
    seed_everything,
    split_digest,
    task_meta,
    train_phase,
)

__all__ = [
    "fit_decisions",
    "run_fingerprint",
    "run_training",
    "seed_everything",
    "split_digest",
    "task_meta",
    "train_phase",
]


def run_training(
    model: dict[str, Any],
    training: dict[str, Any],
    tasks: dict[str, Any],
    task_data: dict[str, dict[str, Any]],
    *,
    keep_final_checkpoint: bool = False,
) -> tuple[Any, dict[str, Any]]:
    """``task_data[task]`` holds ``train_features``, ``validation_features``, ``label_info``.

    Returns ``(MultiTaskModel, history)``. ``keep_final_checkpoint``: every phase leaves a
    checkpoint of its last step (taken before its final evaluation) for the caller to remove
    with ``checkpoint.remove_checkpoints`` once the model is saved; ``kedro run`` does, so no
    training is lost to a failure after the last step.
    """
    model_cfg = parse_section(ModelConfig, model, "model")
    train_cfg = parse_section(TrainingConfig, training, "training")
    task_cfgs = {
        name: parse_section(TaskConfig, tasks[name], f"tasks.{name}") for name in task_data
    }
    registry = get_registry()
    strategy_cls = registry.get("strategy", train_cfg.strategy, "training.strategy")
    check_strategy_keys(strategy_cls, train_cfg, list(task_data), strategy_readers(registry))
    ctx = StrategyContext(
        model_cfg, train_cfg, task_cfgs, task_data, keep_final_checkpoints=keep_final_checkpoint
    )
    return strategy_cls().fit(ctx)
