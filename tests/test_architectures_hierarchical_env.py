"""``kedro run --env hierarchical`` end to end, in a throwaway project copy.

The environment adds the UD English EWT POS task to the GLUE tasks of conf/base and puts
its head at a low layer. Run on the tiny 2-layer encoder (POS at layer 1, GLUE at 2) so
that the whole DAG takes seconds; the real-encoder version is the command in
docs/architectures.md.
"""

from __future__ import annotations

import json

import pytest

from tests.conftest import run_kedro


@pytest.mark.slow
def test_kedro_run_env_hierarchical_trains_pos_at_a_low_layer(project_copy, tiny_encoder_dir):
    params = ",".join(
        [
            f"model.encoder={tiny_encoder_dir}",
            "model.architecture.task_layers.upos=1",
            "training.max_steps=3",
            "training.eval_every=3",
            "training.batch_size=8",
            "ingestion.max_train_examples=24",
            "ingestion.max_eval_examples=12",
        ]
    )
    run_kedro(project_copy, "run", "--env", "hierarchical", "--params", params)

    pos_metrics = project_copy / "data" / "08_reporting" / "upos" / "metrics.json"
    assert pos_metrics.exists(), (
        "the upos task got no pipeline branch: the pipelines were built from conf/base only "
        "(project_tasks.task_names must use the session's config loader for --env)"
    )
    assert set(json.loads(pos_metrics.read_text())) == {"token_accuracy", "token_macro_f1"}
    history = json.loads(
        (project_copy / "data" / "07_model_output" / "training_history.json").read_text()
    )
    report = history["architecture_report"]
    assert report["architecture"] == "hierarchical"
    assert report["task_layers"] == {
        "cola": 2,
        "mrpc": 2,
        "rte": 2,
        "sst2": 2,
        "stsb": 2,
        "upos": 1,
    }
    saved = json.loads(
        (project_copy / "data" / "06_models" / "mtl_model" / "mtl_model.json").read_text()
    )
    assert saved["model"]["architecture"] == {"name": "hierarchical", "task_layers": {"upos": 1}}
