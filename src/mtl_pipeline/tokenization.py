"""Batched tokenization with the encoder's fast tokenizer; nothing is padded on disk.

Output columns: ``input_ids``, ``token_type_ids`` (when the tokenizer makes them),
``labels`` (int class id, float value, or per-token ids with ``IGNORE_INDEX`` on special
tokens and on every sub-word but a word's first), ``length`` and ``row``.

Over-long inputs are truncated to ``max_length``, never refused: the stats count the
truncated examples (and, for tagging, the words cut off) so a too-small ``max_length``
shows up in ``tokenization_stats.json`` instead of failing a run.

Encoder families differ in what their tokenizers do: byte-level BPE (RoBERTa, GPT-style
decoders) needs a space before each pre-split word to find word starts, decoder-only
tokenizers put nothing between the two texts of a pair (their end-of-text token is put
there) and ship no pad token (``ensure_pad_token``); token type ids are kept only when the
tokenizer makes them. Tagging labels go on each word's first sub-word, whichever way the
tokenizer marks word boundaries (``word_ids``).

For tagging, a word the tokenizer turns into *no* sub-words (a zero-width space, a lone
control or combining character) would lose its tag without a trace and shift nothing
visibly; such words are replaced by the tokenizer's unknown token, so every word that
survives truncation carries exactly one label, and counted in ``words_without_subwords``.
"""

from __future__ import annotations

import functools
import logging
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from mtl_pipeline.errors import DataError
from mtl_pipeline.readers.base import preview_list
from mtl_pipeline.task_types.base import IGNORE_INDEX

logger = logging.getLogger(__name__)


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


def ensure_pad_token(tokenizer: Any) -> Any:
    """Give a tokenizer without a pad token one (decoder-only models ship none).

    Padding positions are masked out of attention and pooling, so any existing token
    serves: the end-of-text token, else the unknown token. Returns the tokenizer.
    """
    if getattr(tokenizer, "pad_token", None) is None:
        for candidate in ("eos_token", "unk_token", "bos_token"):
            token = getattr(tokenizer, candidate, None)
            if token is not None:
                tokenizer.pad_token = token
                break
        else:
            raise DataError(
                "tokenizer: it has no pad token and no end-of-text, unknown or "
                "beginning-of-text token to pad with; expected at least one of them."
            )
    return tokenizer


def _needs_prefix_space(tokenizer: Any) -> bool:
    """Whether pre-split words must get a leading space to tokenize as in running text.

    Byte-level BPE (RoBERTa, GPT-2, Qwen) marks a word start by the space before it
    ("Ġcat"); with ``is_split_into_words`` and ``add_prefix_space`` off, every word would
    be tokenized as if glued to the previous one ("c", "at"). SentencePiece (Metaspace)
    and WordPiece tokenizers mark word starts themselves.
    """
    import json

    backend = getattr(tokenizer, "backend_tokenizer", None)
    if backend is None or getattr(tokenizer, "add_prefix_space", False):
        return False
    pre = json.loads(backend.to_str()).get("pre_tokenizer") or {}
    parts = pre.get("pretokenizers", [pre]) if pre.get("type") == "Sequence" else [pre]
    return any(p.get("type") == "ByteLevel" and not p.get("add_prefix_space") for p in parts)


def _pair_separator(tokenizer: Any) -> str | None:
    """Text put before the second segment when the tokenizer's pair template adds
    nothing between the two (decoder-only models): its end-of-text token, so that
    "A cat." and "It sleeps." are not read as one sentence."""
    between = tokenizer.num_special_tokens_to_add(pair=True) - tokenizer.num_special_tokens_to_add(
        pair=False
    )
    if between > 0:
        return None
    return getattr(tokenizer, "sep_token", None) or getattr(tokenizer, "eos_token", None)


def tokenize_frame(
    frame: pd.DataFrame,
    tokenizer: Any,
    *,
    level: str,
    vocab: list[str],
    max_length: int,
    per_example_stats: bool = False,
    task_type: Any = None,
) -> tuple[dict[str, list[Any]], dict[str, int]]:
    """Tokenize one standard table; returns (columns, stats).

    With ``per_example_stats`` the columns also carry ``truncated`` (bool) and
    ``dropped_words`` per example, so statistics can be recomputed from a cached dataset.
    A ``task_type`` whose ``tokenize`` encodes its own records (choices, windows) does so.
    """
    if task_type is not None and not frame.empty:
        custom = task_type.tokenize(frame, tokenizer, vocab=vocab, max_length=max_length)
        if custom is not None:
            columns, stats = custom
            if per_example_stats:
                columns.setdefault("dropped_words", [0] * len(columns["row"]))
            else:
                columns.pop("truncated", None)
            return columns, stats
    if frame.empty:  # the fast tokenizer fails on an empty batch; ingestion never makes one
        columns = {"input_ids": [], "labels": [], "length": [], "row": []}
        stats = {"examples": 0, "truncated": 0, "words_dropped_by_truncation": 0}
        return columns, {**stats, "max_length": 0, "mean_length": 0.0, "tokens": 0}
    extra_stats: dict[str, int] = {}
    if level == "token":
        words, invisible = _make_words_visible([list(t) for t in frame["tokens"]], tokenizer)
        if _needs_prefix_space(tokenizer):
            words = [[f" {w}" for w in sentence] for sentence in words]
        enc = tokenizer(
            words,
            is_split_into_words=True,
            truncation=True,
            max_length=max_length,
            return_attention_mask=False,
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
                            f"set {preview_list(vocab)}; expected one of those."
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
        separator = _pair_separator(tokenizer) if pair else None
        if separator is not None:
            text_b = [None if t is None else f"{separator}{t}" for t in text_b]
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
    # Truncation cuts to exactly max_length, so only those examples can have overflowed:
    # asking every Encoding for `.overflowing` builds a Python object per example.
    truncated_flags = [False] * len(lengths)
    encodings = enc.encodings
    for i in np.flatnonzero(np.asarray(lengths) >= max_length):
        truncated_flags[i] = bool(encodings[i].overflowing)
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
    task_type: Any = None,
) -> tuple[Any, dict[str, Any]]:
    """``tokenize_frame`` in batches into an Arrow dataset: written batch by batch to
    ``cache_file`` and memory-mapped from there (so data larger than RAM streams), and
    reused as is when ``cache_file`` already exists.

    With ``num_proc`` > 1 the batches go through ``datasets.Dataset.map`` in that many
    processes. In one process they are written directly: ``map``'s fixed cost (table
    conversion, writer set-up, formatting) was a third of the stage's time on GLUE-size
    tables, for identical output.

    Returns (dataset, stats); stats are recomputed from the dataset's columns, so a cached
    result reports the same numbers as a fresh one.
    """
    import datasets

    if frame.empty:
        columns, stats = tokenize_frame(
            frame, tokenizer, level=level, vocab=vocab, max_length=max_length
        )
        return datasets.Dataset.from_dict(columns), stats
    # One batch of the stage, whichever way the batches are driven.
    encode = functools.partial(
        tokenize_frame,
        tokenizer=tokenizer,
        level=level,
        vocab=vocab,
        max_length=max_length,
        per_example_stats=True,
        task_type=task_type,
    )
    custom_schema = None
    if has_own_tokenization(task_type):
        columns, _ = encode(frame.iloc[:1])
        custom_schema = task_type.arrow_schema(columns, vocab)
    encoded = None
    if cache_file is not None and Path(cache_file).exists():
        encoded = _read_cache(cache_file, len(frame), by_record=custom_schema is not None)
    if encoded is not None:
        pass
    elif custom_schema is not None:
        encoded = _tokenize_direct(
            frame, encode, level, vocab, batch_size, cache_file, desc, schema=custom_schema
        )
    elif num_proc and num_proc > 1 and len(frame) > batch_size:
        features = _features(level, vocab, "token_type_ids" in tokenizer("a"))
        encoded = _tokenize_with_map(
            frame, encode, features, batch_size, num_proc, cache_file, desc
        )
    else:
        encoded = _tokenize_direct(frame, encode, level, vocab, batch_size, cache_file, desc)
    table = encoded.data
    lengths = np.asarray(table.column("length").to_numpy())
    stats: dict[str, Any] = {
        "examples": int(len(lengths)),
        "truncated": int(
            np.asarray(table.column("truncated").to_numpy(zero_copy_only=False)).sum()
        ),
        "words_dropped_by_truncation": int(
            np.asarray(table.column("dropped_words").to_numpy()).sum()
        ),
        "max_length": int(lengths.max()),
        "mean_length": float(lengths.mean()),
        "tokens": int(lengths.sum()),
    }
    if custom_schema is not None:
        # Windowed types make several rows (windows) per record.
        stats["records"] = int(len(np.unique(table.column("row").to_numpy())))
    return encoded.remove_columns(["truncated", "dropped_words"]), stats


#: Columns a cache file must hold (the rest depend on the tokenizer and task level).
_CACHE_COLUMNS = ("input_ids", "labels", "length", "row", "truncated", "dropped_words")


def _read_cache(cache_file: str, rows: int, by_record: bool = False) -> Any | None:
    """The cached dataset, or ``None`` (file removed, with a warning) if it is unreadable.

    Cache files are written whole or not at all, but a full disk, a copy of the project
    or a crash of the machine can still leave one truncated; since it is derived data, it
    is tokenized again rather than failing the run with pyarrow's "Expected to be able to
    read N bytes". A file cut between two record batches reads without error but with
    fewer rows, hence the row count check (``by_record``: task types that write several
    rows per example, such as windows, are counted by their distinct ``row`` values).
    """
    import datasets

    try:
        encoded = datasets.Dataset.from_file(cache_file)
        missing = [c for c in _CACHE_COLUMNS if c not in encoded.column_names]
        found = (
            len(np.unique(encoded.data.column("row").to_numpy()))
            if by_record and "row" in encoded.column_names
            else len(encoded)
        )
        problem = (
            f"{found} rows for {rows} examples"
            if found != rows
            else (f"columns {missing} missing" if missing else None)
        )
    except Exception as exc:  # pyarrow raises OSError, ArrowInvalid, ... for a bad file
        problem = f"{type(exc).__name__}: {str(exc).strip().rstrip('.')}"
    if problem is None:
        return encoded
    logger.warning(
        "%s: cached tokenization is truncated or corrupt (%s); deleting it and tokenizing again.",
        cache_file,
        problem,
    )
    try:
        Path(cache_file).unlink()
    except OSError as exc:
        raise DataError(
            f"{cache_file}: cached tokenization is truncated or corrupt ({problem}) and "
            f"cannot be deleted ({exc.strerror}); delete it by hand and re-run tokenization."
        ) from None
    return None


def has_own_tokenization(task_type: Any) -> bool:
    """Whether ``task_type`` overrides ``TaskType.tokenize`` (encodes its own records)."""
    from mtl_pipeline.task_types.base import TaskType

    return task_type is not None and type(task_type).tokenize is not TaskType.tokenize


def _features(level: str, vocab: list[str], with_type_ids: bool) -> Any:
    """The column types ``datasets`` itself gives these columns (int32 ids, int8 type ids)."""
    import datasets

    features = {"input_ids": datasets.Sequence(datasets.Value("int32"))}
    if with_type_ids:
        features["token_type_ids"] = datasets.Sequence(datasets.Value("int8"))
    if level == "token":
        features["labels"] = datasets.Sequence(datasets.Value("int64"))
    else:
        features["labels"] = datasets.Value("int64" if vocab else "float64")
    features.update(
        length=datasets.Value("int64"),
        row=datasets.Value("int64"),
        truncated=datasets.Value("bool"),
        dropped_words=datasets.Value("int64"),
    )
    return datasets.Features(features)


def _tokenize_direct(
    frame: pd.DataFrame,
    encode: Callable[[pd.DataFrame], tuple[dict[str, list[Any]], dict[str, int]]],
    level: str,
    vocab: list[str],
    batch_size: int,
    cache_file: str | None,
    desc: str,
    schema: Any = None,
) -> Any:
    import os

    import datasets
    import pyarrow as pa
    from tqdm.auto import tqdm

    starts = range(0, len(frame), batch_size)
    batches: list[Any] = []
    sink = writer = None
    tmp = f"{cache_file}.{uuid.uuid4().hex[:8]}.tmp" if cache_file else None
    try:
        for start in tqdm(starts, desc=desc, unit="batch", disable=len(starts) < 4, leave=False):
            columns, _ = encode(frame.iloc[start : start + batch_size])
            if schema is None:
                schema = _features(level, vocab, "token_type_ids" in columns).arrow_schema
            if tmp is not None and writer is None:
                sink = pa.OSFile(tmp, "wb")
                writer = pa.ipc.new_stream(sink, schema)
            batch = pa.RecordBatch.from_arrays(
                [pa.array(columns[f.name], type=f.type) for f in schema], schema=schema
            )
            if writer is not None:
                writer.write_batch(batch)
            else:
                batches.append(batch)
        if writer is None:
            return datasets.Dataset(pa.Table.from_batches(batches, schema=schema))
        writer.close()
        sink.close()
        writer = sink = None
        # Complete or absent: a crash mid-way never leaves a cache file that looks valid.
        os.replace(tmp, cache_file)
        return datasets.Dataset.from_file(cache_file)
    finally:
        if writer is not None:
            writer.close()
        if sink is not None:
            sink.close()
        if tmp is not None and os.path.exists(tmp):
            os.remove(tmp)


def _tokenize_with_map(
    frame: pd.DataFrame,
    encode: Callable[[pd.DataFrame], tuple[dict[str, list[Any]], dict[str, int]]],
    features: Any,
    batch_size: int,
    num_proc: int,
    cache_file: str | None,
    desc: str,
) -> Any:
    import datasets
    import pyarrow as pa

    source = datasets.Dataset(
        pa.Table.from_pandas(frame.reset_index(drop=True), preserve_index=False)
    )

    def encode_columns(batch: dict[str, list[Any]]) -> dict[str, list[Any]]:
        return encode(pd.DataFrame({key: batch[key] for key in batch.keys()}))[0]

    return source.map(
        encode_columns,
        batched=True,
        batch_size=batch_size,
        num_proc=num_proc,
        remove_columns=source.column_names,
        features=features,
        cache_file_name=cache_file,
        load_from_cache_file=False,
        keep_in_memory=cache_file is None,
        # Without an explicit fingerprint datasets dill-hashes the closure, tokenizer
        # included: over a second per call, more than the tokenization itself.
        new_fingerprint=Path(cache_file).stem if cache_file else uuid.uuid4().hex,
        desc=desc,
    )


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
    digest.update(tokenizer_identity(tokenizer).encode())
    digest.update(json.dumps(settings, sort_keys=True, default=str).encode())
    digest.update(inspect.getsource(sys.modules[__name__]).encode())
    return digest.hexdigest()[:24]


def tokenizer_identity(tokenizer: Any) -> str:
    """The tokenizer's full definition, without the truncation and padding state that
    the last call left on it (it would make the key depend on what ran before)."""
    import json

    backend = getattr(tokenizer, "backend_tokenizer", None)
    if backend is None:
        return repr(tokenizer)
    definition = json.loads(backend.to_str())
    definition.pop("truncation", None)
    definition.pop("padding", None)
    added = [str(t) for t in getattr(tokenizer, "all_special_tokens", [])]
    return json.dumps([definition, added], sort_keys=True)


def task_type_from_info(label_info: dict[str, Any], task_name: str) -> Any:
    """The task type ``label_info`` was ingested with, with its options (``head``)."""
    from mtl_pipeline.registry import get_registry
    from mtl_pipeline.task_types.base import type_options

    cls = get_registry().get("task_type", label_info["type"], f"tasks.{task_name}.type")
    return cls(cls.parse_options(type_options(label_info.get("head")), f"tasks.{task_name}.head"))
