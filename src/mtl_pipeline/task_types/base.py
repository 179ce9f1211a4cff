"""The task-type interface: label handling at ingestion, the head and loss at training.

Heads receive token-level hidden states ``(batch, seq_len, hidden)`` and the attention
mask ``(batch, seq_len)`` and return logits: ``(batch, num_outputs)`` for sequence-level
tasks, ``(batch, seq_len, num_outputs)`` for token-level ones. Pooling lives in the head,
so every architecture only has to produce hidden states.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, ClassVar, Literal

from pydantic import BaseModel

from mtl_pipeline.components import Component

if TYPE_CHECKING:
    import torch
    from torch import nn

#: Label id that losses and metrics ignore (sub-word continuations, special tokens).
IGNORE_INDEX = -100


class TaskType(Component, ABC):
    """One kind of supervised task. Subclasses set ``name``, ``level`` and ``Options``."""

    level: ClassVar[Literal["sequence", "token"]] = "sequence"
    #: What ``predict`` returns: class ids (``"classes"``) or real values (``"values"``).
    #: Metrics declare which kinds they score (``Metric.predictions``).
    predictions: ClassVar[Literal["classes", "values"]] = "classes"

    def __init__(self, options: BaseModel) -> None:
        self.options = options

    # --- ingestion ----------------------------------------------------------------
    @abstractmethod
    def clean_label(self, value: Any, where: str) -> Any:
        """Validate one raw label and return its canonical form (str, float, list[str]).
        ``where`` is ``"<file>: line N: field F"``: raise ``DataError`` starting with it."""

    def build_vocab(self, train_labels: Sequence[Any], configured: list[str] | None) -> list[str]:
        """Label names in id order; ``[]`` for tasks without a label set (regression)."""
        return []

    def label_summary(self, labels: Sequence[Any]) -> dict[str, Any]:
        """Statistics written beside the vocabulary (for reports and model cards)."""
        return {}

    # --- training ------------------------------------------------------------------
    def num_outputs(self, vocab: list[str]) -> int:
        return len(vocab)

    @abstractmethod
    def build_head(self, hidden_size: int, num_outputs: int) -> nn.Module:
        """A module mapping ``(hidden_states, attention_mask)`` to logits."""

    @abstractmethod
    def loss(self, logits: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        """Mean loss over the batch (over labelled tokens for token-level tasks)."""

    @abstractmethod
    def predict(self, logits: torch.Tensor) -> torch.Tensor:
        """Predictions from logits: class ids (long) or values (float)."""
