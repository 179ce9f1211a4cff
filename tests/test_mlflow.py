"""MLflow tracking: off by default; when on, one run with params, step metrics, artifacts."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from mtl_pipeline.tracking.mlflow_tracking import flatten_params, resolve_tracking_uri
from tests.conftest import run_kedro


def test_params_are_flattened_to_dotted_keys():
    flat = flatten_params(
        {
            "training": {"loss": {"name": "equal"}, "max_steps": 12},
            "tasks": {"a": {"text_fields": ["s"]}},
            "x": None,
        }
    )
    assert flat == {
        "training.loss.name": "equal",
        "training.max_steps": "12",
        "tasks.a.text_fields": '["s"]',
        "x": "null",
    }
    assert len(flatten_params({"long": "y" * 10_000})["long"]) == 6000


def test_relative_tracking_uris_are_taken_from_the_project(tmp_path: Path):
    assert (
        resolve_tracking_uri("sqlite:///mlruns.db", tmp_path)
        == f"sqlite:///{tmp_path.resolve()}/mlruns.db"
    )
    assert resolve_tracking_uri("sqlite:////abs/m.db", tmp_path) == "sqlite:////abs/m.db"
    assert resolve_tracking_uri("http://host:5000", tmp_path) == "http://host:5000"
    assert resolve_tracking_uri("mlruns", tmp_path) == (tmp_path / "mlruns").resolve().as_uri()


def test_disabled_hook_never_imports_mlflow():
    """Off (the default): the hook reads its switch and returns; mlflow is never imported
    (checked in a fresh interpreter, since this one may have imported it already)."""
    script = (
        "import sys\n"
        "from mtl_pipeline.tracking.mlflow_tracking import MlflowTrackingHooks\n"
        "class Catalog:\n"
        "    def load(self, name):\n"
        "        return {'tracking': {'mlflow': {'enabled': False}}}\n"
        "MlflowTrackingHooks().before_pipeline_run({}, None, Catalog())\n"
        "print('mlflow' in sys.modules)\n"
    )
    proc = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=120, check=True
    )
    assert proc.stdout.strip() == "False"


def test_observer_sends_step_metrics_in_batches():
    pytest.importorskip("mlflow")
    from mtl_pipeline.tracking.mlflow_tracking import MlflowStepObserver

    class Client:
        def __init__(self):
            self.batches = []

        def log_batch(self, run_id, metrics=()):
            self.batches.append([(m.key, m.step) for m in metrics])

    client = Client()
    observer = MlflowStepObserver(client, "run", every=3)
    for step in range(1, 8):
        observer.on_step_end(
            step, {"losses": {"a": 1.0}, "weights": {"a": 1.0}, "lr": 0.1, "grad_norm": 2.0}
        )
    assert [len(b) for b in client.batches] == [12, 12], "sent at steps 3 and 6 only"
    observer.on_evaluation(7, {"a": {"accuracy": 0.5}})
    assert ("val/a/accuracy", 7) in client.batches[-1] and ("train/loss/a", 7) in client.batches[-1]
    observer.on_train_end({"best_step": 7, "best_score": 0.5, "steps": 7, "seconds": 1.0})
    assert ("train/best_step", 7) in client.batches[-1]


def test_typo_fails_before_a_tracking_run_is_opened(project_copy: Path):
    """Validation runs before the tracking hook: no MLflow store for a run that never starts."""
    params = "tracking.mlflow.enabled=true,training.max_step=3"
    proc = run_kedro(project_copy, "run", "--env", "smoke", "--params", params, check=False)
    assert proc.returncode != 0 and "training.max_step" in proc.stderr
    assert not (project_copy / "mlruns.db").exists()


@pytest.mark.slow
def test_smoke_run_is_tracked(project_copy: Path, tiny_encoder_dir: Path):
    pytest.importorskip("mlflow")
    from mlflow.tracking import MlflowClient

    params = (
        f"model.encoder={tiny_encoder_dir},training.device=cpu,training.precision=fp32,"
        "tracking.mlflow.enabled=true,tracking.mlflow.log_every=5,tracking.mlflow.run_name=smoke"
    )
    run_kedro(project_copy, "run", "--env", "smoke", "--params", params)

    client = MlflowClient(tracking_uri=f"sqlite:///{project_copy / 'mlruns.db'}")
    experiment = client.get_experiment_by_name("mtl_pipeline")
    (run,) = client.search_runs([experiment.experiment_id])
    run_id = run.info.run_id
    assert run.info.status == "FINISHED" and run.info.run_name == "smoke"
    assert run.data.tags["kedro.env"] == "smoke"

    # Params: the whole validated config, flattened.
    p = run.data.params
    assert p["training.max_steps"] == "12" and p["model.encoder"] == str(tiny_encoder_dir)
    assert p["tasks.mrpc.text_fields"] == '["#1 String", "#2 String"]'
    assert p["tracking.mlflow.enabled"] == "true"

    # Per-step history: one loss per step (one task per step), lr on every step.
    losses = [
        m
        for t in ("sst2", "mrpc", "rte", "stsb", "cola")
        for m in client.get_metric_history(run_id, f"train/loss/{t}")
    ]
    assert sorted(m.step for m in losses) == list(range(1, 13))
    assert [m.step for m in client.get_metric_history(run_id, "train/lr")] == list(range(1, 13))
    weights = [
        m for t in ("sst2", "stsb") for m in client.get_metric_history(run_id, f"train/weight/{t}")
    ]
    assert weights and all(m.value == 1.0 for m in weights)  # `equal` weighting
    assert [m.step for m in client.get_metric_history(run_id, "val/sst2/accuracy")] == [6, 12]

    # Final evaluation metrics match the run's report.
    report = json.loads((project_copy / "data/08_reporting/metrics.json").read_text())
    for task, values in report.items():
        for name, value in values.items():
            assert run.data.metrics[f"eval/{task}/{name}"] == pytest.approx(value)

    # Artifacts: reports, plots, history and the model directory with its card.
    def names(path: str) -> set[str]:
        return {f.path for f in client.list_artifacts(run_id, path)}

    assert {
        "model/mtl_model.json",
        "model/model.safetensors",
        "model/README.md",
        "model/encoder",
    } <= names("model")
    assert "model/encoder/config.json" in names("model/encoder")
    assert {
        "reporting/metrics.json",
        "reporting/summary.md",
        "reporting/learning_curves.png",
    } <= names("reporting")
    assert "training/training_history.json" in names("training")
    local = client.download_artifacts(run_id, "reporting/metrics.json", str(project_copy / "dl"))
    assert json.loads(Path(local).read_text()) == report
