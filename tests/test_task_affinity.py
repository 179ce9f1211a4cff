"""Lookahead task affinity (TAG) and the task-grouping advisor."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from mtl_pipeline.experiments.grouping import (
    best_groupings,
    grouping_score,
    load_affinity,
    set_partitions,
)
from mtl_pipeline.training.task_affinity import average_affinity, lookahead_affinity
from tests.conftest import run_kedro, tiny_training_params


def test_opposed_gradients_give_negative_affinity():
    """Task A pulls θ towards a, task B towards -a: at θ = 0 their gradients are exact
    opposites, so a step for A raises B's loss (Z_AB < 0) and lowers A's own (Z_AA > 0)."""
    a = torch.tensor([1.0, -2.0, 0.5])
    theta = torch.zeros(3, requires_grad=True)

    def losses():
        t = theta.detach()
        return {"A": float(((t - a) ** 2).sum()), "B": float(((t + a) ** 2).sum())}

    grad_a = 2 * (theta.detach() - a)
    grad_b = 2 * (theta.detach() + a)
    assert torch.allclose(grad_a, -grad_b)
    z = lookahead_affinity(["A", "B"], torch.stack([grad_a, grad_b]), [theta], 0.1, losses)
    # by hand: after A's step θ = 0.2a, L_A = 0.64|a|², L_B = 1.44|a|² (before: |a|² each)
    np.testing.assert_allclose(z, [[0.36, -0.44], [-0.44, 0.36]], rtol=1e-6)
    assert z[0, 1] < 0
    assert torch.equal(theta.detach(), torch.zeros(3)), "parameters restored"


def test_training_is_identical_with_affinity_on_and_off(smoke_task_data, tiny_encoder_dir):
    from mtl_pipeline.training.run import run_training

    tasks, task_data = smoke_task_data
    runs = []
    for every in (0, 2):
        model_params, training = tiny_training_params(
            tiny_encoder_dir,
            max_steps=4,
            eval_every=0,
            precision="fp32",
            task_affinity={"every": every},
        )
        model, history = run_training(model_params, training, tasks, task_data)
        runs.append((model.architecture.state_dict(), history))
    (state_off, off), (state_on, on) = runs
    assert [s["losses"] for s in off["steps"]] == [s["losses"] for s in on["steps"]]
    for key in state_off:
        assert torch.equal(state_off[key], state_on[key]), key
    assert "task_affinity" not in off
    entries = on["task_affinity"]
    assert [e["step"] for e in entries] == [2, 4]
    names = list(task_data)
    measured, last = entries
    assert sorted(measured["matrix"]) == sorted(names)
    assert all(sorted(row) == sorted(names) for row in measured["matrix"].values())
    # The linear schedule's last step has learning rate 0: nothing to look ahead with.
    assert last["lr"] == 0.0 and last["matrix"] is None
    averaged = average_affinity(entries)
    assert averaged["lookaheads"] == len(names) and averaged["steps"] == [2]


def test_stirling_counts_of_partitions():
    items = list("abcdef")
    assert [sum(1 for _ in set_partitions(items[:5], g)) for g in range(1, 6)] == [1, 15, 25, 10, 1]
    assert sum(1 for _ in set_partitions(items, 3)) == 90
    for partition in set_partitions(items, 3):
        assert sorted(x for block in partition for x in block) == items
        assert len(partition) == 3 and all(partition)


def test_best_grouping_hand_worked():
    # a and b help each other, c and d help each other, across the pairs they hurt
    z = {
        "a": {"a": 0.5, "b": 0.3, "c": -0.2, "d": -0.1},
        "b": {"a": 0.2, "b": 0.4, "c": -0.3, "d": 0.0},
        "c": {"a": -0.1, "b": -0.2, "c": 0.5, "d": 0.25},
        "d": {"a": 0.0, "b": -0.1, "c": 0.15, "d": 0.6},
    }
    best = best_groupings(z, 2)[0]
    assert best.groups == (("a", "b"), ("c", "d"))
    assert best.score == pytest.approx(0.3 + 0.2 + 0.25 + 0.15)
    # exhaustive: no 2-grouping scores higher
    assert all(grouping_score(p, z) <= best.score + 1e-12 for p in set_partitions(list(z), 2))
    assert best_groupings(z, 1)[0].score == pytest.approx(
        sum(v for i, row in z.items() for j, v in row.items() if i != j)
    )


def test_load_affinity_from_the_grid_csv_turns_it_round(tmp_path):
    path = tmp_path / "affinity.csv"
    path.write_text(
        "strategy,target,mrpc,rte\npairwise,mrpc,,0.02\npairwise,rte,-0.05,\nstilts,rte,0.9,\n"
    )
    affinity = load_affinity(path)
    assert affinity["rte"]["mrpc"] == 0.02  # rte as support raised mrpc by 0.02
    assert affinity["mrpc"]["rte"] == -0.05


@pytest.mark.slow
def test_smoke_run_writes_the_affinity_matrix(project_copy):
    run_kedro(project_copy, "run", "--env", "smoke", "--params", "training.task_affinity.every=3")
    document = json.loads((project_copy / "data/08_reporting/task_affinity.json").read_text())
    tasks = document["tasks"]
    assert len(tasks) >= 2
    assert sorted(document["matrix"]) == sorted(tasks)
    assert all(len(row) == len(tasks) for row in document["matrix"].values())
    assert document["lookaheads"] == len(document["steps"]) * len(tasks)
    assert (project_copy / "data/08_reporting/task_affinity.png").stat().st_size > 0
    proc = run_kedro(
        project_copy, "mtl", "groups", "--affinity", "data/08_reporting/task_affinity.json"
    )
    assert "| 1 |" in proc.stdout and "kedro run --params" in proc.stdout
