"""Experiments nodes: thin wrappers; training in ``strategies.grid``, tables in
``experiments`` (torch is imported only inside the training nodes, so `kedro viz` and the
table nodes never load it)."""

from __future__ import annotations

from typing import Any

import pandas as pd

_DATASETS = ("train_features", "validation_features", "label_info")


def _split(inputs: dict[str, Any]) -> tuple[dict[str, dict[str, Any]], dict[str, Any]]:
    """``{"<task>__<dataset>": v}`` kwargs -> (``{task: {dataset: v}}``, other kwargs)."""
    task_data: dict[str, dict[str, Any]] = {}
    other: dict[str, Any] = {}
    for key, value in inputs.items():
        task, sep, dataset = key.partition("__")
        if sep and dataset in _DATASETS:
            task_data.setdefault(task, {})[dataset] = value
        else:
            other[key] = value
    return task_data, other


def _params(model: Any, training: Any, tasks: Any, experiments: Any) -> dict[str, Any]:
    return {"model": model, "training": training, "tasks": tasks, "experiments": experiments}


def train_single_task(
    model: dict[str, Any],
    training: dict[str, Any],
    tasks: dict[str, Any],
    experiments: dict[str, Any],
    task_name: str,
    **inputs: Any,
) -> tuple[dict[str, Any], dict[int, Any]]:
    """``task_name`` alone, every seed: its baseline scores, and the models STILTs starts from."""
    from mtl_pipeline.strategies.grid import run_single_task_cells

    task_data, _ = _split(inputs)
    return run_single_task_cells(task_name, _params(model, training, tasks, experiments), task_data)


def run_transfer(
    model: dict[str, Any],
    training: dict[str, Any],
    tasks: dict[str, Any],
    experiments: dict[str, Any],
    task_name: str,
    **inputs: Any,
) -> dict[str, Any]:
    """Pairwise and STILTs cells of target ``task_name`` with each supporting task."""
    from mtl_pipeline.strategies.grid import run_transfer_cells

    task_data, other = _split(inputs)
    intermediates = {
        k.partition("__")[0]: v for k, v in other.items() if k.endswith("__single_task_models")
    }
    return run_transfer_cells(
        task_name, _params(model, training, tasks, experiments), task_data, intermediates
    )


def train_mtl_all(
    model: dict[str, Any],
    training: dict[str, Any],
    tasks: dict[str, Any],
    experiments: dict[str, Any],
    **inputs: Any,
) -> tuple[dict[str, Any], dict[int, Any]]:
    """One model on every grid task per seed, scored per target."""
    from mtl_pipeline.strategies.grid import run_mtl_cells

    task_data, _ = _split(inputs)
    return run_mtl_cells(_params(model, training, tasks, experiments), task_data)


def finetune_each_task(
    mtl_models: dict[int, Any],
    model: dict[str, Any],
    training: dict[str, Any],
    tasks: dict[str, Any],
    experiments: dict[str, Any],
    **inputs: Any,
) -> dict[str, Any]:
    """MT-DNN's second stage: every target fine-tuned from the MTL model."""
    from mtl_pipeline.strategies.grid import run_finetune_cells

    task_data, _ = _split(inputs)
    return run_finetune_cells(_params(model, training, tasks, experiments), task_data, mtl_models)


def collect_scores(**scores: dict[str, Any]) -> pd.DataFrame:
    """Every node's cells in one table, one row per run and seed."""
    from mtl_pipeline.experiments.tables import scores_frame

    return scores_frame([r for part in scores.values() for r in part["records"]])


def summarize_cells(scores: pd.DataFrame) -> pd.DataFrame:
    """Mean ± std over seeds per (target, strategy, support), and the gain over single-task."""
    from mtl_pipeline.experiments.tables import summarize

    return summarize(scores)


def compare_strategies(cell_summary: pd.DataFrame) -> pd.DataFrame:
    """Per target: single-task vs MTL-ALL vs pairwise vs STILTs (avg and best support)."""
    from mtl_pipeline.experiments.tables import comparison

    return comparison(cell_summary)


def task_affinity(cell_summary: pd.DataFrame) -> tuple[pd.DataFrame, Any]:
    """The affinity matrix (CSV) and its heatmap (PNG)."""
    from mtl_pipeline.experiments.affinity import affinity_matrix, plot_affinity

    matrix = affinity_matrix(cell_summary)
    return matrix, plot_affinity(matrix)


def advise_strategies(
    cell_summary: pd.DataFrame, scores: pd.DataFrame, experiments: dict[str, Any]
) -> dict[str, Any]:
    """The size heuristic on every pair, and how often it named the measured winner."""
    from mtl_pipeline.experiments.advisor import advise
    from mtl_pipeline.experiments.tables import sizes_from

    tolerance = float((experiments or {}).get("tie_tolerance") or 0.0)
    return advise(cell_summary, sizes_from(scores), tolerance)


def write_results(
    comparison: pd.DataFrame,
    advice: dict[str, Any],
    model: dict[str, Any],
    training: dict[str, Any],
    tasks: dict[str, Any],
    experiments: dict[str, Any],
    **scores: dict[str, Any],
) -> str:
    """results.md: what ran, the comparison, the heatmap, the advisor's verdict."""
    from mtl_pipeline.experiments.grid import resolve_grid
    from mtl_pipeline.experiments.report import results_markdown

    grid = resolve_grid(experiments, list(tasks))
    described = {
        "targets": grid.targets,
        "supports": grid.supports,
        "strategies": grid.strategies,
        "seeds": grid.seeds,
        "budget": grid.budget.model_dump(),
    }
    seconds = sum(float(part.get("seconds") or 0.0) for part in scores.values())
    effective = {**training, **((experiments or {}).get("training") or {})}
    return results_markdown(comparison, advice, described, model, effective, seconds)
