"""One training phase: assemble encoder, architecture, weighting, sampler and data, then train.

Knows nothing of strategies: a strategy (``strategies/``) is a sequence of these phases,
and ``training.run.run_training`` dispatches to the configured strategy.
"""

from __future__ import annotations

import hashlib
import json
import logging
import random
from collections.abc import Callable
from typing import Any

import numpy as np
import torch

from mtl_pipeline.config import ModelConfig, TaskConfig, TrainingConfig
from mtl_pipeline.encoders import (
    check_tokenizer_matches,
    load_encoder,
    load_tokenizer,
    set_encoder_dropout,
)
from mtl_pipeline.losses.factory import build_weighting
from mtl_pipeline.modeling.multitask_model import MultiTaskModel, TaskMeta, build_architecture
from mtl_pipeline.registry import get_registry
from mtl_pipeline.samplers.factory import build_sampler
from mtl_pipeline.task_types.base import TaskType, type_options
from mtl_pipeline.training.batching import TokenizedSplit
from mtl_pipeline.training.checkpoint import Checkpointer
from mtl_pipeline.training.distributed import init_from_env
from mtl_pipeline.training.trainer import Trainer, TrainTask

logger = logging.getLogger(__name__)


def seed_everything(seed: int) -> None:
    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)


def task_meta(name: str, cfg: TaskConfig, label_info: dict[str, Any]) -> TaskMeta:
    head = dict(cfg.head)
    if head.get("class_weights") == "balanced":
        # Resolved from the training labels now, so a saved model carries plain numbers.
        from mtl_pipeline.task_types.classification import balanced_class_weights

        counts = label_info.get("train_summary", {}).get("counts", {})
        head["class_weights"] = balanced_class_weights(counts, list(label_info["labels"]))
    type_cls = get_registry().get("task_type", cfg.type, f"tasks.{name}.type")
    task_type = type_cls(type_cls.parse_options(type_options(head), f"tasks.{name}.head"))
    head = task_type.resolve_head(head, label_info)
    return TaskMeta(
        name=name,
        type=cfg.type,
        level=label_info["level"],
        labels=list(label_info["labels"]),
        metrics=list(cfg.metrics),
        head=head,
        text_fields=len(cfg.text_fields) if label_info["level"] == "sequence" else None,
    )


#: Settings that do not change the computation, so a resumed run may differ in them.
_NOT_FINGERPRINTED = {
    "progress_bar",
    "log_every",
    "conflict_monitor_every",
    "task_affinity",
    "checkpoint_every",
    "checkpoint_dir",
    "keep_checkpoints",
    "resume",
    "num_threads",
}


def run_fingerprint(
    model_cfg: ModelConfig,
    train_cfg: TrainingConfig,
    task_cfgs: dict[str, TaskConfig],
    tasks: dict[str, TrainTask],
    metas: dict[str, TaskMeta] | None = None,
) -> str:
    """Hash of everything a checkpoint's validity depends on: config, encoder and data.

    The data part hashes the tokenized content itself (token ids, type ids, labels and
    row order of both splits) and each task's label list, so relabelled or edited data
    of the same size never resumes an old run; the encoder part hashes the encoder's
    files, so a retrained encoder under the same folder name does not either.
    """
    document = {
        "model": model_cfg.model_dump(mode="json"),
        "encoder": encoder_identity(model_cfg.encoder),
        "training": {
            k: v
            for k, v in train_cfg.model_dump(mode="json").items()
            if k not in _NOT_FINGERPRINTED
        },
        "tasks": {n: c.model_dump(mode="json") for n, c in task_cfgs.items()},
        "data": {n: [split_digest(t.train), split_digest(t.dev)] for n, t in tasks.items()},
        "labels": {n: m.as_dict() for n, m in (metas or {}).items()},
    }
    return hashlib.sha256(json.dumps(document, sort_keys=True).encode()).hexdigest()


def split_digest(split: TokenizedSplit) -> str:
    """SHA-256 over every array of a tokenized split (ids, offsets, types, labels, rows,
    and a task type's extra columns such as answer offsets)."""
    digest = hashlib.sha256()
    arrays = [
        (name, getattr(split, name))
        for name in ("ids", "offsets", "type_ids", "labels", "rows", "seq_lengths")
    ]
    arrays += sorted((f"extras/{k}", v) for k, v in split.extras.items())
    for name, array in arrays:
        digest.update(name.encode())
        if array is None:
            continue
        if isinstance(array, np.ndarray) and array.dtype != object:
            array = np.ascontiguousarray(array)
            digest.update(f"{array.dtype.str}{array.shape}".encode())
            digest.update(array.tobytes())
        else:
            digest.update(json.dumps(array, default=_jsonable, sort_keys=True).encode())
    digest.update(f"{split.token_labels}/{split.group}".encode())
    return digest.hexdigest()


def _jsonable(value: Any) -> Any:
    return value.tolist() if isinstance(value, np.ndarray) else str(value)


def encoder_identity(name: str) -> str:
    """Digest of the encoder's files when it is local, else the hub id it names."""
    from pathlib import Path

    from mtl_pipeline.encoders import resolve_model_path
    from mtl_pipeline.modeling.integrity import file_sha256

    location = Path(resolve_model_path(name))
    if not location.is_dir():
        return name
    digest = hashlib.sha256()
    for path in sorted(location.iterdir()):
        if path.is_file() and (path.name == "config.json" or path.suffix in _WEIGHT_SUFFIXES):
            digest.update(path.name.encode())
            digest.update(file_sha256(path).encode())
    return digest.hexdigest()


_WEIGHT_SUFFIXES = {".safetensors", ".bin", ".pt", ".h5", ".msgpack"}


def fit_decisions(trainer: Trainer, metas: dict[str, TaskMeta]) -> dict[str, Any]:
    """Decision settings tuned on each task's validation outputs after training (per-label
    thresholds); applied to the trained task types and saved in the tasks' ``head``."""
    from mtl_pipeline.training.evaluate import evaluation_settings, raw_outputs

    tuned: dict[str, Any] = {}
    for name, task in trainer.tasks.items():
        task_type = trainer.architecture.task_specs[name].task_type
        if type(task_type).fit_decision is TaskType.fit_decision:
            continue
        outputs = raw_outputs(trainer.architecture, name, task.dev, **evaluation_settings(trainer))
        update = task_type.fit_decision(task.dev, outputs)
        if update:
            task_type.options = task_type.options.model_copy(update=update)
            metas[name].head.update(update)
            tuned[name] = update
            logger.info("%s: tuned on the validation set: %s", name, update)
    return tuned


def train_phase(
    model_cfg: ModelConfig,
    train_cfg: TrainingConfig,
    task_cfgs: dict[str, TaskConfig],
    task_data: dict[str, dict[str, Any]],
    *,
    init: Callable[[Any], Any] | None = None,
    selection_tasks: list[str] | None = None,
    fingerprint_extra: str = "",
    keep_final_checkpoint: bool = False,
) -> tuple[MultiTaskModel, dict[str, Any]]:
    """One training run over ``task_data``'s tasks: fresh heads, optimizer and schedule.

    ``init(architecture)`` runs after the architecture is built and before the
    trainer exists (a transfer strategy copies an earlier phase's weights in there);
    ``selection_tasks`` picks the best step by those tasks' main metrics only;
    ``fingerprint_extra`` names what ``init`` loaded, so a checkpoint of this phase is not
    resumed after an earlier phase changed.
    """
    if train_cfg.num_threads:
        torch.set_num_threads(train_cfg.num_threads)
    seed_everything(train_cfg.seed)
    tokenizer, metas, architecture = build_model(model_cfg, train_cfg, task_cfgs, task_data)
    if init is not None:
        init(architecture)
    train_tasks = build_train_tasks(task_cfgs, task_data)
    registry = get_registry()
    weighting = build_weighting(train_cfg, list(task_data))
    sampler = build_sampler(train_cfg, {n: len(t.train) for n, t in train_tasks.items()})
    checkpointer = Checkpointer(
        train_cfg.checkpoint_dir,
        every=train_cfg.checkpoint_every,
        keep=train_cfg.keep_checkpoints,
        fingerprint=run_fingerprint(model_cfg, train_cfg, task_cfgs, train_tasks, metas)
        + fingerprint_extra,
        resume=train_cfg.resume,
        keep_final=keep_final_checkpoint,
    )
    trainer = Trainer(
        architecture,
        train_tasks,
        train_cfg,
        weighting,
        sampler,
        tokenizer.pad_token_id,
        hook=registry.hook,
        checkpointer=checkpointer,
        dist=init_from_env(),
        selection_tasks=selection_tasks,
    )
    _log_start(model_cfg, train_cfg, trainer)
    result = trainer.train()
    decisions = fit_decisions(trainer, metas)
    architecture.to("cpu").eval()
    return _package(model_cfg, train_cfg, tokenizer, metas, architecture, result, decisions)


def _log_start(model_cfg: ModelConfig, train_cfg: TrainingConfig, trainer: Trainer) -> None:
    logger.info(
        "Training %s on %s for %d steps (device %s, precision %s, loss %s, sampler %s).",
        model_cfg.architecture.name,
        ", ".join(trainer.tasks),
        train_cfg.max_steps,
        trainer.device,
        trainer.precision,
        train_cfg.loss.name,
        train_cfg.sampler.name,
    )


def build_model(
    model_cfg: ModelConfig,
    train_cfg: TrainingConfig,
    task_cfgs: dict[str, TaskConfig],
    task_data: dict[str, dict[str, Any]],
) -> tuple[Any, dict[str, TaskMeta], Any]:
    """``(tokenizer, task metas, architecture)``: the encoder and heads, freshly built."""
    tokenizer = load_tokenizer(
        model_cfg.tokenizer or model_cfg.encoder, trust_remote_code=model_cfg.trust_remote_code
    )
    encoder = load_encoder(model_cfg.encoder, trust_remote_code=model_cfg.trust_remote_code)
    check_tokenizer_matches(tokenizer, encoder.config)
    if model_cfg.dropout is not None:
        set_encoder_dropout(encoder, model_cfg.dropout)
    metas = {
        name: task_meta(name, task_cfgs[name], data["label_info"])
        for name, data in task_data.items()
    }
    arch_options = model_cfg.architecture.options
    architecture = build_architecture(model_cfg.architecture.name, arch_options, encoder, metas)
    if train_cfg.gradient_checkpointing:
        architecture.enable_gradient_checkpointing()
    return tokenizer, metas, architecture


def build_train_tasks(
    task_cfgs: dict[str, TaskConfig], task_data: dict[str, dict[str, Any]]
) -> dict[str, TrainTask]:
    """Each task's tokenized splits and its metrics, as the trainer sees them."""
    registry = get_registry()
    train_tasks = {}
    for name, data in task_data.items():
        metrics = {
            m: registry.get("metric", m, f"tasks.{name}.metrics") for m in task_cfgs[name].metrics
        }
        train_tasks[name] = TrainTask(
            name=name,
            train=TokenizedSplit.from_dataset(data["train_features"]),
            dev=TokenizedSplit.from_dataset(data["validation_features"]),
            metrics=metrics,
        )
    return train_tasks


def _package(
    model_cfg: ModelConfig,
    train_cfg: TrainingConfig,
    tokenizer: Any,
    metas: dict[str, TaskMeta],
    architecture: Any,
    result: Any,
    decisions: dict[str, Any],
) -> tuple[MultiTaskModel, dict[str, Any]]:
    """The trained ``MultiTaskModel`` and the phase's history."""
    config = {
        "encoder": model_cfg.encoder,
        "max_length": model_cfg.max_length,
        "architecture": {"name": model_cfg.architecture.name, **model_cfg.architecture.options},
        "trust_remote_code": model_cfg.trust_remote_code,
    }
    history = dict(result.history)
    history["architecture_report"] = architecture.report()
    if decisions:
        history["decisions"] = decisions
    history["config"] = {"model": model_cfg.model_dump(), "training": train_cfg.model_dump()}
    return MultiTaskModel(architecture, tokenizer, metas, config), history
