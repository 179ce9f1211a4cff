"""Batched tokenization with the encoder's fast tokenizer; nothing is padded on disk.

Output columns: ``input_ids``, ``token_type_ids`` (when the tokenizer makes them),
``labels`` (int class id, float value, or per-token ids with ``IGNORE_INDEX`` on special
tokens and on every sub-word but a word's first), ``length`` and ``row``.

Over-long inputs are truncated to ``max_length``, never refused: the stats count the
truncated examples (and, for tagging, the words cut off) so a too-small ``max_length``
shows up in ``tokenization_stats.json`` instead of failing a run.

For tagging, a word the tokenizer turns into *no* sub-words (a zero-width space, a lone
control or combining character) would lose its tag without a trace and shift nothing
visibly; such words are replaced by the tokenizer's unknown token, so every word that
survives truncation carries exactly one label, and counted in ``words_without_subwords``.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from mtl_pipeline.errors import DataError
from mtl_pipeline.task_types.base import IGNORE_INDEX


def _encode_labels_sequence(labels: list[Any], vocab: list[str]) -> list[Any]:
    if not vocab:  # regression
        return [float(v) for v in labels]
    index = {label: i for i, label in enumerate(vocab)}
    return [index[str(v)] for v in labels]


def _make_words_visible(words: list[list[str]], tokenizer: Any) -> tuple[list[list[str]], int]:
    """Replace words that produce no sub-words by the unknown token; returns (words, count)."""
    unique = sorted({word for sentence in words for word in sentence})
    if not unique:
        return words, 0
    pieces = tokenizer(unique, add_special_tokens=False)["input_ids"]
    invisible = {word for word, ids in zip(unique, pieces, strict=True) if not ids}
    if not invisible:
        return words, 0
    unk = getattr(tokenizer, "unk_token", None)
    if not unk:
        example = sorted(invisible)[0]
        raise DataError(
            f"tokenizer: word {example!r} produces no sub-word tokens and the tokenizer has no "
            "unknown token to stand in for it; expected every word to be visible to it."
        )
    count = sum(1 for sentence in words for word in sentence if word in invisible)
    return [[unk if w in invisible else w for w in sentence] for sentence in words], count


def tokenize_frame(
    frame: pd.DataFrame,
    tokenizer: Any,
    *,
    level: str,
    vocab: list[str],
    max_length: int,
) -> tuple[dict[str, list[Any]], dict[str, int]]:
    """Tokenize one standard table; returns (columns, stats)."""
    if frame.empty:  # the fast tokenizer fails on an empty batch; ingestion never makes one
        columns = {"input_ids": [], "labels": [], "length": [], "row": []}
        stats = {"examples": 0, "truncated": 0, "words_dropped_by_truncation": 0}
        return columns, {**stats, "max_length": 0, "mean_length": 0.0, "tokens": 0}
    extra_stats: dict[str, int] = {}
    if level == "token":
        words, invisible = _make_words_visible([list(t) for t in frame["tokens"]], tokenizer)
        enc = tokenizer(words, is_split_into_words=True, truncation=True, max_length=max_length)
        index = {label: i for i, label in enumerate(vocab)}
        labels, dropped_words = [], 0
        for i, (row, tags) in enumerate(zip(frame["row"], frame["tags"], strict=True)):
            word_ids = enc.word_ids(i)
            row_labels, previous = [], None
            for word_id in word_ids:
                if word_id is None or word_id == previous:
                    row_labels.append(IGNORE_INDEX)
                else:
                    tag = tags[word_id]
                    if tag not in index:
                        raise DataError(
                            f"row {row}: tag {tag!r} of word {word_id + 1} is not in the label "
                            f"set {vocab}; expected one of those."
                        )
                    row_labels.append(index[tag])
                previous = word_id
            seen = {w for w in word_ids if w is not None}
            dropped_words += len(tags) - len(seen)
            labels.append(row_labels)
        extra_stats["words_without_subwords"] = invisible
    else:
        text_b = frame["text_b"].tolist()
        pair = any(t is not None for t in text_b)
        enc = tokenizer(
            frame["text_a"].tolist(),
            text_b if pair else None,
            truncation="longest_first" if pair else True,
            max_length=max_length,
        )
        labels = _encode_labels_sequence(frame["label"].tolist(), vocab)
        dropped_words = 0
    input_ids = enc["input_ids"]
    lengths = [len(ids) for ids in input_ids]
    truncated = sum(1 for e in enc.encodings if e.overflowing)
    columns: dict[str, list[Any]] = {"input_ids": input_ids}
    if "token_type_ids" in enc:
        columns["token_type_ids"] = enc["token_type_ids"]
    columns["labels"] = labels
    columns["length"] = lengths
    columns["row"] = frame["row"].tolist()
    stats = {
        "examples": len(frame),
        "truncated": truncated,
        "words_dropped_by_truncation": dropped_words,
        **extra_stats,
        "max_length": int(max(lengths)) if lengths else 0,
        "mean_length": float(np.mean(lengths)) if lengths else 0.0,
        "tokens": int(sum(lengths)),
    }
    return columns, stats
