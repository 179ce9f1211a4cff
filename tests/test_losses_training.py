"""Every weighting trains end to end on the tiny encoder and smoke data (``run_training``,
the exact path of ``kedro run``), with 1 and 3 tasks per step."""

from __future__ import annotations

import math

import pytest

from mtl_pipeline.training.run import run_training
from tests.conftest import tiny_training_params
from tests.test_losses import ALL

OPTIONS = {"static": {"weights": {"sst2": 2.0, "stsb": 0.5}}, "dwa": {"window": 1}}


def _train(smoke_task_data, tiny_encoder_dir, name: str, k: int, **training):
    tasks, task_data = smoke_task_data
    params = {
        "max_steps": 3,
        "eval_every": 0,
        "eval_max_examples": 8,
        "tasks_per_step": k,
        "num_threads": 1,
    }
    params.update(training)
    model_params, training_params = tiny_training_params(
        tiny_encoder_dir, loss={"name": name, **OPTIONS.get(name, {})}, **params
    )
    return run_training(model_params, training_params, tasks, task_data)[1]


@pytest.mark.parametrize("k", [1, 3])
@pytest.mark.parametrize("name", ALL)
def test_method_trains_with_finite_losses(smoke_task_data, tiny_encoder_dir, name, k):
    history = _train(smoke_task_data, tiny_encoder_dir, name, k)
    assert len(history["steps"]) == 3 and not history["skipped_steps"]
    for step in history["steps"]:
        assert len(step["tasks"]) == k
        assert all(math.isfinite(v) for v in step["losses"].values())
        assert set(step["weights"]) == set(step["tasks"])
        assert all(math.isfinite(v) for v in step["weights"].values())
        assert math.isfinite(step["grad_norm"])
    assert history["config"]["training"]["loss"]["name"] == name


@pytest.mark.parametrize("name", ["uncertainty", "mgda"])
def test_accumulation_and_bf16(smoke_task_data, tiny_encoder_dir, name):
    """Micro-batches accumulate before a gradient method combines (fp32 rows under bf16
    autocast); a loss method combines each micro-batch."""
    history = _train(
        smoke_task_data,
        tiny_encoder_dir,
        name,
        3,
        max_steps=2,
        gradient_accumulation_steps=2,
        precision="bf16",
    )
    assert history["precision"] == "bf16"
    assert all(math.isfinite(v) for s in history["steps"] for v in s["losses"].values())


def test_uncertainty_uses_its_own_learning_rate_and_regression_form(
    smoke_task_data, tiny_encoder_dir
):
    history = _train(
        smoke_task_data, tiny_encoder_dir, "uncertainty", 3, max_steps=2, seed=1, warmup_ratio=0.0
    )
    first, second = history["steps"]
    base = {t: 0.5 if t == "stsb" else 1.0 for t in first["tasks"]}  # regression form for stsb
    assert first["weights"] == pytest.approx(base)
    # Adam's first step moves each log-variance by exactly its learning rate: the method's
    # own 0.01, not training.learning_rate (5e-5 here).
    both = set(first["tasks"]) & set(second["tasks"])
    assert both
    for task in both:
        assert abs(math.log(second["weights"][task] / base[task])) == pytest.approx(0.01, rel=1e-3)
