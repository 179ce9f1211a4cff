"""Training: one node that consumes every task's features and the mixture."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from kedro.pipeline import Node, Pipeline

from mtl_pipeline.pipelines._namespacing import per_task_inputs
from mtl_pipeline.pipelines.training.nodes import train_model


def create_pipeline(tasks: Sequence[str] = (), **kwargs: Any) -> Pipeline:
    """``tasks``: the configured task names, one branch each (``pipeline_registry``)."""
    inputs = {
        "task_mixture": "task_mixture",
        "model": "params:model",
        "training": "params:training",
        "tasks": "params:tasks",
    } | per_task_inputs(list(tasks), ("train_features", "validation_features", "label_info"))
    return Pipeline(
        [
            Node(
                train_model,
                inputs=inputs,
                outputs=["trained_model", "training_history"],
                name="train_model",
                tags=["training"],
            )
        ]
    )
