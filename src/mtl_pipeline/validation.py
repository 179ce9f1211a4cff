"""Whole-run validation: types and keys, then every component name and its options."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from mtl_pipeline.config import RunConfig, parse_run_config
from mtl_pipeline.encoders import resolve_model_path
from mtl_pipeline.errors import ConfigError
from mtl_pipeline.registry import get_registry
from mtl_pipeline.strategies.base import check_strategy_keys, strategy_readers
from mtl_pipeline.task_types.base import SHARE_WITH, type_options

#: Task names used by the pipelines themselves (the experiments grid's joint runs).
PIPELINE_RESERVED_TASK_NAMES = frozenset({"mtl_all"})


def reserved_task_names() -> list[str]:
    """Names a task may not have. Task heads (and per-task gates, adapters, columns...) live
    in ``nn.ModuleDict``/``nn.ParameterDict`` keyed by task name, and torch refuses a key
    that is an attribute of the container (``training``, ``forward``, ``keys``...): such a
    task would pass ingestion and tokenization and fail when the model is built."""
    from torch import nn

    attributes = set(dir(nn.ModuleDict())) | set(dir(nn.ParameterDict()))
    return sorted({n for n in attributes if not n.startswith("_")} | PIPELINE_RESERVED_TASK_NAMES)


def check_task_names(names: list[str]) -> None:
    reserved = reserved_task_names()
    clashes = [name for name in names if name in reserved]
    if clashes:
        raise ConfigError(
            f"tasks: {', '.join(map(repr, clashes))} cannot be a task name: it is an attribute "
            "of the torch module that holds the task heads (or a name the pipelines use). "
            f"Rename the task; reserved names: {', '.join(reserved)}."
        )


#: Encoder families whose position ids start after the padding index (RoBERTa-style), so
#: ``max_position_embeddings`` counts ``pad_token_id + 1`` positions no token can use.
_PADDING_OFFSET_TYPES = frozenset(
    {"roberta", "xlm-roberta", "xlm-roberta-xl", "camembert", "ibert", "data2vec-text", "mpnet"}
    | {"longformer", "markuplm", "roberta-prelayernorm", "xmod", "lilt", "luke", "mluke"}
)


def encoder_max_positions(encoder_config: Any) -> int | None:
    """The longest input the encoder's position embeddings cover, or ``None`` when it has
    no absolute limit (relative or rotary positions only)."""
    limit = getattr(encoder_config, "max_position_embeddings", None)
    if not isinstance(limit, int) or limit <= 0:
        return None
    if getattr(encoder_config, "position_biased_input", True) is False:  # DeBERTa-v2/v3
        return None
    if getattr(encoder_config, "model_type", None) in _PADDING_OFFSET_TYPES:
        pad = getattr(encoder_config, "pad_token_id", None)
        limit -= (pad if isinstance(pad, int) else 1) + 1
    return limit


def check_max_length(config: RunConfig, encoder_config: Any) -> None:
    """``model.max_length`` above the encoder's positions trains on short batches and then
    fails on the first long one (often in the last evaluation): refuse it up front."""
    limit = encoder_max_positions(encoder_config)
    if limit is not None and config.model.max_length > limit:
        raise ConfigError(
            f"model.max_length: {config.model.max_length} exceeds the encoder's limit of "
            f"{limit} positions ({config.model.encoder}: max_position_embeddings="
            f"{encoder_config.max_position_embeddings}); expected at most {limit}."
        )


def check_metric_fits(
    registry: Any, task: str, type_name: str, metric_name: str, type_cls: Any
) -> None:
    """``ConfigError`` when metric ``metric_name`` cannot score a task of ``type_cls``
    (naming the metrics that can)."""
    metric = registry.get("metric", metric_name, f"tasks.{task}.metrics")
    fits = getattr(metric, "fits", None)
    if fits is None or fits(type_cls):
        return
    level = getattr(type_cls, "level", "sequence")
    kind = getattr(type_cls, "predictions", "classes")
    suitable = [
        n
        for n in registry.names("metric")
        if getattr(registry.get("metric", n), "fits", lambda _: True)(type_cls)
    ]
    raise ConfigError(
        f"tasks.{task}.metrics: metric {metric_name!r} does not fit task {task!r} "
        f"of type {type_name!r} ({level}-level, {kind} predictions); it scores "
        f"{metric.fit_description()}. Metrics that fit: "
        f"{', '.join(suitable) or 'none'}."
    )


def validate_parameters(params: dict[str, Any]) -> RunConfig:
    from mtl_pipeline.task_selection import apply_task_selection

    config = parse_run_config(apply_task_selection(params))
    check_task_names(list(config.tasks))
    registry = get_registry()
    for name, task in config.tasks.items():
        type_cls = registry.get("task_type", task.type, f"tasks.{name}.type")
        type_cls.parse_options(type_options(task.head), f"tasks.{name}.head")
        reader_cls = registry.get("reader", task.reader.name, f"tasks.{name}.reader")
        reader_cls.parse_options(task.reader.options, f"tasks.{name}.reader")
        for metric_name in task.metrics:
            check_metric_fits(registry, name, task.type, metric_name, type_cls)
    for key, kind, spec in (
        ("model.architecture", "architecture", config.model.architecture),
        ("training.loss", "loss", config.training.loss),
        ("training.sampler", "sampler", config.training.sampler),
    ):
        cls = registry.get(kind, spec.name, key)
        cls.parse_options(spec.options, key)
    strategy_cls = registry.get("strategy", config.training.strategy, "training.strategy")
    check_strategy_keys(
        strategy_cls, config.training, list(config.tasks), strategy_readers(registry)
    )
    if config.training.tasks_per_step > len(config.tasks):
        raise ConfigError(
            f"training.tasks_per_step: {config.training.tasks_per_step} exceeds the number of tasks "
            f"({len(config.tasks)}); expected at most {len(config.tasks)}."
        )
    location = resolve_model_path(config.model.encoder, "model.encoder")
    arch_cls = registry.get("architecture", config.model.architecture.name, "model.architecture")
    check = getattr(arch_cls, "check_options", None)
    # The encoder's config.json only (no weights): a local folder or installed package is
    # read here; a hub id that is not cached is left to training to report.
    encoder_config = None
    if check is not None or Path(location).is_dir():
        from mtl_pipeline.encoders import load_encoder_config

        encoder_config = load_encoder_config(
            config.model.encoder, trust_remote_code=config.model.trust_remote_code
        )
        check_max_length(config, encoder_config)
    if check is not None:
        options = arch_cls.parse_options(config.model.architecture.options, "model.architecture")
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
