"""Assemble encoder, architecture, weighting, sampler and data, then train.

Kept apart from the Kedro node so that benchmarks, experiments and tests call the exact
same code path as ``kedro run``.
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

from mtl_pipeline.config import ModelConfig, TaskConfig, TrainingConfig, parse_section
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
    return TaskMeta(
        name=name,
        type=cfg.type,
        level=label_info["level"],
        labels=list(label_info["labels"]),
        metrics=list(cfg.metrics),
        head=head,
    )


#: Settings that do not change the computation, so a resumed run may differ in them.
_NOT_FINGERPRINTED = {
    "progress_bar",
    "log_every",
    "conflict_monitor_every",
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
) -> str:
    """Hash of everything a checkpoint's validity depends on: config and data."""
    document = {
        "model": model_cfg.model_dump(mode="json"),
        "training": {
            k: v
            for k, v in train_cfg.model_dump(mode="json").items()
            if k not in _NOT_FINGERPRINTED
        },
        "tasks": {n: c.model_dump(mode="json") for n, c in task_cfgs.items()},
        "data": {
            n: [len(t.train), t.train.num_tokens, int(t.train.ids.sum()), len(t.dev)]
            for n, t in tasks.items()
        },
    }
    return hashlib.sha256(json.dumps(document, sort_keys=True).encode()).hexdigest()


def run_training(
    model: dict[str, Any],
    training: dict[str, Any],
    tasks: dict[str, Any],
    task_data: dict[str, dict[str, Any]],
) -> tuple[MultiTaskModel, dict[str, Any]]:
    """``task_data[task]`` holds ``train_features``, ``validation_features``, ``label_info``."""
    model_cfg = parse_section(ModelConfig, model, "model")
    train_cfg = parse_section(TrainingConfig, training, "training")
    task_cfgs = {
        name: parse_section(TaskConfig, tasks[name], f"tasks.{name}") for name in task_data
    }
    # --- issue 7: every strategy but mtl_all is a sequence of train_phase calls (strategies/) ---
    if train_cfg.strategy != "mtl_all":
        from mtl_pipeline.strategies import run_strategy

        return run_strategy(model_cfg, train_cfg, task_cfgs, task_data)
    # --- end issue 7 ---
    return train_phase(model_cfg, train_cfg, task_cfgs, task_data)


def train_phase(
    model_cfg: ModelConfig,
    train_cfg: TrainingConfig,
    task_cfgs: dict[str, TaskConfig],
    task_data: dict[str, dict[str, Any]],
    *,
    init: Callable[[Any], Any] | None = None,
    selection_tasks: list[str] | None = None,
    fingerprint_extra: str = "",
) -> tuple[MultiTaskModel, dict[str, Any]]:
    """One training run over ``task_data``'s tasks: fresh heads, optimizer and schedule.

    issue 7: ``init(architecture)`` runs after the architecture is built and before the
    trainer exists (a transfer strategy copies an earlier phase's weights in there);
    ``selection_tasks`` picks the best step by those tasks' main metrics only;
    ``fingerprint_extra`` names what ``init`` loaded, so a checkpoint of this phase is not
    resumed after an earlier phase changed.
    """
    if train_cfg.num_threads:
        torch.set_num_threads(train_cfg.num_threads)
    seed_everything(train_cfg.seed)

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
    if init is not None:
        init(architecture)

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
    weighting = build_weighting(train_cfg, list(task_data))
    sampler = build_sampler(train_cfg, {n: len(t.train) for n, t in train_tasks.items()})
    checkpointer = Checkpointer(
        train_cfg.checkpoint_dir,
        every=train_cfg.checkpoint_every,
        keep=train_cfg.keep_checkpoints,
        fingerprint=run_fingerprint(model_cfg, train_cfg, task_cfgs, train_tasks)
        + fingerprint_extra,
        resume=train_cfg.resume,
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
    logger.info(
        "Training %s on %s for %d steps (device %s, precision %s, loss %s, sampler %s).",
        model_cfg.architecture.name,
        ", ".join(train_tasks),
        train_cfg.max_steps,
        trainer.device,
        trainer.precision,
        train_cfg.loss.name,
        train_cfg.sampler.name,
    )
    result = trainer.train()
    architecture.to("cpu").eval()
    config = {
        "encoder": model_cfg.encoder,
        "max_length": model_cfg.max_length,
        "architecture": {"name": model_cfg.architecture.name, **arch_options},
        "trust_remote_code": model_cfg.trust_remote_code,
    }
    history = dict(result.history)
    history["architecture_report"] = architecture.report()
    history["config"] = {"model": model_cfg.model_dump(), "training": train_cfg.model_dump()}
    return MultiTaskModel(architecture, tokenizer, metas, config), history
