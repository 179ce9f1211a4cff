"""The bad-input catalogue (issue 10): one test per bad input, asserting what the user reads.

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
    **extra: Any,
) -> tuple[pd.DataFrame, pd.DataFrame, dict[str, Any]]:
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
    return ingest("t", cfg, None, None, 0)


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
    ],
)
def test_unknown_component_lists_the_available_ones_with_plugin(base_params, key, spec, available):
    params = params_with(base_params, **{key: spec})
    message = error_of(UnknownComponentError, validate_parameters, params)
    check(message, key.replace("__", "."), "unknown", "Available", available)


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
