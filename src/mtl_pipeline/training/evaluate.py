"""Prediction over a tokenized split and metric computation (shared by the trainer's
periodic evaluation, the evaluation pipeline and ``MultiTaskModel.predict``)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import numpy as np
import torch

from mtl_pipeline.task_types.base import IGNORE_INDEX
from mtl_pipeline.training.batching import TokenizedSplit
from mtl_pipeline.training.device import autocast


@torch.no_grad()
def predict_split(
    architecture: Any,
    task: str,
    split: TokenizedSplit,
    *,
    batch_size: int,
    device: torch.device,
    precision: str,
    pad_id: int,
    limit: int | None = None,
    flatten_tokens: bool = True,
    details: bool = False,
) -> tuple[Any, Any]:
    """Predictions and references in example order.

    Sequence tasks: two 1-D arrays. Token tasks: with ``flatten_tokens``, two 1-D arrays
    over labelled positions (each word's first sub-word); without, per-example lists of
    (predictions, labels incl. ``IGNORE_INDEX``) for callers that map back to words.
    Task types that decode whole records (``decodes_outputs``: answer spans over windows,
    label sets, choices) get every example's raw logits and return what their metrics
    take; with ``details``, their natural per-record outputs instead.
    """
    task_type = architecture.task_specs[task].task_type
    if task_type.decodes_outputs:
        outputs = raw_outputs(
            architecture,
            task,
            split,
            batch_size=batch_size,
            device=device,
            precision=precision,
            pad_id=pad_id,
            limit=limit,
        )
        return task_type.decode(split, outputs, details=details)
    count = len(split) if limit is None else min(limit, len(split))
    per_example_pred: list[Any] = [None] * count
    per_example_ref: list[Any] = [None] * count
    batches = _eval_batches(architecture, task, split, batch_size, device, precision, pad_id, limit)
    for indices, logits, labels in batches:
        preds = task_type.predict(logits).float().cpu().numpy()
        labels_np = labels.numpy()
        for j, idx in enumerate(indices):
            if task_type.level == "token":
                width = int(split.lengths[idx])
                per_example_pred[idx] = preds[j, :width]
                per_example_ref[idx] = labels_np[j, :width]
            else:
                per_example_pred[idx] = preds[j]
                per_example_ref[idx] = labels_np[j]
    if task_type.level != "token":
        return np.asarray(per_example_pred), np.asarray(per_example_ref)
    if not flatten_tokens:
        return per_example_pred, per_example_ref
    return flatten_token_predictions(per_example_pred, per_example_ref)


@torch.no_grad()
def raw_outputs(
    architecture: Any,
    task: str,
    split: TokenizedSplit,
    *,
    batch_size: int,
    device: torch.device,
    precision: str,
    pad_id: int,
    limit: int | None = None,
) -> list[np.ndarray]:
    """Each example's float32 logits in example order: ``(group x outputs)`` rows for
    multi-sequence records, ``(length, outputs)`` for token-level outputs (trimmed to the
    example's length), ``(outputs,)`` otherwise."""
    count = len(split) if limit is None else min(limit, len(split))
    outputs: list[Any] = [None] * count
    group = split.group
    batches = _eval_batches(architecture, task, split, batch_size, device, precision, pad_id, limit)
    for indices, logits, _ in batches:
        values = logits.float().cpu().numpy()
        if group > 1:
            values = values.reshape(len(indices), group, *values.shape[1:])
        for j, idx in enumerate(indices):
            if values.ndim == 3 and group == 1:
                values_j = values[j, : int(split.seq_lengths[idx])]
            else:
                values_j = values[j]
            outputs[idx] = values_j
    return outputs


def _eval_batches(
    architecture: Any,
    task: str,
    split: TokenizedSplit,
    batch_size: int,
    device: torch.device,
    precision: str,
    pad_id: int,
    limit: int | None,
) -> Iterator[tuple[Any, torch.Tensor, torch.Tensor]]:
    """``(indices, logits, labels)`` per evaluation batch, with the architecture in eval
    mode while they are drawn and back in its previous mode afterwards. Callers hold
    ``torch.no_grad``."""
    was_training = architecture.training
    architecture.eval()
    try:
        for indices in split.eval_batches(batch_size, limit):
            batch = split.collate(indices, pad_id)
            labels = batch.pop("labels")
            batch = {k: v.to(device, non_blocking=True) for k, v in batch.items()}
            with autocast(device, precision):
                logits = architecture(task, batch).logits
            yield indices, logits, labels
    finally:
        architecture.train(was_training)


def flatten_token_predictions(
    per_pred: list[Any], per_ref: list[Any]
) -> tuple[np.ndarray, np.ndarray]:
    """One entry per labelled position (each word's first sub-word), as metrics take them."""
    refs = np.concatenate(per_ref) if per_ref else np.zeros(0)
    preds = np.concatenate(per_pred) if per_pred else np.zeros(0)
    keep = refs != IGNORE_INDEX
    return preds[keep].astype(np.int64), refs[keep].astype(np.int64)


def compute_metrics(
    metrics: dict[str, Any], predictions: np.ndarray, references: np.ndarray
) -> dict[str, float]:
    return {name: metric(predictions, references) for name, metric in metrics.items()}


def evaluation_settings(trainer: Any) -> dict[str, Any]:
    """How ``trainer`` evaluates (batch size, device, precision, padding id), as the
    keyword arguments of ``predict_split`` and ``raw_outputs``: every evaluation of a
    trainer's model (metrics, decision tuning) runs the way training evaluates."""
    return {
        "batch_size": trainer.config.eval_batch_size,
        "device": trainer.device,
        "precision": trainer.precision,
        "pad_id": trainer.pad_id,
    }


def evaluate_tasks(trainer: Any, limit: int | None = None) -> dict[str, dict[str, float]]:
    """``{task: {metric: value}}`` of ``trainer``'s model on each task's validation split
    (at most ``limit`` examples each), in the trainer's device, precision and batch size."""
    results = {}
    for name, task in trainer.tasks.items():
        preds, refs = predict_split(
            trainer.architecture, name, task.dev, limit=limit, **evaluation_settings(trainer)
        )
        results[name] = compute_metrics(task.metrics, preds, refs)
    return results
