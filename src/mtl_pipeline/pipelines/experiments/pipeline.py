"""Experiments: the transfer-strategy grid. Not part of ``__default__``.

``kedro run --pipelines ingestion,tokenization,experiments`` (docs/strategies.md). The grid
reuses the main pipeline's tokenized features (``<task>.train_features``...). Node layout,
chosen to stay readable in kedro-viz (a few nodes per task, not one per cell):

* ``experiments.<task>.train_single_task``: the baseline, every seed (STILTs' phase 1);
* ``experiments.<target>.run_transfer``: pairwise and STILTs with each supporting task;
* ``experiments.mtl_all.train_mtl_all`` and ``finetune_each_task``: the joint runs;
* ``experiments.*``: scores -> summary -> comparison, affinity (CSV + PNG), advisor, results.

Which cells run is read from ``params:experiments`` by the nodes at run time.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from kedro.pipeline import Node, Pipeline

from mtl_pipeline.pipelines._namespacing import bind_task, per_task_inputs
from mtl_pipeline.pipelines.experiments.nodes import (
    advise_strategies,
    collect_scores,
    compare_strategies,
    finetune_each_task,
    run_transfer,
    summarize_cells,
    task_affinity,
    train_mtl_all,
    train_single_task,
    write_results,
)

NS = "experiments"
#: Namespace of the joint runs (no task may be called this).
JOINT = "mtl_all"
PARAMS = {
    "model": "params:model",
    "training": "params:training",
    "tasks": "params:tasks",
    "experiments": "params:experiments",
}
DATASETS = ("train_features", "validation_features", "label_info")


def _features(tasks: list[str]) -> dict[str, str]:
    return per_task_inputs(tasks, DATASETS)


def create_pipeline(tasks: Sequence[str] = (), **kwargs: Any) -> Pipeline:
    """``tasks``: the configured task names, one branch each (``pipeline_registry``)."""
    # The shape depends on the configured tasks only, never on `experiments` itself: Kedro
    # builds pipelines before the session's --env/--params reach project_tasks, so a node
    # whose task is outside this run's grid exists and returns no cells.
    tasks = list(tasks)
    if JOINT in tasks:
        raise ValueError(f"a task may not be named {JOINT!r}: the experiments pipeline uses it")
    joint = f"{NS}.{JOINT}"
    nodes: list[Node] = []
    score_inputs: dict[str, str] = {}
    for task in tasks:
        nodes.append(
            Node(
                bind_task(train_single_task, task),
                inputs=PARAMS | _features([task]),
                outputs=[f"{NS}.{task}.single_task_scores", f"{NS}.{task}.single_task_models"],
                name="train_single_task",
                namespace=f"{NS}.{task}",
                tags=["experiments"],
            )
        )
        score_inputs[f"{task}__single_task"] = f"{NS}.{task}.single_task_scores"
    for target in tasks:
        others = [t for t in tasks if t != target]
        nodes.append(
            Node(
                bind_task(run_transfer, target),
                inputs=PARAMS
                | _features([target, *others])
                | {f"{s}__single_task_models": f"{NS}.{s}.single_task_models" for s in others},
                outputs=f"{NS}.{target}.transfer_scores",
                name="run_transfer",
                namespace=f"{NS}.{target}",
                tags=["experiments"],
            )
        )
        score_inputs[f"{target}__transfer"] = f"{NS}.{target}.transfer_scores"
    nodes += [
        Node(
            train_mtl_all,
            inputs=PARAMS | _features(tasks),
            outputs=[f"{joint}.mtl_all_scores", f"{joint}.mtl_models"],
            name="train_mtl_all",
            namespace=joint,
            tags=["experiments"],
        ),
        Node(
            finetune_each_task,
            inputs={"mtl_models": f"{joint}.mtl_models"} | PARAMS | _features(tasks),
            outputs=f"{joint}.finetune_scores",
            name="finetune_each_task",
            namespace=joint,
            tags=["experiments"],
        ),
    ]
    score_inputs |= {
        "mtl_all": f"{joint}.mtl_all_scores",
        "mtl_then_finetune": f"{joint}.finetune_scores",
    }
    nodes += [
        Node(collect_scores, score_inputs, f"{NS}.scores", name="collect_scores", namespace=NS),
        Node(
            summarize_cells,
            f"{NS}.scores",
            f"{NS}.cell_summary",
            name="summarize_cells",
            namespace=NS,
        ),
        Node(
            compare_strategies,
            f"{NS}.cell_summary",
            f"{NS}.comparison",
            name="compare_strategies",
            namespace=NS,
        ),
        Node(
            task_affinity,
            f"{NS}.cell_summary",
            [f"{NS}.affinity_matrix", f"{NS}.affinity_heatmap"],
            name="task_affinity",
            namespace=NS,
        ),
        Node(
            advise_strategies,
            [f"{NS}.cell_summary", f"{NS}.scores", "params:experiments"],
            f"{NS}.advisor",
            name="advise_strategies",
            namespace=NS,
        ),
        Node(
            write_results,
            {"comparison": f"{NS}.comparison", "advice": f"{NS}.advisor"}
            | {k: PARAMS[k] for k in ("model", "training", "tasks", "experiments")}
            | score_inputs,
            f"{NS}.results",
            name="write_results",
            namespace=NS,
        ),
    ]
    return Pipeline(nodes, tags=["experiments"])
