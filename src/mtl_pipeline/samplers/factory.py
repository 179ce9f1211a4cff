"""Build the configured sampler from the registry."""

from __future__ import annotations

from mtl_pipeline.config import TrainingConfig
from mtl_pipeline.registry import get_registry
from mtl_pipeline.samplers.base import TaskSampler


def build_sampler(cfg: TrainingConfig, task_sizes: dict[str, int]) -> TaskSampler:
    where = "training.sampler"
    cls = get_registry().get("sampler", cfg.sampler.name, where)
    return cls(
        task_sizes,
        tasks_per_step=cfg.tasks_per_step,
        max_steps=cfg.max_steps,
        batch_size=cfg.batch_size,
        seed=cfg.seed,
        options=cls.parse_options(cfg.sampler.options, where),
    )
