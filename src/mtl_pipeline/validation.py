"""Whole-run validation: types and keys, then every component name and its options."""

from __future__ import annotations

from typing import Any

from mtl_pipeline.config import RunConfig, parse_run_config
from mtl_pipeline.encoders import resolve_model_path
from mtl_pipeline.errors import ConfigError
from mtl_pipeline.registry import get_registry
from mtl_pipeline.task_types.base import SHARE_WITH, type_options


def validate_parameters(params: dict[str, Any]) -> RunConfig:
    config = parse_run_config(params)
    registry = get_registry()
    for name, task in config.tasks.items():
        type_cls = registry.get("task_type", task.type, f"tasks.{name}.type")
        type_cls.parse_options(type_options(task.head), f"tasks.{name}.head")
        reader_cls = registry.get("reader", task.reader.name, f"tasks.{name}.reader")
        reader_cls.parse_options(task.reader.options, f"tasks.{name}.reader")
        for metric_name in task.metrics:
            metric = registry.get("metric", metric_name, f"tasks.{name}.metrics")
            fits = getattr(metric, "fits", None)
            if fits is not None and not fits(type_cls):
                level = getattr(type_cls, "level", "sequence")
                kind = getattr(type_cls, "predictions", "classes")
                suitable = [
                    n
                    for n in registry.names("metric")
                    if getattr(registry.get("metric", n), "fits", lambda _: True)(type_cls)
                ]
                raise ConfigError(
                    f"tasks.{name}.metrics: metric {metric_name!r} does not fit task {name!r} "
                    f"of type {task.type!r} ({level}-level, {kind} predictions); it scores "
                    f"{metric.fit_description()}. Metrics that fit: "
                    f"{', '.join(suitable) or 'none'}."
                )
    for key, kind, spec in (
        ("model.architecture", "architecture", config.model.architecture),
        ("training.loss", "loss", config.training.loss),
        ("training.sampler", "sampler", config.training.sampler),
    ):
        cls = registry.get(kind, spec.name, key)
        cls.parse_options(spec.options, key)
    if config.training.tasks_per_step > len(config.tasks):
        raise ConfigError(
            f"training.tasks_per_step: {config.training.tasks_per_step} exceeds the number of tasks "
            f"({len(config.tasks)}); expected at most {len(config.tasks)}."
        )
    resolve_model_path(config.model.encoder, "model.encoder")
    arch_cls = registry.get("architecture", config.model.architecture.name, "model.architecture")
    check = getattr(arch_cls, "check_options", None)
    if check is not None:
        from mtl_pipeline.encoders import load_encoder_config

        options = arch_cls.parse_options(config.model.architecture.options, "model.architecture")
        encoder_config = load_encoder_config(
            config.model.encoder, trust_remote_code=config.model.trust_remote_code
        )
        check(options, list(config.tasks), encoder_config)
    if config.model.tokenizer:
        resolve_model_path(config.model.tokenizer, "model.tokenizer")
    check_task_types(config, arch_cls)
    return config


def check_task_types(config: RunConfig, arch_cls: Any) -> None:
    """``head.share_with`` names another task of the same type that owns its head, and the
    architecture accepts every task type (its ``check_task_types``), before any data is read.
    Label sets are compared again when the model is built (they may come from the data)."""
    from mtl_pipeline.architectures.base import TaskHeadSpec

    registry = get_registry()
    specs = []
    for name, task in config.tasks.items():
        type_cls = registry.get("task_type", task.type, f"tasks.{name}.type")
        task_type = type_cls(type_cls.parse_options(type_options(task.head), f"tasks.{name}.head"))
        target = task.head.get(SHARE_WITH)
        if target is not None:
            where = f"tasks.{name}.head.{SHARE_WITH}"
            other = config.tasks.get(str(target))
            if other is None or target == name:
                raise ConfigError(
                    f"{where}: {target!r} is not another task of this run; expected one of "
                    f"{', '.join(t for t in config.tasks if t != name)}."
                )
            if other.type != task.type:
                raise ConfigError(
                    f"{where}: task {name!r} ({task.type}) cannot share the head of {target!r} "
                    f"({other.type}); expected a task of the same type."
                )
            if other.head.get(SHARE_WITH) is not None:
                raise ConfigError(
                    f"{where}: {target!r} itself shares {other.head[SHARE_WITH]!r}'s head; name "
                    "the task that owns the head."
                )
        specs.append(TaskHeadSpec(name, task_type, 0, None if target is None else str(target)))
    arch_cls.check_task_types(specs)
