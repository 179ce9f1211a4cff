"""Multi-label classification (GoEmotions, tags, intents): any subset of the label set.

One sigmoid output per label, binary cross-entropy (optionally with positive-class
weights for rare labels), and a decision threshold on each probability: one global value,
or one per label tuned on the validation set after training (``threshold_tuning``).
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Sequence
from functools import cached_property
from pathlib import Path
from typing import Any, ClassVar, Literal

import numpy as np
from pydantic import Field, field_validator

from mtl_pipeline.errors import ConfigError, DataError
from mtl_pipeline.readers.base import preview
from mtl_pipeline.task_types.base import TaskType
from mtl_pipeline.task_types.classification import SequenceHeadOptions, check_loss_weights

#: Candidate thresholds for per-label tuning (0.05 ... 0.95).
THRESHOLD_GRID = tuple(round(0.05 * i, 2) for i in range(1, 20))


class MultiLabelOptions(SequenceHeadOptions):
    label_delimiter: str = Field(default=",", min_length=1)
    """Separator of labels in a string cell (GoEmotions: ``3,27``); list cells need none."""
    names_file: str | None = None
    """A file with one label name per line: the labels in the data are then 0-based line
    numbers (ids) of this file, mapped to names (GoEmotions' ``emotions.txt``)."""
    threshold: float | list[float] = 0.5
    """Decision threshold on each label's probability: one for all labels, or one per label
    in the order of the label set (what ``threshold_tuning: per_label`` writes)."""
    threshold_tuning: Literal["none", "per_label"] = "none"
    """``per_label``: after training, each label's threshold is the one of 0.05 ... 0.95
    with the best F1 of that label on the validation set (saved with the model). The
    validation scores are then optimistic: the thresholds were chosen on them."""
    pos_weight: Literal["balanced"] | list[float] | None = None
    """BCE weight of each label's positive examples; ``balanced`` = negatives / positives
    per label over the training set (capped at 100), resolved when training starts."""

    @field_validator("threshold")
    @classmethod
    def _in_unit_interval(cls, value: Any) -> Any:
        values = value if isinstance(value, list) else [value]
        if not values or any(not 0.0 < v < 1.0 for v in values):
            raise ValueError(f"expected thresholds strictly between 0 and 1, found {value}")
        return value

    @field_validator("pos_weight")
    @classmethod
    def _positive(cls, value: Any) -> Any:
        return check_loss_weights(value)


def multi_hot_schema(num_labels: int, with_type_ids: bool) -> Any:
    """Arrow schema of a multi-label split: a fixed-size float vector of labels per row."""
    import pyarrow as pa

    fields = [pa.field("input_ids", pa.list_(pa.int32()))]
    if with_type_ids:
        fields.append(pa.field("token_type_ids", pa.list_(pa.int8())))
    fields += [
        pa.field("labels", pa.list_(pa.float32(), num_labels)),
        pa.field("length", pa.int64()),
        pa.field("row", pa.int64()),
        pa.field("truncated", pa.bool_()),
        pa.field("dropped_words", pa.int64()),
    ]
    return pa.schema(fields)


class MultiLabelTask(TaskType):
    name = "multi_label"
    description = "Multi-label classification; sigmoid per label, BCE, global or tuned thresholds."
    level = "sequence"
    Options = MultiLabelOptions
    decodes_outputs: ClassVar[bool] = True

    @property
    def opts(self) -> MultiLabelOptions:
        return self.options  # type: ignore[return-value]

    @cached_property
    def names(self) -> list[str] | None:
        """Label names by id from ``names_file`` (None without one)."""
        path = self.opts.names_file
        if path is None:
            return None
        file = Path(path)
        if not file.is_file():
            raise ConfigError(
                f"head.names_file: {path} not found (resolved to {file.resolve()}); expected a "
                "file with one label name per line."
            )
        names = [line.strip() for line in file.read_text(encoding="utf-8").splitlines()]
        for number, name in enumerate(names, start=1):
            if not name:
                raise DataError(f"{path}: line {number}: empty label name; expected one per line.")
        return names

    # --- ingestion ----------------------------------------------------------------
    def clean_label(self, value: Any, where: str) -> list[str]:
        if hasattr(value, "tolist"):
            value = value.tolist()
        if value is None or (isinstance(value, float) and math.isnan(value)):
            raise DataError(f"{where}: label set is missing; expected labels such as '3,27'.")
        if isinstance(value, str):
            items: list[Any] = [v.strip() for v in value.split(self.opts.label_delimiter)]
            items = [v for v in items if v]
        elif isinstance(value, list | tuple):
            items = list(value)
        elif isinstance(value, int) and not isinstance(value, bool):
            items = [value]
        else:
            raise DataError(
                f"{where}: expected a list of labels or a {self.opts.label_delimiter!r}-separated "
                f"string, found {type(value).__name__} {preview(value)}."
            )
        labels = [self._name(item, where) for item in items]
        return list(dict.fromkeys(labels))  # a repeated label is one label

    def _name(self, item: Any, where: str) -> str:
        names = self.names
        if names is None:
            text = str(item).strip()
            if not text:
                raise DataError(f"{where}: empty label in the label set.")
            return text
        text = str(item).strip()
        if not (text.isascii() and text.isdigit() and int(text) < len(names)):
            raise DataError(
                f"{where}: unknown label id {item!r}; expected an id 0-{len(names) - 1} "
                f"(a line number of {self.opts.names_file}, counted from 0)."
            )
        return names[int(text)]

    def build_vocab(self, train_labels: Sequence[Any], configured: list[str] | None) -> list[str]:
        if configured:
            return [str(label) for label in configured]
        if self.names is not None:
            return list(self.names)
        return sorted({label for labels in train_labels for label in labels})

    def label_summary(self, labels: Sequence[Any]) -> dict[str, Any]:
        counts = Counter(label for row in labels for label in row)
        sizes = Counter(len(row) for row in labels)
        return {
            "counts": dict(sorted(counts.items())),
            "labels_per_example": {str(k): v for k, v in sorted(sizes.items())},
            "examples": len(labels),
        }

    def check_labels(self, frame: Any, vocab: list[str], path: str, field: str) -> bool:
        known = set(vocab)
        for row, labels in zip(frame["row"], frame["label"], strict=True):
            for label in labels:
                if label not in known:
                    raise DataError(
                        f"{path}: line {row}: field {field}: label {label!r} is not in the "
                        f"task's label set {vocab}; expected labels among those."
                    )
        return True

    def resolve_head(self, head: dict[str, Any], label_info: dict[str, Any]) -> dict[str, Any]:
        if head.get("pos_weight") != "balanced":
            return head
        summary = label_info.get("train_summary", {})
        counts, total = summary.get("counts", {}), int(summary.get("examples", 0))
        weights = [
            min(100.0, (total - counts.get(label, 0)) / max(1, counts.get(label, 0)))
            for label in label_info["labels"]
        ]
        return {**head, "pos_weight": [max(w, 1e-3) for w in weights]}

    # --- tokenization ---------------------------------------------------------------
    def tokenize(self, frame, tokenizer, *, vocab, max_length):
        text_b = frame["text_b"].tolist()
        pair = any(t is not None for t in text_b)
        enc = tokenizer(
            frame["text_a"].tolist(),
            text_b if pair else None,
            truncation="longest_first" if pair else True,
            max_length=max_length,
            return_attention_mask=False,
            return_overflowing_tokens=False,
        )
        index = {label: i for i, label in enumerate(vocab)}
        labels = []
        for row_labels in frame["label"]:
            hot = [0.0] * len(vocab)
            for label in row_labels:
                hot[index[str(label)]] = 1.0
            labels.append(hot)
        lengths = [len(ids) for ids in enc["input_ids"]]
        truncated = [
            bool(length >= max_length and e.overflowing)
            for length, e in zip(lengths, enc.encodings, strict=True)
        ]
        columns: dict[str, Any] = {"input_ids": enc["input_ids"]}
        if "token_type_ids" in enc:
            columns["token_type_ids"] = enc["token_type_ids"]
        columns.update(
            labels=labels, length=lengths, row=frame["row"].tolist(), truncated=truncated
        )
        stats = {"examples": len(frame), "truncated": sum(truncated)}
        return columns, stats

    def arrow_schema(self, columns, vocab):
        return multi_hot_schema(len(vocab), "token_type_ids" in columns)

    # --- training ------------------------------------------------------------------
    def build_head(self, hidden_size: int, num_outputs: int):
        from mtl_pipeline.task_types.heads import SequenceHead

        return SequenceHead(hidden_size, num_outputs, self.opts.pooling, self.opts.dropout)

    def loss(self, logits, labels):
        import torch
        import torch.nn.functional as F

        weights = self.opts.pos_weight
        pos_weight = None
        if isinstance(weights, list):
            if len(weights) != logits.shape[-1]:
                raise ConfigError(
                    f"head.pos_weight: {len(weights)} weights for {logits.shape[-1]} labels; "
                    "expected one per label, in the order of the label set."
                )
            pos_weight = torch.tensor(weights, dtype=torch.float32, device=logits.device)
        return F.binary_cross_entropy_with_logits(
            logits.float(), labels.float(), pos_weight=pos_weight
        )

    def thresholds(self, num_labels: int) -> np.ndarray:
        value = self.opts.threshold
        if isinstance(value, list):
            if len(value) != num_labels:
                raise ConfigError(
                    f"head.threshold: {len(value)} thresholds for {num_labels} labels; expected "
                    "one number, or one per label in the order of the label set."
                )
            return np.asarray(value, dtype=np.float64)
        return np.full(num_labels, float(value))

    def predict(self, logits):
        import torch

        thresholds = torch.as_tensor(
            self.thresholds(logits.shape[-1]), dtype=torch.float32, device=logits.device
        )
        return (torch.sigmoid(logits.float()) >= thresholds).long()

    # --- decoding -----------------------------------------------------------------
    def decode(self, split, outputs, details=False):
        count = len(outputs)
        logits = np.stack(outputs) if count else np.zeros((0, split.labels.shape[-1]))
        probs = 1.0 / (1.0 + np.exp(-logits.astype(np.float64)))
        predicted = (probs >= self.thresholds(probs.shape[-1])).astype(np.int64)
        references = split.labels[:count].astype(np.int64)
        if not details:
            return predicted, references
        return [
            {"labels": np.flatnonzero(p).tolist(), "probabilities": q.tolist()}
            for p, q in zip(predicted, probs, strict=True)
        ], references

    def fit_decision(self, split, outputs):
        if self.opts.threshold_tuning != "per_label" or not outputs:
            return {}
        from sklearn.metrics import f1_score

        probs = 1.0 / (1.0 + np.exp(-np.stack(outputs).astype(np.float64)))
        gold = split.labels[: len(outputs)].astype(np.int64)
        tuned = []
        for j in range(probs.shape[1]):
            best, best_f1 = 0.5, -1.0
            # Ties go to the threshold closest to 0.5 (the untuned default).
            for t in sorted(THRESHOLD_GRID, key=lambda v: (abs(v - 0.5), v)):
                f1 = f1_score(gold[:, j], probs[:, j] >= t, zero_division=0.0)
                if f1 > best_f1:
                    best, best_f1 = t, f1
            tuned.append(best)
        return {"threshold": tuned}

    def natural_prediction(self, detail, vocab):
        probs = detail["probabilities"]
        return {
            "labels": [vocab[i] for i in detail["labels"]],
            "probabilities": {
                label: round(float(p), 6) for label, p in zip(vocab, probs, strict=True)
            },
        }

    def prediction_frame(self, inputs, vocab):
        import pandas as pd

        pairs = [x if isinstance(x, list | tuple) else (x, None) for x in inputs]
        return pd.DataFrame(
            {
                "row": range(len(inputs)),
                "text_a": [p[0] for p in pairs],
                "text_b": [p[1] if len(p) > 1 else None for p in pairs],
                "label": [[] for _ in inputs],
            }
        )
