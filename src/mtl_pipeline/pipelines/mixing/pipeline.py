"""Mixing: joins every task branch into one task mixture."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from kedro.pipeline import Node, Pipeline

from mtl_pipeline.pipelines._namespacing import per_task_inputs
from mtl_pipeline.pipelines.mixing.nodes import build_task_mixture


def create_pipeline(tasks: Sequence[str] = (), **kwargs: Any) -> Pipeline:
    """``tasks``: the configured task names, one branch each (``pipeline_registry``)."""
    tasks = list(tasks)
    inputs = {"training": "params:training"} | per_task_inputs(tasks, ("label_info",))
    return Pipeline(
        [
            Node(
                build_task_mixture,
                inputs=inputs,
                outputs="task_mixture",
                name="build_task_mixture",
                tags=["mixing"],
            )
        ]
    )
