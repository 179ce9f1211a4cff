"""Single-sentence or sentence-pair classification (SST-2, CoLA, MRPC, RTE)."""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Sequence
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from mtl_pipeline.errors import DataError
from mtl_pipeline.task_types.base import TaskType


class SequenceHeadOptions(BaseModel):
    model_config = ConfigDict(extra="forbid")

    pooling: Literal["mean", "cls"] = "mean"
    dropout: float = Field(default=0.1, ge=0.0, lt=1.0)


def label_to_str(value: Any, where: str) -> str:
    """Labels are names: ``1``, ``1.0`` and ``"1"`` in different readers all mean ``"1"``."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        raise DataError(f"{where}: label is missing; expected a class label.")
    if isinstance(value, bool):
        return str(int(value))
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    text = str(value).strip()
    if not text:
        raise DataError(f"{where}: label is empty; expected a class label.")
    return text


class ClassificationTask(TaskType):
    name = "classification"
    description = "Sequence (or pair) classification; cross-entropy, mean-pooled head."
    level = "sequence"
    Options = SequenceHeadOptions

    def clean_label(self, value: Any, where: str) -> str:
        return label_to_str(value, where)

    def build_vocab(self, train_labels: Sequence[Any], configured: list[str] | None) -> list[str]:
        if configured:
            return [str(label) for label in configured]
        # Numeric labels sort numerically ("0" < "1" < "10"), names alphabetically.
        unique = set(train_labels)
        try:
            return sorted(unique, key=float)
        except ValueError:
            return sorted(unique)

    def label_summary(self, labels: Sequence[Any]) -> dict[str, Any]:
        return {"counts": dict(sorted(Counter(labels).items()))}

    def build_head(self, hidden_size: int, num_outputs: int):
        from mtl_pipeline.task_types.heads import SequenceHead

        opts: SequenceHeadOptions = self.options  # type: ignore[assignment]
        return SequenceHead(hidden_size, num_outputs, opts.pooling, opts.dropout)

    def loss(self, logits, labels):
        import torch.nn.functional as F

        return F.cross_entropy(logits.float(), labels)

    def predict(self, logits):
        return logits.argmax(dim=-1)
