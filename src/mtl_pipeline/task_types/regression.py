"""Sequence (or pair) regression (STS-B): one output, mean squared error."""

from __future__ import annotations

import logging
import math
import re
from collections import Counter
from collections.abc import Sequence
from typing import Any

from pydantic import field_validator

from mtl_pipeline.errors import DataError
from mtl_pipeline.task_types.base import TaskType
from mtl_pipeline.task_types.classification import SequenceHeadOptions

logger = logging.getLogger(__name__)

#: Out-of-range labels logged one by one per file; the rest are counted in label_info.
_MAX_RANGE_WARNINGS = 5


class RegressionOptions(SequenceHeadOptions):
    label_range: tuple[float, float] | None = None
    """Expected ``[lo, hi]`` of the labels (STS-B: ``[0, 5]``). A label outside it is a
    warning naming file and line, not an error: scales drift legitimately (a re-annotated
    set), but a shifted column or a 0-100 scale in a 0-5 task is worth seeing.

    With a range, the head also learns the label *scaled to [0, 1]* (predictions are
    scaled back): an MSE on a 0-5 scale is ~25x a cross-entropy, and since AdamW's
    second moments are shared by all tasks, such gradients would shrink every other
    task's updates."""

    @field_validator("label_range")
    @classmethod
    def _ordered(cls, value: tuple[float, float] | None) -> tuple[float, float] | None:
        if value is not None:
            lo, hi = value
            if not (math.isfinite(lo) and math.isfinite(hi) and lo < hi):
                raise ValueError(f"expected finite [lo, hi] with lo < hi, found [{lo}, {hi}]")
        return value


class RegressionTask(TaskType):
    name = "regression"
    description = "Sequence (or pair) regression; MSE on one output, mean-pooled head."
    level = "sequence"
    predictions = "values"
    Options = RegressionOptions

    def __init__(self, options: Any) -> None:
        super().__init__(options)
        self._range_warnings: Counter[str] = Counter()

    def clean_label(self, value: Any, where: str) -> float:
        if isinstance(value, bool):  # JSON true/false is not a score
            raise DataError(f"{where}: expected a number, found {value!r}.")
        try:
            number = (
                float(str(value).strip()) if not isinstance(value, int | float) else float(value)
            )
        except (TypeError, ValueError):
            raise DataError(f"{where}: expected a number, found {value!r}.") from None
        if not math.isfinite(number):
            raise DataError(f"{where}: expected a finite number, found {value!r}.")
        label_range = getattr(self.options, "label_range", None)
        if label_range is not None and not label_range[0] <= number <= label_range[1]:
            self._warn_out_of_range(number, where, label_range)
        return number

    def _warn_out_of_range(
        self, number: float, where: str, label_range: tuple[float, float]
    ) -> None:
        source = re.split(r": (?:line|row) ", where, maxsplit=1)[0]
        self._range_warnings[source] += 1
        count = self._range_warnings[source]
        if count <= _MAX_RANGE_WARNINGS:
            logger.warning(
                "%s: label %s is outside label_range [%s, %s]; expected a value in that range "
                "(kept as is; check the column and the scale).",
                where,
                number,
                label_range[0],
                label_range[1],
            )
        if count == _MAX_RANGE_WARNINGS:
            logger.warning(
                "%s: further labels outside label_range are not logged one by one; "
                "label_info counts them (out_of_range).",
                source,
            )

    def label_summary(self, labels: Sequence[Any]) -> dict[str, Any]:
        values = [float(v) for v in labels]
        summary: dict[str, Any] = {
            "min": min(values),
            "max": max(values),
            "mean": sum(values) / len(values),
        }
        label_range = getattr(self.options, "label_range", None)
        if label_range is not None:
            lo, hi = label_range
            summary["label_range"] = [lo, hi]
            summary["out_of_range"] = sum(1 for v in values if not lo <= v <= hi)
        return summary

    def num_outputs(self, vocab: list[str]) -> int:
        return 1

    def build_head(self, hidden_size: int, num_outputs: int):
        from mtl_pipeline.task_types.heads import SequenceHead

        opts: SequenceHeadOptions = self.options  # type: ignore[assignment]
        return SequenceHead(hidden_size, 1, opts.pooling, opts.dropout)

    def _scale(self) -> tuple[float, float]:
        label_range = getattr(self.options, "label_range", None)
        return (
            (0.0, 1.0) if label_range is None else (label_range[0], label_range[1] - label_range[0])
        )

    def loss(self, logits, labels):
        import torch.nn.functional as F

        offset, width = self._scale()
        return F.mse_loss(logits.float().squeeze(-1), (labels.float() - offset) / width)

    def predict(self, logits):
        offset, width = self._scale()
        return logits.float().squeeze(-1) * width + offset
