"""The gradient-conflict monitor and the two reporting plots built on the history."""

from __future__ import annotations

import math
from pathlib import Path

import pytest
import torch
import yaml

from mtl_pipeline.pipelines.reporting.nodes import plot_gradient_conflicts, plot_task_weights
from mtl_pipeline.training.gradient_monitor import conflict_summary
from mtl_pipeline.training.run import run_training
from tests.conftest import REPO, tiny_training_params


def _history(smoke_task_data, tiny_encoder_dir, **training):
    tasks, task_data = smoke_task_data
    params = {"max_steps": 4, "eval_every": 0, "eval_max_examples": 16, "num_threads": 1}
    params.update(training)
    return run_training(*tiny_training_params(tiny_encoder_dir, **params), tasks, task_data)[1]


@pytest.mark.parametrize(("loss", "k"), [("equal", 1), ("pcgrad", 3)])
def test_monitor_records_all_pairs_without_changing_training(
    smoke_task_data, tiny_encoder_dir, loss, k
):
    off = _history(smoke_task_data, tiny_encoder_dir, loss={"name": loss}, tasks_per_step=k)
    on = _history(
        smoke_task_data,
        tiny_encoder_dir,
        loss={"name": loss},
        tasks_per_step=k,
        conflict_monitor_every=2,
    )
    assert off["gradient_conflicts"] == []
    # Same batches, dropout masks, optimizer updates: identical losses and final metrics.
    assert [s["losses"] for s in on["steps"]] == [s["losses"] for s in off["steps"]]
    assert on["evaluations"][-1]["metrics"] == off["evaluations"][-1]["metrics"]
    entries = on["gradient_conflicts"]
    assert [e["step"] for e in entries] == [2, 4]
    names = list(smoke_task_data[1])
    for entry, step in zip(entries, (2, 4), strict=True):
        assert entry["tasks"] == names
        assert len(entry["cosine"]) == len(names) * (len(names) - 1) // 2
        assert all(-1.0 - 1e-6 <= v <= 1.0 + 1e-6 for v in entry["cosine"].values())
        assert all(v > 0 for v in entry["grad_norms"].values())
        assert entry["weights"] == on["steps"][step - 1]["weights"]


def test_conflict_summary_hand_worked():
    grads = torch.tensor([[1.0, 0.0], [1.0, 1.0], [-2.0, 0.0], [0.0, 0.0]])
    summary = conflict_summary(["a", "b", "c", "d"], grads)
    assert summary["cosine"]["a|b"] == pytest.approx(1 / math.sqrt(2))
    assert summary["cosine"]["a|c"] == pytest.approx(-1.0)
    assert summary["cosine"]["a|d"] is None  # zero gradient: undefined
    assert summary["grad_norms"] == pytest.approx({"a": 1.0, "b": math.sqrt(2), "c": 2.0, "d": 0.0})


def _fake_history(monitor: bool) -> dict:
    steps = [
        {
            "step": s,
            "tasks": ["a", "b"],
            "losses": {"a": 1.0, "b": 2.0},
            "weights": {"a": 1.0 + s / 10, "b": 1.0},
        }
        for s in range(1, 9)
    ]
    conflicts = [
        {
            "step": s,
            "tasks": ["a", "b", "c"],
            "cosine": {"a|b": 0.3, "a|c": -0.2, "b|c": None},
            "weights": {},
        }
        for s in (4, 8)
    ]
    return {
        "steps": steps,
        "gradient_conflicts": conflicts if monitor else [],
        "config": {"training": {"loss": {"name": "dwa"}}},
    }


@pytest.mark.parametrize("monitor", [True, False])
def test_plots_render_with_and_without_monitor(tmp_path: Path, monitor: bool):
    import matplotlib.pyplot as plt

    for plot in (plot_gradient_conflicts, plot_task_weights):
        fig = plot(_fake_history(monitor))
        fig.savefig(tmp_path / f"{plot.__name__}.png")
        assert (tmp_path / f"{plot.__name__}.png").stat().st_size > 0
        texts = [t.get_text() for ax in fig.axes for t in ax.texts]
        placeholder = plot is plot_gradient_conflicts and not monitor
        assert any("monitor was off" in t for t in texts) == placeholder
        plt.close(fig)
    fig = plot_task_weights({"steps": []})  # nothing at all: placeholder, still a figure
    assert any("No step" in t.get_text() for ax in fig.axes for t in ax.texts)
    plt.close(fig)


def test_reporting_pipeline_and_catalog_wired():
    from mtl_pipeline.pipelines.reporting.pipeline import create_pipeline

    outputs = {o for node in create_pipeline().nodes for o in node.outputs}
    assert {"gradient_conflicts_plot", "task_weights_plot"} <= outputs
    catalog = yaml.safe_load((REPO / "conf" / "base" / "catalog.yml").read_text())
    for name in ("gradient_conflicts_plot", "task_weights_plot"):
        assert catalog[name]["type"] == "matplotlib.MatplotlibDataset"
        assert catalog[name]["filepath"].startswith("data/08_reporting/")
