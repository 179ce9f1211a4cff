"""Readers on real data: the GLUE quirks, CSV, JSON Lines, Parquet, CoNLL-U, HF.

The GLUE and UD files are the ones shipped in data/01_raw; expected counts are computed
from the raw bytes here, independently of the reader under test.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from mtl_pipeline.components import NoOptions
from mtl_pipeline.config import TaskConfig
from mtl_pipeline.errors import DataError
from mtl_pipeline.ingestion import ingest
from mtl_pipeline.readers.base import ROW_COLUMN
from mtl_pipeline.readers.conllu import ConlluReader
from mtl_pipeline.readers.csv_reader import CsvOptions, CsvReader
from mtl_pipeline.readers.glue_tsv import GlueTsvOptions, GlueTsvReader
from mtl_pipeline.readers.huggingface import HfDiskReader, HfHubOptions, HfHubReader
from mtl_pipeline.readers.jsonl import JsonLinesReader
from mtl_pipeline.readers.parquet import ParquetReader

REPO = Path(__file__).resolve().parents[1]
GLUE = REPO / "data" / "01_raw" / "glue"
UD = REPO / "data" / "01_raw" / "ud_english_ewt"
COLA_COLUMNS = ["source", "label", "original_label", "sentence"]


def _data_lines(path: Path) -> list[str]:
    """Non-empty lines, split on ``\\n`` only (GLUE texts may hold other separators)."""
    return [line for line in path.read_bytes().decode("utf-8-sig").split("\n") if line.strip()]


def _glue(header: bool = True, columns: list[str] | None = None) -> GlueTsvReader:
    return GlueTsvReader(GlueTsvOptions(header=header, columns=columns))


# --- GLUE TSV quirks ----------------------------------------------------------------------


@pytest.mark.parametrize("split", ["train", "dev"])
def test_mrpc_bom_and_bare_quotes_keep_every_row(split):
    path = GLUE / "MRPC" / f"{split}.tsv"
    raw = path.read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf") and b'"' in raw  # the quirks are really there
    frame = _glue().read(str(path))
    # wc -l minus the header: quoting off, so no row swallows the next one.
    assert len(frame) == raw.count(b"\n") - 1
    assert list(frame.columns[:1]) == ["Quality"]  # BOM dropped from the first header name
    assert frame[ROW_COLUMN].iloc[0] == 2
    quoted = frame[frame["#1 String"].str.contains('"', regex=False)]
    assert len(quoted) > 0  # bare quotes survive as text
    assert set(frame["Quality"]) == {"0", "1"}


@pytest.mark.parametrize("split", ["train", "dev"])
def test_cola_without_header_reads_every_line(split):
    path = GLUE / "CoLA" / f"{split}.tsv"
    frame = _glue(header=False, columns=COLA_COLUMNS).read(str(path))
    lines = _data_lines(path)
    assert len(frame) == len(lines)  # dev.tsv has no final newline: the last line still counts
    assert frame[ROW_COLUMN].iloc[0] == 1  # no header: the first line is data
    assert frame["sentence"].iloc[-1] == lines[-1].split("\t")[3]
    assert set(frame["label"]) == {"0", "1"}


def test_rte_string_labels_become_the_label_set():
    cfg = TaskConfig(
        type="classification",
        train=str(GLUE / "RTE" / "train.tsv"),
        validation=str(GLUE / "RTE" / "dev.tsv"),
        text_fields=["sentence1", "sentence2"],
        label_field="label",
        metrics=["accuracy"],
    )
    train, dev, info = ingest("rte", cfg, None, None, 0)
    assert info["labels"] == ["entailment", "not_entailment"]  # names sort alphabetically
    assert len(train) == len(_data_lines(GLUE / "RTE" / "train.tsv")) - 1
    assert train["text_b"].notna().all()
    assert set(dev["label"]) <= set(info["labels"])


def test_stsb_float_labels():
    cfg = TaskConfig(
        type="regression",
        train=str(GLUE / "STS-B" / "train.tsv"),
        validation=str(GLUE / "STS-B" / "dev.tsv"),
        text_fields=["sentence1", "sentence2"],
        label_field="score",
        metrics=["pearson"],
        head={"label_range": [0, 5]},
    )
    train, dev, info = ingest("stsb", cfg, None, None, 0)
    first = _data_lines(GLUE / "STS-B" / "train.tsv")[1].split("\t")
    assert train["label"].iloc[0] == pytest.approx(float(first[-1]))
    assert all(isinstance(v, float) for v in train["label"])
    assert info["labels"] == []
    assert 0.0 <= info["train_summary"]["min"] <= info["train_summary"]["max"] <= 5.0
    assert info["train_summary"]["out_of_range"] == 0


def test_sst2_all_rows_and_row_numbers():
    path = GLUE / "SST-2" / "train.tsv"
    frame = _glue().read(str(path))
    assert len(frame) == path.read_bytes().count(b"\n") - 1
    assert frame[ROW_COLUMN].tolist() == list(range(2, len(frame) + 2))


def test_glue_crlf_line_endings(tmp_path):
    path = tmp_path / "crlf.tsv"
    path.write_bytes(b"sentence\tlabel\r\nfine film\t1\r\nbad film\t0\r\n")
    frame = _glue().read(str(path))
    assert frame["label"].tolist() == ["1", "0"]  # no stray \r in the last column


# --- CSV, JSON Lines, Parquet ----------------------------------------------------------------


def test_csv_quoting_delimiters_and_multiline_fields(tmp_path):
    path = tmp_path / "data.csv"
    path.write_text(
        'text,label\n"a, quoted ""comma"" text",1\n"two\nlines",0\nplain,1\n', encoding="utf-8"
    )
    frame = CsvReader(CsvOptions()).read(str(path))
    assert frame["text"].tolist() == ['a, quoted "comma" text', "two\nlines", "plain"]
    assert frame[ROW_COLUMN].tolist() == [2, 3, 5]  # the line each record starts on


def test_csv_other_delimiter(tmp_path):
    path = tmp_path / "data.csv"
    path.write_text("text;label\nx, y;1\n", encoding="utf-8")
    frame = CsvReader(CsvOptions(delimiter=";")).read(str(path))
    assert frame["text"].tolist() == ["x, y"]


def test_jsonl_reads_objects_and_skips_blank_lines(tmp_path):
    path = tmp_path / "data.jsonl"
    path.write_text(
        '{"text": "first", "label": 1}\n\n{"text": "line\\u2028sep", "label": 0}\n',
        encoding="utf-8",
    )
    frame = JsonLinesReader(NoOptions()).read(str(path))
    assert frame["text"].tolist() == ["first", "line\u2028sep"]
    assert frame[ROW_COLUMN].tolist() == [1, 3]


def test_parquet_round_trip(tmp_path):
    path = tmp_path / "data.parquet"
    pd.DataFrame({"text": ["a", "b"], "score": [0.5, 4.0]}).to_parquet(path)
    frame = ParquetReader(NoOptions()).read(str(path))
    assert frame["score"].tolist() == [0.5, 4.0]
    assert frame[ROW_COLUMN].tolist() == [1, 2]


# --- CoNLL-U on UD English EWT ---------------------------------------------------------------


@pytest.fixture(scope="module")
def ud_train() -> pd.DataFrame:
    return ConlluReader(NoOptions()).read(str(UD / "train.conllu"))


def test_conllu_sentence_count_matches_sent_ids(ud_train):
    text = (UD / "train.conllu").read_text(encoding="utf-8")
    assert len(ud_train) == text.count("# sent_id")


def test_conllu_skips_multiword_tokens_with_correct_upos(ud_train):
    # Line 88 is `6-7 Google's`; its words 6 `Google` and 7 `'s` are kept instead.
    sentence = ud_train[ud_train[ROW_COLUMN] == 83].iloc[0]
    pairs = list(zip(sentence["tokens"], sentence["upos"], strict=True))
    assert pairs[:8] == [
        ("This", "DET"),
        ("BuzzMachine", "PROPN"),
        ("post", "NOUN"),
        ("argues", "VERB"),
        ("that", "SCONJ"),
        ("Google", "PROPN"),
        ("'s", "PART"),
        ("rush", "NOUN"),
    ]
    assert "Google's" not in sentence["tokens"] and "we've" not in sentence["tokens"]
    assert sentence["lemmas"][15] == "have"  # word 16 `'ve`


def test_conllu_skips_empty_nodes(ud_train):
    # Line 9681 is the empty node `24.1 left`: the sentence keeps its 27 real words.
    sentence = ud_train[ud_train[ROW_COLUMN] <= 9681].iloc[-1]
    assert len(sentence["tokens"]) == 27
    assert sentence["tokens"][23:25] == ["many", "for"]
    assert sentence["upos"][23:25] == ["ADJ", "ADP"]


def test_conllu_tagging_task_ingests(tmp_path):
    cfg = TaskConfig(
        type="tagging",
        reader="conllu",
        train=str(UD / "train.conllu"),
        validation=str(UD / "dev.conllu"),
        text_fields=["tokens"],
        label_field="upos",
        metrics=["token_accuracy"],
    )
    train, dev, info = ingest("pos", cfg, 50, 20, 0)
    assert len(train) == 50 and len(dev) == 20
    assert {"NOUN", "VERB", "PUNCT", "DET"} <= set(info["labels"])
    assert all(len(t) == len(g) for t, g in zip(train["tokens"], train["tags"], strict=True))


# --- Hugging Face datasets -------------------------------------------------------------------


@pytest.fixture(scope="module")
def saved_dataset_dict(tmp_path_factory) -> Path:
    import datasets

    path = tmp_path_factory.mktemp("hf") / "dict"
    datasets.DatasetDict(
        {
            "train": datasets.Dataset.from_dict(
                {"tokens": [["a", "b"], ["c"]], "tags": [["X", "Y"], ["Z"]], "label": [0, 1]}
            ),
            "validation": datasets.Dataset.from_dict(
                {"tokens": [["d"]], "tags": [["X"]], "label": [1]}
            ),
        }
    ).save_to_disk(str(path))
    return path


def test_hf_disk_dataset_dict_split(saved_dataset_dict):
    frame = HfDiskReader(NoOptions()).read(f"{saved_dataset_dict}#train")
    assert frame["tokens"].tolist() == [["a", "b"], ["c"]]  # lists, not numpy arrays
    assert isinstance(frame["tokens"].iloc[0], list)
    assert frame[ROW_COLUMN].tolist() == [1, 2]
    dev = HfDiskReader(NoOptions()).read(f"{saved_dataset_dict}#validation")
    assert dev["label"].tolist() == [1]


def test_hf_disk_single_dataset(tmp_path):
    import datasets

    datasets.Dataset.from_dict({"text": ["x", "y"], "label": [0, 1]}).save_to_disk(
        str(tmp_path / "single")
    )
    frame = HfDiskReader(NoOptions()).read(str(tmp_path / "single"))
    assert frame["text"].tolist() == ["x", "y"]


def test_hf_disk_feeds_a_tagging_task(saved_dataset_dict):
    cfg = TaskConfig(
        type="tagging",
        reader="hf_disk",
        train=f"{saved_dataset_dict}#train",
        validation=f"{saved_dataset_dict}#validation",
        text_fields=["tokens"],
        label_field="tags",
        metrics=["token_accuracy"],
    )
    train, _, info = ingest("ner", cfg, None, None, 0)
    assert info["labels"] == ["X", "Y", "Z"]
    assert train["tags"].tolist() == [["X", "Y"], ["Z"]]


def test_hf_hub_offline_says_so():
    with pytest.raises(DataError) as info:
        HfHubReader(HfHubOptions(config="sst2")).read("nyu-mll/glue#train")
    message = str(info.value)
    assert message.startswith("nyu-mll/glue#train:")
    assert "offline" in message.lower() and "hub" in message.lower()
    assert "hf_disk" in message  # what to do instead
