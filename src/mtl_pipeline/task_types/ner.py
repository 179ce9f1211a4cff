"""Named entities: tags per word, decoded into well-formed spans, scored per entity.

Training is tagging's (cross-entropy on each word's first sub-word, words that vanish
under the tokenizer replaced by its unknown token); what differs is everything around it:

* tags are read in the file's scheme (``input_scheme``), checked against it, and converted
  through their spans (conlleval's chunking) to the scheme the model learns (``scheme``:
  IOB2, BIOES or IO), so that one corpus can train any of them;
* decoding is Viterbi over the transitions the scheme allows
  (``spans.constrained_decoding``): an ``I-X`` never follows ``O`` or another type, so
  every predicted entity is well formed;
* metrics see whole sentences (``TagSequence``) and score entities, not tokens: exact
  start, end and type, micro-averaged over the corpus (conlleval);
* ``predict`` returns entities with their type, text and character offsets.

Character offsets index the text the words came from: the given string when a prediction
input is a string (split on whitespace), else the words joined by single spaces.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from typing import Any, ClassVar, Literal

import numpy as np
from pydantic import BaseModel, ConfigDict, Field

from mtl_pipeline.errors import DataError
from mtl_pipeline.readers.base import ROW_COLUMN, preview
from mtl_pipeline.spans.schemes import OUTSIDE, check_tag, convert, entity_types, label_set, spans
from mtl_pipeline.task_types.base import IGNORE_INDEX
from mtl_pipeline.task_types.tagging import TaggingTask, word_level_fields


class NerOptions(BaseModel):
    model_config = ConfigDict(extra="forbid")

    scheme: Literal["iob2", "bioes", "io"] = "iob2"
    """Tags the model learns and predicts; input tags are converted to it. IO cannot
    separate two adjacent entities of one type (they merge, as in any IO file)."""
    input_scheme: Literal["iob1", "iob2", "bioes", "io"] = "iob2"
    """Scheme of the data files; every tag is checked against it. An ``I-X`` without a
    ``B-X`` before it is read as conlleval reads it (it starts an entity)."""
    dropout: float = Field(default=0.1, ge=0.0, lt=1.0)
    tag_set: list[str] | None = None
    """The tag names in id order. Filled from the training data when training starts and
    saved with the model (decoding needs them); leave unset in configs."""


class NerTask(TaggingTask):
    name = "ner"
    description = (
        "Named entities: first-sub-word tags in IOB2/BIOES/IO, constrained Viterbi decoding, "
        "entity-level (conlleval) precision/recall/F1."
    )
    level = "token"
    predictions = "entities"  # type: ignore[assignment]
    Options = NerOptions
    decodes_outputs: ClassVar[bool] = True

    @property
    def opts(self) -> NerOptions:
        return self.options  # type: ignore[return-value]

    # --- ingestion ----------------------------------------------------------------
    def standardize(self, raw, path, cfg):
        """Check every tag against ``input_scheme`` with the sentence and the exact line
        named (the reader's ``sent_id`` column, when it has one); the default token table
        is built afterwards."""
        if cfg.label_field not in raw.columns or "sent_id" not in raw.columns:
            return None
        scheme = self.opts.input_scheme
        for sent_id, first_line, tags in zip(
            raw["sent_id"], raw[ROW_COLUMN], raw[cfg.label_field], strict=True
        ):
            if not isinstance(tags, list | tuple):
                continue  # the default check reports a non-list cell
            for position, tag in enumerate(tags):
                problem = check_tag(str(tag), scheme)
                if problem is not None:
                    raise DataError(
                        f"{path}: sentence {sent_id}: line {int(first_line) + position}: field "
                        f"{cfg.label_field}: tag {tag!r} of word {position + 1}: {problem} "
                        f"(head.input_scheme: {scheme})."
                    )
        return None

    def clean_label(self, value: Any, where: str) -> list[str]:
        tags = super().clean_label(value, where)
        for position, tag in enumerate(tags, start=1):
            problem = check_tag(tag, self.opts.input_scheme)
            if problem is not None:
                raise DataError(
                    f"{where}: tag {position} {tag!r}: {problem} (head.input_scheme: "
                    f"{self.opts.input_scheme}) in {preview(value)}."
                )
        return convert(tags, self.opts.scheme)

    def build_vocab(self, train_labels: Sequence[Any], configured: list[str] | None) -> list[str]:
        """Every tag of the scheme over the entity types (``labels`` in the config lists
        the types, or full tags), so that the decoder can use any allowed transition."""
        if configured:
            types = entity_types([[str(t) if "-" in str(t) else f"B-{t}" for t in configured]])
        else:
            types = entity_types(train_labels)
        return label_set(types, self.opts.scheme)

    def check_labels(self, frame: Any, vocab: list[str], path: str, field: str) -> bool:
        """Every (converted) tag must be in the tag set. The generic per-class checks do
        not apply: the tag set is every tag of the scheme over the types, and a tag such
        as ``E-LOC`` may rightly never occur in a small training set."""
        known = set(vocab)
        types = sorted({tag.split("-", 1)[-1] for tag in vocab if tag != OUTSIDE})
        for row, tags in zip(frame["row"], frame["tags"], strict=True):
            for position, tag in enumerate(tags, start=1):
                if tag not in known:
                    raise DataError(
                        f"{path}: line {row} (the sentence's first line): field {field}: tag "
                        f"{tag!r} of word {position} has "
                        f"an entity type outside the task's types {types}; expected one of "
                        "those (types come from `labels`, or else from the training file)."
                    )
        return True

    def label_summary(self, labels: Sequence[Any]) -> dict[str, Any]:
        entities = Counter(kind for tags in labels for kind, _, _ in spans(tags))
        return {
            "entities": dict(sorted(entities.items())),
            "sentences": len(labels),
            "counts": dict(sorted(Counter(t for tags in labels for t in tags).items())),
        }

    def resolve_head(self, head: dict[str, Any], label_info: dict[str, Any]) -> dict[str, Any]:
        return {**head, "tag_set": list(label_info["labels"])}

    # --- tokenization ---------------------------------------------------------------
    def tokenize(self, frame, tokenizer, *, vocab, max_length):
        from mtl_pipeline.tokenization import tokenize_frame

        columns, stats = tokenize_frame(
            frame[["row", "tokens", "tags"]],
            tokenizer,
            level="token",
            vocab=vocab,
            max_length=max_length,
            per_example_stats=True,
        )
        columns["word_starts"] = [
            [i for i, label in enumerate(labels) if label != IGNORE_INDEX]
            for labels in columns["labels"]
        ]
        columns["gold"] = [[str(t) for t in tags] for tags in frame["tags"]]
        columns["words"] = [[str(w) for w in words] for words in frame["tokens"]]
        columns["text"] = frame["text"].tolist() if "text" in frame.columns else [None] * len(frame)
        columns["word_offsets"] = (
            [[int(v) for v in o] for o in frame["word_offsets"]]
            if "word_offsets" in frame.columns
            else [None] * len(frame)
        )
        return columns, stats

    def arrow_schema(self, columns, vocab):
        import pyarrow as pa

        fields = word_level_fields(columns) + [
            pa.field("gold", pa.list_(pa.string())),
            pa.field("words", pa.list_(pa.string())),
            pa.field("text", pa.string()),
            pa.field("word_offsets", pa.list_(pa.int32())),
        ]
        return pa.schema(fields)

    # --- decoding -----------------------------------------------------------------
    def tags_of(self, logits: np.ndarray, word_starts: Sequence[int], words: int) -> list[str]:
        """Well-formed tags for one sentence from its sub-word logits; words cut off by
        truncation are ``O``."""
        from mtl_pipeline.spans.constrained_decoding import decode as viterbi_decode

        labels = self.opts.tag_set
        if not labels:
            raise DataError(
                "ner: the model has no tag_set (saved when training starts); expected a model "
                "trained by mtl_pipeline."
            )
        rows = logits[list(word_starts)].astype(np.float64)
        if rows.size:
            rows = rows - rows.max(axis=1, keepdims=True)
            rows = rows - np.log(np.exp(rows).sum(axis=1, keepdims=True))
        tags = viterbi_decode(rows.reshape(len(word_starts), len(labels)), labels, self.opts.scheme)
        return tags + [OUTSIDE] * (words - len(tags))

    def decode(self, split, outputs, details=False):
        from mtl_pipeline.spans.span_f1 import TagSequence

        count = len(outputs)
        starts, golds = split.extra("word_starts"), split.extra("gold")
        predictions = np.empty(count, dtype=object)
        references = np.empty(count, dtype=object)
        results = []
        for i in range(count):
            tags = self.tags_of(outputs[i], starts[i], len(golds[i]))
            predictions[i] = TagSequence(tags)
            references[i] = TagSequence(golds[i])
            if details:
                words = split.extra("words")[i]
                text = split.extra("text")[i]
                offsets = split.extra("word_offsets")[i]
                results.append({"tags": tags, "entities": entities(words, tags, text, offsets)})
        if details:
            return results, references
        return predictions, references

    def natural_prediction(self, detail, vocab):
        """``{"entities": [{type, start, end, text, words}], "tags": [...]}`` (``end``
        exclusive; ``words``: first and last word index)."""
        return {"entities": detail["entities"], "tags": detail["tags"]}

    def prediction_frame(self, inputs, vocab):
        """``inputs``: lists of words, or strings (split on whitespace; offsets then index
        the string itself)."""
        import re

        import pandas as pd

        rows: list[dict[str, Any]] = []
        for i, item in enumerate(inputs):
            if isinstance(item, str):
                found = list(re.finditer(r"\S+", item))
                if not found:
                    raise DataError(f"input {i + 1}: empty text; expected words.")
                words = [m.group() for m in found]
                rows.append(
                    {"text": item, "word_offsets": [m.start() for m in found], "tokens": words}
                )
            elif isinstance(item, list | tuple) and item and all(isinstance(w, str) for w in item):
                rows.append({"text": None, "word_offsets": None, "tokens": list(item)})
            else:
                raise DataError(
                    f"input {i + 1}: expected a list of words or a string, found {preview(item)}."
                )
        frame = pd.DataFrame(rows)
        frame.insert(0, "row", range(len(inputs)))
        frame["tags"] = [[OUTSIDE] * len(r["tokens"]) for r in rows]
        if frame["word_offsets"].isna().all():
            frame = frame.drop(columns=["text", "word_offsets"])
        else:
            text = [r["text"] if r["text"] is not None else " ".join(r["tokens"]) for r in rows]
            frame["text"] = text
            frame["word_offsets"] = [
                r["word_offsets"] if r["word_offsets"] is not None else _joined_offsets(r["tokens"])
                for r in rows
            ]
        return frame


def _joined_offsets(words: Sequence[str]) -> list[int]:
    """Start of each word in ``" ".join(words)``."""
    offsets, position = [], 0
    for word in words:
        offsets.append(position)
        position += len(word) + 1
    return offsets


def entities(
    words: Sequence[str],
    tags: Sequence[str],
    text: str | None = None,
    offsets: Sequence[int] | None = None,
) -> list[dict[str, Any]]:
    """Entity dicts ``{type, start, end, text, words: [first, last]}`` (``end`` exclusive,
    character offsets into ``text``, or into the words joined by single spaces)."""
    if text is None or offsets is None:
        text, offsets = " ".join(words), _joined_offsets(words)
    found = []
    for kind, first, last in spans(tags):
        start = int(offsets[first])
        end = int(offsets[last]) + len(words[last])
        found.append(
            {
                "type": kind,
                "start": start,
                "end": end,
                "text": text[start:end],
                "words": [first, last],
            }
        )
    return found
