"""Property-based tests (hypothesis) of the readers and of tag alignment.

Readers: whatever bytes a file holds, a reader returns a table or raises the documented
``DataError``, never anything else; and a table written correctly in its format (random
unicode incl. control characters, tabs and newlines inside quoted fields) reads back exactly.

Tokenization: with the real MiniLM tokenizer, every word that survives truncation carries
exactly one label (on its first sub-word), in order, and nothing else does.
"""

from __future__ import annotations

import csv
import functools
import io
import json
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mtl_pipeline.components import NoOptions
from mtl_pipeline.config import TaskConfig
from mtl_pipeline.errors import DataError
from mtl_pipeline.ingestion import standardize
from mtl_pipeline.readers.base import ROW_COLUMN, Reader
from mtl_pipeline.readers.conllu import ConlluReader
from mtl_pipeline.readers.csv_reader import CsvOptions, CsvReader
from mtl_pipeline.readers.glue_tsv import GlueTsvOptions, GlueTsvReader
from mtl_pipeline.readers.jsonl import JsonLinesReader
from mtl_pipeline.readers.parquet import ParquetReader
from mtl_pipeline.task_types.base import IGNORE_INDEX
from mtl_pipeline.task_types.classification import ClassificationTask, SequenceHeadOptions
from mtl_pipeline.tokenization import tokenize_frame
from tests.test_tokenization import tokenizer

PROPERTY = settings(
    max_examples=75,
    deadline=None,
    database=None,  # nothing written into the shared checkout
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)

# Any unicode except surrogates (not encodable), control characters included.
any_text = st.text(st.characters(exclude_categories=["Cs"]), max_size=40)
# Text a TSV field can hold: no tab, no line break, no NUL (all refused or structural).
tsv_text = st.text(
    st.characters(exclude_categories=["Cs"], exclude_characters="\t\n\r\x00"), max_size=40
)
READERS: dict[str, Reader] = {
    "glue_tsv": GlueTsvReader(GlueTsvOptions()),
    "csv": CsvReader(CsvOptions()),
    "jsonl": JsonLinesReader(NoOptions()),
    "conllu": ConlluReader(NoOptions()),
    "parquet": ParquetReader(NoOptions()),
}


def _write(tmp_path: Path, name: str, data: bytes) -> str:
    path = tmp_path / name
    path.write_bytes(data)
    return str(path)


def _values(frame: pd.DataFrame, columns: list[str]) -> list[list[Any]]:
    return frame[columns].values.tolist()


# --- readers never fail with anything but DataError -------------------------------------------

noise = st.one_of(
    st.binary(max_size=300),
    any_text.map(lambda t: t.encode("utf-8")),
    st.lists(any_text, max_size=6).map(lambda fs: "\t".join(fs).encode("utf-8")),
    st.lists(st.lists(any_text, max_size=4), max_size=5).map(
        lambda rows: "\n".join(",".join(r) for r in rows).encode("utf-8")
    ),
)


@pytest.mark.parametrize("reader_name", sorted(READERS))
@settings(PROPERTY, max_examples=60)
@given(data=noise)
def test_any_bytes_give_a_table_or_a_data_error(tmp_path, reader_name, data):
    path = _write(tmp_path, f"noise.{reader_name}", data)
    try:
        frame = READERS[reader_name].read(path)
    except DataError as exc:
        assert str(exc).startswith(path)  # every reader error names the file first
        return
    assert len(frame) > 0 and ROW_COLUMN in frame.columns
    assert frame[ROW_COLUMN].is_monotonic_increasing


# --- round trips -----------------------------------------------------------------------------

table = st.integers(min_value=1, max_value=4).flatmap(
    lambda width: st.lists(
        st.lists(any_text, min_size=width, max_size=width), min_size=1, max_size=8
    )
)


@PROPERTY
@given(rows=table)
def test_csv_round_trip_with_quoted_tabs_newlines_and_controls(tmp_path, rows):
    header = [f"c{i}" for i in range(len(rows[0]))]
    buffer = io.StringIO(newline="")
    writer = csv.writer(buffer, quoting=csv.QUOTE_ALL, lineterminator="\n")
    writer.writerow(header)
    writer.writerows(rows)
    path = _write(tmp_path, "t.csv", buffer.getvalue().encode("utf-8"))
    if any("\x00" in field for row in rows for field in row):
        with pytest.raises(DataError, match="NUL character"):
            CsvReader(CsvOptions()).read(path)
        return
    frame = CsvReader(CsvOptions()).read(path)
    assert _values(frame, header) == rows
    assert frame[ROW_COLUMN].iloc[0] == 2 and frame[ROW_COLUMN].is_monotonic_increasing


@PROPERTY
@given(rows=st.lists(st.tuples(any_text, any_text), min_size=1, max_size=8))
def test_jsonl_round_trip_with_any_unicode(tmp_path, rows):
    lines = [json.dumps({"text": t, "label": lab}, ensure_ascii=False) for t, lab in rows]
    path = _write(tmp_path, "t.jsonl", "\n".join(lines).encode("utf-8"))
    frame = JsonLinesReader(NoOptions()).read(path)
    assert _values(frame, ["text", "label"]) == [list(r) for r in rows]
    assert frame[ROW_COLUMN].tolist() == list(range(1, len(rows) + 1))


@PROPERTY
@given(
    rows=st.integers(min_value=1, max_value=4).flatmap(
        lambda width: st.lists(
            st.lists(tsv_text, min_size=width, max_size=width), min_size=1, max_size=8
        )
    )
)
def test_glue_tsv_round_trip_quotes_and_controls_kept_verbatim(tmp_path, rows):
    header = [f"c{i}" for i in range(len(rows[0]))]
    body = ["\t".join(row) for row in rows]
    path = _write(tmp_path, "t.tsv", "\n".join(["\t".join(header), *body, ""]).encode("utf-8"))
    # Only lines that are empty, or spaces in a multi-column file, are gaps, not records.
    kept = [
        (row, line_no)
        for line_no, (row, line) in enumerate(zip(rows, body, strict=True), start=2)
        if line and not (len(header) > 1 and "\t" not in line and not line.strip())
    ]
    if not kept:
        with pytest.raises(DataError, match="no data rows"):
            GlueTsvReader(GlueTsvOptions()).read(path)
        return
    frame = GlueTsvReader(GlueTsvOptions()).read(path)
    assert _values(frame, header) == [row for row, _ in kept]
    assert frame[ROW_COLUMN].tolist() == [line_no for _, line_no in kept]


@PROPERTY
@given(rows=st.lists(st.lists(any_text, min_size=2, max_size=2), min_size=1, max_size=6))
def test_glue_tsv_with_tabs_or_newlines_in_fields_errors_or_reads(tmp_path, rows):
    """Unquoted TSV cannot hold a tab or newline in a field: a shifted row must be an error
    naming its line, or read as *some* table; never another exception."""
    text = "a\tb\n" + "\n".join("\t".join(r) for r in rows)
    path = _write(tmp_path, "t.tsv", text.encode("utf-8"))
    try:
        frame = GlueTsvReader(GlueTsvOptions()).read(path)
    except DataError as exc:
        assert str(exc).startswith(f"{path}:")
        return
    assert list(frame.columns) == ["a", "b", ROW_COLUMN]


form = st.text(
    st.characters(exclude_categories=["Cs"], exclude_characters="\t\n\r\x00"),
    min_size=1,
    max_size=12,
).filter(lambda s: s.strip())
word = st.tuples(form, st.sampled_from(["NOUN", "VERB", "ADJ", "PUNCT", "X"]))
sentence = st.lists(
    st.tuples(word, st.booleans(), st.booleans()),  # (word, starts a multi-word, empty node)
    min_size=1,
    max_size=10,
)


def _conllu(sentences: list[list[tuple[tuple[str, str], bool, bool]]]) -> str:
    blocks = []
    for sent in sentences:
        lines = [f"# text = {' '.join(w[0][0] for w in sent)}"]
        for i, ((form_, upos), multi, empty) in enumerate(sent, start=1):
            if multi and i < len(sent):
                lines.append(f"{i}-{i + 1}\t{form_}{sent[i][0][0]}\t_\t_\t_\t_\t_\t_\t_\t_")
            lines.append(f"{i}\t{form_}\t_\t{upos}\t_\t_\t0\tdep\t_\t_")
            if empty:
                lines.append(f"{i}.1\tghost\t_\tVERB\t_\t_\t_\t_\t{i}:dep\t_")
        blocks.append("\n".join(lines))
    return "\n\n".join(blocks) + "\n"


@PROPERTY
@given(sentences=st.lists(sentence, min_size=1, max_size=5))
def test_conllu_round_trip_skips_ranges_and_empty_nodes(tmp_path, sentences):
    path = _write(tmp_path, "t.conllu", _conllu(sentences).encode("utf-8"))
    frame = ConlluReader(NoOptions()).read(path)
    assert frame["tokens"].tolist() == [[w[0][0] for w in s] for s in sentences]
    assert frame["upos"].tolist() == [[w[0][1] for w in s] for s in sentences]


@pytest.mark.parametrize("fmt", ["csv", "glue_tsv", "jsonl"])
def test_very_long_lines_read_back(tmp_path, fmt):
    long = 'ab"c d, ' * 40_000  # 320k characters: over csv's default 128 KiB field limit
    if fmt == "csv":
        data = "text,label\n" + '"' + long.replace('"', '""') + '",1\n'
    elif fmt == "glue_tsv":
        data = f"text\tlabel\n{long}\t1\n"
    else:
        data = json.dumps({"text": long, "label": 1}) + "\n"
    frame = READERS[fmt].read(_write(tmp_path, f"long.{fmt}", data.encode("utf-8")))
    assert frame["text"].tolist() == [long]


# --- ingestion of random tables --------------------------------------------------------------


@PROPERTY
@given(
    rows=st.lists(
        st.tuples(any_text, st.sampled_from(["0", "1", " 1 ", "", "x"])), min_size=1, max_size=8
    )
)
def test_standardize_accepts_or_names_the_row(rows):
    raw = pd.DataFrame({"text": [t for t, _ in rows], "label": [lab for _, lab in rows]})
    raw[ROW_COLUMN] = range(2, len(rows) + 2)
    cfg = TaskConfig(
        type="classification",
        train="t.csv",
        validation="d.csv",
        text_fields=["text"],
        label_field="label",
        metrics=["accuracy"],
    )
    task = ClassificationTask(SequenceHeadOptions())
    try:
        out = standardize(raw, "t.csv", cfg, task)
    except DataError as exc:
        assert str(exc).startswith("t.csv: line ")
        return
    assert len(out) == len(rows)
    assert all(t.strip() for t in out["text_a"]) and all(lab.strip() == lab for lab in out["label"])


# --- tokenization and label alignment --------------------------------------------------------

tag_word = st.text(st.characters(exclude_categories=["Cs"]), min_size=1, max_size=14).filter(
    lambda w: w.strip()
)


@functools.lru_cache(maxsize=4096)
def _subword_count(w: str) -> int:
    """Sub-words of one word on its own (a word with none is replaced by [UNK]: 1)."""
    return max(1, len(tokenizer()(w, add_special_tokens=False)["input_ids"]))


@PROPERTY
@given(
    sentences=st.lists(
        st.lists(st.tuples(tag_word, st.sampled_from(["A", "B", "C"])), min_size=1, max_size=25),
        min_size=1,
        max_size=4,
    ),
    max_length=st.integers(min_value=8, max_value=40),
)
def test_one_label_per_surviving_word(sentences, max_length):
    frame = pd.DataFrame(
        {
            "row": range(1, len(sentences) + 1),
            "tokens": [[w for w, _ in s] for s in sentences],
            "tags": [[t for _, t in s] for s in sentences],
        }
    )
    vocab = ["A", "B", "C"]
    columns, stats = tokenize_frame(
        frame, tokenizer(), level="token", vocab=vocab, max_length=max_length
    )
    budget = max_length - 2  # [CLS] and [SEP]
    dropped = 0
    for sent, labels, ids in zip(sentences, columns["labels"], columns["input_ids"], strict=True):
        assert len(labels) == len(ids) <= max_length
        assert labels[0] == IGNORE_INDEX and labels[-1] == IGNORE_INDEX
        # A word survives when its first sub-word fits (the rest of it may be cut).
        surviving, start = 0, 0
        for w, _ in sent:
            if start >= budget:
                break
            surviving += 1
            start += _subword_count(w)
        labelled = [label for label in labels if label != IGNORE_INDEX]
        assert len(labelled) == surviving
        assert labelled == [vocab.index(t) for _, t in sent[:surviving]]
        dropped += len(sent) - surviving
    assert stats["words_dropped_by_truncation"] == dropped


@PROPERTY
@given(
    pairs=st.lists(
        st.tuples(any_text.filter(str.strip), st.none() | any_text.filter(str.strip)),
        min_size=1,
        max_size=6,
    ),
    max_length=st.integers(min_value=8, max_value=48),
)
def test_sequence_truncation_is_counted_exactly(pairs, max_length):
    text_b = [b for _, b in pairs]
    if any(b is None for b in text_b):
        text_b = [None] * len(pairs)  # a task is either all pairs or all single sentences
    frame = pd.DataFrame(
        {
            "row": range(len(pairs)),
            "text_a": [a for a, _ in pairs],
            "text_b": text_b,
            "label": ["0"] * len(pairs),
        }
    )
    columns, stats = tokenize_frame(
        frame, tokenizer(), level="sequence", vocab=["0", "1"], max_length=max_length
    )
    full = tokenizer()(
        frame["text_a"].tolist(), None if text_b[0] is None else text_b, truncation=False
    )["input_ids"]
    assert all(length <= max_length for length in columns["length"])
    assert stats["truncated"] == sum(1 for ids in full if len(ids) > max_length)
    assert [min(len(ids), max_length) for ids in full] == columns["length"]
