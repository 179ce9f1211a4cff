"""``kedro run --env jmt_smoke`` end to end in a project copy: the joint many-task hierarchy
(POS at layer 2, entities at layer 4, parsing at layer 6) on the shipped data/01_raw
subsets writes entity ``f1`` for the NER task and ``uas``/``las`` for the parser."""

from __future__ import annotations

import json

import pytest

from tests.conftest import run_kedro


@pytest.mark.slow
def test_kedro_run_env_jmt_smoke(project_copy):
    run_kedro(project_copy, "run", "--env", "jmt_smoke")
    metrics = json.loads((project_copy / "data" / "08_reporting" / "metrics.json").read_text())
    assert set(metrics) == {"upos", "ner", "deps"}
    assert set(metrics["ner"]) == {"f1", "entity_precision", "entity_recall"}
    assert set(metrics["deps"]) == {"uas", "las"}
    assert set(metrics["upos"]) == {"token_accuracy"}
    for task in metrics.values():
        assert all(0.0 <= v <= 1.0 for v in task.values())
    card = (project_copy / "data" / "06_models" / "mtl_model" / "README.md").read_text()
    assert "| ner | ner |" in card and "| deps | dependency_parsing |" in card
    for task in ("ner", "deps"):
        assert (project_copy / "data" / "07_model_output" / task / "predictions.parquet").exists()
