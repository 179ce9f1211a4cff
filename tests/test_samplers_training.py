"""Every built-in sampler trains: in-process on the tiny encoder, and one `kedro run`."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from mtl_pipeline.training.run import run_training
from tests.conftest import run_kedro, tiny_training_params

SMOKE_TASKS = ["sst2", "mrpc", "rte", "stsb", "cola"]

CASES = [
    ({"name": "uniform"}, 1),
    ({"name": "proportional"}, 1),
    ({"name": "temperature", "T": 2.0}, 1),
    ({"name": "capped", "cap": 32}, 1),
    ({"name": "annealed"}, 1),
    ({"name": "round_robin"}, 2),
    (
        {
            "name": "specified",
            "probabilities": {"sst2": 4, "mrpc": 1, "rte": 1, "stsb": 1, "cola": 0},
        },
        1,
    ),
    ({"name": "dynamic"}, 1),
    ({"name": "dynamic", "targets": {"sst2": 0.9}, "smoothing": 0.2, "T": 2.0}, 2),
]


@pytest.mark.parametrize(
    ("sampler", "k"), CASES, ids=lambda c: c["name"] if isinstance(c, dict) else f"k{c}"
)
def test_every_sampler_trains(
    sampler, k, smoke_task_data, tiny_encoder_dir, tmp_path, monkeypatch
) -> None:
    monkeypatch.chdir(tmp_path)  # anything the trainer writes relative to cwd stays here
    tasks, task_data = smoke_task_data
    model_params, training = tiny_training_params(
        tiny_encoder_dir, sampler=sampler, max_steps=4, tasks_per_step=k
    )
    _, history = run_training(model_params, training, tasks, task_data)
    assert len(history["steps"]) == 4
    assert all(len(set(s["tasks"])) == k for s in history["steps"])
    recorded = history["sampler_probabilities"]
    assert [r["step"] for r in recorded] == [1, 2, 3, 4]  # log_every=1
    for r in recorded:
        assert set(r["probabilities"]) == set(task_data)
        assert sum(r["probabilities"].values()) == pytest.approx(1.0)
    if sampler["name"] == "round_robin":
        order = list(task_data)
        assert [s["tasks"] for s in history["steps"]] == [
            [order[(2 * i + j) % len(order)] for j in range(2)] for i in range(4)
        ]
    if sampler["name"] == "specified":
        assert all("cola" not in s["tasks"] for s in history["steps"])
    json.dumps(history, allow_nan=True)  # the history is saved as JSON


@pytest.mark.slow
def test_kedro_smoke_run_with_dynamic_sampler(project_copy: Path) -> None:
    run_kedro(project_copy, "run", "--env", "smoke", "--params", "training.sampler.name=dynamic")
    reporting = project_copy / "data" / "08_reporting"
    assert (reporting / "task_mixture.png").stat().st_size > 0
    metrics = json.loads((reporting / "metrics.json").read_text())
    assert set(metrics) == set(SMOKE_TASKS)
    history = json.loads(
        (project_copy / "data" / "07_model_output" / "training_history.json").read_text()
    )
    assert history["config"]["training"]["sampler"]["name"] == "dynamic"
    assert len(history["sampler_probabilities"]) == 6  # 12 steps, log_every 2


def test_trainer_feeds_every_step_losses_to_the_sampler(
    smoke_task_data, tiny_encoder_dir, tmp_path, monkeypatch
) -> None:
    """``observe_losses(step, losses)`` after every optimizer step, with the logged losses."""
    from mtl_pipeline.samplers.base import TaskSampler

    monkeypatch.chdir(tmp_path)
    seen: list[tuple[int, dict[str, float]]] = []
    monkeypatch.setattr(
        TaskSampler, "observe_losses", lambda self, step, losses: seen.append((step, losses))
    )
    tasks, task_data = smoke_task_data
    model_params, training = tiny_training_params(
        tiny_encoder_dir, sampler={"name": "uniform"}, max_steps=3
    )
    _, history = run_training(model_params, training, tasks, task_data)
    assert seen == [(s["step"], s["losses"]) for s in history["steps"]]
    assert [step for step, _ in seen] == [1, 2, 3]
