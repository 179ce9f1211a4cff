"""Build the configured task weighting from the registry."""

from __future__ import annotations

from mtl_pipeline.config import TrainingConfig
from mtl_pipeline.losses.base import TaskWeighting
from mtl_pipeline.registry import get_registry


def build_weighting(cfg: TrainingConfig, task_names: list[str]) -> TaskWeighting:
    where = "training.loss"
    cls = get_registry().get("loss", cfg.loss.name, where)
    return cls(task_names, cls.parse_options(cfg.loss.options, where))
