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

import uuid
from pathlib import Path
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
    per_example_stats: bool = False,
) -> tuple[dict[str, list[Any]], dict[str, int]]:
    """Tokenize one standard table; returns (columns, stats).

    With ``per_example_stats`` the columns also carry ``truncated`` (bool) and
    ``dropped_words`` per example, so statistics can be recomputed from a cached dataset.
    """
    if frame.empty:  # the fast tokenizer fails on an empty batch; ingestion never makes one
        columns = {"input_ids": [], "labels": [], "length": [], "row": []}
        stats = {"examples": 0, "truncated": 0, "words_dropped_by_truncation": 0}
        return columns, {**stats, "max_length": 0, "mean_length": 0.0, "tokens": 0}
    extra_stats: dict[str, int] = {}
    if level == "token":
        words, invisible = _make_words_visible([list(t) for t in frame["tokens"]], tokenizer)
        enc = tokenizer(
            words, is_split_into_words=True, truncation=True, max_length=max_length, return_attention_mask=False
        )
        index = {label: i for i, label in enumerate(vocab)}
        labels, dropped_words, dropped_per_example = [], 0, []
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
            dropped_per_example.append(len(tags) - len(seen))
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
            return_attention_mask=False,  # derived from lengths at collation; not stored
        )
        labels = _encode_labels_sequence(frame["label"].tolist(), vocab)
        dropped_words = 0
        dropped_per_example = [0] * len(frame)
    input_ids = enc["input_ids"]
    lengths = [len(ids) for ids in input_ids]
    truncated_flags = [bool(e.overflowing) for e in enc.encodings]
    truncated = sum(truncated_flags)
    columns: dict[str, list[Any]] = {"input_ids": input_ids}
    if "token_type_ids" in enc:
        columns["token_type_ids"] = enc["token_type_ids"]
    columns["labels"] = labels
    columns["length"] = lengths
    columns["row"] = frame["row"].tolist()
    if per_example_stats:
        columns["truncated"] = truncated_flags
        columns["dropped_words"] = dropped_per_example
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


def tokenize_dataset(
    frame: pd.DataFrame,
    tokenizer: Any,
    *,
    level: str,
    vocab: list[str],
    max_length: int,
    batch_size: int = 1000,
    num_proc: int | None = None,
    cache_file: str | None = None,
    desc: str = "tokenizing",
) -> tuple[Any, dict[str, Any]]:
    """``tokenize_frame`` through ``datasets.Dataset.map``: batched, optionally in
    ``num_proc`` processes, written to an Arrow file that is memory-mapped (so data larger
    than RAM streams) and reused as is when ``cache_file`` already exists.

    Returns (dataset, stats); stats are recomputed from the dataset's columns, so a cached
    result reports the same numbers as a fresh one.
    """
    import datasets
    import pyarrow as pa

    if frame.empty:
        columns, stats = tokenize_frame(frame, tokenizer, level=level, vocab=vocab, max_length=max_length)
        return datasets.Dataset.from_dict(columns), stats
    source = datasets.Dataset(pa.Table.from_pandas(frame.reset_index(drop=True), preserve_index=False))

    def encode(batch: dict[str, list[Any]]) -> dict[str, list[Any]]:
        columns, _ = tokenize_frame(
            pd.DataFrame({key: batch[key] for key in batch.keys()}), tokenizer, level=level, vocab=vocab, max_length=max_length, per_example_stats=True
        )
        return columns

    encoded = source.map(
        encode,
        batched=True,
        batch_size=batch_size,
        num_proc=num_proc if num_proc and num_proc > 1 and len(frame) > batch_size else None,
        remove_columns=source.column_names,
        cache_file_name=cache_file,
        load_from_cache_file=cache_file is not None,
        keep_in_memory=cache_file is None,
        # Without an explicit fingerprint datasets dill-hashes the closure, tokenizer
        # included: over a second per call, more than the tokenization itself.
        new_fingerprint=Path(cache_file).stem if cache_file else uuid.uuid4().hex,
        desc=desc,
    )
    table = encoded.data
    lengths = np.asarray(table.column("length").to_numpy())
    stats: dict[str, Any] = {
        "examples": int(len(lengths)),
        "truncated": int(np.asarray(table.column("truncated").to_numpy(zero_copy_only=False)).sum()),
        "words_dropped_by_truncation": int(np.asarray(table.column("dropped_words").to_numpy()).sum()),
        "max_length": int(lengths.max()),
        "mean_length": float(lengths.mean()),
        "tokens": int(lengths.sum()),
    }
    return encoded.remove_columns(["truncated", "dropped_words"]), stats


def tokenization_fingerprint(frame: pd.DataFrame, tokenizer: Any, **settings: Any) -> str:
    """Hash of everything the token ids depend on: the table, the tokenizer, the settings
    and this module's code, so a changed input or tokenizer never reuses a stale cache."""
    import hashlib
    import inspect
    import json
    import sys

    import pyarrow as pa

    digest = hashlib.sha256()
    sink = pa.BufferOutputStream()
    table = pa.Table.from_pandas(frame.reset_index(drop=True), preserve_index=False)
    with pa.ipc.new_stream(sink, table.schema) as writer:
        writer.write_table(table)
    digest.update(sink.getvalue().to_pybytes())
    backend = getattr(tokenizer, "backend_tokenizer", None)
    digest.update((backend.to_str() if backend is not None else repr(tokenizer)).encode())
    digest.update(json.dumps(settings, sort_keys=True, default=str).encode())
    digest.update(inspect.getsource(sys.modules[__name__]).encode())
    return digest.hexdigest()[:24]
