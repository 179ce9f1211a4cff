"""Single-sentence or sentence-pair classification (SST-2, CoLA, MRPC, RTE)."""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Sequence
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from mtl_pipeline.errors import ConfigError, DataError
from mtl_pipeline.labels import LabelValueError, label_text
from mtl_pipeline.task_types.base import TaskType


class SequenceHeadOptions(BaseModel):
    model_config = ConfigDict(extra="forbid")

    pooling: Literal["mean", "cls", "last"] | None = Field(
        default=None,
        description=(
            "Sequence pooling: mean over real tokens, the first token (cls), or the last "
            "real token (last); null: the encoder family's default (mean; last for "
            "decoder-only models)."
        ),
    )
    dropout: float = Field(default=0.1, ge=0.0, lt=1.0)


class ClassificationOptions(SequenceHeadOptions):
    class_weights: Literal["balanced"] | list[float] | None = None
    """Cross-entropy class weights, in the order of the task's `labels`; ``balanced``
    weighs each class by n / (classes x count) over the training set (resolved when
    training starts, then saved as numbers). For skewed tasks scored by MCC or F1 (CoLA is
    70/30) it keeps a small budget from settling on the majority class."""

    @field_validator("class_weights")
    @classmethod
    def _positive(cls, value: Any) -> Any:
        return check_loss_weights(value)


def check_loss_weights(value: Any) -> Any:
    """A list of per-label loss weights must be non-empty, positive and finite: a zero
    weight silently drops a label from training, a NaN turns every loss into NaN."""
    if isinstance(value, list) and (
        not value or any(not (w > 0 and math.isfinite(w)) for w in value)
    ):
        raise ValueError(f"expected positive finite weights, found {value}")
    return value


def balanced_class_weights(counts: dict[str, int], labels: list[str]) -> list[float]:
    """n / (k x count_c) per class, in label order (sklearn's "balanced")."""
    total = sum(counts.get(label, 0) for label in labels)
    return [total / (len(labels) * max(1, counts.get(label, 0))) for label in labels]


def label_to_str(value: Any, where: str) -> str:
    """Labels are names: ``1``, ``1.0``, ``"1.0"`` and ``"1"`` in different readers all
    mean ``"1"`` (``mtl_pipeline.labels.label_text``); a JSON object or list is refused."""
    try:
        return label_text(value)
    except LabelValueError as exc:
        raise DataError(f"{where}: {exc}.") from None


class ClassificationTask(TaskType):
    name = "classification"
    description = "Sequence (or pair) classification; cross-entropy, mean-pooled head."
    level = "sequence"
    Options = ClassificationOptions

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
        import torch
        import torch.nn.functional as F

        weights = getattr(self.options, "class_weights", None)
        if isinstance(weights, list):
            if len(weights) != logits.shape[-1]:
                raise ConfigError(
                    f"head.class_weights: {len(weights)} weights for {logits.shape[-1]} classes; "
                    "expected one per label, in the order of `labels`."
                )
            weight = torch.tensor(weights, dtype=torch.float32, device=logits.device)
            return F.cross_entropy(logits.float(), labels, weight=weight)
        return F.cross_entropy(logits.float(), labels)

    def predict(self, logits):
        return logits.argmax(dim=-1)
