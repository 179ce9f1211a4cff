"""Task mixing: the sampler's mixture over tasks, where the per-task branches join."""

from __future__ import annotations

from typing import Any


def build_task_mixture(training: dict[str, Any], **label_infos: dict[str, Any]) -> dict[str, Any]:
    """The resolved sampler config, task sizes and the initial task probabilities.

    The trainer re-creates the sampler from this (dynamic samplers then adapt), so
    the mixture a run used is recorded in ``05_model_input/task_mixture.json``.
    """
    from mtl_pipeline.config import TrainingConfig, parse_section
    from mtl_pipeline.samplers.base import inclusion_probabilities
    from mtl_pipeline.samplers.factory import build_sampler

    cfg = parse_section(TrainingConfig, training, "training")
    sizes = {info["task"]: int(info["train_rows"]) for info in label_infos.values()}
    sampler = build_sampler(cfg, sizes)
    probabilities = sampler.probabilities(0)
    k = cfg.tasks_per_step
    return {
        "sampler": {"name": cfg.sampler.name, **cfg.sampler.options},
        "tasks_per_step": k,
        "max_steps": cfg.max_steps,
        "steps_per_epoch": sampler.steps_per_epoch,
        "task_sizes": sizes,
        "initial_probabilities": probabilities,
        # With k tasks drawn without replacement, a task's chance to be in a step is its
        # inclusion probability, not k * p (exact for schedules that do not change).
        "expected_batches": {
            t: q * cfg.max_steps for t, q in inclusion_probabilities(probabilities, k).items()
        },
    }
