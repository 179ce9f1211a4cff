"""The bad-input catalogue: one test per bad input, asserting what the user reads.

Each test checks that the message names the place (file and line or row, or the config
key), the field, and what was expected versus what was found. docs/reliability.md lists
every entry with the test that backs it; keep the two in step.
"""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Any

import pandas as pd
import pluggy
import pytest

from mtl_pipeline.components import NoOptions
from mtl_pipeline.config import TaskConfig, parse_run_config
from mtl_pipeline.config_loader import ProjectConfigLoader
from mtl_pipeline.encoders import check_tokenizer_matches, resolve_model_path
from mtl_pipeline.errors import ConfigError, DataError, PluginError, UnknownComponentError
from mtl_pipeline.hookspecs import PROJECT_NAME, MTLHookSpecs, hookimpl
from mtl_pipeline.ingestion import ingest
from mtl_pipeline.metrics.builtin import BUILTIN_METRICS
from mtl_pipeline.readers.base import ROW_COLUMN
from mtl_pipeline.readers.conllu import ConlluReader
from mtl_pipeline.readers.csv_reader import CsvOptions, CsvReader
from mtl_pipeline.readers.glue_tsv import GlueTsvOptions, GlueTsvReader
from mtl_pipeline.readers.huggingface import HfDiskReader
from mtl_pipeline.readers.jsonl import JsonLinesReader
from mtl_pipeline.readers.parquet import ParquetReader
from mtl_pipeline.registry import Registry
from mtl_pipeline.validation import validate_parameters

REPO = Path(__file__).resolve().parents[1]
GOOD_CSV = "text,label\ngood,1\nbad,0\n"
CONLLU_OK = (
    "1\tDogs\tdog\tNOUN\tNNS\t_\t2\tnsubj\t_\t_\n2\tbark\tbark\tVERB\tVBP\t_\t0\troot\t_\t_\n"
)


# --- helpers ---------------------------------------------------------------------------------


def write(tmp_path: Path, name: str, content: str | bytes) -> str:
    path = tmp_path / name
    path.write_bytes(content.encode("utf-8") if isinstance(content, str) else content)
    return str(path)


def check(message: str, *parts: str) -> None:
    """Every part must appear in the message (the test output shows the whole message)."""
    missing = [part for part in parts if part not in message]
    assert not missing, f"{missing} not in message:\n{message}"


def error_of(kind: type[Exception], fn: Any, *args: Any, **kwargs: Any) -> str:
    with pytest.raises(kind) as info:
        fn(*args, **kwargs)
    return str(info.value)


def glue(path: str, **options: Any) -> pd.DataFrame:
    return GlueTsvReader(GlueTsvOptions(**options)).read(path)


def csv_read(path: str) -> pd.DataFrame:
    return CsvReader(CsvOptions()).read(path)


def run_task(
    train: str,
    validation: str | None = None,
    *,
    type: str = "classification",
    reader: Any = "csv",
    text_fields: list[str] | None = None,
    label_field: str = "label",
    overlap: str | None = None,
    **extra: Any,
) -> tuple[pd.DataFrame, pd.DataFrame, dict[str, Any]]:
    """Ingest one task; without ``validation`` the training file doubles as validation
    (``overlap: allow``, so the test sees the file's own checks)."""
    cfg = TaskConfig(
        type=type,
        reader=reader,
        train=train,
        validation=validation or train,
        text_fields=text_fields or ["text"],
        label_field=label_field,
        metrics=["accuracy"],
        **extra,
    )
    if overlap is None:
        overlap = "allow" if validation is None else "warn"
    return ingest("t", cfg, None, None, 0, overlap=overlap)


@pytest.fixture(scope="module")
def base_params() -> dict[str, Any]:
    """The shipped base parameters, loaded the way Kedro loads them."""
    loader = ProjectConfigLoader(
        conf_source=str(REPO / "conf"),
        base_env="base",
        default_run_env="local",
        merge_strategy={"parameters": "soft"},
    )
    return dict(loader["parameters"])


def params_with(base: dict[str, Any], **changes: Any) -> dict[str, Any]:
    """A deep copy of ``base`` with dotted keys set (``training.max_steps=0``)."""
    params = json.loads(json.dumps(base))
    for dotted, value in changes.items():
        *parents, leaf = dotted.split("__")
        node = params
        for part in parents:
            node = node[part]
        node[leaf] = value
    return params


# --- file level: encodings, emptiness, headers -----------------------------------------------


def test_bom_is_tolerated_in_every_text_reader(tmp_path):
    bom = b"\xef\xbb\xbf"
    tsv = write(tmp_path, "a.tsv", bom + b"text\tlabel\nx\t1\n")
    csv = write(tmp_path, "a.csv", bom + b"text,label\nx,1\n")
    jsonl = write(tmp_path, "a.jsonl", bom + b'{"text": "x", "label": 1}\n')
    conllu = write(tmp_path, "a.conllu", bom + CONLLU_OK.encode())
    assert list(glue(tsv).columns[:2]) == ["text", "label"]
    assert list(csv_read(csv).columns[:2]) == ["text", "label"]
    assert JsonLinesReader(NoOptions()).read(jsonl)["text"].tolist() == ["x"]
    assert ConlluReader(NoOptions()).read(conllu)["tokens"].tolist() == [["Dogs", "bark"]]


def test_non_utf8_file(tmp_path):
    path = write(tmp_path, "latin1.csv", "text,label\nok,1\ncaf\xe9,0\n".encode("latin-1"))
    check(
        error_of(DataError, csv_read, path),
        path,
        "line 3",
        "not valid UTF-8",
        "byte 0xe9",
        "expected a UTF-8 text file",
        "iconv",
    )


def test_utf16_file_with_bom(tmp_path):
    path = write(tmp_path, "u16.tsv", "text\tlabel\nx\t1\n".encode("utf-16"))
    check(error_of(DataError, glue, path), path, "line 1", "UTF-16", "expected UTF-8")


def test_nul_character_utf16_without_bom(tmp_path):
    path = write(tmp_path, "u16le.tsv", "text\tlabel\nx\t1\n".encode("utf-16-le"))
    check(
        error_of(DataError, glue, path), path, "line 1", "NUL character", "expected text", "UTF-16"
    )


@pytest.mark.parametrize(
    ("name", "read"),
    [
        ("e.tsv", glue),
        ("e.csv", csv_read),
        ("e.jsonl", JsonLinesReader(NoOptions()).read),
        ("e.conllu", ConlluReader(NoOptions()).read),
    ],
)
def test_empty_file(tmp_path, name, read):
    path = write(tmp_path, name, b"")
    check(error_of(DataError, read, path), path, "file is empty", "expected")


def test_blank_lines_only_file(tmp_path):
    path = write(tmp_path, "blank.csv", "\n  \n\r\n")
    check(error_of(DataError, csv_read, path), path, "file is empty", "expected a header")


def test_empty_parquet_file(tmp_path):
    path = write(tmp_path, "e.parquet", b"")
    check(
        error_of(DataError, ParquetReader(NoOptions()).read, path),
        path,
        "file is empty",
        "expected a Parquet file",
    )


@pytest.mark.parametrize(("name", "read"), [("h.tsv", glue), ("h.csv", csv_read)])
def test_header_only_file(tmp_path, name, read):
    sep = "\t" if name.endswith(".tsv") else ","
    path = write(tmp_path, name, f"text{sep}label\n\n")
    check(
        error_of(DataError, read, path),
        path,
        "no data rows",
        "after the header on line 1",
        "expected at least one example",
    )


def test_blank_header_line(tmp_path):
    path = write(tmp_path, "nohead.tsv", "\nx\t1\n")
    check(
        error_of(DataError, glue, path),
        path,
        "line 1",
        "header line is blank",
        "expected tab-separated column names",
        "header: false",
    )


def test_duplicate_column_names(tmp_path):
    path = write(tmp_path, "dup.csv", "text,label,text\na,1,b\n")
    check(
        error_of(DataError, csv_read, path),
        path,
        "line 1",
        "duplicate column name 'text'",
        "columns 1 and 3",
        "expected unique names",
        "found ['text', 'label', 'text']",
    )


def test_empty_column_name(tmp_path):
    path = write(tmp_path, "gap.tsv", "text\t\tlabel\na\tb\t1\n")
    check(
        error_of(DataError, glue, path),
        path,
        "line 1",
        "column 2 of the header has an empty name",
        "expected a name",
    )


def test_headerless_tsv_without_columns_option(tmp_path):
    path = write(tmp_path, "cola.tsv", "src\t1\t\tA sentence.\n")
    check(
        error_of(DataError, glue, path, header=False),
        path,
        "header: false but no `columns`",
        "list the column names",
    )


def test_columns_option_count_differs_from_header(tmp_path):
    path = write(tmp_path, "ren.tsv", "a\tb\tc\nx\ty\tz\n")
    check(
        error_of(DataError, glue, path, columns=["text", "label"]),
        path,
        "line 1",
        "`columns` names 2 columns",
        "the header has 3",
        "expected the same number",
    )


def test_file_not_found(tmp_path):
    path = str(tmp_path / "missing.tsv")
    check(error_of(DataError, glue, path), path, "file not found", "resolved to")


def test_path_is_a_directory(tmp_path):
    check(
        error_of(DataError, csv_read, str(tmp_path)),
        str(tmp_path),
        "is a directory",
        "expected a file",
    )


# --- rows: column counts and quoting ---------------------------------------------------------


def test_tsv_wrong_field_count(tmp_path):
    path = write(tmp_path, "shift.tsv", "sentence\tlabel\nfine\t1\nan extra\ttab\t0\n")
    check(
        error_of(DataError, glue, path),
        path,
        "line 3",
        "expected 2 tab-separated fields (sentence, label)",
        "found 3",
        "['an extra', 'tab', '0']",
    )


def test_csv_wrong_field_count(tmp_path):
    path = write(tmp_path, "shift.csv", "text,label\nfine,1\nunquoted, comma,0\n")
    check(
        error_of(DataError, csv_read, path),
        path,
        "line 3",
        "expected 2 fields (text, label)",
        "found 3",
        "must be quoted",
    )


def test_csv_unclosed_quote_points_at_the_opening_line(tmp_path):
    path = write(tmp_path, "open.csv", 'text,label\nok,1\n"never closed,0\nmore,1\nrows,0\n')
    check(
        error_of(DataError, csv_read, path),
        path,
        "line 3",
        'closing " never comes',
        "end of the file at line 5",
        'expected a closing "',
    )


def test_csv_stray_quote_after_closing_quote(tmp_path):
    path = write(tmp_path, "stray.csv", 'text,label\n"he said "hi" twice",1\n')
    check(
        error_of(DataError, csv_read, path),
        path,
        "line 2",
        'stray " after the closing quote',
        "expected the delimiter ','",
        '""',
    )


def test_csv_quote_inside_unquoted_field_is_kept_as_text(tmp_path):
    # Tolerated on purpose: RFC 4180 only gives a quote meaning at the start of a field.
    path = write(tmp_path, "inner.csv", 'text,label\n5" screen,1\n')
    assert csv_read(path)["text"].tolist() == ['5" screen']


def test_glue_tsv_bare_quotes_are_text(tmp_path):
    path = write(tmp_path, "q.tsv", 'sentence\tlabel\n"unbalanced quote\t1\nnext\t0\n')
    assert glue(path)["sentence"].tolist() == ['"unbalanced quote', "next"]


# --- JSON Lines, Parquet, HF -----------------------------------------------------------------


def test_jsonl_invalid_json_line(tmp_path):
    path = write(tmp_path, "bad.jsonl", '{"text": "a", "label": 1}\n{"text": "b", label: 0}\n')
    check(
        error_of(DataError, JsonLinesReader(NoOptions()).read, path),
        path,
        "line 2",
        "invalid JSON",
        "column 15",
        "expected one JSON object per line",
        "found",
    )


def test_jsonl_line_not_an_object(tmp_path):
    path = write(tmp_path, "list.jsonl", '{"text": "a", "label": 1}\n["b", 0]\n')
    check(
        error_of(DataError, JsonLinesReader(NoOptions()).read, path),
        path,
        "line 2",
        "expected a JSON object",
        "found list",
    )


def test_jsonl_duplicate_key(tmp_path):
    path = write(tmp_path, "dup.jsonl", '{"text": "a", "label": 1, "label": 0}\n')
    check(
        error_of(DataError, JsonLinesReader(NoOptions()).read, path),
        path,
        "line 1",
        "field label",
        "appears twice",
        "expected each key once",
    )


def test_jsonl_key_missing_on_one_line(tmp_path):
    path = write(tmp_path, "gap.jsonl", '{"text": "a", "label": "1"}\n{"label": "0"}\n')
    check(
        error_of(DataError, run_task, path, reader="jsonl"),
        path,
        "line 2",
        "field text",
        "missing",
        "expected a non-empty string",
    )


def test_jsonl_text_not_a_string(tmp_path):
    path = write(tmp_path, "nested.jsonl", '{"text": {"en": "a"}, "label": "1"}\n')
    check(
        error_of(DataError, run_task, path, reader="jsonl"),
        path,
        "line 1",
        "field text",
        "expected a string",
        "found dict",
    )


def test_not_a_parquet_file(tmp_path):
    path = write(tmp_path, "fake.parquet", GOOD_CSV)
    check(
        error_of(DataError, ParquetReader(NoOptions()).read, path),
        path,
        "not a readable Parquet file",
        "expected a file written by",
    )


def test_parquet_without_rows(tmp_path):
    path = tmp_path / "empty.parquet"
    pd.DataFrame({"text": pd.Series([], dtype=str), "label": pd.Series([], dtype=int)}).to_parquet(
        path
    )
    check(
        error_of(DataError, ParquetReader(NoOptions()).read, str(path)),
        str(path),
        "no data rows",
        "expected at least one example",
    )


@pytest.fixture(scope="module")
def hf_dirs(tmp_path_factory) -> dict[str, Path]:
    import datasets

    root = tmp_path_factory.mktemp("hf_bad")
    single = datasets.Dataset.from_dict({"text": ["a"], "label": [1]})
    single.save_to_disk(str(root / "single"))
    datasets.DatasetDict({"train": single, "validation": single}).save_to_disk(str(root / "dict"))
    (root / "plain").mkdir()
    return {"single": root / "single", "dict": root / "dict", "plain": root / "plain"}


def test_hf_disk_not_a_saved_dataset(hf_dirs):
    path = str(hf_dirs["plain"])
    check(
        error_of(DataError, HfDiskReader(NoOptions()).read, path),
        path,
        "not a dataset saved with save_to_disk",
        "expected a Dataset or DatasetDict folder",
    )


def test_hf_disk_dataset_dict_needs_a_split(hf_dirs):
    path = str(hf_dirs["dict"])
    check(
        error_of(DataError, HfDiskReader(NoOptions()).read, path),
        path,
        "needs a split",
        f"{path}#<split>",
        "available splits: train, validation",
    )


def test_hf_disk_unknown_split(hf_dirs):
    path = f"{hf_dirs['dict']}#test"
    check(
        error_of(DataError, HfDiskReader(NoOptions()).read, path),
        path,
        "split 'test' not found",
        "expected one of: train, validation",
    )


def test_hf_disk_split_of_a_single_dataset(hf_dirs):
    path = f"{hf_dirs['single']}#validation"
    check(
        error_of(DataError, HfDiskReader(NoOptions()).read, path),
        path,
        "split 'validation'",
        "single Dataset without splits",
        "expected",
    )


# --- ingestion: columns, texts, labels -------------------------------------------------------


def test_missing_column(tmp_path):
    path = write(tmp_path, "cols.tsv", "sentence\tlabel\nfine\t1\n")
    check(
        error_of(DataError, run_task, path, reader="glue_tsv"),
        path,
        "line 1 (header)",
        "missing column(s) 'text'",
        "expected the task's text_fields",
        "columns found: 'sentence', 'label'",
    )


def test_missing_column_with_columns_option(tmp_path):
    path = write(tmp_path, "cola.tsv", "src\t1\t\tA sentence.\n")
    reader = {"name": "glue_tsv", "header": False, "columns": ["source", "label", "orig", "sent"]}
    check(
        error_of(DataError, run_task, path, reader=reader),
        path,
        "reader option `columns`",
        "missing column(s) 'text'",
        "columns found: 'source'",
    )


def test_empty_text(tmp_path):
    path = write(tmp_path, "blank.csv", 'text,label\ngood,1\n"   ",0\n')
    check(
        error_of(DataError, run_task, path),
        path,
        "line 3",
        "field text",
        "text is empty",
        "expected a non-empty string",
        "found '   '",
    )


def test_row_of_empty_fields_is_not_skipped(tmp_path):
    path = write(tmp_path, "tabs.tsv", "text\tlabel\ngood\t1\n\t\n")
    check(
        error_of(DataError, run_task, path, reader="glue_tsv"),
        path,
        "line 3",
        "field text",
        "text is empty",
        "expected a non-empty string",
        "found ''",
    )


def test_empty_text_second_segment_of_a_pair(tmp_path):
    path = write(tmp_path, "pair.tsv", "a\tb\tlabel\nx\ty\t1\nx\t\t0\n")
    check(
        error_of(DataError, run_task, path, reader="glue_tsv", text_fields=["a", "b"]),
        path,
        "line 3",
        "field b",
        "text is empty",
        "expected a non-empty string",
    )


def test_missing_classification_label(tmp_path):
    path = write(tmp_path, "nolabel.csv", "text,label\ngood,1\nbad,\n")
    check(
        error_of(DataError, run_task, path),
        path,
        "line 3",
        "field label",
        "label is empty",
        "expected a class label",
    )


def test_dev_label_outside_the_train_label_set(tmp_path):
    train = write(tmp_path, "train.csv", GOOD_CSV)
    dev = write(tmp_path, "dev.csv", "text,label\nfine,1\nmeh,2\n")
    check(
        error_of(DataError, run_task, train, dev),
        dev,
        "line 3",
        "field label",
        "label '2' is not in the task's label set ['0', '1']",
        "expected one of those",
    )


def test_train_label_outside_the_configured_labels(tmp_path):
    train = write(tmp_path, "train.csv", "text,label\ngood,positive\nbad,negativ\n")
    check(
        error_of(DataError, run_task, train, labels=["negative", "positive"]),
        train,
        "line 3",
        "field label",
        "label 'negativ' is not in the task's label set",
        "['negative', 'positive']",
    )


def test_single_class_in_training_file(tmp_path):
    train = write(tmp_path, "one.csv", "text,label\na,1\nb,1\n")
    check(
        error_of(DataError, run_task, train),
        train,
        "field label",
        "a single label '1'",
        "expected at least two classes",
    )


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("nan", "expected a finite number, found 'nan'"),
        ("inf", "expected a finite number, found 'inf'"),
        ("-Infinity", "expected a finite number, found '-Infinity'"),
        ("high", "expected a number, found 'high'"),
        ("", "expected a number, found ''"),
    ],
)
def test_bad_regression_label(tmp_path, value, expected):
    path = write(tmp_path, "sts.tsv", f"text\tscore\nfine\t1.5\nodd\t{value}\n")
    check(
        error_of(
            DataError, run_task, path, type="regression", reader="glue_tsv", label_field="score"
        ),
        path,
        "line 3",
        "field score",
        expected,
    )


def test_regression_label_json_boolean(tmp_path):
    path = write(
        tmp_path, "sts.jsonl", '{"text": "a", "score": 1.0}\n{"text": "b", "score": true}\n'
    )
    check(
        error_of(DataError, run_task, path, type="regression", reader="jsonl", label_field="score"),
        path,
        "line 2",
        "field score",
        "expected a number, found True",
    )


def test_out_of_range_regression_label_warns_with_file_and_line(tmp_path, caplog):
    path = write(tmp_path, "sts.tsv", "text\tscore\na\t1.0\nb\t7.5\nc\t-1\n")
    with caplog.at_level(logging.WARNING, logger="mtl_pipeline.task_types.regression"):
        train, _, info = run_task(
            path,
            type="regression",
            reader="glue_tsv",
            label_field="score",
            head={"label_range": [0, 5]},
        )
    assert train["label"].tolist() == [1.0, 7.5, -1.0]  # a warning, not an error: rows kept
    messages = [r.getMessage() for r in caplog.records]
    check(
        messages[0],
        path,
        "line 3",
        "field score",
        "label 7.5 is outside label_range [0.0, 5.0]",
        "expected a value in that range",
    )
    check(messages[1], "line 4", "label -1.0")
    assert info["train_summary"]["out_of_range"] == 2


def test_out_of_range_warnings_are_capped_per_file(tmp_path, caplog):
    rows = "".join(f"t{i}\t{10 + i}\n" for i in range(8))
    path = write(tmp_path, "sts.tsv", "text\tscore\n" + rows)
    with caplog.at_level(logging.WARNING, logger="mtl_pipeline.task_types.regression"):
        _, _, info = run_task(
            path,
            type="regression",
            reader="glue_tsv",
            label_field="score",
            head={"label_range": [0, 5]},
        )
    per_row = [r for r in caplog.records if "is outside label_range" in r.getMessage()]
    assert len(per_row) == 5  # per file; the rest are counted, not logged
    assert any("not logged one by one" in r.getMessage() for r in caplog.records)
    assert info["train_summary"]["out_of_range"] == 8


def test_all_blank_rows_leave_the_task_with_zero_rows(tmp_path):
    path = write(tmp_path, "gaps.tsv", "text\tlabel\n\n   \n\r\n")
    check(
        error_of(DataError, run_task, path, reader="glue_tsv"),
        path,
        "no data rows",
        "expected at least one example",
    )


def test_caps_cannot_empty_a_task(base_params):
    params = params_with(base_params, tasks__sst2__max_train_examples=0)
    check(
        error_of(ConfigError, parse_run_config, params),
        "tasks.sst2.max_train_examples",
        "greater than 0",
        "(got 0)",
    )


# --- tagging: tokens and tags ----------------------------------------------------------------


def tagging(path: str, reader: str = "jsonl") -> Any:
    return run_task(path, type="tagging", reader=reader, text_fields=["tokens"], label_field="tags")


def test_tokens_and_tags_length_mismatch(tmp_path):
    path = write(
        tmp_path,
        "ner.jsonl",
        '{"tokens": ["a", "b"], "tags": ["X", "Y"]}\n{"tokens": ["a", "b", "c"], "tags": ["X", "Y"]}\n',
    )
    check(
        error_of(DataError, tagging, path),
        path,
        "line 2",
        "field tags",
        "expected one tag per token of field tokens (3 tags)",
        "found 2 tags",
    )


def test_tokens_not_a_list(tmp_path):
    path = write(tmp_path, "ner.jsonl", '{"tokens": "a b", "tags": ["X", "Y"]}\n')
    check(
        error_of(DataError, tagging, path),
        path,
        "line 1",
        "field tokens",
        "expected a non-empty list of tokens",
        "found str 'a b'",
    )


def test_empty_token_in_a_sentence(tmp_path):
    path = write(tmp_path, "ner.jsonl", '{"tokens": ["a", " ", "c"], "tags": ["X", "Y", "X"]}\n')
    check(
        error_of(DataError, tagging, path),
        path,
        "line 1",
        "field tokens: token 2",
        "text is empty",
        "expected a non-empty string",
    )


def test_empty_tag(tmp_path):
    path = write(tmp_path, "ner.jsonl", '{"tokens": ["a", "b"], "tags": ["X", ""]}\n')
    check(
        error_of(DataError, tagging, path), path, "line 1", "field tags", "empty tag", "['X', '']"
    )


# --- CoNLL-U ---------------------------------------------------------------------------------


def conllu(tmp_path: Path, text: str) -> str:
    return ConlluReader(NoOptions()).read(write(tmp_path, "bad.conllu", text))


def test_conllu_wrong_field_count(tmp_path):
    text = "# sent_id = 1\n1\tDogs\tdog\tNOUN\tNNS\t_\t2\tnsubj\t_\n"
    check(
        error_of(DataError, conllu, tmp_path, text),
        "bad.conllu",
        "line 2",
        "expected 10 tab-separated CoNLL-U fields",
        "found 9",
    )


def test_conllu_spaces_instead_of_tabs(tmp_path):
    text = "1 Dogs dog NOUN NNS _ 2 nsubj _ _\n"
    check(
        error_of(DataError, conllu, tmp_path, text),
        "bad.conllu",
        "line 1",
        "expected 10 tab-separated",
        "found 1",
    )


def test_conllu_non_integer_id(tmp_path):
    text = CONLLU_OK + "\nx\tHi\thi\tINTJ\tUH\t_\t0\troot\t_\t_\n"
    check(
        error_of(DataError, conllu, tmp_path, text),
        "bad.conllu",
        "line 4",
        "field ID",
        "expected an integer word ID",
        "found 'x'",
    )


def test_conllu_out_of_order_ids(tmp_path):
    text = CONLLU_OK.replace("2\tbark", "3\tbark")
    check(
        error_of(DataError, conllu, tmp_path, text),
        "bad.conllu",
        "line 2",
        "field ID",
        "expected word 2, found 3",
    )


def test_conllu_sentences_not_separated_by_a_blank_line(tmp_path):
    text = CONLLU_OK + CONLLU_OK
    check(
        error_of(DataError, conllu, tmp_path, text),
        "bad.conllu",
        "line 3",
        "expected word 3, found 1",
        "a blank line must separate sentences",
    )


def test_conllu_malformed_multiword_range(tmp_path):
    text = "1-x\tDogs'\t_\t_\t_\t_\t_\t_\t_\t_\n" + CONLLU_OK
    check(
        error_of(DataError, conllu, tmp_path, text),
        "bad.conllu",
        "line 1",
        "field ID",
        "found '1-x'",
    )


def test_conllu_multiword_range_out_of_place(tmp_path):
    text = "1\tI\tI\tPRON\tPRP\t_\t0\troot\t_\t_\n3-4\tdon't\t_\t_\t_\t_\t_\t_\t_\t_\n"
    check(
        error_of(DataError, conllu, tmp_path, text),
        "bad.conllu",
        "line 2",
        "field ID",
        "expected a multi-word range 2-N",
        "found '3-4'",
    )


def test_conllu_empty_upos_field(tmp_path):
    text = CONLLU_OK.replace("NOUN", "")
    check(
        error_of(DataError, conllu, tmp_path, text),
        "bad.conllu",
        "line 1",
        "field UPOS",
        "empty",
        "expected a value",
        "`_`",
    )


def test_conllu_without_token_lines(tmp_path):
    check(
        error_of(DataError, conllu, tmp_path, "# just a comment\n# and another\n"),
        "bad.conllu",
        "no data rows",
        "no token lines",
        "expected at least one example",
    )


# --- configuration ---------------------------------------------------------------------------


def test_unknown_key_in_a_task_suggests_the_right_one(base_params):
    params = params_with(base_params, tasks__sst2__lables=["0", "1"])
    check(
        error_of(ConfigError, parse_run_config, params),
        "tasks.sst2.lables: unknown key",
        "Did you mean 'labels'?",
        "Valid keys here:",
    )


def test_unknown_top_level_and_training_keys(base_params):
    params = params_with(base_params, trainng={}, training__max_step=3)
    message = error_of(ConfigError, parse_run_config, params)
    check(message, "trainng: unknown key", "Did you mean 'training'?")
    check(message, "training.max_step: unknown key", "Did you mean 'max_steps'?")


def test_wrong_type(base_params):
    params = params_with(base_params, training__batch_size="big")
    check(
        error_of(ConfigError, parse_run_config, params),
        "training.batch_size",
        "valid integer",
        "(got 'big')",
    )


@pytest.mark.parametrize("steps", [0, -5])
def test_zero_or_negative_steps(base_params, steps):
    params = params_with(base_params, training__max_steps=steps)
    check(
        error_of(ConfigError, parse_run_config, params),
        "training.max_steps",
        "greater than 0",
        f"(got {steps})",
    )


def test_missing_required_task_key(base_params):
    params = params_with(base_params)
    del params["tasks"]["sst2"]["label_field"]
    message = error_of(ConfigError, parse_run_config, params)
    check(message, "tasks.sst2.label_field: required key is missing")
    assert "'text_fields'" not in message  # the whole task mapping is not dumped


def test_no_tasks(base_params):
    params = params_with(base_params, tasks={})
    check(error_of(ConfigError, parse_run_config, params), "tasks is empty", "at least one task")


def test_invalid_task_name_with_a_dot(base_params):
    params = params_with(base_params)
    params["tasks"]["my.task"] = params["tasks"].pop("sst2")
    message = error_of(ConfigError, parse_run_config, params)
    check(message, "tasks: task name 'my.task'", "expected a letter followed by letters", "'.'")
    assert len(message) < 400  # no dump of every task


def test_duplicate_labels_in_config(base_params):
    params = params_with(base_params, tasks__sst2__labels=["0", "1", "0"])
    check(
        error_of(ConfigError, parse_run_config, params),
        "tasks.sst2.labels",
        "expected each label once",
        "found ['0']",
    )


def test_single_configured_label(base_params):
    params = params_with(base_params, tasks__sst2__labels=["1"])
    check(error_of(ConfigError, parse_run_config, params), "tasks.sst2.labels", "at least 2 items")


def test_label_field_also_a_text_field(base_params):
    params = params_with(base_params, tasks__sst2__label_field="sentence")
    check(
        error_of(ConfigError, parse_run_config, params),
        "tasks.sst2",
        "label_field: 'sentence' is also in text_fields",
        "expected the label",
    )


@pytest.mark.parametrize(
    ("key", "spec", "available"),
    [
        ("training__sampler", {"name": "tempreature"}, "temperature (builtins)"),
        ("training__loss", {"name": "equl"}, "equal (builtins)"),
        ("tasks__sst2__reader", "tsv", "glue_tsv (builtins)"),
        ("tasks__sst2__type", "classifcation", "classification (builtins)"),
        ("tasks__sst2__metrics", ["acuracy"], "accuracy (builtins)"),
        ("training__strategy", "stilst", "stilts (builtins)"),
        ("model__architecture", {"name": "per_task", "base": {"name": "hard_sharng"}}, "mmoe"),
    ],
)
def test_unknown_component_lists_the_available_ones_with_plugin(base_params, key, spec, available):
    params = params_with(base_params, **{key: spec})
    message = error_of(UnknownComponentError, validate_parameters, params)
    check(message, key.replace("__", "."), "unknown", "Available", available)


def test_per_task_base_checked_at_config_time(base_params):
    """The base architecture's own option checks run before any data is read."""
    base = {"name": "hard_sharing", "pooling": "maxx"}
    params = params_with(base_params, model__architecture={"name": "per_task", "base": base})
    check(error_of(ConfigError, validate_parameters, params), "model.architecture.base")
    params = params_with(base_params, model__architecture={"name": "per_task", "base": {}})
    check(
        error_of(ConfigError, validate_parameters, params),
        "model.architecture.base: expected {name: <architecture>}",
    )


def test_component_option_typo_suggests_the_option(base_params):
    reader = {"name": "glue_tsv", "headr": False}
    params = params_with(base_params, tasks__cola__reader=reader)
    check(
        error_of(ConfigError, validate_parameters, params),
        "tasks.cola.reader: invalid options for 'glue_tsv'",
        "headr: unknown option",
        "did you mean 'header'?",
        "Options it accepts: columns, header",
    )


def test_component_option_wrong_type(base_params):
    params = params_with(base_params, training__sampler={"name": "temperature", "T": "hot"})
    check(
        error_of(ConfigError, validate_parameters, params),
        "training.sampler: invalid options for 'temperature'",
        "T:",
        "valid number",
        "(got 'hot')",
    )


def test_label_range_on_a_classification_task(base_params):
    params = params_with(base_params, tasks__sst2__head={"label_range": [0, 5]})
    check(
        error_of(ConfigError, validate_parameters, params),
        "tasks.sst2.head: invalid options for 'classification'",
        "label_range: unknown option",
        "Options it accepts: class_weights, dropout, pooling",
    )


def test_label_range_reversed(base_params):
    params = params_with(base_params, tasks__stsb__head={"label_range": [5, 0]})
    check(
        error_of(ConfigError, validate_parameters, params),
        "tasks.stsb.head",
        "label_range: expected finite [lo, hi] with lo < hi",
        "(got [5, 0])",
        "found [5.0, 0.0]",
    )


def test_tasks_per_step_exceeds_task_count(base_params):
    params = params_with(base_params, training__tasks_per_step=9)
    check(
        error_of(ConfigError, validate_parameters, params),
        "training.tasks_per_step: 9 exceeds the number of tasks (5)",
        "expected at most 5",
    )


def test_missing_encoder_path(base_params, tmp_path):
    missing = str(tmp_path / "no_such_model")
    params = params_with(base_params, model__encoder=missing)
    check(
        error_of(ConfigError, validate_parameters, params),
        "model.encoder",
        missing,
        "does not exist",
        "expected a save_pretrained folder",
    )


def test_encoder_folder_without_config_json(tmp_path):
    check(
        error_of(ConfigError, resolve_model_path, str(tmp_path)),
        "model.encoder",
        str(tmp_path),
        "no config.json",
        "expected a save_pretrained folder",
    )


def test_tokenizer_does_not_match_the_encoder():
    from transformers import BertConfig

    from tests.test_tokenization import tokenizer

    small = BertConfig(vocab_size=1000, hidden_size=8, num_hidden_layers=1, num_attention_heads=1)
    check(
        error_of(ConfigError, check_tokenizer_matches, tokenizer(), small),
        "model.tokenizer",
        "tokenizer has 30522 tokens",
        "embedding table has 1000",
        "expected the encoder's own tokenizer",
    )


def test_duplicate_task_names_in_one_yaml_file(tmp_path):
    conf = tmp_path / "conf"
    (conf / "base").mkdir(parents=True)
    (conf / "local").mkdir()
    (conf / "base" / "parameters_ingestion.yml").write_text(
        "tasks:\n  sst2:\n    type: classification\n  rte:\n    type: classification\n"
        "  sst2:\n    type: regression\n"
    )
    message = error_of(
        ConfigError, lambda: ProjectConfigLoader(conf_source=str(conf))["parameters"]
    )
    check(
        message,
        "parameters_ingestion.yml",
        "line 6",
        "duplicate key sst2",
        "first at line 2",
        "expected each key once",
    )


def test_duplicate_task_names_across_two_yaml_files(tmp_path):
    conf = tmp_path / "conf"
    (conf / "base").mkdir(parents=True)
    (conf / "local").mkdir()
    (conf / "base" / "parameters_a.yml").write_text("tasks:\n  sst2:\n    type: classification\n")
    (conf / "base" / "parameters_b.yml").write_text("tasks:\n  sst2:\n    type: regression\n")
    message = error_of(ValueError, lambda: ProjectConfigLoader(conf_source=str(conf))["parameters"])
    check(message, "Duplicate keys", "parameters_a.yml", "parameters_b.yml", "tasks.sst2")


# --- plugins (one entry each; tests/test_plugins.py has the thorough ones) ------------------


def _manager(**plugins: Any) -> pluggy.PluginManager:
    pm = pluggy.PluginManager(PROJECT_NAME)
    pm.add_hookspecs(MTLHookSpecs)
    for name, plugin in plugins.items():
        pm.register(plugin, name=name)
    return pm


class _CsvAgain:
    @hookimpl
    def register_readers(self) -> list[type]:
        return [CsvReader]


class _DictInsteadOfList:
    @hookimpl
    def register_metrics(self) -> dict[str, Any]:
        return {"accuracy": BUILTIN_METRICS[0]}


def test_plugin_failing_import(monkeypatch):
    from importlib.metadata import EntryPoint

    import mtl_pipeline.registry as registry

    broken = EntryPoint(name="broken", value="mtl_no_such_module_xyz", group="mtl_pipeline")
    monkeypatch.setattr(registry.md, "entry_points", lambda group: [broken])
    check(
        error_of(PluginError, registry.build_plugin_manager),
        "Plugin 'broken' failed to import",
        "mtl_no_such_module_xyz",
        "ModuleNotFoundError",
        "MTL_PIPELINE_DISABLE_PLUGINS=broken",
    )


def test_plugin_duplicate_component_name():
    pm = _manager(first=_CsvAgain(), second=_CsvAgain())
    check(
        error_of(PluginError, Registry, pm, {}),
        "Duplicate reader name 'csv'",
        "'first'",
        "'second'",
        "MTL_PIPELINE_DISABLE_PLUGINS",
    )


def test_plugin_hook_returns_the_wrong_type():
    pm = _manager(odd=_DictInsteadOfList())
    check(
        error_of(PluginError, Registry, pm, {}),
        "Plugin 'odd'",
        "register_metrics() must return a list of metric components",
        "got dict",
    )


# --- metrics ---------------------------------------------------------------------------------


def test_binary_f1_on_a_multiclass_task():
    import numpy as np

    f1 = next(m for m in BUILTIN_METRICS if m.name == "f1")
    check(
        error_of(ValueError, f1, np.array([0, 1, 2]), np.array([0, 2, 1])),
        "metric f1",
        "expects label ids 0 and 1",
        "found [0, 1, 2]",
        "use macro_f1",
    )


# --- data that would silently train the wrong thing -------------------------------------------


def test_validation_that_is_the_training_file_is_refused(tmp_path):
    path = write(tmp_path, "a.csv", GOOD_CSV)
    # Spelt differently (relative with ./ and ..), still the same file.
    other = str(tmp_path / "sub" / ".." / "a.csv")
    (tmp_path / "sub").mkdir()
    message = error_of(DataError, run_task, path, other)
    check(message, "tasks.t.validation", "same source as tasks.t.train", str(tmp_path / "a.csv"))
    check(message, "ingestion.overlap: allow")
    # A hard link is the same file too.
    link = tmp_path / "dev.csv"
    link.hardlink_to(path)
    check(error_of(DataError, run_task, path, str(link)), "same source as tasks.t.train")
    # Explicitly allowed: ingests, and the rows are then counted as overlapping nowhere.
    _, dev, _ = run_task(path, other, overlap="allow")
    assert len(dev) == 2


def test_validation_rows_repeating_training_inputs_warn_with_count_and_lines(tmp_path, caplog):
    train = write(tmp_path, "t.csv", "text,label\ngood,1\nbad,0\nfine,1\n")
    dev = write(tmp_path, "d.csv", "text,label\nnew,1\nbad,0\nfine,0\n")
    with caplog.at_level(logging.WARNING, logger="mtl_pipeline.ingestion"):
        _, _, info = run_task(train, dev)
    check(
        caplog.text,
        "tasks.t: 2 of 3 validation rows (66.7%) have the same input as a training row",
        f"{dev}: line 3 = {train}: line 3",
        f"{dev}: line 4 = {train}: line 4",
    )
    assert info["validation_rows_in_train"] == 2
    message = error_of(DataError, run_task, train, dev, overlap="error")
    check(message, "2 of 3 validation rows", "ingestion.overlap: error")


def test_overlap_of_sentence_pairs_compares_both_texts(tmp_path, caplog):
    train = write(tmp_path, "t.csv", "a,b,label\nx,y,1\nx,z,0\n")
    dev = write(tmp_path, "d.csv", "a,b,label\nx,w,1\nz,y,0\n")
    with caplog.at_level(logging.WARNING, logger="mtl_pipeline.ingestion"):
        _, _, info = run_task(train, dev, text_fields=["a", "b"])
    assert info["validation_rows_in_train"] == 0 and "same input" not in caplog.text


def test_overlap_option_is_validated(base_params):
    message = error_of(
        ConfigError, parse_run_config, params_with(base_params, ingestion__overlap="never")
    )
    check(message, "ingestion.overlap", "'warn', 'error' or 'allow'")


def _binary_parquet(tmp_path: Path, texts: list[bytes], labels: list[bytes]) -> str:
    import pyarrow as pa
    import pyarrow.parquet as pq

    path = tmp_path / "bin.parquet"
    table = pa.table({"text": pa.array(texts, pa.binary()), "label": pa.array(labels, pa.binary())})
    pq.write_table(table, path)
    return str(path)


def test_parquet_binary_text_is_decoded_not_stringified(tmp_path):
    path = _binary_parquet(tmp_path, [b"caf\xc3\xa9 ok", b"bad"], [b"1", b"0"])
    assert ParquetReader(NoOptions()).read(path)["label"].tolist() == ["1", "0"]  # the reader's
    train, _, info = run_task(path, reader="parquet")
    assert train["text_a"].tolist() == ["café ok", "bad"]  # not "b'caf\\xc3\\xa9 ok'"
    assert info["labels"] == ["0", "1"]


def test_parquet_binary_that_is_not_utf8_names_row_and_field(tmp_path):
    path = _binary_parquet(tmp_path, [b"fine", b"caf\xe9"], [b"1", b"0"])
    check(
        error_of(DataError, ParquetReader(NoOptions()).read, path),
        path,
        "row 2: field text",
        "not UTF-8 text (byte 0xe9",
    )


def test_labels_that_differ_only_in_case_or_whitespace_are_refused(tmp_path):
    path = write(tmp_path, "c.csv", "text,label\na,positive\nb,negative\nc,Positive\n")
    check(
        error_of(DataError, run_task, path),
        f"{path}: line 4: field label",
        "'Positive' and label 'positive'",
        f"({path}: line 2)",
        "differ only in case, whitespace or the writing of a number",
    )
    spaced = write(tmp_path, "s.csv", "text,label\na,not entailment\nb,not  entailment\n")
    check(error_of(DataError, run_task, spaced), "'not  entailment' and label 'not entailment'")
    # Across the splits: the validation file spells a training class differently.
    train = write(tmp_path, "t.csv", "text,label\na,pos\nb,neg\n")
    dev = write(tmp_path, "d.csv", "text,label\nc,Neg\n")
    check(error_of(DataError, run_task, train, dev), f"{dev}: line 2", "'Neg' and label 'neg'")


def test_numeric_label_spellings_are_one_class(tmp_path):
    # JSON 1 and 1.0, strings "1.0", " 1" and "1e0": one class "1", not five.
    lines = [
        '{"text": "a", "label": 1}',
        '{"text": "b", "label": 1.0}',
        '{"text": "c", "label": "1.0"}',
        '{"text": "d", "label": " 1"}',
        '{"text": "e", "label": "1e0"}',
        '{"text": "f", "label": 0}',
        '{"text": "g", "label": 0.5}',
        '{"text": "h", "label": "0.5"}',
    ]
    path = write(tmp_path, "n.jsonl", "\n".join(lines) + "\n")
    train, _, info = run_task(path, reader="jsonl")
    assert info["labels"] == ["0", "0.5", "1"]
    assert train["label"].tolist() == ["1", "1", "1", "1", "1", "0", "0.5", "0.5"]


def test_one_fraction_written_two_ways_is_refused_not_merged(tmp_path):
    # "1.1" and "1.10" are one number but may be two codes (sections): ask, never merge.
    path = write(tmp_path, "f.csv", "text,label\na,1.1\nb,2\nc,1.10\n")
    check(
        error_of(DataError, run_task, path),
        f"{path}: line 4: field label: label '1.10' and label '1.1'",
        "the writing of a number",
    )


@pytest.mark.parametrize(
    ("label", "found"), [('{"a": 1}', "dict {'a': 1}"), ("[0, 1]", "list [0, 1]")]
)
def test_json_object_or_list_label_is_refused(tmp_path, label, found):
    path = write(
        tmp_path, "o.jsonl", f'{{"text": "a", "label": 0}}\n{{"text": "b", "label": {label}}}\n'
    )
    check(
        error_of(DataError, run_task, path, reader="jsonl"),
        f"{path}: line 2: field label",
        "expected a class label (a string or a number)",
        found,
    )


def test_json_object_as_a_tag_is_refused(tmp_path):
    path = write(tmp_path, "t.jsonl", '{"tokens": ["a", "b"], "tags": ["X", {"y": 1}]}\n')
    check(
        error_of(DataError, tagging, path),
        f"{path}: line 1: field tags: tag 2",
        "expected a class label (a string or a number), found dict",
    )


def test_configured_class_without_training_rows_is_refused(tmp_path):
    train = write(tmp_path, "t.csv", "text,label\na,pos\nb,neg\n")
    dev = write(tmp_path, "d.csv", "text,label\nc,pos\n")
    check(
        error_of(DataError, run_task, train, dev, labels=["neg", "neutral", "pos"]),
        "tasks.t.labels: class(es) ['neutral'] have no rows in the training data",
        f"{train}: field label",
    )


def test_class_missing_only_from_the_capped_subset_warns(tmp_path, caplog):
    rows = "".join(f"t{i},pos\n" for i in range(40)) + "rare,neg\n"
    train = write(tmp_path, "t.csv", "text,label\n" + rows)
    dev = write(tmp_path, "d.csv", "text,label\nc,pos\n")
    with caplog.at_level(logging.WARNING, logger="mtl_pipeline.ingestion"):
        run_task(train, dev, labels=["neg", "pos"], max_train_examples=5)
    check(caplog.text, "tasks.t: class(es) ['neg'] occur in", "max_train_examples")


@pytest.mark.parametrize(
    ("task", "metric", "kind"),
    [
        ("sst2", "pearson", "'classification' (sequence-level, classes predictions)"),
        ("stsb", "accuracy", "'regression' (sequence-level, values predictions)"),
        ("sst2", "token_accuracy", "'classification' (sequence-level, classes predictions)"),
    ],
)
def test_metric_that_does_not_fit_the_task_type_is_refused(base_params, task, metric, kind):
    params = params_with(base_params, **{f"tasks__{task}__metrics": [metric, "accuracy"]})
    message = error_of(ConfigError, validate_parameters, params)
    check(message, f"tasks.{task}.metrics: metric {metric!r} does not fit task {task!r}", kind)
    check(message, "Metrics that fit:")


def test_metric_fit_declaration_of_plugin_metrics():
    from mtl_pipeline.metrics.base import Metric
    from mtl_pipeline.task_types.classification import ClassificationTask
    from mtl_pipeline.task_types.regression import RegressionTask
    from mtl_pipeline.task_types.tagging import TaggingTask

    undeclared = Metric("anything", lambda p, r: 0.0)  # the default: fits every task
    assert all(undeclared.fits(t) for t in (ClassificationTask, RegressionTask, TaggingTask))
    values = Metric("mae_like", lambda p, r: 0.0, predictions="values")
    assert values.fits(RegressionTask) and not values.fits(ClassificationTask)
    named = Metric("span_f1", lambda p, r: 0.0, task_types={"tagging"})
    assert named.fits(TaggingTask) and not named.fits(ClassificationTask)
    with pytest.raises(ValueError, match="predictions \\['labels'\\] not known"):
        Metric("bad", lambda p, r: 0.0, predictions={"labels"})


def test_builtin_metrics_fit_the_shipped_tasks(base_params):
    validate_parameters(base_params)  # pearson on stsb, mcc on cola, f1 on mrpc: all fit


def test_outputs_of_tasks_not_in_the_run_are_moved_aside(tmp_path):
    from mtl_pipeline.pipelines.reporting.nodes import collect_metrics, index_tasks

    for task in ("sst2", "old"):
        (tmp_path / "data/08_reporting" / task).mkdir(parents=True)
        (tmp_path / "data/08_reporting" / task / "metrics.json").write_text("{}")
        (tmp_path / "data/07_model_output" / task).mkdir(parents=True)
        (tmp_path / "data/07_model_output" / task / "predictions.parquet").write_text("x")
    (tmp_path / "data/08_reporting/experiments").mkdir()  # another pipeline's, kept
    (tmp_path / "data/07_model_output/predictions").mkdir()
    metrics = collect_metrics(sst2__metrics={"accuracy": 0.5})
    index = index_tasks(metrics, str(tmp_path))
    assert index["tasks"] == ["sst2"]
    assert sorted(p.name for p in (tmp_path / "data/08_reporting").iterdir()) == [
        ".removed_tasks",
        "experiments",
        "sst2",
    ]
    assert sorted(p.name for p in (tmp_path / "data/07_model_output").iterdir()) == [
        ".removed_tasks",
        "predictions",
        "sst2",
    ]
    assert (tmp_path / "data/08_reporting/.removed_tasks/old/metrics.json").exists()
    assert index["moved_aside"] == {
        "old": [
            "data/08_reporting/.removed_tasks/old",
            "data/07_model_output/.removed_tasks/old",
        ]
    }
    # Removed again later: the newer copy replaces the older one.
    (tmp_path / "data/08_reporting/old").mkdir()
    (tmp_path / "data/08_reporting/old/metrics.json").write_text('{"new": 1}')
    index_tasks(metrics, str(tmp_path))
    moved = tmp_path / "data/08_reporting/.removed_tasks/old/metrics.json"
    assert moved.read_text() == '{"new": 1}'


# --- files: compression, line endings, Unicode ------------------------------------------------


def test_gzip_files_are_read_transparently_by_every_reader(tmp_path):
    import gzip

    def gz(name: str, text: str) -> str:
        return write(tmp_path, name, gzip.compress(text.encode("utf-8")))

    assert glue(gz("a.tsv.gz", "text\tlabel\nx\t1\n"))["text"].tolist() == ["x"]
    assert csv_read(gz("a.csv.gz", "text,label\nx,1\n"))["text"].tolist() == ["x"]
    jsonl = gz("a.jsonl.gz", '{"text": "x", "label": 1}\n')
    assert JsonLinesReader(NoOptions()).read(jsonl)["text"].tolist() == ["x"]
    conllu = ConlluReader(NoOptions()).read(gz("a.conllu.gz", CONLLU_OK))
    assert conllu["tokens"].tolist() == [["Dogs", "bark"]]
    parquet = tmp_path / "p.parquet"
    pd.DataFrame({"text": ["x"], "label": [1]}).to_parquet(parquet)
    packed = write(tmp_path, "p.parquet.gz", gzip.compress(parquet.read_bytes()))
    assert ParquetReader(NoOptions()).read(packed)["text"].tolist() == ["x"]


def test_corrupt_gzip_and_other_binary_files_say_what_they_are(tmp_path):
    import gzip
    import zipfile

    cut = write(tmp_path, "cut.tsv.gz", gzip.compress(b"text\tlabel\n" + b"x\t1\n" * 500)[:40])
    check(error_of(DataError, glue, cut), cut, "starts like a gzip file but does not decompress")
    archive = tmp_path / "a.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        zf.writestr("train.tsv", "text\tlabel\nx\t1\n")
    check(error_of(DataError, glue, str(archive)), str(archive), "is a zip archive (unzip it")


@pytest.mark.parametrize("reader", ["glue_tsv", "csv", "jsonl", "conllu"])
def test_cr_only_line_endings_are_read_with_right_line_numbers(tmp_path, reader):
    content = {
        "glue_tsv": "text\tlabel\rx\t1\r\ry\t0\r",
        "csv": "text,label\rx,1\r\ry,0\r",
        "jsonl": '{"text": "x", "label": 1}\r\r{"text": "y", "label": 0}\r',
        "conllu": CONLLU_OK.replace("\n", "\r") + "\r" + CONLLU_OK.replace("\n", "\r"),
    }[reader]
    path = write(tmp_path, f"cr.{reader}", content)
    readers = {
        "glue_tsv": glue,
        "csv": csv_read,
        "jsonl": JsonLinesReader(NoOptions()).read,
        "conllu": ConlluReader(NoOptions()).read,
    }
    frame = readers[reader](path)
    expected_rows = {"glue_tsv": [2, 4], "csv": [2, 4], "jsonl": [1, 3], "conllu": [1, 4]}
    assert frame[ROW_COLUMN].tolist() == expected_rows[reader]
    column = "tokens" if reader == "conllu" else "text"
    assert all("\r" not in str(v) for v in frame[column])


def test_cr_only_file_errors_name_the_right_line(tmp_path):
    path = write(tmp_path, "cr.tsv", "text\tlabel\rx\t1\ry\t0\textra\r")
    check(error_of(DataError, glue, path), f"{path}: line 3", "expected 2 tab-separated fields")


@pytest.mark.parametrize("field", ["text", "label"])
def test_jsonl_lone_surrogate_names_line_and_field(tmp_path, field):
    lines = ['{"text": "fine", "label": "a"}', '{"text": "ok", "label": "b"}']
    lines[1] = lines[1].replace('"ok"' if field == "text" else '"b"', '"x\\ud800y"')
    path = write(tmp_path, "s.jsonl", "\n".join(lines) + "\n")
    check(
        error_of(DataError, run_task, path, reader="jsonl"),
        f"{path}: line 2: field {field}",
        "lone UTF-16 surrogate U+D800 at character 2",
    )


# --- labels in config and in messages ---------------------------------------------------------


def test_yaml_yes_no_labels_say_they_became_booleans(base_params, tmp_path):
    import yaml

    labels = yaml.safe_load("labels: [no, yes]")["labels"]  # how YAML reads them: booleans
    assert labels == [False, True]
    message = error_of(
        ConfigError, parse_run_config, params_with(base_params, tasks__sst2__labels=labels)
    )
    check(message, "tasks.sst2.labels", "label 1 is the boolean False", "quote the labels")


def test_numeric_labels_in_config_are_accepted_as_the_data_spells_them(base_params, tmp_path):
    config = parse_run_config(params_with(base_params, tasks__sst2__labels=[0, 1.0]))
    assert config.tasks["sst2"].labels == ["0", "1"]
    path = write(tmp_path, "n.jsonl", '{"text": "a", "label": 0}\n{"text": "b", "label": "1.0"}\n')
    dev = write(tmp_path, "d.jsonl", '{"text": "c", "label": 1}\n')
    _, _, info = run_task(path, dev, reader="jsonl", labels=[0, 1])
    assert info["labels"] == ["0", "1"]


def test_configured_labels_differing_only_in_case_are_refused(base_params):
    params = params_with(base_params, tasks__sst2__labels=["Pos", "pos"])
    check(
        error_of(ConfigError, parse_run_config, params),
        "tasks.sst2.labels",
        "labels 'Pos' and 'pos' differ only in case, whitespace or the writing of a number",
    )


def test_label_lists_in_messages_are_capped(tmp_path):
    # label_field points at an id column: one "class" per row.
    rows = "".join(f"text {i},id{i}\n" for i in range(200))
    train = write(tmp_path, "t.csv", "text,label\n" + rows)
    dev = write(tmp_path, "d.csv", "text,label\nx,id999\n")
    message = error_of(DataError, run_task, train, dev)
    check(message, f"{dev}: line 2", "label 'id999' is not in the task's label set")
    check(message, "... and 190 more (200 in all)]")
    assert "id150" not in message and len(message) < 700


def test_id_like_label_column_warns(tmp_path, caplog):
    rows = "".join(f"text {i},id{i}\n" for i in range(200))
    train = write(tmp_path, "t.csv", "text,label\n" + rows)
    dev = write(tmp_path, "d.csv", "text,label\nx,id1\n")
    with caplog.at_level(logging.WARNING, logger="mtl_pipeline.ingestion"):
        run_task(train, dev)
    check(caplog.text, "200 distinct labels in 200 training rows", "id or text column")


def test_parquet_and_hf_errors_say_row_not_line(tmp_path):
    import datasets

    parquet = tmp_path / "p.parquet"
    pd.DataFrame({"text": ["fine", "  "], "label": ["1", "0"]}).to_parquet(parquet)
    message = error_of(DataError, run_task, str(parquet), reader="parquet")
    check(message, f"{parquet}: row 2: field text: text is empty")
    assert "line" not in message
    pd.DataFrame({"text": ["a", "b"], "label": ["x", None]}).to_parquet(parquet)
    check(error_of(DataError, run_task, str(parquet), reader="parquet"), "row 2: field label")
    saved = tmp_path / "hf"
    datasets.Dataset.from_dict({"text": ["a", ""], "label": [0, 1]}).save_to_disk(str(saved))
    message = error_of(DataError, run_task, str(saved), reader="hf_disk")
    check(message, f"{saved}: row 2: field text")
    dev = tmp_path / "d.parquet"
    pd.DataFrame({"text": ["a"], "label": ["9"]}).to_parquet(dev)
    good = tmp_path / "g.parquet"
    pd.DataFrame({"text": ["a", "b"], "label": ["0", "1"]}).to_parquet(good)
    check(
        error_of(DataError, run_task, str(good), str(dev), reader="parquet"),
        f"{dev}: row 1: field label: label '9' is not in the task's label set",
    )


def test_own_data_doc_lists_only_builtin_metrics_that_fit_each_type():
    import re

    from mtl_pipeline.task_types.classification import ClassificationTask
    from mtl_pipeline.task_types.regression import RegressionTask
    from mtl_pipeline.task_types.tagging import TaggingTask

    builtin = {m.name: m for m in BUILTIN_METRICS}
    types = {"classification": ClassificationTask, "regression": RegressionTask}
    types["tagging"] = TaggingTask
    text = (REPO / "docs" / "own_data.md").read_text()
    seen = set()
    for line in text.splitlines():
        row = re.match(r"\| `(classification|regression|tagging)` \|.*\| (.*) \|$", line)
        if not row:
            continue
        seen.add(row[1])
        for name in re.findall(r"`(\w+)`", row[2]):
            assert name in builtin, f"own_data.md lists {name!r} for {row[1]}: not built in"
            assert builtin[name].fits(types[row[1]]), f"{name!r} does not fit {row[1]}"
    assert seen == set(types)


def test_predict_input_reader_chosen_through_a_compression_suffix():
    from mtl_pipeline.pipelines.predict.nodes import build_input_reader

    assert isinstance(build_input_reader("new.csv.gz"), CsvReader)
    assert isinstance(build_input_reader("new.v2.jsonl.xz"), JsonLinesReader)


def test_column_lists_in_messages_are_capped(tmp_path):
    header = ",".join(f"c{i}" for i in range(300))
    path = write(tmp_path, "wide.csv", header + ",label\n" + ",".join(["x"] * 301) + "\n")
    message = error_of(DataError, run_task, path)
    check(message, "missing column(s) 'text'", "'c0', 'c1'", "... and 281 more (301 in all)")
    assert "'c150'" not in message
    dup = write(tmp_path, "dup.csv", header + ",c0\n" + ",".join(["x"] * 301) + "\n")
    check(error_of(DataError, csv_read, dup), "duplicate column name 'c0'", "(301 in all)")


def test_hf_binary_feature_text_is_decoded(tmp_path):
    import datasets

    features = datasets.Features(
        {"text": datasets.Value("binary"), "label": datasets.Value("int64")}
    )
    saved = tmp_path / "bin"
    datasets.Dataset.from_dict(
        {"text": [b"caf\xc3\xa9", b"ok"], "label": [0, 1]}, features=features
    ).save_to_disk(str(saved))
    # Decoded by the reader itself, so predict's input path gets text as well.
    assert HfDiskReader(NoOptions()).read(str(saved))["text"].tolist() == ["café", "ok"]
    train, _, _ = run_task(str(saved), reader="hf_disk")
    assert train["text_a"].tolist() == ["café", "ok"]
