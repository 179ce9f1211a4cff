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

#: ``head`` key naming another task whose head this task uses (not a task-type option).
SHARE_WITH = "share_with"


def type_options(head: dict[str, Any] | None) -> dict[str, Any]:
    """A task's ``head`` mapping without the architecture-level ``share_with`` key."""
    return {k: v for k, v in (head or {}).items() if k != SHARE_WITH}


class TaskType(Component, ABC):
    """One kind of supervised task. Subclasses set ``name``, ``level`` and ``Options``."""

    level: ClassVar[Literal["sequence", "token"]] = "sequence"
    #: What ``predict`` returns: class ids (``"classes"``), real values (``"values"``) or
    #: answer texts (``"spans"``, extractive QA), entity tag sequences (``"entities"``) or
    #: dependency trees (``"trees"``).
    #: Metrics declare which kinds they score (``Metric.predictions``).
    predictions: ClassVar[Literal["classes", "values", "spans", "entities", "trees"]] = "classes"

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

    # --- optional hooks for task types whose data is not one text (pair) per label ---
    # The defaults reproduce the sentence/token behaviour above; a task type that reads
    # several fields per record (choices, question + context), encodes one record as
    # several sequences or windows, or decodes predictions over a whole record, overrides
    # them. Generic code calls them, so a third-party task type can do the same.

    #: The standard table's label column (``None``: ``label``, or ``tags`` for token tasks).
    label_column: ClassVar[str | None] = None

    def standardize(self, raw: Any, path: str, cfg: Any) -> Any | None:
        """The standard table from a reader's raw records, or ``None`` for the default
        (``text_a``/``text_b``/``label`` or ``tokens``/``tags``)."""
        return None

    def check_labels(self, frame: Any, vocab: list[str], path: str, field: str) -> bool:
        """Check every label of ``frame`` against ``vocab``; ``False``: use the default check."""
        return False

    def resolve_head(self, head: dict[str, Any], label_info: dict[str, Any]) -> dict[str, Any]:
        """The head options to save with the model, with values derived from the training
        data (``balanced`` weights) resolved into numbers. Default: unchanged."""
        return head

    def ingestion_info(self, train: Any) -> dict[str, Any]:
        """Facts from the training table that later stages need (kept in ``label_info``)."""
        return {}

    def tokenize(
        self, frame: Any, tokenizer: Any, *, vocab: list[str], max_length: int
    ) -> tuple[dict[str, Any], dict[str, int]] | None:
        """``(columns, stats)`` for a batch of the standard table, or ``None`` for the
        default encoding. Columns: ``input_ids`` (list of ids, or a list of sequences for a
        record encoded as several sequences), optional ``token_type_ids``, ``labels``,
        ``length``, ``row``, ``truncated`` (bool per row); any further columns are kept in
        ``TokenizedSplit.extras`` for :meth:`decode`."""
        return None

    def arrow_schema(self, columns: dict[str, Any], vocab: list[str]) -> Any | None:
        """The Arrow schema of :meth:`tokenize`'s columns (``None``: inferred)."""
        return None

    #: True when :meth:`decode` turns per-example raw outputs into predictions.
    decodes_outputs: ClassVar[bool] = False

    def decode(self, split: Any, outputs: list[Any], details: bool = False) -> tuple[Any, Any]:
        """``(predictions, references)`` for the metrics from per-example raw outputs
        (float logits, trimmed to each example's length for token-level outputs). With
        ``details``, predictions are the natural per-record outputs (dicts) instead."""
        raise NotImplementedError

    def fit_decision(self, split: Any, outputs: list[Any]) -> dict[str, Any]:
        """Head options tuned on the validation outputs after training (e.g. thresholds);
        merged into the saved task's ``head``. Default: nothing to tune."""
        return {}

    def natural_prediction(self, detail: Any, vocab: list[str]) -> Any:
        """One record's prediction as a user reads it (label names, texts, spans)."""
        return detail

    def prediction_frame(self, inputs: list[Any], vocab: list[str]) -> Any:
        """The standard table for ``MultiTaskModel.predict`` inputs (``None``: the default
        texts/pairs/word lists)."""
        return None

    def input_fields(self, text_fields: list[str]) -> list[str]:
        """The input columns a prediction reads, in the order ``prediction_frame`` takes them."""
        return list(text_fields)
