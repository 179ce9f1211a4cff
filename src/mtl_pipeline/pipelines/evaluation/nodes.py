"""Evaluation: the trained model on each task's full validation set."""

from __future__ import annotations

from typing import Any

import pandas as pd


def evaluate_task(
    trained_model: Any,
    validation_examples: pd.DataFrame,
    validation_features: Any,
    label_info: dict[str, Any],
    task: dict[str, Any],
    evaluation: dict[str, Any],
    task_name: str,
) -> tuple[pd.DataFrame, dict[str, float]]:
    """Per-example predictions (joined to source rows) and ``{metric: value}``."""
    from mtl_pipeline.config import EvaluationConfig, TaskConfig, parse_section
    from mtl_pipeline.registry import get_registry
    from mtl_pipeline.training.batching import TokenizedSplit
    from mtl_pipeline.training.device import resolve_device, resolve_precision
    from mtl_pipeline.training.evaluate import (
        compute_metrics,
        flatten_token_predictions,
        predict_split,
    )

    cfg = parse_section(TaskConfig, task, f"tasks.{task_name}")
    eval_cfg = parse_section(EvaluationConfig, evaluation, "evaluation")
    registry = get_registry()
    metrics = {m: registry.get("metric", m, f"tasks.{task_name}.metrics") for m in cfg.metrics}
    split = TokenizedSplit.from_dataset(validation_features)
    architecture = trained_model.architecture
    device = resolve_device("auto")
    architecture.to(device)
    precision = resolve_precision(eval_cfg.precision, device)
    common = {
        "batch_size": eval_cfg.batch_size,
        "device": device,
        "precision": precision,
        "pad_id": trained_model.tokenizer.pad_token_id,
    }
    labels = label_info["labels"]
    task_type = architecture.task_specs[task_name].task_type
    if task_type.decodes_outputs:
        return _evaluate_records(
            task_type, architecture, task_name, split, validation_examples, metrics, labels, common
        )
    if label_info["level"] == "token":
        # One prediction pass: per-sentence outputs for the table, flattened for metrics.
        per_pred, per_ref = predict_split(
            architecture, task_name, split, flatten_tokens=False, **common
        )
        scores = compute_metrics(metrics, *flatten_token_predictions(per_pred, per_ref))
        tags = [
            [labels[int(p)] for p, r in zip(ps, rs, strict=True) if r != -100]
            for ps, rs in zip(per_pred, per_ref, strict=True)
        ]
        frame = pd.DataFrame(
            {
                "row": split.rows,
                "tokens": validation_examples["tokens"],
                "gold": validation_examples["tags"],
                "predicted": tags,
            }
        )
    else:
        preds, refs = predict_split(architecture, task_name, split, **common)
        scores = compute_metrics(metrics, preds, refs)
        predicted = [labels[int(v)] for v in preds] if labels else [float(v) for v in preds]
        frame = validation_examples.assign(predicted=predicted)
    return frame, scores


def _evaluate_records(
    task_type: Any,
    architecture: Any,
    task_name: str,
    split: Any,
    validation_examples: pd.DataFrame,
    metrics: dict[str, Any],
    labels: list[str],
    common: dict[str, Any],
) -> tuple[pd.DataFrame, dict[str, float]]:
    """Task types that decode whole records: one forward pass, decoded for the metrics and
    for the table (one row per record, natural outputs as JSON text)."""
    import json

    from mtl_pipeline.training.evaluate import compute_metrics, raw_outputs

    outputs = raw_outputs(architecture, task_name, split, **common)
    scores = compute_metrics(metrics, *task_type.decode(split, outputs))
    details, _ = task_type.decode(split, outputs, details=True)
    natural = [task_type.natural_prediction(d, labels) for d in details]
    frame = validation_examples.reset_index(drop=True).iloc[: len(natural)].copy()
    for column in frame.columns:  # list cells (answers, choices, label sets) as JSON text
        if frame[column].map(lambda v: isinstance(v, list | dict)).any():
            frame[column] = frame[column].map(json.dumps)
    frame["predicted"] = [json.dumps(n, ensure_ascii=False) for n in natural]
    return frame, scores
