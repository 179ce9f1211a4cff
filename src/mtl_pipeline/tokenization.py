"""Batched tokenization with the encoder's fast tokenizer; nothing is padded on disk.

Output columns: ``input_ids``, ``token_type_ids`` (when the tokenizer makes them),
``labels`` (int class id, float value, or per-token ids with ``IGNORE_INDEX`` on special
tokens and on every sub-word but a word's first), ``length`` and ``row``.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from mtl_pipeline.task_types.base import IGNORE_INDEX


def _encode_labels_sequence(labels: list[Any], vocab: list[str]) -> list[Any]:
    if not vocab:  # regression
        return [float(v) for v in labels]
    index = {label: i for i, label in enumerate(vocab)}
    return [index[str(v)] for v in labels]


def tokenize_frame(
    frame: pd.DataFrame,
    tokenizer: Any,
    *,
    level: str,
    vocab: list[str],
    max_length: int,
) -> tuple[dict[str, list[Any]], dict[str, int]]:
    """Tokenize one standard table; returns (columns, stats)."""
    if level == "token":
        words = [list(t) for t in frame["tokens"]]
        enc = tokenizer(words, is_split_into_words=True, truncation=True, max_length=max_length)
        index = {label: i for i, label in enumerate(vocab)}
        labels, dropped_words = [], 0
        for i, tags in enumerate(frame["tags"]):
            word_ids = enc.word_ids(i)
            row_labels, previous = [], None
            for word_id in word_ids:
                if word_id is None or word_id == previous:
                    row_labels.append(IGNORE_INDEX)
                else:
                    row_labels.append(index[tags[word_id]])
                previous = word_id
            seen = {w for w in word_ids if w is not None}
            dropped_words += len(tags) - len(seen)
            labels.append(row_labels)
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
        "max_length": int(max(lengths)) if lengths else 0,
        "mean_length": float(np.mean(lengths)) if lengths else 0.0,
        "tokens": int(sum(lengths)),
    }
    return columns, stats
