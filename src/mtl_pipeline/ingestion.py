"""From raw records to the standard per-task table, with every row checked.

Standard table columns: ``row`` (source line/record number), then ``text_a``, ``text_b``
(None for single-sentence tasks) and ``label`` for sequence-level tasks, or ``tokens`` and
``tags`` (lists) for token-level tasks. Errors name the file, the line (or, for
record-based readers such as Parquet, the row) and the field.

Beyond single values, ``ingest`` checks what only the whole task shows: a validation
source that is the training source, validation rows that repeat training inputs, one
class spelt two ways, and configured classes that no training row has.
"""

from __future__ import annotations

import logging
import math
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from mtl_pipeline.config import TaskConfig
from mtl_pipeline.errors import DataError
from mtl_pipeline.labels import spelling_key
from mtl_pipeline.readers.base import (
    ROW_COLUMN,
    ROW_UNIT,
    Reader,
    check_columns,
    check_unicode,
    decode_binary,
    no_rows_error,
    preview,
    preview_list,
    row_unit,
)
from mtl_pipeline.registry import get_registry
from mtl_pipeline.task_types.base import TaskType, type_options

logger = logging.getLogger(__name__)

#: Examples quoted in an overlap warning or error.
_OVERLAP_EXAMPLES = 3


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
    value = decode_binary(value, where)
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
    return check_unicode(text, where)


def _label(value: Any, where: str) -> Any:
    """A raw label with binary text decoded and lone surrogates refused (every task type)."""
    value = decode_binary(value, where)
    if isinstance(value, str):
        check_unicode(value, where)
    elif isinstance(value, list | tuple):
        for item in value:
            if isinstance(item, str):
                check_unicode(item, where)
    return value


def standardize(raw: pd.DataFrame, path: str, cfg: TaskConfig, task_type: TaskType) -> pd.DataFrame:
    """Select and validate the task's fields from a reader's raw records."""
    custom = task_type.standardize(raw, path, cfg)
    if custom is not None:
        return custom
    check_columns(
        raw,
        path,
        [*cfg.text_fields, cfg.label_field],
        f"the task's text_fields {cfg.text_fields} and label_field {cfg.label_field!r}",
    )
    if raw.empty:
        raise no_rows_error(path)
    rows = raw[ROW_COLUMN].tolist()
    unit = row_unit(raw)
    labels_raw = raw[cfg.label_field].tolist()
    if task_type.level == "token":
        tokens_raw = raw[cfg.text_fields[0]].tolist()
        tokens, tags = [], []
        token_field, tag_field = cfg.text_fields[0], cfg.label_field
        for row, toks, labs in zip(rows, tokens_raw, labels_raw, strict=True):
            where = f"{path}: {unit} {row}"
            toks = decode_binary(toks, f"{where}: field {token_field}")
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
            labs = task_type.clean_label(
                _label(labs, f"{where}: field {tag_field}"), f"{where}: field {tag_field}"
            )
            if len(labs) != len(toks):
                raise DataError(
                    f"{where}: field {tag_field}: expected one tag per token of field "
                    f"{token_field} ({len(toks)} tags), found {len(labs)} tags."
                )
            tokens.append(toks)
            tags.append(labs)
        frame = pd.DataFrame({"row": rows, "tokens": tokens, "tags": tags})
        frame.attrs[ROW_UNIT] = unit
        return frame
    columns: dict[str, list[Any]] = {"row": rows}
    for slot, field in zip(("text_a", "text_b"), cfg.text_fields, strict=False):
        columns[slot] = [
            _text(v, f"{path}: {unit} {row}: field {field}")
            for row, v in zip(rows, raw[field].tolist(), strict=True)
        ]
    if "text_b" not in columns:
        columns["text_b"] = [None] * len(rows)
    columns["label"] = [
        task_type.clean_label(
            _label(v, f"{path}: {unit} {row}: field {cfg.label_field}"),
            f"{path}: {unit} {row}: field {cfg.label_field}",
        )
        for row, v in zip(rows, labels_raw, strict=True)
    ]
    frame = pd.DataFrame(columns)
    frame.attrs[ROW_UNIT] = unit
    return frame


def cap_rows(frame: pd.DataFrame, cap: int | None, seed: int) -> pd.DataFrame:
    """A seeded random subset in original order (the first rows of a file are often sorted)."""
    if cap is None or len(frame) <= cap:
        return frame.reset_index(drop=True)
    keep = np.sort(np.random.default_rng(seed).choice(len(frame), size=cap, replace=False))
    return frame.iloc[keep].reset_index(drop=True)


def check_labels_in_vocab(
    frame: pd.DataFrame, vocab: list[str], path: str, field: str, level: str, unit: str = "line"
) -> None:
    known = set(vocab)
    by_key = {spelling_key(label): label for label in vocab}
    column = frame["tags"] if level == "token" else frame["label"]
    for row, value in zip(frame["row"], column, strict=True):
        values = value if level == "token" else [value]
        for label in values:
            if label not in known:
                near = by_key.get(spelling_key(str(label)))
                hint = (
                    f" ({label!r} differs from the label {near!r} only in case, whitespace or "
                    "the writing of a number; write it one way)"
                    if near is not None
                    else ""
                )
                raise DataError(
                    f"{path}: {unit} {row}: field {field}: label {label!r} is not in the task's "
                    f"label set {preview_list(vocab)}{hint}; expected one of those (labels come "
                    "from `labels` in the task config, or else from the training file)."
                )


def _first_rows(frame: pd.DataFrame, level: str) -> dict[str, list[int]]:
    """Each label's source rows, in file order (for messages that point at examples)."""
    rows: dict[str, list[int]] = {}
    column = frame["tags"] if level == "token" else frame["label"]
    for row, value in zip(frame["row"], column, strict=True):
        for label in value if level == "token" else [value]:
            rows.setdefault(label, []).append(int(row))
    return rows


def check_label_spellings(
    frames: Sequence[tuple[pd.DataFrame, str, str]], field: str, level: str
) -> None:
    """Refuse one class written two ways ("positive" / "Positive", "not  entailment",
    "0.5" / "0.50").

    Whole numbers (1, 1.0, "1.0") are already one label (``labels.label_text``); case,
    whitespace and other numbers are not folded silently because either spelling may be
    the intended class name (or two codes), and predictions are reported with it.
    """
    seen: dict[str, tuple[str, str, str, int]] = {}  # key -> (label, path, unit, row)
    for frame, path, unit in frames:
        for label, rows in _first_rows(frame, level).items():
            key = spelling_key(str(label))
            first = seen.setdefault(key, (label, path, unit, rows[0]))
            if first[0] != label:
                other, other_path, other_unit, other_row = first
                raise DataError(
                    f"{path}: {unit} {rows[0]}: field {field}: label {label!r} and label "
                    f"{other!r} ({other_path}: {other_unit} {other_row}) differ only in case, "
                    "whitespace or the writing of a number; expected one spelling per class (two "
                    "spellings would train as two classes). Write every label of a class the "
                    "same way."
                )


def check_classes_trained(
    vocab: list[str],
    full_train: pd.DataFrame,
    used_train: pd.DataFrame,
    task_name: str,
    path: str,
    field: str,
    level: str,
) -> None:
    """Every configured class must have training rows: a class without any is a head
    output that is never trained (a misspelt entry in ``labels``, or a filtered file).
    Missing only from a capped subset (``max_train_examples``) is a warning."""
    in_file = _first_rows(full_train, level)
    absent = [label for label in vocab if label not in in_file]
    if absent:
        raise DataError(
            f"tasks.{task_name}.labels: class(es) {preview_list(absent)} have no rows in the "
            f"training data ({path}: field {field}); expected every listed class to occur in "
            "training (remove it from `labels`, or check the spelling and the file)."
        )
    in_subset = _first_rows(used_train, level)
    capped = [label for label in vocab if label not in in_subset]
    if capped:
        logger.warning(
            "tasks.%s: class(es) %s occur in %s but not in the %d training rows kept by "
            "max_train_examples; the head will never see them (raise the cap).",
            task_name,
            preview_list(capped),
            path,
            len(used_train),
        )


def _source_identity(path: str) -> tuple[Any, ...]:
    """What a configured source resolves to: the file (device, inode) and ``#split``."""
    base, _, split = path.partition("#")
    file = Path(base)
    try:
        stat = file.stat()
        return ("file", stat.st_dev, stat.st_ino, split)
    except OSError:
        return ("name", os.path.normpath(base), split)


def _input_keys(frame: pd.DataFrame, level: str, label_column: str) -> list[tuple[Any, ...]]:
    """Each row's inputs, hashable: tokens, the text pair, or every non-label column of a
    task type with its own columns (question and context, premise and choices)."""
    if level == "token":
        return [tuple(tokens) for tokens in frame["tokens"]]
    if {"text_a", "text_b"} <= set(frame.columns):
        return list(zip(frame["text_a"], frame["text_b"], strict=True))
    columns = [c for c in frame.columns if c not in {"row", label_column}]
    return [
        tuple(tuple(v) if isinstance(v, list | tuple) else v for v in values)
        for values in zip(*(frame[c] for c in columns), strict=True)
    ]


def check_overlap(
    task_name: str,
    cfg: TaskConfig,
    train: pd.DataFrame,
    dev: pd.DataFrame,
    level: str,
    units: tuple[str, str],
    mode: str,
    label_column: str = "label",
) -> dict[str, Any]:
    """Validation that repeats training inputs measures memorisation, not generalisation.

    The same source for both (same file, or same dataset and split) is an error unless
    ``mode`` is ``allow``. Validation rows whose inputs (texts, or tokens) equal a training
    row's are counted: a warning with examples, or an error when ``mode`` is ``error``.
    Returns ``{"validation_rows_in_train": n}`` for label_info.
    """
    if mode == "allow":
        return {}
    if _source_identity(cfg.train) == _source_identity(cfg.validation):
        raise DataError(
            f"tasks.{task_name}.validation: {cfg.validation!r} is the same source as "
            f"tasks.{task_name}.train ({cfg.train!r}, resolved to "
            f"{Path(cfg.train.partition('#')[0]).resolve()}); expected held-out validation "
            "data: scores on the training data measure memorisation. Point `validation` at "
            "another file or split (or set ingestion.overlap: allow to evaluate on it anyway)."
        )
    train_rows: dict[tuple[Any, ...], int] = {}
    for key, row in zip(_input_keys(train, level, label_column), train["row"], strict=True):
        train_rows.setdefault(key, int(row))
    repeated = [
        (int(row), train_rows[key])
        for key, row in zip(_input_keys(dev, level, label_column), dev["row"], strict=True)
        if key in train_rows
    ]
    if not repeated:
        return {"validation_rows_in_train": 0}
    examples = "; ".join(
        f"{cfg.validation}: {units[1]} {d} = {cfg.train}: {units[0]} {t}"
        for d, t in repeated[:_OVERLAP_EXAMPLES]
    )
    more = (
        ""
        if len(repeated) <= _OVERLAP_EXAMPLES
        else f"; ... and {len(repeated) - _OVERLAP_EXAMPLES} more"
    )
    message = (
        f"tasks.{task_name}: {len(repeated)} of {len(dev)} validation rows "
        f"({100 * len(repeated) / len(dev):.1f}%) have the same input as a training row "
        f"({examples}{more}); their scores measure memorisation, not generalisation."
    )
    if mode == "error":
        raise DataError(
            f"{message} Expected no overlap (ingestion.overlap: error); remove them from one "
            "of the files, or set ingestion.overlap: warn."
        )
    logger.warning("%s Remove them from one of the files to score held-out data only.", message)
    return {"validation_rows_in_train": len(repeated)}


def ingest(
    task_name: str,
    cfg: TaskConfig,
    max_train: int | None,
    max_eval: int | None,
    seed: int,
    overlap: str = "warn",
):
    """Read, validate and subsample one task; returns (train, validation, label_info).

    ``overlap`` (``ingestion.overlap``): ``warn``, ``error`` or ``allow``, see
    ``check_overlap``.
    """
    reader = build_reader(task_name, cfg)
    task_type = build_task_type(task_name, cfg)
    raw_train = reader.read(cfg.train)
    train = standardize(raw_train, cfg.train, cfg, task_type)
    raw_dev = reader.read(cfg.validation)
    dev = standardize(raw_dev, cfg.validation, cfg, task_type)
    units = (row_unit(raw_train), row_unit(raw_dev))
    del raw_train, raw_dev
    level = task_type.level
    label_column = task_type.label_column or ("tags" if level == "token" else "label")
    #: Task types with their own label format (multi-label, QA, choices) check it themselves.
    standard_labels = (
        task_type.label_column is None and type(task_type).check_labels is TaskType.check_labels
    )
    full_train = train
    train = cap_rows(train, _min(cfg.max_train_examples, max_train), seed)
    dev = cap_rows(dev, _min(cfg.max_eval_examples, max_eval), seed)
    vocab = task_type.build_vocab(train[label_column].tolist(), cfg.labels)
    if vocab and standard_labels:
        check_label_spellings(
            [(full_train, cfg.train, units[0]), (dev, cfg.validation, units[1])],
            cfg.label_field,
            level,
        )
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
    if not cfg.labels and level != "token" and len(vocab) > 50 and len(vocab) > len(train) // 2:
        logger.warning(
            "tasks.%s: %d distinct labels in %d training rows (%s); is label_field %r an "
            "id or text column? List the classes in `labels` to catch this as an error.",
            task_name,
            len(vocab),
            len(train),
            preview_list(vocab),
            cfg.label_field,
        )
    if vocab:
        for frame, path, unit in ((train, cfg.train, units[0]), (dev, cfg.validation, units[1])):
            if not task_type.check_labels(frame, vocab, path, cfg.label_field):
                check_labels_in_vocab(frame, vocab, path, cfg.label_field, level, unit)
        if cfg.labels and standard_labels:
            check_classes_trained(
                vocab, full_train, train, task_name, cfg.train, cfg.label_field, level
            )
    overlap_info = check_overlap(task_name, cfg, train, dev, level, units, overlap, label_column)
    label_info = {
        "task": task_name,
        "type": cfg.type,
        "level": level,
        "labels": vocab,
        "train_summary": task_type.label_summary(train[label_column].tolist()),
        "train_rows": len(train),
        "validation_rows": len(dev),
        **overlap_info,
        "sources": {"train": cfg.train, "validation": cfg.validation, "reader": cfg.reader.name},
        # The task type's options: tokenization of windowed or multi-sequence types uses them.
        "head": dict(cfg.head),
        **task_type.ingestion_info(train),
    }
    return train, dev, label_info


def _min(a: int | None, b: int | None) -> int | None:
    values = [v for v in (a, b) if v is not None]
    return min(values) if values else None
