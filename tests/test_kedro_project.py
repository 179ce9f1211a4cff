"""End-to-end: the Kedro project as users drive it (subprocesses in a temporary copy)."""

from __future__ import annotations

import json

import pytest

from tests.conftest import run_kedro

GLUE_TASKS = {"sst2", "mrpc", "rte", "stsb", "cola"}


def test_registry_lists_every_stage(project_copy):
    out = run_kedro(project_copy, "registry", "list").stdout
    for name in (
        "__default__",
        "ingestion",
        "tokenization",
        "mixing",
        "training",
        "evaluation",
        "reporting",
    ):
        assert f"- {name}" in out


def test_default_pipeline_has_one_branch_per_task(project_copy):
    out = run_kedro(project_copy, "registry", "describe", "__default__").stdout
    for task in GLUE_TASKS:
        assert f"{task}.ingest_task" in out
        assert f"{task}.tokenize_task" in out
        assert f"evaluation.{task}.evaluate_task" in out
    for joined in ("build_task_mixture", "train_model", "collect_metrics"):
        assert joined in out


def test_typo_in_params_fails_fast_naming_the_key(project_copy):
    proc = run_kedro(
        project_copy, "run", "--env", "smoke", "--params", "training.max_step=3", check=False
    )
    assert proc.returncode != 0
    text = proc.stdout + proc.stderr
    assert "training.max_step" in text and "max_steps" in text
    assert not (project_copy / "data" / "02_intermediate" / "sst2").exists(), "no node ran"


@pytest.mark.slow
def test_smoke_run_end_to_end_with_real_minilm(project_copy):
    run_kedro(project_copy, "run", "--env", "smoke")
    reporting = project_copy / "data" / "08_reporting"
    metrics = json.loads((reporting / "metrics.json").read_text())
    assert set(metrics) == GLUE_TASKS
    assert set(metrics["stsb"]) == {"pearson", "spearman"} and set(metrics["cola"]) == {
        "mcc",
        "accuracy",
    }
    for name in ("summary.md", "learning_curves.png", "task_mixture.png"):
        assert (reporting / name).stat().st_size > 0
    model_dir = project_copy / "data" / "06_models" / "mtl_model"
    assert (model_dir / "model.safetensors").exists() and (model_dir / "mtl_model.json").exists()
    from transformers import AutoModel

    encoder = AutoModel.from_pretrained(model_dir / "encoder")
    assert encoder.config.hidden_size == 384
    from mtl_pipeline.modeling.multitask_model import MultiTaskModel

    model = MultiTaskModel.load(model_dir)
    assert model.predict("sst2", ["great movie", "awful movie"])[0] in {"0", "1"}
    import pandas as pd

    predictions = pd.read_parquet(
        project_copy / "data" / "07_model_output" / "rte" / "predictions.parquet"
    )
    assert {"row", "text_a", "text_b", "label", "predicted"} <= set(predictions.columns)
    # A second run with the same seed and device reproduces the metrics.
    run_kedro(project_copy, "run", "--env", "smoke")
    assert json.loads((reporting / "metrics.json").read_text()) == metrics


@pytest.mark.slow
def test_viz_build_works_offline(project_copy):
    pytest.importorskip("kedro_viz")
    run_kedro(project_copy, "viz", "build", timeout=300)
    api = project_copy / "build" / "api" / "main"
    assert api.exists()
    graph = json.loads(api.read_text())
    names = {node["name"] for node in graph["nodes"]}
    assert any("ingest_task" in n for n in names) and any("train_model" in n for n in names)


def test_building_the_pipelines_gives_kedro_nothing_to_warn_about(project_copy):
    """Per-task datasets are `<task>__<dataset>`: a '.' in a name read by a node outside that
    namespace (mixing, training, evaluation, reporting join every task) makes Kedro warn on
    every run."""
    for name in ("__default__", "experiments", "predict"):
        proc = run_kedro(project_copy, "registry", "describe", name)
        assert "contain '.' characters" not in proc.stdout + proc.stderr, name
