"""``kedro run --env passage_tasks_smoke`` end to end on the staged data, in a project copy.

The environment reads ``../shared/data`` (a ``shared/data`` folder beside the project);
the copy gets a link to the checkout's neighbour, and the test is skipped without it.
"""

from __future__ import annotations

import json

import pytest

from tests.conftest import REPO, run_kedro

SHARED = REPO.parent / "shared" / "data"


@pytest.mark.slow
@pytest.mark.skipif(not (SHARED / "squad").is_dir(), reason="needs ../shared/data (staged data)")
def test_kedro_run_env_passage_tasks_smoke(project_copy):
    (project_copy.parent / "shared").mkdir(exist_ok=True)
    (project_copy.parent / "shared" / "data").symlink_to(SHARED)
    run_kedro(project_copy, "run", "--env", "passage_tasks_smoke")
    metrics = json.loads((project_copy / "data" / "08_reporting" / "metrics.json").read_text())
    assert set(metrics["squad"]) == {"f1", "exact_match"}
    assert set(metrics["xcopa"]) == {"accuracy"}
    assert {"micro_f1", "macro_f1"} <= set(metrics["goemotions"])
    for task in ("squad", "xcopa", "goemotions"):
        assert all(0.0 <= v <= 1.0 for v in metrics[task].values())
    card = (project_copy / "data" / "06_models" / "mtl_model" / "README.md").read_text()
    assert "| squad | span_extraction |" in card and "| xcopa | multiple_choice |" in card
    predictions = project_copy / "data" / "07_model_output" / "squad" / "predictions.parquet"
    assert predictions.exists()
