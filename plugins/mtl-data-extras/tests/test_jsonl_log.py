"""The observer hooks write one strict-JSON line per event, only when asked to."""

from __future__ import annotations

import json

from mtl_data_extras import plugin


def drive_hooks() -> None:
    """Call the hooks in the order (and with the payloads) the core's trainer uses."""
    plugin.on_train_start(
        run_info={
            "config": {"max_steps": 2},
            "tasks": ["a", "b"],
            "device": "cpu",
            "precision": "fp32",
        }
    )
    for step in (1, 2):
        logs = {
            "step": step,
            "tasks": ["a"],
            "losses": {"a": 0.5},
            "weights": {"a": 1.0},
            "lr": 1e-4,
            "grad_norm": float("nan"),
        }
        plugin.on_step_end(step=step, logs=logs)
    plugin.on_evaluation(step=2, metrics={"a": {"accuracy": 0.75}, "b": {"mae": 0.1}})
    plugin.on_train_end(summary={"best_step": 2, "best_score": 0.75, "steps": 2, "seconds": 0.1})


def test_writes_every_event(tmp_path, monkeypatch):
    target = tmp_path / "logs" / "train.jsonl"
    monkeypatch.setenv("MTL_JSONL_LOG", str(target))
    drive_hooks()
    lines = [json.loads(line) for line in target.read_text().splitlines()]
    assert [x["event"] for x in lines] == ["train_start", "step", "step", "evaluation", "train_end"]
    assert len({x["run"] for x in lines}) == 1
    assert lines[0]["tasks"] == ["a", "b"]
    assert lines[2]["step"] == 2 and lines[2]["losses"] == {"a": 0.5}
    assert lines[1]["grad_norm"] is None  # NaN -> null: strict JSON
    assert lines[3]["metrics"]["a"]["accuracy"] == 0.75
    assert lines[4]["best_step"] == 2


def test_second_run_appends_with_a_new_run_id(tmp_path, monkeypatch):
    target = tmp_path / "train.jsonl"
    monkeypatch.setenv("MTL_JSONL_LOG", str(target))
    drive_hooks()
    drive_hooks()
    runs = [json.loads(line)["run"] for line in target.read_text().splitlines()]
    assert len(runs) == 10 and len(set(runs)) == 2


def test_silent_without_the_environment_variable(tmp_path, monkeypatch):
    monkeypatch.delenv("MTL_JSONL_LOG", raising=False)
    monkeypatch.chdir(tmp_path)
    drive_hooks()
    assert list(tmp_path.iterdir()) == []
