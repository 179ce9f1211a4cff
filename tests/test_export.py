"""The exported model directory: model card, and a round trip through a fresh process.

``trained_smoke_project`` trains the smoke configuration on the tiny encoder once per test
session (in a temporary project copy); test_predict.py reuses it.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from tests.conftest import REPO, run_kedro

_TRAINED: dict[str, Path] = {}
MODEL_DIR = Path("data") / "06_models" / "mtl_model"


def trained_smoke_project(tmp_path_factory: pytest.TempPathFactory, encoder: Path) -> Path:
    """A project copy after ``kedro run --env smoke`` on ``encoder`` (once per session)."""
    if "project" not in _TRAINED:
        project = tmp_path_factory.mktemp("trained") / "project"
        project.mkdir()
        shutil.copytree(REPO / "conf", project / "conf", ignore=shutil.ignore_patterns("local"))
        (project / "conf" / "local").mkdir()
        shutil.copy(REPO / "pyproject.toml", project / "pyproject.toml")
        (project / "src").mkdir()
        shutil.copytree(REPO / "data" / "01_raw", project / "data" / "01_raw")
        params = f"model.encoder={encoder},training.device=cpu,training.precision=fp32"
        run_kedro(project, "run", "--env", "smoke", "--params", params)
        _TRAINED["project"] = project
    return _TRAINED["project"]


@pytest.fixture(scope="session")
def trained_project(tmp_path_factory: pytest.TempPathFactory, tiny_encoder_dir: Path) -> Path:
    return trained_smoke_project(tmp_path_factory, tiny_encoder_dir)


# --- fast: the card renderer on its own -------------------------------------------------
def test_model_card_renders_without_run_facts():
    from mtl_pipeline.modeling.model_card import render_model_card

    document = {
        "format_version": 1,
        "model": {"encoder": "enc", "max_length": 32, "architecture": {"name": "hard_sharing"}},
        "tasks": {
            "pos": {
                "type": "tagging",
                "level": "token",
                "labels": ["NOUN", "VERB"],
                "metrics": ["accuracy"],
            }
        },
    }
    text = render_model_card(document)
    assert "# Multi-task model: pos" in text
    assert "`NOUN`, `VERB`" in text
    assert "Not recorded (the model was saved outside a training run)." in text
    assert 'model.predict("pos"' in text


# --- slow: a real export -----------------------------------------------------------------
@pytest.mark.slow
def test_export_carries_a_model_card(trained_project: Path):
    model_dir = trained_project / MODEL_DIR
    document = json.loads((model_dir / "mtl_model.json").read_text())
    card = document["card"]
    assert set(card["data"]) == {"sst2", "mrpc", "rte", "stsb", "cola"}
    assert card["data"]["mrpc"]["text_fields"] == ["#1 String", "#2 String"]
    assert card["data"]["sst2"]["sources"]["train"] == "data/01_raw/glue/SST-2/train.tsv"
    assert card["metrics"]["step"] in {6, 12}  # smoke: evaluations at steps 6 and 12
    assert set(card["metrics"]["values"]["stsb"]) == {"pearson", "spearman"}
    assert card["training"]["training"]["max_steps"] == 12

    readme = (model_dir / "README.md").read_text()
    for expected in (
        "# Multi-task model: sst2, mrpc, rte, stsb, cola",
        "| rte | classification | sequence | `not_entailment`, `entailment` | accuracy |",
        "| stsb | regression | sequence | (regression: a number) | pearson, spearman |",
        "## Validation metrics",
        "| cola | mcc |",
        "`data/01_raw/glue/CoLA/dev.tsv`",
        '"max_steps": 12',
        "MultiTaskModel.load(",
        "AutoModel.from_pretrained(",
    ):
        assert expected in readme, expected


@pytest.mark.slow
def test_fresh_process_reproduces_the_runs_predictions(trained_project: Path):
    """Load the export in a new interpreter: predictions identical to this process's, and
    the encoder loads as a plain Hugging Face model. (The evaluation stage's own outputs
    are not the reference: it runs at its own batch size and `evaluation.precision`.)"""
    script = textwrap.dedent(
        """
        import json, sys
        import pandas as pd
        from transformers import AutoModel, AutoTokenizer
        from mtl_pipeline.modeling.multitask_model import MultiTaskModel

        model_dir, out = sys.argv[1], {}
        model = MultiTaskModel.load(model_dir)
        for task in ("sst2", "rte", "stsb", "cola"):
            frame = pd.read_parquet(f"data/07_model_output/{task}/predictions.parquet")
            inputs = [a if b is None else (a, b) for a, b in zip(frame.text_a, frame.text_b)]
            out[task] = model.predict(task, inputs)
        encoder, info = AutoModel.from_pretrained(model_dir + "/encoder", output_loading_info=True)
        AutoTokenizer.from_pretrained(model_dir + "/encoder")
        out["encoder"] = {"hidden": encoder.config.hidden_size, "missing": sorted(info["missing_keys"])}
        print(json.dumps(out))
        """
    )
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "TRANSFORMERS_VERBOSITY": "error"}
    proc = subprocess.run(
        [sys.executable, "-c", script, str(MODEL_DIR)],
        cwd=trained_project,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr[-4000:]
    result = json.loads(proc.stdout.strip().splitlines()[-1])

    # The same calls in this process: identical outputs, to the last bit.
    import pandas as pd

    from mtl_pipeline.modeling.multitask_model import MultiTaskModel

    model = MultiTaskModel.load(trained_project / MODEL_DIR)
    for task in ("sst2", "rte", "stsb", "cola"):
        frame = pd.read_parquet(
            trained_project / f"data/07_model_output/{task}/predictions.parquet"
        )
        inputs = [
            a if b is None else (a, b) for a, b in zip(frame.text_a, frame.text_b, strict=True)
        ]
        assert result[task] == model.predict(task, inputs), task
    assert result["encoder"] == {"hidden": 32, "missing": []}
