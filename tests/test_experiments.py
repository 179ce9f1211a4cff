"""The experiments pipeline: advisor rule, tables, affinity, grid budget, and the
CI-size grid end to end (``conf/experiments_tiny`` on the tiny random BERT)."""

from __future__ import annotations

import json
import math

import pandas as pd
import pytest

from mtl_pipeline.experiments.advisor import advise, measured_winner, predict
from mtl_pipeline.experiments.affinity import affinity_matrix, plot_affinity
from mtl_pipeline.experiments.grid import resolve_grid
from mtl_pipeline.experiments.tables import (
    comparison,
    comparison_markdown,
    scores_frame,
    sizes_from,
    summarize,
)
from tests.conftest import REPO, run_kedro

TASKS = ["sst2", "mrpc", "rte", "stsb", "cola"]


# --- the advisor ---------------------------------------------------------------------
@pytest.mark.parametrize("n_target", [1, 99, 100, 101, 5000])
@pytest.mark.parametrize("n_support", [1, 100, 5000])
def test_advisor_rule_is_the_papers(n_target, n_support):
    """Weller et al. 2022: pairwise MTL when the target has fewer instances than the
    supporting task, STILTs when it has more; equal sizes predict nothing."""
    expected = "pairwise" if n_target < n_support else "stilts" if n_target > n_support else None
    assert predict(n_target, n_support) == expected


def test_measured_winner_respects_direction_and_tolerance():
    assert measured_winner(0.8, 0.7) == "pairwise"
    assert measured_winner(0.7, 0.8) == "stilts"
    assert measured_winner(0.7, 0.8, higher_is_better=False) == "pairwise"  # e.g. an error rate
    assert measured_winner(0.80, 0.805, tie_tolerance=0.01) == "tie"
    assert measured_winner(0.8, 0.8) == "tie"


def _records(
    cells: dict[tuple[str, str, str], list[float]], sizes: dict[str, int], higher: bool = True
) -> list[dict]:
    rows = []
    for (target, strategy, support), scores in cells.items():
        for seed, score in enumerate(scores):
            rows.append(
                {
                    "target": target, "strategy": strategy, "support": support or None, "seed": seed,
                    "metric": "m", "higher_is_better": higher, "score": score, "best_step": 1,
                    "steps": 1, "seconds": 0.1, "n_train_target": sizes[target],
                    "n_train_support": sizes[support] if support else None,
                }
            )  # fmt: skip
    return rows


SIZES = {"small": 100, "big": 1000, "same": 1000}
CELLS = {
    ("small", "single_task", ""): [0.50, 0.52],
    ("small", "pairwise", "big"): [
        0.60,
        0.62,
    ],  # small <- big: pairwise wins (rule: pairwise) agree
    ("small", "stilts", "big"): [0.55, 0.57],
    ("small", "mtl_all", ""): [0.51, 0.53],
    ("big", "single_task", ""): [0.70, 0.70],
    ("big", "pairwise", "small"): [
        0.72,
        0.74,
    ],  # big <- small: pairwise wins (rule: stilts) disagree
    ("big", "stilts", "small"): [0.71, 0.71],
    ("big", "pairwise", "same"): [0.80, 0.80],  # equal sizes: no prediction
    ("big", "stilts", "same"): [0.70, 0.70],
    ("big", "mtl_all", ""): [0.75, 0.75],
    ("same", "single_task", ""): [0.40, 0.40],
    ("same", "pairwise", "small"): [0.45, 0.45],  # same <- small: measured tie (rule: stilts)
    ("same", "stilts", "small"): [0.45, 0.45],
}


def test_advisor_agreement_rate_leaves_ties_out():
    scores = scores_frame(_records(CELLS, SIZES))
    summary = summarize(scores)
    advice = advise(summary, sizes_from(scores))
    pairs = {(p["target"], p["support"]): p for p in advice["pairs"]}
    assert (
        pairs[("small", "big")]["predicted"] == "pairwise"
        and pairs[("small", "big")]["agrees"] is True
    )
    assert (
        pairs[("big", "small")]["predicted"] == "stilts"
        and pairs[("big", "small")]["agrees"] is False
    )
    assert pairs[("big", "same")]["predicted"] is None and pairs[("big", "same")]["agrees"] is None
    assert (
        pairs[("same", "small")]["winner"] == "tie" and pairs[("same", "small")]["agrees"] is None
    )
    assert advice["agreement"] == {"agreed": 1, "applicable": 2, "rate": 0.5}
    assert advice["size_ties"] == ["big<-same"] and advice["result_ties"] == ["same<-small"]
    mtl = advice["mtl_all_vs_pairwise"]
    assert mtl["per_target"]["small"]["mtl_all_worse"] and mtl["per_target"]["big"]["mtl_all_worse"]
    assert (mtl["worse_in"], mtl["targets"]) == (2, 2)


# --- tables and affinity ---------------------------------------------------------------
def test_summary_mean_std_and_gain_in_the_metrics_direction():
    summary = summarize(scores_frame(_records(CELLS, SIZES))).set_index(
        ["target", "strategy", "support"]
    )
    row = summary.loc[("small", "pairwise", "big")]
    assert row["mean"] == pytest.approx(0.61) and row["std"] == pytest.approx(
        math.sqrt(2 * 0.01**2)
    )
    assert row["gain_vs_single"] == pytest.approx(0.10)
    lower = summarize(scores_frame(_records(CELLS, SIZES, higher=False))).set_index(
        ["target", "strategy", "support"]
    )
    assert lower.loc[("small", "pairwise", "big"), "gain_vs_single"] == pytest.approx(-0.10)
    one_seed = summarize(scores_frame(_records({("small", "single_task", ""): [0.5]}, SIZES)))
    assert math.isnan(one_seed["std"].iloc[0])


def test_comparison_table_per_target():
    table = comparison(summarize(scores_frame(_records(CELLS, SIZES)))).set_index("target")
    assert table.loc["big", "pairwise_best_support"] == "same"
    assert table.loc["big", "pairwise_best"] == pytest.approx(0.80)
    assert table.loc["big", "pairwise_avg"] == pytest.approx((0.73 + 0.80) / 2)
    assert table.loc["small", "single_task"] == pytest.approx(0.51)
    markdown = comparison_markdown(table.reset_index())
    assert "| small (m, 100) | 0.510 ± 0.014 | 0.520 ± 0.014 |" in markdown
    assert "0.800 ± 0.000 (same)" in markdown


def test_affinity_matrix_and_heatmap():
    matrix = affinity_matrix(summarize(scores_frame(_records(CELLS, SIZES))))
    assert list(matrix.columns) == ["strategy", "target", "big", "same", "small"]
    pairwise = matrix[matrix["strategy"] == "pairwise"].set_index("target")
    assert pairwise.loc["small", "big"] == pytest.approx(0.10)
    assert pairwise.loc["big", "same"] == pytest.approx(0.10)
    assert math.isnan(pairwise.loc["small", "small"])  # never its own support
    figure = plot_affinity(matrix)
    assert len(figure.axes) == 3  # pairwise, stilts, colorbar
    assert (
        plot_affinity(
            affinity_matrix(
                summarize(scores_frame(_records({("small", "single_task", ""): [0.5]}, SIZES)))
            )
        )
        is not None
    )


# --- grid and budget ----------------------------------------------------------------------
def test_grid_defaults_and_budget():
    grid = resolve_grid({}, TASKS)
    assert grid.targets == grid.supports == TASKS and grid.seeds == [0]
    assert grid.strategies == ["pairwise", "stilts", "mtl_all"]
    steps = grid.budget.steps
    assert (grid.steps(), grid.steps(2), grid.steps(5)) == (steps, 2 * steps, 5 * steps)
    # 5 single-task + 20 pairwise (2x) + 20 STILTs target phases + 1 MTL-ALL (5x)
    assert grid.cell_count() == {"single_task": 5, "pairwise": 20, "stilts": 20, "mtl_all": 1}
    assert grid.steps_per_seed() == (5 + 40 + 20 + 5) * steps
    grid = resolve_grid(
        {
            "targets": ["rte", "mrpc"],
            "supports": ["mrpc"],
            "budget": {
                "steps": 10,
                "joint_steps_per_task": False,
                "max_train_examples": {"rte": 50},
            },
        },
        TASKS,
    )
    assert grid.targets == ["mrpc", "rte"] and grid.tasks == ["mrpc", "rte"]  # configuration order
    assert grid.supports_for("mrpc") == [] and grid.supports_for("rte") == ["mrpc"]
    assert grid.steps(5) == 10 and grid.train_cap("rte") == 50 and grid.train_cap("mrpc") is None
    assert resolve_grid({"seeds": 3}, TASKS).seeds == [0, 1, 2]  # --params experiments.seeds=3


def test_experiments_config_is_validated():
    from mtl_pipeline.config import parse_run_config
    from mtl_pipeline.errors import ConfigError

    tasks = {
        t: {
            "type": "classification",
            "train": "a",
            "validation": "b",
            "text_fields": ["x"],
            "label_field": "y",
            "metrics": ["accuracy"],
        }
        for t in ("rte", "mrpc")
    }
    with pytest.raises(ConfigError, match=r"experiments.targets: qnli not in tasks"):
        parse_run_config({"tasks": tasks, "experiments": {"targets": ["qnli"]}})
    with pytest.raises(
        ConfigError, match=r"experiments.budget.stps: unknown key. Did you mean 'steps'"
    ):
        parse_run_config({"tasks": tasks, "experiments": {"budget": {"stps": 3}}})
    with pytest.raises(ConfigError, match=r"experiments.training: max_steps are set by the grid"):
        parse_run_config({"tasks": tasks, "experiments": {"training": {"max_steps": 5}}})
    with pytest.raises(ConfigError, match=r"experiments.training: batch_sise: unknown key"):
        parse_run_config({"tasks": tasks, "experiments": {"training": {"batch_sise": 5}}})
    assert parse_run_config({"tasks": tasks, "experiments": {"training": {"batch_size": 5}}})
    with pytest.raises(ConfigError, match=r"experiments.strategies"):
        parse_run_config({"tasks": tasks, "experiments": {"strategies": ["stilts", "stilts"]}})


def test_shipped_experiment_configs_validate():
    from mtl_pipeline.config_loader import ProjectConfigLoader
    from mtl_pipeline.settings import CONFIG_LOADER_ARGS
    from mtl_pipeline.validation import validate_parameters

    for env in (None, "experiments_tiny"):
        loader = ProjectConfigLoader(conf_source=str(REPO / "conf"), env=env, **CONFIG_LOADER_ARGS)
        config = validate_parameters(dict(loader["parameters"]))
        assert config.training.strategy == "mtl_all"
    assert config.experiments.targets == ["rte", "mrpc"] and config.experiments.seeds == [0, 1]
    assert config.experiments.training["batch_size"] == 8


# --- in process: STILTs cells start from the baseline model of the same seed ----------------
def test_stilts_cell_reuses_the_supporting_tasks_baseline(
    smoke_task_data, tiny_encoder_dir, monkeypatch, tmp_path
):
    from mtl_pipeline.strategies import grid as grid_cells
    from mtl_pipeline.strategies import transfer
    from tests.conftest import tiny_training_params

    tasks, task_data = smoke_task_data
    model, training = tiny_training_params(tiny_encoder_dir, checkpoint_dir=str(tmp_path))
    experiments = {
        "targets": ["rte"],
        "supports": ["mrpc"],
        "strategies": ["stilts"],
        "seeds": [3],
        "budget": {"steps": 2, "evaluations": 1},
    }
    params = {"model": model, "training": training, "tasks": tasks, "experiments": experiments}
    sources = []
    real = transfer.carry_over
    monkeypatch.setattr(
        transfer,
        "carry_over",
        lambda s, t, keep_tasks=(): sources.append(s) or real(s, t, keep_tasks),
    )

    scores, phases = grid_cells.run_single_task_cells("mrpc", params, {"mrpc": task_data["mrpc"]})
    assert scores["records"] == [] and list(phases) == [
        3
    ]  # support only: no baseline row, model kept
    out = grid_cells.run_transfer_cells("rte", params, task_data, {"mrpc": phases})
    assert sources == [phases[3].model.architecture]
    (row,) = out["records"]
    assert (row["target"], row["strategy"], row["support"], row["seed"]) == (
        "rte",
        "stilts",
        "mrpc",
        3,
    )
    assert row["steps"] == 2 and row["n_train_target"] == len(task_data["rte"]["train_features"])
    skipped, _ = grid_cells.run_single_task_cells("cola", params, {"cola": task_data["cola"]})
    assert skipped["records"] == []  # outside the grid: the node exists and does nothing


# --- the Kedro pipeline ------------------------------------------------------------------
def test_experiments_pipeline_is_registered_namespaced_and_not_default(project_copy):
    described = run_kedro(project_copy, "registry", "describe", "experiments").stdout
    for task in TASKS:
        assert f"experiments.{task}.train_single_task" in described
        assert f"experiments.{task}.run_transfer" in described
    for name in (
        "experiments.mtl_all.train_mtl_all",
        "experiments.collect_scores",
        "experiments.advise_strategies",
        "experiments.write_results",
    ):
        assert name in described
    default = run_kedro(project_copy, "registry", "describe", "__default__").stdout
    assert "experiments." not in default


@pytest.mark.slow
def test_tiny_grid_end_to_end(project_copy, tiny_encoder_dir):
    """CI's grid: two tasks, two seeds, every strategy, a few steps (tiny encoder)."""
    run_kedro(
        project_copy, "run", "--env", "experiments_tiny", "--pipelines", "ingestion,tokenization,experiments",
        "--params", f"model.encoder={tiny_encoder_dir}",
    )  # fmt: skip
    out = project_copy / "data" / "08_reporting" / "experiments"
    scores = pd.read_csv(out / "scores.csv", keep_default_na=False)
    per_strategy = scores.groupby("strategy").size().to_dict()
    # 2 targets x 2 seeds each; pairwise/STILTs: 1 supporting task per target
    assert per_strategy == {
        s: 4 for s in ("single_task", "pairwise", "stilts", "mtl_all", "mtl_then_finetune")
    }
    assert set(scores["target"]) == {"rte", "mrpc"}
    assert sizes_from(scores) == {"rte": 120, "mrpc": 200}
    advice = json.loads((out / "advisor.json").read_text())
    assert advice["agreement"]["applicable"] + len(advice["result_ties"]) == 2
    assert {(p["target"], p["predicted"]) for p in advice["pairs"]} == {
        ("rte", "pairwise"),
        ("mrpc", "stilts"),
    }
    affinity = pd.read_csv(out / "affinity.csv")
    assert set(affinity["strategy"]) == {"pairwise", "stilts"} and {"rte", "mrpc"} <= set(
        affinity.columns
    )
    assert (out / "affinity.png").stat().st_size > 0
    results = (out / "results.md").read_text()
    for needle in ("## Comparison", "![task affinity](affinity.png)", "Agreement:", "rte ← mrpc"):
        assert needle in results
