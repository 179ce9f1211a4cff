"""From raw records to the standard per-task table, with every row checked.

Standard table columns: ``row`` (source line/record number), then ``text_a``, ``text_b``
(None for single-sentence tasks) and ``label`` for sequence-level tasks, or ``tokens`` and
``tags`` (lists) for token-level tasks. Errors name the file, the line and the field.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pandas as pd

from mtl_pipeline.config import TaskConfig
from mtl_pipeline.errors import DataError
from mtl_pipeline.readers.base import COLUMNS_FROM, ROW_COLUMN, Reader, no_rows_error, preview
from mtl_pipeline.registry import get_registry
from mtl_pipeline.task_types.base import TaskType, type_options


def build_reader(task_name: str, cfg: TaskConfig) -> Reader:
    where = f"tasks.{task_name}.reader"
    cls = get_registry().get("reader", cfg.reader.name, where)
    return cls(cls.parse_options(cfg.reader.options, where))


def build_task_type(task_name: str, cfg: TaskConfig) -> TaskType:
    where = f"tasks.{task_name}.type"
    cls = get_registry().get("task_type", cfg.type, where)
    return cls(cls.parse_options(type_options(cfg.head), f"tasks.{task_name}.head"))


def _is_missing(value: Any) -> bool:
    return value is None or (isinstance(value, float) and math.isnan(value))


def _text(value: Any, where: str) -> str:
    """A non-blank string. Numbers are accepted as their text (a review may be "42")."""
    if _is_missing(value):
        raise DataError(
            f"{where}: text is missing (empty cell, null or absent key); expected a non-empty "
            "string."
        )
    if isinstance(value, np.generic):  # numpy scalars (a numeric Parquet column) are fine
        value = value.item()
    if isinstance(value, dict | list | tuple | np.ndarray):
        raise DataError(
            f"{where}: expected a string, found {type(value).__name__} {preview(value)}."
        )
    text = str(value)
    if not text.strip():
        raise DataError(f"{where}: text is empty; expected a non-empty string, found {text!r}.")
    return text


def standardize(raw: pd.DataFrame, path: str, cfg: TaskConfig, task_type: TaskType) -> pd.DataFrame:
    """Select and validate the task's fields from a reader's raw records."""
    custom = task_type.standardize(raw, path, cfg)
    if custom is not None:
        return custom
    needed = [*cfg.text_fields, cfg.label_field]
    missing = [f for f in needed if f not in raw.columns]
    if missing:
        found = [c for c in raw.columns if c != ROW_COLUMN]
        source = raw.attrs.get(COLUMNS_FROM)
        where = f"{path}: {source}" if source else path
        raise DataError(
            f"{where}: missing column(s) {', '.join(map(repr, missing))}; expected the task's "
            f"text_fields {cfg.text_fields} and label_field {cfg.label_field!r}; columns found: "
            f"{', '.join(map(repr, found))}."
        )
    if raw.empty:
        raise no_rows_error(path)
    rows = raw[ROW_COLUMN].tolist()
    labels_raw = raw[cfg.label_field].tolist()
    if task_type.level == "token":
        tokens_raw = raw[cfg.text_fields[0]].tolist()
        tokens, tags = [], []
        token_field, tag_field = cfg.text_fields[0], cfg.label_field
        for row, toks, labs in zip(rows, tokens_raw, labels_raw, strict=True):
            where = f"{path}: line {row}"
            if hasattr(toks, "tolist"):
                toks = toks.tolist()
            if not isinstance(toks, list | tuple) or not toks:
                found = (
                    "an empty list"
                    if isinstance(toks, list | tuple)
                    else (f"{type(toks).__name__} {preview(toks)}")
                )
                raise DataError(
                    f"{where}: field {token_field}: expected a non-empty list of tokens, "
                    f"found {found}."
                )
            toks = [
                _text(t, f"{where}: field {token_field}: token {i}")
                for i, t in enumerate(toks, start=1)
            ]
            labs = task_type.clean_label(labs, f"{where}: field {tag_field}")
            if len(labs) != len(toks):
                raise DataError(
                    f"{where}: field {tag_field}: expected one tag per token of field "
                    f"{token_field} ({len(toks)} tags), found {len(labs)} tags."
                )
            tokens.append(toks)
            tags.append(labs)
        return pd.DataFrame({"row": rows, "tokens": tokens, "tags": tags})
    columns: dict[str, list[Any]] = {"row": rows}
    for slot, field in zip(("text_a", "text_b"), cfg.text_fields, strict=False):
        columns[slot] = [
            _text(v, f"{path}: line {row}: field {field}")
            for row, v in zip(rows, raw[field].tolist(), strict=True)
        ]
    if "text_b" not in columns:
        columns["text_b"] = [None] * len(rows)
    columns["label"] = [
        task_type.clean_label(v, f"{path}: line {row}: field {cfg.label_field}")
        for row, v in zip(rows, labels_raw, strict=True)
    ]
    return pd.DataFrame(columns)


def cap_rows(frame: pd.DataFrame, cap: int | None, seed: int) -> pd.DataFrame:
    """A seeded random subset in original order (the first rows of a file are often sorted)."""
    if cap is None or len(frame) <= cap:
        return frame.reset_index(drop=True)
    keep = np.sort(np.random.default_rng(seed).choice(len(frame), size=cap, replace=False))
    return frame.iloc[keep].reset_index(drop=True)


def check_labels_in_vocab(
    frame: pd.DataFrame, vocab: list[str], path: str, field: str, level: str
) -> None:
    known = set(vocab)
    column = frame["tags"] if level == "token" else frame["label"]
    for row, value in zip(frame["row"], column, strict=True):
        values = value if level == "token" else [value]
        for label in values:
            if label not in known:
                raise DataError(
                    f"{path}: line {row}: field {field}: label {label!r} is not in the task's "
                    f"label set {vocab}; expected one of those (labels come from `labels` in the "
                    "task config, or else from the training file)."
                )


def ingest(task_name: str, cfg: TaskConfig, max_train: int | None, max_eval: int | None, seed: int):
    """Read, validate and subsample one task; returns (train, validation, label_info)."""
    reader = build_reader(task_name, cfg)
    task_type = build_task_type(task_name, cfg)
    train = standardize(reader.read(cfg.train), cfg.train, cfg, task_type)
    dev = standardize(reader.read(cfg.validation), cfg.validation, cfg, task_type)
    train = cap_rows(train, _min(cfg.max_train_examples, max_train), seed)
    dev = cap_rows(dev, _min(cfg.max_eval_examples, max_eval), seed)
    label_column = task_type.label_column or ("tags" if task_type.level == "token" else "label")
    vocab = task_type.build_vocab(train[label_column].tolist(), cfg.labels)
    if len(vocab) == 1:
        # One class trains a head whose loss is always zero: a broken filter or a wrong
        # label_field, not a task.
        source = (
            f"tasks.{task_name}.labels" if cfg.labels else f"{cfg.train}: field {cfg.label_field}"
        )
        raise DataError(
            f"{source}: a single label {vocab[0]!r}; expected at least two classes (check "
            "label_field, or list every class in `labels`)."
        )
    if vocab:
        for frame, path in ((train, cfg.train), (dev, cfg.validation)):
            if not task_type.check_labels(frame, vocab, path, cfg.label_field):
                check_labels_in_vocab(frame, vocab, path, cfg.label_field, task_type.level)
    label_info = {
        "task": task_name,
        "type": cfg.type,
        "level": task_type.level,
        "labels": vocab,
        "train_summary": task_type.label_summary(train[label_column].tolist()),
        "train_rows": len(train),
        "validation_rows": len(dev),
        "sources": {"train": cfg.train, "validation": cfg.validation, "reader": cfg.reader.name},
        # The task type's options: tokenization of windowed or multi-sequence types uses them.
        "head": dict(cfg.head),
        **task_type.ingestion_info(train),
    }
    return train, dev, label_info


def _min(a: int | None, b: int | None) -> int | None:
    values = [v for v in (a, b) if v is not None]
    return min(values) if values else None
