"""Multiple choice (COPA, XCOPA, SWAG-style): pick the right one of N choices.

Each choice is encoded as a sequence pair with the record's context (premise, plus an
optional question such as COPA's cause/effect rendered as text); one scorer, shared by
all choices, maps each pair to a number, and a softmax over the N numbers is trained
with cross-entropy. N is fixed per task (taken from the training data), and may differ
from task to task.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Sequence
from typing import Any, ClassVar

import numpy as np
from pydantic import Field, PositiveInt, model_validator

from mtl_pipeline.errors import DataError
from mtl_pipeline.readers.base import (
    ROW_COLUMN,
    check_columns,
    no_rows_error,
    preview,
)
from mtl_pipeline.task_types.base import TaskType
from mtl_pipeline.task_types.classification import SequenceHeadOptions


class MultipleChoiceOptions(SequenceHeadOptions):
    choice_fields: list[str] | None = Field(default=None, min_length=2)
    """Columns holding one choice each (COPA: ``[choice1, choice2]``)."""
    choices_field: str | None = None
    """Or: one column holding the list of choices."""
    question_templates: dict[str, str] = Field(default_factory=dict)
    """Text for values of the question field (``text_fields[1]``), e.g. ``{cause: "What
    was the cause?"}``; a value without a template is used as it is."""
    num_choices: PositiveInt | None = None
    """Choices per record; null: the number in the first training record (every record
    must then have as many)."""

    @model_validator(mode="after")
    def _one_choice_source(self) -> MultipleChoiceOptions:
        if (self.choice_fields is None) == (self.choices_field is None):
            raise ValueError(
                "set exactly one of choice_fields (a column per choice) or "
                "choices_field (one list column)"
            )
        return self


class MultipleChoiceTask(TaskType):
    name = "multiple_choice"
    description = (
        "Multiple choice; each choice paired with the context, one shared scorer, softmax."
    )
    level = "sequence"
    Options = MultipleChoiceOptions
    label_column: ClassVar[str | None] = "choices"
    decodes_outputs: ClassVar[bool] = True

    @property
    def opts(self) -> MultipleChoiceOptions:
        return self.options  # type: ignore[return-value]

    # --- ingestion ----------------------------------------------------------------
    def clean_label(self, value: Any, where: str) -> int:
        """The 0-based index of the right choice."""
        if isinstance(value, np.generic):
            value = value.item()
        if isinstance(value, bool) or value is None:
            raise DataError(
                f"{where}: expected the 0-based index of the right choice, found {value!r}."
            )
        if isinstance(value, float):
            if math.isnan(value) or not value.is_integer():
                raise DataError(
                    f"{where}: expected the 0-based index of the right choice, found {value!r}."
                )
            value = int(value)
        text = str(value).strip()
        if not (text.isascii() and text.isdigit()):
            raise DataError(
                f"{where}: expected the 0-based index of the right choice, found {preview(value)}."
            )
        return int(text)

    def _context(self, premise: str, question: str | None) -> str:
        if question is None:
            return premise
        rendered = self.opts.question_templates.get(question, question)
        return f"{premise} {rendered}"

    def standardize(self, raw, path, cfg):
        import pandas as pd

        from mtl_pipeline.ingestion import _text

        opts = self.opts
        choice_columns = opts.choice_fields or [opts.choices_field]
        check_columns(
            raw,
            path,
            [*cfg.text_fields, cfg.label_field, *choice_columns],
            f"the context text_fields {cfg.text_fields}, label_field {cfg.label_field!r} and "
            f"the choices {choice_columns}",
        )
        if raw.empty:
            raise no_rows_error(path)
        rows = raw[ROW_COLUMN].tolist()
        expected = opts.num_choices
        contexts, choices, labels = [], [], []
        for i, row in enumerate(rows):
            where = f"{path}: line {row}"
            premise = _text(raw[cfg.text_fields[0]].iloc[i], f"{where}: field {cfg.text_fields[0]}")
            question = None
            if len(cfg.text_fields) > 1:
                question = _text(
                    raw[cfg.text_fields[1]].iloc[i], f"{where}: field {cfg.text_fields[1]}"
                )
            if opts.choice_fields is not None:
                record = [_text(raw[f].iloc[i], f"{where}: field {f}") for f in opts.choice_fields]
                field = ", ".join(opts.choice_fields)
            else:
                field = str(opts.choices_field)
                value = raw[field].iloc[i]
                if hasattr(value, "tolist"):
                    value = value.tolist()
                if not isinstance(value, list | tuple) or not value:
                    found = "an empty list" if isinstance(value, list | tuple) else preview(value)
                    raise DataError(
                        f"{where}: field {field}: expected a non-empty list of choices, found "
                        f"{found}."
                    )
                record = [
                    _text(v, f"{where}: field {field}: choice {k}") for k, v in enumerate(value, 1)
                ]
            if expected is None:
                expected = len(record)
            if len(record) != expected:
                raise DataError(
                    f"{where}: field {field}: {len(record)} choices; expected {expected} like "
                    "every record of this task (num_choices)."
                )
            label = self.clean_label(
                raw[cfg.label_field].iloc[i], f"{where}: field {cfg.label_field}"
            )
            if label >= len(record):
                raise DataError(
                    f"{where}: field {cfg.label_field}: choice index {label} is out of range; "
                    f"expected 0-{len(record) - 1} (0-based, {len(record)} choices)."
                )
            contexts.append(self._context(premise, question))
            choices.append(record)
            labels.append(label)
        return pd.DataFrame({"row": rows, "context": contexts, "choices": choices, "label": labels})

    def build_vocab(self, train_labels: Sequence[Any], configured: list[str] | None) -> list[str]:
        """Choice positions ``0 ... N-1`` (``train_labels`` are the training choice lists)."""
        count = self.opts.num_choices or (len(train_labels[0]) if len(train_labels) else 0)
        return [str(i) for i in range(count)]

    def label_summary(self, labels: Sequence[Any]) -> dict[str, Any]:
        return {"num_choices": len(labels[0]) if len(labels) else 0, "records": len(labels)}

    def check_labels(self, frame, vocab, path, field):
        counts = Counter(len(c) for c in frame["choices"])
        for row, choices in zip(frame["row"], frame["choices"], strict=True):
            if len(choices) != len(vocab):
                raise DataError(
                    f"{path}: line {row}: {len(choices)} choices; expected {len(vocab)} like the "
                    f"training records (this file has {dict(counts)})."
                )
        return True

    def resolve_head(self, head, label_info):
        return {**head, "num_choices": len(label_info["labels"])}

    def num_outputs(self, vocab: list[str]) -> int:
        return 1

    # --- tokenization ---------------------------------------------------------------
    def tokenize(self, frame, tokenizer, *, vocab, max_length):
        contexts = frame["context"].tolist()
        choice_lists = [[str(c) for c in choices] for choices in frame["choices"]]
        n = len(choice_lists[0])
        first = [c for c in contexts for _ in range(n)]
        second = [choice for choices in choice_lists for choice in choices]
        enc = tokenizer(
            first,
            second,
            truncation="longest_first",
            max_length=max_length,
            return_attention_mask=False,
        )
        ids = enc["input_ids"]
        type_ids = enc.get("token_type_ids")
        truncated_seq = [
            bool(len(x) >= max_length and e.overflowing)
            for x, e in zip(ids, enc.encodings, strict=True)
        ]
        columns: dict[str, Any] = {
            "input_ids": [ids[i * n : (i + 1) * n] for i in range(len(frame))]
        }
        if type_ids is not None:
            columns["token_type_ids"] = [type_ids[i * n : (i + 1) * n] for i in range(len(frame))]
        columns["labels"] = [int(v) for v in frame["label"]]
        columns["length"] = [
            sum(len(x) for x in ids[i * n : (i + 1) * n]) for i in range(len(frame))
        ]
        columns["row"] = frame["row"].tolist()
        columns["truncated"] = [any(truncated_seq[i * n : (i + 1) * n]) for i in range(len(frame))]
        columns["choice_texts"] = [list(c) for c in choice_lists]
        return columns, {"examples": len(frame), "truncated": sum(columns["truncated"])}

    def arrow_schema(self, columns, vocab):
        import pyarrow as pa

        fields = [pa.field("input_ids", pa.list_(pa.list_(pa.int32())))]
        if "token_type_ids" in columns:
            fields.append(pa.field("token_type_ids", pa.list_(pa.list_(pa.int8()))))
        fields += [
            pa.field("labels", pa.int64()),
            pa.field("length", pa.int64()),
            pa.field("row", pa.int64()),
            pa.field("truncated", pa.bool_()),
            pa.field("dropped_words", pa.int64()),
            pa.field("choice_texts", pa.list_(pa.string())),
        ]
        return pa.schema(fields)

    # --- training ------------------------------------------------------------------
    def build_head(self, hidden_size: int, num_outputs: int):
        from mtl_pipeline.task_types.heads import SequenceHead

        return SequenceHead(hidden_size, 1, self.opts.pooling, self.opts.dropout)

    def _scores(self, logits, records: int | None = None):
        """``(records, N)`` choice scores from the scorer's ``(records x N, 1)`` outputs."""
        n = self.opts.num_choices
        if n is None:
            n = logits.shape[0] // records if records else logits.shape[0]
        return logits.float().reshape(-1, n)

    def loss(self, logits, labels):
        import torch.nn.functional as F

        return F.cross_entropy(self._scores(logits, labels.shape[0]), labels)

    def predict(self, logits):
        return self._scores(logits).argmax(dim=-1)

    # --- decoding -----------------------------------------------------------------
    def decode(self, split, outputs, details=False):
        count = len(outputs)
        if count and outputs[0].reshape(-1).shape[0] != split.group:
            raise ValueError(
                f"multiple_choice: {outputs[0].reshape(-1).shape[0]} scores for a record of "
                f"{split.group} choices; expected one score per choice."
            )
        scores = (
            np.stack([o.reshape(-1) for o in outputs]).astype(np.float64)
            if count
            else np.zeros((0, split.group))
        )
        shifted = scores - scores.max(axis=1, keepdims=True) if count else scores
        probs = np.exp(shifted) / np.exp(shifted).sum(axis=1, keepdims=True) if count else scores
        predicted = probs.argmax(axis=1).astype(np.int64) if count else np.zeros(0, np.int64)
        references = split.labels[:count].astype(np.int64)
        if not details:
            return predicted, references
        texts = split.extra("choice_texts") if "choice_texts" in split.extras else None
        return [
            {
                "choice": int(p),
                "text": texts[i][int(p)] if texts is not None else None,
                "probabilities": q.tolist(),
            }
            for i, (p, q) in enumerate(zip(predicted, probs, strict=True))
        ], references

    def natural_prediction(self, detail, vocab):
        return {
            "text": detail["text"],
            "choice": detail["choice"],
            "probabilities": [round(float(p), 6) for p in detail["probabilities"]],
        }

    def input_fields(self, text_fields):
        if self.opts.choice_fields is not None:
            return [*text_fields, *self.opts.choice_fields]
        return [*text_fields, str(self.opts.choices_field)]

    def prediction_frame(self, inputs, vocab):
        """``inputs``: ``(premise, [question,] choice_1, ..., choice_N)`` tuples, or with a
        ``choices_field``, ``(premise, [question,] [choices])``."""
        import pandas as pd

        n = len(vocab)
        contexts, choices = [], []
        for i, item in enumerate(inputs):
            item = list(item)
            if self.opts.choices_field is not None and item and isinstance(item[-1], list | tuple):
                record, head = list(item[-1]), item[:-1]
            else:
                record, head = item[-n:], item[:-n]
            if len(record) != n or not head:
                raise DataError(
                    f"input {i + 1}: expected a context and {n} choices, found {preview(item)}."
                )
            contexts.append(self._context(str(head[0]), str(head[1]) if len(head) > 1 else None))
            choices.append([str(c) for c in record])
        return pd.DataFrame(
            {
                "row": range(len(inputs)),
                "context": contexts,
                "choices": choices,
                "label": [0] * len(inputs),
            }
        )
