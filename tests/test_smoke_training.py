"""In-process training on the tiny encoder: the fast path other matrix tests build on."""

from __future__ import annotations

import numpy as np

from mtl_pipeline.modeling.multitask_model import MultiTaskModel
from mtl_pipeline.training.run import run_training
from tests.conftest import tiny_training_params


def test_run_training_then_save_load_predicts_identically(
    smoke_task_data, tiny_encoder_dir, tmp_path
):
    tasks, task_data = smoke_task_data
    model_params, training = tiny_training_params(tiny_encoder_dir)
    model, history = run_training(model_params, training, tasks, task_data)
    assert len(history["steps"]) == 4
    assert {e["step"] for e in history["evaluations"]} == {2, 4}
    model.save(tmp_path / "m")
    loaded = MultiTaskModel.load(tmp_path / "m")
    texts = ["a gripping, funny film", "dull and far too long"]
    assert model.predict("sst2", texts) == loaded.predict("sst2", texts)
    pairs = [
        ("A man is playing a guitar.", "A man plays guitar."),
        ("A cat sleeps.", "Stocks fell."),
    ]
    np.testing.assert_allclose(
        model.predict("stsb", pairs), loaded.predict("stsb", pairs), rtol=1e-6
    )


def test_same_seed_same_history(smoke_task_data, tiny_encoder_dir):
    tasks, task_data = smoke_task_data
    model_params, training = tiny_training_params(tiny_encoder_dir)
    _, first = run_training(model_params, training, tasks, task_data)
    _, second = run_training(model_params, training, tasks, task_data)
    assert [s["losses"] for s in first["steps"]] == [s["losses"] for s in second["steps"]]
    assert first["evaluations"][-1]["metrics"] == second["evaluations"][-1]["metrics"]
