"""Sequence (or pair) regression (STS-B): one output, mean squared error."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

from mtl_pipeline.errors import DataError
from mtl_pipeline.task_types.base import TaskType
from mtl_pipeline.task_types.classification import SequenceHeadOptions


class RegressionTask(TaskType):
    name = "regression"
    description = "Sequence (or pair) regression; MSE on one output, mean-pooled head."
    level = "sequence"
    Options = SequenceHeadOptions

    def clean_label(self, value: Any, where: str) -> float:
        try:
            number = float(str(value).strip()) if not isinstance(value, int | float) else float(value)
        except ValueError:
            raise DataError(f"{where}: expected a number, found {value!r}.") from None
        if not math.isfinite(number):
            raise DataError(f"{where}: expected a finite number, found {value!r}.")
        return number

    def label_summary(self, labels: Sequence[Any]) -> dict[str, Any]:
        values = [float(v) for v in labels]
        return {"min": min(values), "max": max(values), "mean": sum(values) / len(values)}

    def num_outputs(self, vocab: list[str]) -> int:
        return 1

    def build_head(self, hidden_size: int, num_outputs: int):
        from mtl_pipeline.task_types.heads import SequenceHead

        opts: SequenceHeadOptions = self.options  # type: ignore[assignment]
        return SequenceHead(hidden_size, 1, opts.pooling, opts.dropout)

    def loss(self, logits, labels):
        import torch.nn.functional as F

        return F.mse_loss(logits.float().squeeze(-1), labels.float())

    def predict(self, logits):
        return logits.float().squeeze(-1)
