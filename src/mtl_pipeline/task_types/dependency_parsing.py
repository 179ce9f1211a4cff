"""Dependency parsing: a biaffine arc scorer and relation classifier (Dozat & Manning 2017)
over first-sub-word representations, decoded into a single-rooted tree.

Data: CoNLL-U through the ``conllu`` reader (``tokens``, ``heads``, ``deprel``, ``upos``);
multi-word token lines and empty nodes are skipped there, as UD's evaluation does. Each
word is represented by its first sub-word; ``[CLS]`` (position 0) stands for the ROOT.

Training labels: one integer per word at its first sub-word, ``head_position x (R + 1) +
relation`` (``R`` relations; ``relation == R`` for a relation the training data never
had, whose relation loss is skipped). The loss is the cross-entropy of the gold head
among the sentence's word positions and ROOT, plus the cross-entropy of the gold relation
scored at the gold head. A word whose head was cut off by ``model.max_length`` has no
label (it cannot be scored).

Decoding (evaluation and ``predict``): per sentence, log-softmax over candidate heads,
then Chu-Liu/Edmonds with exactly one root child (``parsing.tree_decoding``; non-
projective, since UD EWT has non-projective trees); each word's relation is the best one
at its decoded head. Words cut off by truncation attach to the root word with ``dep``.

Metrics ``uas`` and ``las`` (``parsing.attachment_scores``): punctuation counts, as in UD's
evaluation, unless ``exclude_punct`` (words whose gold UPOS is ``PUNCT``); relations compare
by their universal part.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from typing import Any, ClassVar, NamedTuple

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, PositiveInt

from mtl_pipeline.errors import ConfigError, DataError
from mtl_pipeline.readers.base import ROW_COLUMN, check_columns, no_rows_error, preview
from mtl_pipeline.task_types.base import IGNORE_INDEX, TaskType
from mtl_pipeline.task_types.tagging import word_level_fields

#: Relation of words decoded without scores (cut off by truncation).
FALLBACK_RELATION = "dep"


class ParsingOptions(BaseModel):
    model_config = ConfigDict(extra="forbid")

    arc_size: PositiveInt = 256
    """Width of the arc MLPs (Dozat & Manning: 500 over a 3-layer BiLSTM)."""
    rel_size: PositiveInt = 64
    """Width of the relation MLPs (Dozat & Manning: 100)."""
    dropout: float = Field(default=0.33, ge=0.0, lt=1.0)
    """Dropout on the encoder states and in the MLPs (Dozat & Manning: 0.33)."""
    exclude_punct: bool = False
    """Score UAS/LAS without words whose gold UPOS is PUNCT (the CoNLL-X convention);
    default: punctuation counts, as in UD's official evaluation."""
    upos_field: str = "upos"
    """Column with gold UPOS (needed by ``exclude_punct``); missing: punctuation unknown."""
    head_field: str = "heads"
    """Column with the gold heads (the ``conllu`` reader's ``heads``)."""
    relations: list[str] | None = None
    """Relation names in id order. Filled from the training data when training starts and
    saved with the model; leave unset in configs (list them in the task's ``labels``)."""


class TreePrediction(NamedTuple):
    heads: list[int]
    relations: list[str]


class TreeReference(NamedTuple):
    heads: list[int]
    relations: list[str]
    upos: list[str]
    exclude_punct: bool


def attachment_of(predictions: Sequence[Any], references: Sequence[Any]) -> Any:
    """``AttachmentScores`` of predicted trees against :class:`TreeReference` ones."""
    from mtl_pipeline.parsing.attachment_scores import attachment_scores

    if len(references) and not isinstance(references[0], TreeReference):
        raise ValueError(
            "metrics uas/las: expected parsed trees (a dependency_parsing task), found "
            f"{type(references[0]).__name__}."
        )
    exclude = bool(references[0].exclude_punct) if len(references) else False
    return attachment_scores(
        [p.heads for p in predictions],
        [p.relations for p in predictions],
        [r.heads for r in references],
        [r.relations for r in references],
        [r.upos for r in references],
        exclude_punct=exclude,
    )


class DependencyParsingTask(TaskType):
    name = "dependency_parsing"
    description = (
        "Dependency parsing: biaffine arcs and relations over first sub-words, Chu-Liu/Edmonds "
        "single-root decoding, UAS/LAS."
    )
    level = "token"
    predictions = "trees"  # type: ignore[assignment]
    Options = ParsingOptions
    label_column: ClassVar[str | None] = "deprel"
    decodes_outputs: ClassVar[bool] = True

    @property
    def opts(self) -> ParsingOptions:
        return self.options  # type: ignore[return-value]

    # --- ingestion ----------------------------------------------------------------
    def clean_label(self, value: Any, where: str) -> list[str]:
        if hasattr(value, "tolist"):
            value = value.tolist()
        if not isinstance(value, list | tuple) or not value:
            raise DataError(f"{where}: expected a list of relations, found {preview(value)}.")
        return [str(v) for v in value]

    def standardize(self, raw, path, cfg):
        import pandas as pd

        token_field = cfg.text_fields[0] if cfg.text_fields else "tokens"
        check_columns(
            raw,
            path,
            [token_field, self.opts.head_field, cfg.label_field],
            f"text_fields[0] {token_field!r}, head.head_field {self.opts.head_field!r} and "
            f"label_field {cfg.label_field!r} (the conllu reader gives tokens, heads, deprel)",
            hidden=[c for c in raw.columns if str(c).startswith("_")],
        )
        if raw.empty:
            raise no_rows_error(path)
        names = raw["sent_id"].tolist() if "sent_id" in raw.columns else [None] * len(raw)
        has_upos = self.opts.upos_field in raw.columns
        if self.opts.exclude_punct and not has_upos:
            raise ConfigError(
                f"head.exclude_punct: {path} has no {self.opts.upos_field!r} column to find "
                "punctuation in; expected CoNLL-U with UPOS (or set head.upos_field)."
            )
        rows, tokens, heads, relations, upos, sent_ids = [], [], [], [], [], []
        for i, row in enumerate(raw[ROW_COLUMN].tolist()):
            name = names[i] if names[i] is not None else f"#{i + 1} (no sent_id)"
            where = f"{path}: sentence {name}: line {row}"
            words = [str(w) for w in _as_list(raw[token_field].iloc[i])]
            sentence_heads = self._gold_heads(raw[self.opts.head_field].iloc[i], len(words), where)
            rels = self.clean_label(
                raw[cfg.label_field].iloc[i], f"{where}: field {cfg.label_field}"
            )
            if not len(words) == len(sentence_heads) == len(rels):
                raise DataError(
                    f"{where}: {len(words)} words, {len(sentence_heads)} heads and {len(rels)} "
                    "relations; expected one head and one relation per word."
                )
            rows.append(int(row))
            tokens.append(words)
            heads.append(sentence_heads)
            relations.append(rels)
            upos.append(
                [str(t) for t in _as_list(raw[self.opts.upos_field].iloc[i])]
                if has_upos
                else ["_"] * len(words)
            )
            sent_ids.append(str(name))
        return pd.DataFrame(
            {
                "row": rows,
                "sent_id": sent_ids,
                "tokens": tokens,
                "heads": heads,
                "deprel": relations,
                "upos": upos,
            }
        )

    @staticmethod
    def _gold_heads(value: Any, words: int, where: str) -> list[int]:
        """One sentence's gold heads, each another word (1..``words``) or 0 for the root."""
        if value is None or (isinstance(value, float) and np.isnan(value)):
            raise DataError(
                f"{where}: field HEAD: `_` for every word; expected gold heads to train "
                "and score a parser."
            )
        heads = [int(h) for h in _as_list(value)]
        for word, head in enumerate(heads, start=1):
            if not 0 <= head <= words or head == word:
                raise DataError(
                    f"{where}: word {word}: head {head}; expected another word of the "
                    f"sentence (1..{words}) or 0 for the root."
                )
        return heads

    def build_vocab(self, train_labels: Sequence[Any], configured: list[str] | None) -> list[str]:
        if configured:
            return [str(label) for label in configured]
        return sorted({rel for rels in train_labels for rel in rels})

    def check_labels(self, frame: Any, vocab: list[str], path: str, field: str) -> bool:
        """Relations the training data lacks are allowed in validation data: the parser
        cannot predict them, so they count as wrong labels (as in UD's evaluation)."""
        return True

    def label_summary(self, labels: Sequence[Any]) -> dict[str, Any]:
        return {
            "counts": dict(sorted(Counter(r for rels in labels for r in rels).items())),
            "sentences": len(labels),
        }

    def resolve_head(self, head: dict[str, Any], label_info: dict[str, Any]) -> dict[str, Any]:
        return {**head, "relations": list(label_info["labels"])}

    # --- tokenization ---------------------------------------------------------------
    def tokenize(self, frame, tokenizer, *, vocab, max_length):
        from mtl_pipeline.tokenization import tokenize_frame

        words_frame = frame[["row", "tokens"]].assign(
            tags=[["w"] * len(words) for words in frame["tokens"]]
        )
        columns, stats = tokenize_frame(
            words_frame,
            tokenizer,
            level="token",
            vocab=["w"],
            max_length=max_length,
            per_example_stats=True,
        )
        index = {rel: i for i, rel in enumerate(vocab)}
        unknown = len(vocab)
        labels, starts = [], []
        for marks, heads, rels in zip(
            columns["labels"], frame["heads"], frame["deprel"], strict=True
        ):
            word_starts = [i for i, mark in enumerate(marks) if mark != IGNORE_INDEX]
            row_labels = [IGNORE_INDEX] * len(marks)
            for word, position in enumerate(word_starts):
                head = int(heads[word])
                if head > len(word_starts):
                    continue  # the head was cut off by truncation
                head_position = 0 if head == 0 else word_starts[head - 1]
                relation = index.get(str(rels[word]), unknown)
                row_labels[position] = head_position * (unknown + 1) + relation
            labels.append(row_labels)
            starts.append(word_starts)
        columns["labels"] = labels
        columns["word_starts"] = starts
        columns["gold_heads"] = [[int(h) for h in heads] for heads in frame["heads"]]
        columns["gold_relations"] = [[str(r) for r in rels] for rels in frame["deprel"]]
        columns["upos"] = [[str(t) for t in tags] for tags in frame["upos"]]
        columns["words"] = [[str(w) for w in words] for words in frame["tokens"]]
        columns["sent_id"] = (
            [str(s) for s in frame["sent_id"]]
            if "sent_id" in frame.columns
            else [str(r) for r in frame["row"]]
        )
        return columns, stats

    def arrow_schema(self, columns, vocab):
        import pyarrow as pa

        fields = word_level_fields(columns) + [
            pa.field("gold_heads", pa.list_(pa.int32())),
            pa.field("gold_relations", pa.list_(pa.string())),
            pa.field("upos", pa.list_(pa.string())),
            pa.field("words", pa.list_(pa.string())),
            pa.field("sent_id", pa.string()),
        ]
        return pa.schema(fields)

    # --- training ------------------------------------------------------------------
    def build_head(self, hidden_size: int, num_outputs: int):
        from mtl_pipeline.task_types.biaffine import BiaffineParserHead

        return BiaffineParserHead(
            hidden_size, num_outputs, self.opts.arc_size, self.opts.rel_size, self.opts.dropout
        )

    @staticmethod
    def split_logits(logits: Any) -> tuple[Any, Any, int]:
        """``(arcs (B, L, L), relations (B, L, L, R), R)`` from the head's output."""
        batch, length, width = logits.shape
        relations = width // length - 1
        arcs = logits[..., :length]
        rels = logits[..., length:].reshape(batch, length, length, relations)
        return arcs, rels, relations

    def loss(self, logits, labels):
        import torch
        import torch.nn.functional as F

        arcs, rels, relations = self.split_logits(logits.float())
        words = labels != IGNORE_INDEX
        candidates = words.clone()
        candidates[:, 0] = True  # [CLS] is the ROOT
        arcs = arcs.masked_fill(~candidates[:, None, :], -1e4)
        safe = labels.clamp(min=0)
        gold_head = safe // (relations + 1)
        gold_rel = safe % (relations + 1)
        if not bool(words.any()):
            return logits.sum() * 0.0
        arc_loss = F.cross_entropy(arcs[words], gold_head[words])
        batch_index, word_index = words.nonzero(as_tuple=True)
        at_gold = rels[batch_index, word_index, gold_head[words]]
        targets = torch.where(
            gold_rel[words] == relations,
            torch.full_like(gold_rel[words], IGNORE_INDEX),
            gold_rel[words],
        )
        if bool((targets != IGNORE_INDEX).any()):
            rel_loss = F.cross_entropy(at_gold, targets, ignore_index=IGNORE_INDEX)
        else:
            rel_loss = at_gold.sum() * 0.0
        return arc_loss + rel_loss

    def predict(self, logits):
        """Best head position per position (no tree constraint; decoding makes trees)."""
        arcs, _, _ = self.split_logits(logits)
        return arcs.argmax(dim=-1)

    # --- decoding -----------------------------------------------------------------
    def parse(
        self, output: np.ndarray, word_starts: Sequence[int], words: int
    ) -> tuple[list[int], list[str]]:
        """``(heads, relations)`` of one sentence from its raw head output."""
        from mtl_pipeline.parsing.tree_decoding import decode_tree

        names = self.opts.relations
        if not names:
            raise DataError(
                "dependency_parsing: the model has no relation names (saved when training "
                "starts); expected a model trained by mtl_pipeline."
            )
        count = len(names)
        length = output.shape[1] // (count + 1)
        arcs = output[:, :length].astype(np.float64)
        rels = output[:, length:].reshape(output.shape[0], length, count)
        starts = list(word_starts)
        n = len(starts)
        if n == 0:
            return [0] + [1] * (words - 1), [FALLBACK_RELATION] * words
        positions = [0, *starts]
        word_arcs = arcs[np.ix_(starts, positions)]  # (dependent, head incl. ROOT)
        word_arcs = word_arcs - word_arcs.max(axis=1, keepdims=True)
        word_arcs = word_arcs - np.log(np.exp(word_arcs).sum(axis=1, keepdims=True))
        scores = np.full((n + 1, n + 1), -np.inf)
        scores[:, 1:] = word_arcs.T
        heads = decode_tree(scores) if n > 1 else [0]
        relations = [
            names[int(rels[starts[d], positions[h]].argmax())] for d, h in enumerate(heads)
        ]
        root = heads.index(0) + 1
        heads = heads + [root] * (words - n)
        relations = relations + [FALLBACK_RELATION] * (words - n)
        return heads, relations

    def decode(self, split, outputs, details=False):
        count = len(outputs)
        starts = split.extra("word_starts")
        gold_heads, gold_rels = split.extra("gold_heads"), split.extra("gold_relations")
        upos = split.extra("upos")
        predictions = np.empty(count, dtype=object)
        references = np.empty(count, dtype=object)
        results = []
        for i in range(count):
            heads, relations = self.parse(outputs[i], starts[i], len(gold_heads[i]))
            predictions[i] = TreePrediction(heads, relations)
            references[i] = TreeReference(
                gold_heads[i], gold_rels[i], upos[i], self.opts.exclude_punct
            )
            if details:
                results.append(
                    {
                        "words": split.extra("words")[i],
                        "heads": heads,
                        "relations": relations,
                        "sent_id": split.extra("sent_id")[i],
                    }
                )
        if details:
            return results, references
        return predictions, references

    def natural_prediction(self, detail, vocab):
        """``{"heads": [...], "relations": [...], "words": [...]}``: per word its head
        (1-based word index, 0 = root) and relation."""
        return {k: detail[k] for k in ("heads", "relations", "words")}

    def prediction_frame(self, inputs, vocab):
        """``inputs``: lists of words, or strings split on whitespace."""
        import pandas as pd

        sentences = []
        for i, item in enumerate(inputs):
            if isinstance(item, str):
                item = item.split()
            if not isinstance(item, list | tuple) or not item:
                raise DataError(
                    f"input {i + 1}: expected a non-empty list of words or a string, found "
                    f"{preview(item)}."
                )
            sentences.append([str(w) for w in item])
        return pd.DataFrame(
            {
                "row": range(len(inputs)),
                "sent_id": [str(i + 1) for i in range(len(inputs))],
                "tokens": sentences,
                "heads": [[0] * len(s) for s in sentences],
                "deprel": [["_"] * len(s) for s in sentences],
                "upos": [["_"] * len(s) for s in sentences],
            }
        )


def _as_list(value: Any) -> list[Any]:
    return value.tolist() if hasattr(value, "tolist") else list(value)


def predictions_to_conllu(predictions: Sequence[dict[str, Any]]) -> str:
    """CoNLL-U text of ``MultiTaskModel.predict`` outputs of a dependency_parsing task."""
    from mtl_pipeline.parsing.conllu_output import format_conllu

    return format_conllu(
        [p["words"] for p in predictions],
        [p["heads"] for p in predictions],
        [p["relations"] for p in predictions],
        sentence_ids=[str(i + 1) for i in range(len(predictions))],
    )
