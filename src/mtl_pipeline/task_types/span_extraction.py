"""Extractive question answering (SQuAD): the answer is a span of the context.

A question and its context are encoded as a pair; a context longer than ``max_length``
is split into overlapping windows (``doc_stride`` tokens of overlap), each a training
example whose labels are the answer's start/end token positions in that window, or the
``[CLS]`` position (0) when the window does not hold the whole answer. The head scores
every token as a start and as an end; decoding takes the ``n_best`` starts and ends of
each window, keeps pairs that lie in the context with ``start <= end`` and at most
``max_answer_length`` tokens, maps them back to character offsets of the original
context, and returns the best-scoring span over all of the question's windows. With
``allow_no_answer`` (SQuAD 2.0), the question gets no answer when the ``[CLS]`` score
beats the best span's score by more than ``null_score_threshold``. Metrics are computed
per question, never per window.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any, ClassVar

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, PositiveInt

from mtl_pipeline.errors import ConfigError, DataError
from mtl_pipeline.readers.base import (
    ROW_COLUMN,
    check_columns,
    no_rows_error,
    preview,
)
from mtl_pipeline.task_types.base import TaskType


class SpanExtractionOptions(BaseModel):
    model_config = ConfigDict(extra="forbid")

    doc_stride: PositiveInt = 128
    """Tokens shared by consecutive windows of a long context (Hugging Face's ``stride``);
    must leave room for the question: below ``max_length`` minus question and specials."""
    max_answer_length: PositiveInt = 30
    """Longest answer decoded, in tokens."""
    n_best: PositiveInt = 20
    """Start and end candidates per window considered when decoding."""
    allow_no_answer: bool = False
    """SQuAD 2.0: predict no answer when the null ([CLS]) score wins."""
    null_score_threshold: float = 0.0
    """With ``allow_no_answer``: no answer when null score - best span score > this."""
    dropout: float = Field(default=0.1, ge=0.0, lt=1.0)


def _answers(value: Any, where: str) -> list[dict[str, Any]]:
    """Answers as ``[{"text", "answer_start"}]`` from SQuAD records or HF's column form."""
    if hasattr(value, "tolist"):
        value = value.tolist()
    if isinstance(value, dict) and "text" in value and "answer_start" in value:
        texts, starts = value["text"], value["answer_start"]
        if hasattr(texts, "tolist"):
            texts, starts = texts.tolist(), list(starts)
        if not isinstance(texts, list) or len(texts) != len(starts):
            raise DataError(
                f"{where}: expected 'text' and 'answer_start' lists of equal length, found "
                f"{preview(value)}."
            )
        value = [{"text": t, "answer_start": s} for t, s in zip(texts, starts, strict=True)]
    if not isinstance(value, list):
        raise DataError(
            f"{where}: expected a list of answers ({{'text', 'answer_start'}}), found "
            f"{type(value).__name__} {preview(value)}."
        )
    return value


class SpanExtractionTask(TaskType):
    name = "span_extraction"
    description = "Extractive QA; windows over long contexts, start/end head, n-best span decoding."
    level = "sequence"
    predictions = "spans"
    Options = SpanExtractionOptions
    label_column: ClassVar[str | None] = "answers"
    decodes_outputs: ClassVar[bool] = True

    @property
    def opts(self) -> SpanExtractionOptions:
        return self.options  # type: ignore[return-value]

    # --- ingestion ----------------------------------------------------------------
    def clean_label(self, value: Any, where: str) -> list[dict[str, Any]]:
        return _answers(value, where)

    def standardize(self, raw, path, cfg):
        import pandas as pd

        from mtl_pipeline.ingestion import _text
        from mtl_pipeline.readers.squad_json import WHERE_COLUMN

        if len(cfg.text_fields) != 2:
            raise ConfigError(
                f"{path}: span_extraction reads text_fields [question, context]; found "
                f"{cfg.text_fields}."
            )
        question_field, context_field = cfg.text_fields
        check_columns(
            raw,
            path,
            [question_field, context_field, cfg.label_field],
            f"text_fields [question, context] {cfg.text_fields} and label_field "
            f"{cfg.label_field!r}",
            hidden=[c for c in raw.columns if str(c).startswith("_")],
        )
        if raw.empty:
            raise no_rows_error(path)
        places = (
            raw[WHERE_COLUMN].tolist()
            if WHERE_COLUMN in raw.columns
            else [f"{path}: line {row}" for row in raw[ROW_COLUMN]]
        )
        ids = (
            raw["id"].astype(str).tolist()
            if "id" in raw.columns
            else [str(r) for r in raw[ROW_COLUMN]]
        )
        questions, contexts, texts, starts = [], [], [], []
        for i, where in enumerate(places):
            question = _text(raw[question_field].iloc[i], f"{where}: field {question_field}")
            context = _text(raw[context_field].iloc[i], f"{where}: field {context_field}")
            answers = _answers(raw[cfg.label_field].iloc[i], f"{where}: field {cfg.label_field}")
            row_texts, row_starts = [], []
            for k, answer in enumerate(answers):
                at = f"{where}: field {cfg.label_field}[{k}]"
                if (
                    not isinstance(answer, dict)
                    or "text" not in answer
                    or "answer_start" not in answer
                ):
                    raise DataError(
                        f"{at}: expected {{'text': ..., 'answer_start': ...}}, found {preview(answer)}."
                    )
                text, start = answer["text"], answer["answer_start"]
                if isinstance(start, np.generic):
                    start = start.item()
                if not isinstance(text, str) or not text.strip():
                    raise DataError(
                        f"{at}: field text: expected a non-empty answer text, found {preview(text)}."
                    )
                if not isinstance(start, int) or isinstance(start, bool):
                    raise DataError(
                        f"{at}: field answer_start: expected a character offset, found {preview(start)}."
                    )
                if not 0 <= start < len(context) or start + len(text) > len(context):
                    raise DataError(
                        f"{at}: field answer_start: {start} (+ {len(text)} characters of "
                        f"{text!r}) lies outside the context ({len(context)} characters); "
                        "expected the answer's character offset in the context."
                    )
                found = context[start : start + len(text)]
                if found != text:
                    raise DataError(
                        f"{at}: field answer_start: {start} points at {found!r}, not at the answer "
                        f"text {text!r}; expected context[answer_start:answer_start+len(text)] == "
                        "text."
                    )
                row_texts.append(text)
                row_starts.append(start)
            questions.append(question)
            contexts.append(context)
            texts.append(row_texts)
            starts.append(row_starts)
        return pd.DataFrame(
            {
                "row": raw[ROW_COLUMN].tolist(),
                "id": ids,
                "question": questions,
                "context": contexts,
                "answers": texts,
                "answer_starts": starts,
            }
        )

    def label_summary(self, labels: Sequence[Any]) -> dict[str, Any]:
        counts = [len(a) for a in labels]
        return {
            "questions": len(labels),
            "unanswerable": sum(1 for c in counts if c == 0),
            "mean_answers": float(np.mean(counts)) if counts else 0.0,
        }

    def num_outputs(self, vocab: list[str]) -> int:
        return 2

    # --- tokenization ---------------------------------------------------------------
    def tokenize(self, frame, tokenizer, *, vocab, max_length):
        stride = self.opts.doc_stride
        questions = [q.lstrip() for q in frame["question"]]
        contexts = frame["context"].tolist()
        question_lengths = [
            len(ids) for ids in tokenizer(questions, add_special_tokens=False)["input_ids"]
        ]
        for row, length in zip(frame["row"], question_lengths, strict=True):
            if length > max_length // 2:
                raise DataError(
                    f"record {row}: the question is {length} tokens; expected at most half of "
                    f"model.max_length ({max_length // 2}) so that context fits beside it in "
                    "each window (shorten the question or raise model.max_length)."
                )
        longest_question = max(question_lengths)
        room = max_length - longest_question - 3  # [CLS] q [SEP] c [SEP]
        if stride >= room:
            raise ConfigError(
                f"head.doc_stride: {stride} tokens of overlap leave no room to advance in a "
                f"{max_length}-token window with a {longest_question}-token question; expected "
                f"doc_stride below {max(room, 1)} (or a larger model.max_length)."
            )
        enc = tokenizer(
            questions,
            contexts,
            truncation="only_second",
            max_length=max_length,
            stride=stride,
            return_overflowing_tokens=True,
            return_offsets_mapping=True,
            return_attention_mask=False,
        )
        sample_of = enc["overflow_to_sample_mapping"]
        rows = frame["row"].tolist()
        # Lists come back from Parquet as numpy arrays.
        answers = [[str(t) for t in a] for a in frame["answers"]]
        answer_starts = [[int(v) for v in a] for a in frame["answer_starts"]]
        ids_out, types_out, labels, starts_out, ends_out = [], [], [], [], []
        rows_out, context_out, gold_out, qid_out = [], [], [], []
        qids = frame["id"].tolist() if "id" in frame.columns else [str(r) for r in rows]
        for w, sample in enumerate(sample_of):
            sequence_ids = enc.sequence_ids(w)
            offsets = enc["offset_mapping"][w]
            char_start = [
                o[0] if s == 1 else -1 for o, s in zip(offsets, sequence_ids, strict=True)
            ]
            char_end = [o[1] if s == 1 else -1 for o, s in zip(offsets, sequence_ids, strict=True)]
            label = [0, 0]
            if answers[sample]:
                # The first gold answer is the training target (SQuAD train has one).
                a_start = answer_starts[sample][0]
                a_end = a_start + len(answers[sample][0])
                in_context = [t for t, s in enumerate(sequence_ids) if s == 1]
                if (
                    in_context
                    and char_start[in_context[0]] <= a_start
                    and char_end[in_context[-1]] >= a_end
                ):
                    start_tok = next(t for t in in_context if char_end[t] > a_start)
                    end_tok = next(t for t in reversed(in_context) if char_start[t] < a_end)
                    label = [start_tok, end_tok]
            ids_out.append(enc["input_ids"][w])
            if "token_type_ids" in enc:
                types_out.append(enc["token_type_ids"][w])
            labels.append(label)
            starts_out.append(char_start)
            ends_out.append(char_end)
            rows_out.append(rows[sample])
            context_out.append(contexts[sample])
            gold_out.append(list(answers[sample]))
            qid_out.append(qids[sample])
        columns: dict[str, Any] = {"input_ids": ids_out}
        if types_out:
            columns["token_type_ids"] = types_out
        columns.update(
            labels=labels,
            length=[len(x) for x in ids_out],
            row=rows_out,
            # Windows cover the whole context: nothing is cut off.
            truncated=[False] * len(ids_out),
            char_start=starts_out,
            char_end=ends_out,
            context=context_out,
            gold=gold_out,
            qid=qid_out,
        )
        return columns, {"examples": len(ids_out), "truncated": 0, "records": len(frame)}

    def arrow_schema(self, columns, vocab):
        import pyarrow as pa

        fields = [pa.field("input_ids", pa.list_(pa.int32()))]
        if "token_type_ids" in columns:
            fields.append(pa.field("token_type_ids", pa.list_(pa.int8())))
        fields += [
            pa.field("labels", pa.list_(pa.int64(), 2)),
            pa.field("length", pa.int64()),
            pa.field("row", pa.int64()),
            pa.field("truncated", pa.bool_()),
            pa.field("dropped_words", pa.int64()),
            pa.field("char_start", pa.list_(pa.int32())),
            pa.field("char_end", pa.list_(pa.int32())),
            pa.field("context", pa.string()),
            pa.field("gold", pa.list_(pa.string())),
            pa.field("qid", pa.string()),
        ]
        return pa.schema(fields)

    # --- training ------------------------------------------------------------------
    def build_head(self, hidden_size: int, num_outputs: int):
        from mtl_pipeline.task_types.heads import SpanHead

        return SpanHead(hidden_size, self.opts.dropout)

    def loss(self, logits, labels):
        import torch.nn.functional as F

        logits = logits.float()
        start = F.cross_entropy(logits[..., 0], labels[:, 0])
        end = F.cross_entropy(logits[..., 1], labels[:, 1])
        return (start + end) / 2

    def predict(self, logits):
        """Per window: the best (start, end) token pair with start <= end (no offsets here;
        answers are decoded per question by :meth:`decode`)."""
        import torch

        start, end = logits[..., 0].float(), logits[..., 1].float()
        scores = start[:, :, None] + end[:, None, :]
        length = scores.shape[-1]
        valid = torch.ones(length, length, dtype=torch.bool, device=logits.device).triu()
        valid &= ~torch.ones_like(valid).triu(self.opts.max_answer_length)
        flat = scores.masked_fill(~valid, -math.inf).reshape(scores.shape[0], -1).argmax(-1)
        return torch.stack([flat // length, flat % length], dim=-1)

    # --- decoding -----------------------------------------------------------------
    def best_span(
        self, logits: np.ndarray, char_start: list[int], char_end: list[int]
    ) -> tuple[float, int, int, float]:
        """``(score, char_start, char_end, null_score)`` of one window's best context span."""
        start_logits, end_logits = logits[:, 0], logits[:, 1]
        null = float(start_logits[0] + end_logits[0])
        n = self.opts.n_best
        context = np.asarray([s >= 0 for s in char_start[: len(start_logits)]])
        masked_start = np.where(context, start_logits, -np.inf)
        masked_end = np.where(context, end_logits, -np.inf)
        starts = np.argsort(-masked_start, kind="stable")[:n]
        ends = np.argsort(-masked_end, kind="stable")[:n]
        best = (-math.inf, -1, -1)
        for s in starts:
            if not context[s]:
                continue
            for e in ends:
                if not context[e] or e < s or e - s + 1 > self.opts.max_answer_length:
                    continue
                score = float(start_logits[s] + end_logits[e])
                if score > best[0]:
                    best = (score, char_start[s], char_end[e])
        return best[0], best[1], best[2], null

    def decode(self, split, outputs, details=False):
        count = len(outputs)
        rows = split.rows[:count]
        contexts = split.extra("context")
        char_starts, char_ends = split.extra("char_start"), split.extra("char_end")
        golds, qids = split.extra("gold"), split.extra("qid")
        order: list[int] = []
        best: dict[int, dict[str, Any]] = {}
        for w in range(count):
            row = int(rows[w])
            score, start, end, null = self.best_span(outputs[w], char_starts[w], char_ends[w])
            entry = best.get(row)
            if entry is None:
                order.append(row)
                entry = best[row] = {
                    "score": -math.inf,
                    "start": -1,
                    "end": -1,
                    "null": math.inf,
                    "context": contexts[w],
                    "gold": golds[w],
                    "id": qids[w],
                }
            entry["null"] = min(entry["null"], null)
            if score > entry["score"]:
                entry.update(score=score, start=start, end=end)
        if 0 < count < len(split.rows) and int(split.rows[count]) == int(rows[count - 1]):
            # A periodic evaluation's limit (training.eval_max_examples) counts windows and
            # fell inside a question's windows: score only the questions seen whole.
            order.pop()
        predictions = np.empty(len(order), dtype=object)
        references = np.empty(len(order), dtype=object)
        results = []
        for i, row in enumerate(order):
            entry = best[row]
            no_answer = entry["start"] < 0 or (
                self.opts.allow_no_answer
                and entry["null"] - entry["score"] > self.opts.null_score_threshold
            )
            text = "" if no_answer else entry["context"][entry["start"] : entry["end"]]
            predictions[i] = text
            references[i] = list(entry["gold"])
            results.append(
                {
                    "id": entry["id"],
                    "text": text,
                    "start": None if no_answer else entry["start"],
                    "end": None if no_answer else entry["end"],
                    "score": float(entry["null"] if no_answer else entry["score"]),
                }
            )
        if details:
            return results, references
        return predictions, references

    def natural_prediction(self, detail, vocab):
        return {k: detail[k] for k in ("text", "start", "end", "score")}

    def prediction_frame(self, inputs, vocab):
        """``inputs``: ``(question, context)`` pairs."""
        import pandas as pd

        for i, item in enumerate(inputs):
            if not isinstance(item, list | tuple) or len(item) != 2:
                raise DataError(
                    f"input {i + 1}: expected a (question, context) pair, found {preview(item)}."
                )
        return pd.DataFrame(
            {
                "row": range(len(inputs)),
                "id": [str(i) for i in range(len(inputs))],
                "question": [str(x[0]) for x in inputs],
                "context": [str(x[1]) for x in inputs],
                "answers": [[] for _ in inputs],
                "answer_starts": [[] for _ in inputs],
            }
        )
