"""Token tagging (POS, NER): one label per word, predicted on its first sub-word."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from mtl_pipeline.errors import DataError
from mtl_pipeline.labels import LabelValueError, label_text
from mtl_pipeline.readers.base import preview
from mtl_pipeline.task_types.base import IGNORE_INDEX, TaskType


class TaggingOptions(BaseModel):
    model_config = ConfigDict(extra="forbid")

    dropout: float = Field(default=0.1, ge=0.0, lt=1.0)


class TaggingTask(TaskType):
    name = "tagging"
    description = "Token tagging; cross-entropy on each word's first sub-word."
    level = "token"
    Options = TaggingOptions

    def clean_label(self, value: Any, where: str) -> list[str]:
        if hasattr(value, "tolist"):
            value = value.tolist()
        if not isinstance(value, list | tuple):
            raise DataError(f"{where}: expected a list of tags, found {type(value).__name__}.")
        tags = []
        for position, tag in enumerate(value, start=1):
            try:
                tags.append(label_text(tag))
            except LabelValueError as exc:
                problem = "empty tag" if str(exc).startswith("label is") else str(exc)
                raise DataError(
                    f"{where}: tag {position}: {problem} in {preview(value)}."
                ) from None
        return tags

    def build_vocab(self, train_labels: Sequence[Any], configured: list[str] | None) -> list[str]:
        if configured:
            return [str(label) for label in configured]
        return sorted({tag for tags in train_labels for tag in tags})

    def label_summary(self, labels: Sequence[Any]) -> dict[str, Any]:
        return {"counts": dict(sorted(Counter(t for tags in labels for t in tags).items()))}

    def build_head(self, hidden_size: int, num_outputs: int):
        from mtl_pipeline.task_types.heads import TokenHead

        return TokenHead(hidden_size, num_outputs, self.options.dropout)  # type: ignore[attr-defined]

    def loss(self, logits, labels):
        import torch.nn.functional as F

        return F.cross_entropy(
            logits.float().reshape(-1, logits.shape[-1]),
            labels.reshape(-1),
            ignore_index=IGNORE_INDEX,
        )

    def predict(self, logits):
        return logits.argmax(dim=-1)


def word_level_fields(columns: dict[str, Any]) -> list[Any]:
    """The Arrow fields every first-sub-word encoding shares (ids, labels per sub-word,
    lengths, truncation counts, each word's first sub-word); task types add their own."""
    import pyarrow as pa

    fields = [pa.field("input_ids", pa.list_(pa.int32()))]
    if "token_type_ids" in columns:
        fields.append(pa.field("token_type_ids", pa.list_(pa.int8())))
    return fields + [
        pa.field("labels", pa.list_(pa.int64())),
        pa.field("length", pa.int64()),
        pa.field("row", pa.int64()),
        pa.field("truncated", pa.bool_()),
        pa.field("dropped_words", pa.int64()),
        pa.field("word_starts", pa.list_(pa.int32())),
    ]
