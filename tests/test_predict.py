"""Batch prediction: the ``predict`` pipeline and ``kedro mtl predict``."""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
import pytest

from mtl_pipeline.errors import ConfigError, DataError
from mtl_pipeline.pipelines.predict.nodes import (
    build_input_reader,
    model_inputs,
    predict_frame,
    resolve_text_fields,
)
from mtl_pipeline.pipelines.predict.table_dataset import TableDataset, read_table, write_table
from tests.conftest import run_kedro
from tests.test_export import trained_smoke_project


# --- fast: reading, checking and writing, with a stand-in model ---------------------------
@dataclass
class _Meta:
    level: str


class _EchoModel:
    """Predicts the first word of each input; records what it was given."""

    def __init__(self, level: str = "sequence") -> None:
        self.tasks = {"t": _Meta(level)}
        self.seen: list = []

    def predict(self, task, inputs, batch_size=64):
        self.seen = inputs
        if self.tasks[task].level == "token":
            return [["X"] * len(words) for words in inputs]
        return [(x[0] if isinstance(x, tuple) else x).split()[0] for x in inputs]


def test_reader_follows_the_extension(tmp_path: Path):
    assert build_input_reader("in.csv").name == "csv"
    assert build_input_reader("in.tsv").name == "glue_tsv"
    assert build_input_reader("in.jsonl").name == "jsonl"
    assert build_input_reader("in.conllu").name == "conllu"
    assert build_input_reader("in.txt", {"name": "csv", "delimiter": ";"}).options.delimiter == ";"
    with pytest.raises(ConfigError, match="predict.reader"):
        build_input_reader(str(tmp_path / "in.txt"))


def test_text_fields_precedence():
    card = {"data": {"t": {"text_fields": ["from_card"]}}}
    tasks = {"t": {"text_fields": ["from_conf"]}}
    assert resolve_text_fields("t", ["explicit"], card, tasks) == ["explicit"]
    assert resolve_text_fields("t", None, card, tasks) == ["from_card"]
    assert resolve_text_fields("t", None, {}, lambda: tasks) == ["from_conf"]
    with pytest.raises(ConfigError, match="predict.text_fields"):
        resolve_text_fields("t", None, {}, {})


def test_inputs_are_checked_with_their_line():
    frame = pd.DataFrame({"a": ["x", " "], "b": ["y", "z"], "_row": [2, 3]})
    assert model_inputs(frame.iloc[:1], ["a", "b"], "sequence", "in.csv") == [("x", "y")]
    with pytest.raises(DataError, match=r"in.csv: line 3: field 'a' is empty"):
        model_inputs(frame, ["a"], "sequence", "in.csv")
    with pytest.raises(DataError, match=r"missing column\(s\) 'text'.*columns found: 'a', 'b'"):
        model_inputs(frame, ["text"], "sequence", "in.csv")
    words = pd.DataFrame({"tokens": ["The cat sat", ["A", "dog"]], "_row": [1, 5]})
    assert model_inputs(words, ["tokens"], "token", "in") == [["The", "cat", "sat"], ["A", "dog"]]


def test_predict_frame_keeps_rows_and_columns():
    frame = pd.DataFrame({"id": ["a", "b"], "text": ["good film", "bad film"], "_row": [2, 3]})
    out = predict_frame(_EchoModel(), "t", frame, ["text"])
    assert out.columns.tolist() == ["row", "id", "text", "predicted"]
    assert out["row"].tolist() == [2, 3] and out["predicted"].tolist() == ["good", "bad"]
    with pytest.raises(ConfigError, match="unknown task 'nope'; this model has: t"):
        predict_frame(_EchoModel(), "nope", frame, ["text"])


def test_table_dataset_formats(tmp_path: Path):
    frame = pd.DataFrame({"row": [1], "tokens": [["a", "b"]], "predicted": [["X", "Y"]]})
    TableDataset(filepath=str(tmp_path / "p.parquet")).save(frame)
    assert read_table(tmp_path / "p.parquet")["predicted"].iloc[0].tolist() == ["X", "Y"]
    write_table(frame, tmp_path / "p.csv")
    assert (tmp_path / "p.csv").read_text().splitlines() == ["row,tokens,predicted", "1,a b,X Y"]
    with pytest.raises(DataError, match="unsupported table format '.txt'"):
        write_table(frame, tmp_path / "p.txt")


def test_predict_output_must_be_a_file_name():
    from mtl_pipeline.config import PredictConfig, parse_section

    assert parse_section(PredictConfig, {"output": "sst2.csv"}, "predict").output == "sst2.csv"
    for bad in ("out/sst2.csv", "sst2.txt"):
        with pytest.raises(ConfigError, match="predict.output"):
            parse_section(PredictConfig, {"output": bad}, "predict")


def test_predict_is_registered_but_not_in_the_default_run(project_copy: Path):
    assert "- predict" in run_kedro(project_copy, "registry", "list").stdout
    assert (
        "predict_batch" not in run_kedro(project_copy, "registry", "describe", "__default__").stdout
    )
    assert "predict_batch" in run_kedro(project_copy, "registry", "describe", "predict").stdout


# --- slow: against a trained export ------------------------------------------------------
@pytest.fixture(scope="module")
def trained(tmp_path_factory: pytest.TempPathFactory, tiny_encoder_dir: Path) -> Path:
    return trained_smoke_project(tmp_path_factory, tiny_encoder_dir)


@pytest.mark.slow
def test_predict_pipeline_writes_parquet_and_csv(trained: Path):
    (trained / "new.csv").write_text('id,sentence\na1,a gripping film\na2,"dull, long and loud"\n')
    pairs = [
        {"sentence1": "A man plays.", "sentence2": "A man is playing."},
        {"sentence1": "Cats.", "sentence2": "Dogs."},
    ]
    (trained / "pairs.jsonl").write_text("\n".join(json.dumps(p) for p in pairs) + "\n")
    run_kedro(
        trained,
        "run",
        "--env",
        "smoke",
        "--pipelines",
        "predict",
        "--params",
        "predict.task=sst2,predict.input=new.csv",
    )
    out = pd.read_parquet(trained / "data/07_model_output/predictions/sst2.parquet")
    assert out.columns.tolist() == ["row", "id", "sentence", "predicted"]
    assert out["id"].tolist() == ["a1", "a2"] and out["row"].tolist() == [2, 3]
    assert set(out["predicted"]) <= {"0", "1"}

    params = "predict.task=rte,predict.input=pairs.jsonl,predict.output=rte.csv"
    run_kedro(trained, "run", "--env", "smoke", "--pipelines", "predict", "--params", params)
    rte = pd.read_csv(trained / "data/07_model_output/predictions/rte.csv")
    assert len(rte) == 2 and set(rte["predicted"]) <= {"entailment", "not_entailment"}
    assert (trained / "data/07_model_output/predictions/sst2.parquet").exists(), (
        "earlier output kept"
    )

    from mtl_pipeline.modeling.multitask_model import MultiTaskModel

    model = MultiTaskModel.load(trained / "data/06_models/mtl_model")
    assert out["predicted"].tolist() == model.predict(
        "sst2", ["a gripping film", "dull, long and loud"]
    )


@pytest.mark.slow
def test_predict_command(trained: Path, tmp_path: Path):
    pairs = [
        {"sentence1": "A man plays.", "sentence2": "A man is playing."},
        {"sentence1": "Cats.", "sentence2": "Dogs."},
    ]
    (tmp_path / "pairs.jsonl").write_text("\n".join(json.dumps(p) for p in pairs) + "\n")
    target = tmp_path / "out" / "stsb.parquet"
    proc = run_kedro(
        trained,
        "mtl",
        "predict",
        "--task",
        "stsb",
        "--input",
        str(tmp_path / "pairs.jsonl"),
        "--output",
        str(target),
    )
    assert "Wrote 2 predictions for stsb" in proc.stderr
    out = pd.read_parquet(target)
    assert out.columns.tolist() == ["row", "sentence1", "sentence2", "predicted"]
    assert out["predicted"].dtype.kind == "f"

    bad = run_kedro(
        trained,
        "mtl",
        "predict",
        "--task",
        "sst",
        "--input",
        str(tmp_path / "pairs.jsonl"),
        "--output",
        str(tmp_path / "x.csv"),
        check=False,
    )
    assert (
        bad.returncode != 0
        and "unknown task 'sst'; this model has: cola, mrpc, rte, sst2, stsb" in bad.stderr
    )
    missing = run_kedro(
        trained,
        "mtl",
        "predict",
        "--task",
        "sst2",
        "--input",
        str(tmp_path / "pairs.jsonl"),
        "--output",
        str(tmp_path / "x.csv"),
        check=False,
    )
    assert missing.returncode != 0 and "missing column(s) 'sentence'" in missing.stderr


# --- the command never loses the input and checks the output first ------------------------
def _predict_cli(*args: str):
    from click.testing import CliRunner

    from mtl_pipeline.commands import commands

    return CliRunner().invoke(commands, ["mtl", "predict", "--task", "sst2", *args])


def test_predict_output_equal_to_input_is_refused_and_input_kept(tmp_path: Path, monkeypatch):
    source = tmp_path / "in.csv"
    source.write_text("sentence\ngood\n")
    before = source.read_bytes()
    (tmp_path / "link.csv").symlink_to(source)
    os.link(source, tmp_path / "hard.csv")  # another name of the same file: only samefile sees it
    monkeypatch.chdir(tmp_path)
    for output in (str(source), "in.csv", "./sub/../in.csv", "link.csv", "hard.csv"):
        result = _predict_cli("--input", str(source), "--output", output, "--overwrite")
        assert result.exit_code != 0, output
        assert "is the input file" in result.output, result.output
    assert source.read_bytes() == before


def test_predict_existing_output_needs_overwrite(tmp_path: Path):
    source, target = tmp_path / "in.csv", tmp_path / "out.csv"
    source.write_text("sentence\ngood\n")
    target.write_text("keep me\n")
    result = _predict_cli("--input", str(source), "--output", str(target))
    assert result.exit_code != 0 and "already exists; pass --overwrite" in result.output
    assert target.read_text() == "keep me\n"


def test_predict_output_format_is_checked_before_the_model_is_read(tmp_path: Path):
    source = tmp_path / "in.csv"
    source.write_text("sentence\ngood\n")
    result = _predict_cli(
        "--input", str(source), "--output", str(tmp_path / "out.xlsx"), "--model", "/nowhere"
    )
    assert result.exit_code != 0
    assert (
        "--output" in result.output and "'.xlsx'" in result.output and ".parquet" in result.output
    )


def test_predict_missing_model_dir_names_it(tmp_path: Path):
    source = tmp_path / "in.csv"
    source.write_text("sentence\ngood\n")
    result = _predict_cli(
        "--input", str(source), "--output", str(tmp_path / "o.csv"), "--model", "nowhere"
    )
    assert result.exit_code != 0 and "--model nowhere: no such directory" in result.output


def test_predict_cuda_without_cuda_is_a_clear_error(tmp_path: Path):
    import torch

    if torch.cuda.is_available():
        pytest.skip("this machine has CUDA")
    source = tmp_path / "in.csv"
    source.write_text("sentence\ngood\n")
    result = _predict_cli(
        "--input", str(source), "--output", str(tmp_path / "o.csv"), "--device", "cuda"
    )
    assert result.exit_code != 0
    assert "--device cuda: CUDA is not available here" in result.output
    assert "--device cpu" in result.output


def test_write_table_is_atomic(tmp_path: Path, monkeypatch):
    target = tmp_path / "out.parquet"
    write_table(pd.DataFrame({"a": [1]}), target)
    before = target.read_bytes()

    def full_disk(self, path, **kwargs):
        Path(path).write_bytes(b"PAR1 trunc")
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(pd.DataFrame, "to_parquet", full_disk)
    with pytest.raises(DataError, match="No space left on device"):
        write_table(pd.DataFrame({"a": [2]}), target)
    assert target.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == ["out.parquet"]


def test_predict_pipeline_refuses_an_output_that_is_its_input(tmp_path: Path, monkeypatch):
    from mtl_pipeline.pipelines.predict.nodes import PREDICTIONS_DIR, load_prediction_input

    monkeypatch.chdir(tmp_path)
    PREDICTIONS_DIR.mkdir(parents=True)
    source = PREDICTIONS_DIR / "sst2.csv"
    source.write_text("sentence\ngood\n")
    with pytest.raises(ConfigError, match="is the input file"):
        load_prediction_input({"task": "sst2", "input": str(source), "output": "sst2.csv"})
    assert (
        load_prediction_input({"task": "sst2", "input": str(source), "output": "o.csv"}).shape[0]
        == 1
    )


def test_predict_input_errors_say_row_for_parquet_and_line_for_text(tmp_path):
    """Parquet has no lines: a bad cell is named by its row, a CSV's by its line."""
    import pandas as pd

    from mtl_pipeline.errors import DataError
    from mtl_pipeline.pipelines.predict.nodes import model_inputs, read_input

    frame = pd.DataFrame({"sentence": ["fine", "  ", "also fine"]})
    parquet = tmp_path / "in.parquet"
    frame.to_parquet(parquet)
    csv = tmp_path / "in.csv"
    frame.to_csv(csv, index=False)
    with pytest.raises(DataError, match=r"in.parquet: row 2: field 'sentence' is empty"):
        model_inputs(read_input(str(parquet)), ["sentence"], "sequence", str(parquet))
    with pytest.raises(DataError, match=r"in.csv: line 3: field 'sentence' is empty"):
        model_inputs(read_input(str(csv)), ["sentence"], "sequence", str(csv))
