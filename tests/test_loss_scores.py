"""benchmarks/loss_scores.py: resumable score file, Δm as LibMTL defines it, the flags."""

from __future__ import annotations

import argparse
import importlib.util
import json
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def ls():
    spec = importlib.util.spec_from_file_location("loss_scores", REPO / "benchmarks/loss_scores.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules["loss_scores"] = module
    spec.loader.exec_module(module)
    return module


TASKS = ["a", "b"]
HIGHER = {"a": True, "b": False}  # b: lower is better (an error rate)
ARGS = argparse.Namespace(
    encoder="e",
    score_tasks=TASKS,
    score_steps=5,
    batch_size=8,
    lr=1e-4,
    max_length=64,
    score_max_train=None,
    score_max_eval=100,
    precision="auto",
)


def fake_train(calls: list, stop_after: int | None = None):
    """A train function with fixed scores; raises after ``stop_after`` calls (a kill)."""

    def train(kind: str, name: str, seed: int):
        if stop_after is not None and len(calls) >= stop_after:
            raise KeyboardInterrupt
        calls.append((kind, name, seed))
        tasks = [name] if kind == "single_task" else TASKS
        # "good" improves both tasks by 0.1; "same" by 0.005, well inside the seed spread.
        gain = {"good": 0.1, "same": 0.005}.get(name, 0.0)
        # The seed moves every task the same way (better or worse), so Δm varies by seed.
        scores = {t: 0.5 + (gain + 0.01 * seed) * (1 if HIGHER[t] else -1) for t in tasks}
        return {
            "kind": kind,
            "name": name,
            "seed": seed,
            "scores": scores,
            "metrics": {t: "m" for t in tasks},
            "higher_is_better": {t: HIGHER[t] for t in tasks},
            "best_step": 1,
            "seconds": 1.0,
            "cpu_seconds": 1.0,
            "load_average": [0.0, 0.0, 0.0],
        }

    return train


def test_a_rerun_trains_only_what_a_killed_run_left(ls, tmp_path):
    path, budget = tmp_path / "scores.json", {"tasks": TASKS, "steps": 3}
    calls: list = []
    with pytest.raises(KeyboardInterrupt):
        ls.run_missing(
            ls.ScoreBook(path, budget), TASKS, ["equal", "good"], [0, 1], fake_train(calls, 3)
        )
    assert len(json.loads(path.read_text())["runs"]) == 3  # each finished run was kept
    rerun: list = []
    book = ls.ScoreBook(path, budget)
    trained = ls.run_missing(book, TASKS, ["equal", "good"], [0, 1], fake_train(rerun))
    assert trained == 5 and len(book.runs) == 8
    assert set(calls).isdisjoint(rerun)
    assert (
        ls.run_missing(ls.ScoreBook(path, budget), TASKS, ["equal", "good"], [0, 1], fake_train([]))
        == 0
    )


def test_a_score_file_of_another_budget_is_refused(ls, tmp_path):
    path = tmp_path / "scores.json"
    ls.run_missing(ls.ScoreBook(path, {"steps": 3}), ["a"], ["equal"], [0], fake_train([]))
    with pytest.raises(SystemExit, match="another budget.*steps"):
        ls.ScoreBook(path, {"steps": 4})


def test_delta_m_flips_the_sign_of_lower_is_better_metrics(ls):
    # a: +10% (higher is better, better); b: error 0.2 -> 0.3, +50% (worse) -> -50%.
    value = ls.delta_m({"a": 0.55, "b": 0.3}, {"a": 0.5, "b": 0.2}, HIGHER)
    assert value == pytest.approx(100 * (0.1 - 0.5) / 2)


def test_summary_flags_only_differences_beyond_the_seed_spread(ls, tmp_path):
    book = ls.ScoreBook(tmp_path / "s.json", ls.budget_of(ARGS))
    ls.run_missing(book, TASKS, ["equal", "good", "same"], [0, 1, 2], fake_train([]))
    rows = ls.summarize(book.runs, TASKS, ["equal", "good", "same"])["rows"]
    assert rows["good"]["tasks"]["a"][0] == pytest.approx(0.61)
    assert rows["good"]["beyond"]["a"] and not rows["same"]["beyond"]["a"]
    # b is lower-is-better (baselines 0.50, 0.49, 0.48): "good" lowers it by 0.1, an
    # improvement like a's +0.1 over 0.51.
    assert rows["good"]["delta_m"][0] == pytest.approx(100 * (0.1 / 0.51 + 0.1 / 0.49) / 2)
    assert rows["good"]["beyond"]["delta_m"] and not rows["same"]["beyond"]["delta_m"]
    assert rows["equal"]["delta_m"][0] == pytest.approx(0.0)
    text = ls.table(book, ["equal", "good", "same"])
    assert "| good | 0,1,2 | **0.610 ± 0.010** |" in text
    assert "3 evaluations; dwa window 1." in text  # the options the runs were trained with


def test_budget_names_what_changes_a_score(ls):
    assert ls.budget_of(ARGS)["tasks_per_step"] == 2
    assert ls.budget_of(ARGS)["method_options"] == ls.method_options(ARGS.score_steps)


@pytest.mark.parametrize("steps, window", [(150, 25), (600, 100)])
def test_dwa_runs_with_a_window_that_adapts_within_the_budget(ls, monkeypatch, steps, window):
    """DWA's weights stay 1 until two windows are complete: the scored run must pass that."""
    seen: dict = {}

    def run_training(model, params, tasks, data):
        seen.update(params)
        metrics = {t: {"accuracy": 0.5} for t in tasks}
        return None, {"evaluations": [{"step": steps, "score": 0.5, "metrics": metrics}]}

    monkeypatch.setattr("mtl_pipeline.training.run.run_training", run_training)
    args = argparse.Namespace(**{**vars(ARGS), "score_steps": steps})
    train = ls.trainer(
        args,
        lambda args, method, **extra: {"loss": {"name": method}, **extra},
        lambda *a: ({t: {"metrics": ["accuracy"]} for t in TASKS}, {t: {} for t in TASKS}),
    )
    train("method", "dwa", 0)
    assert seen["loss"] == {"name": "dwa", "window": window}
    assert 2 * window <= steps // 3
    train("method", "equal", 0)
    assert seen["loss"] == {"name": "equal"}


def test_a_file_that_is_not_a_score_file_is_named_and_kept(ls, tmp_path):
    path = tmp_path / "other.json"
    path.write_text("[1, 2]")
    with pytest.raises(SystemExit, match="other.json: not a score file"):
        ls.ScoreBook(path, {"steps": 3})
    assert path.read_text() == "[1, 2]"
