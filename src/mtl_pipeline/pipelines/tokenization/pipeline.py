"""Tokenization: one namespaced branch per task (``<task>.tokenize_task``)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from kedro.pipeline import Node, Pipeline

from mtl_pipeline.pipelines._namespacing import bind_task, task_dataset
from mtl_pipeline.pipelines.tokenization.nodes import tokenize_task


def create_pipeline(tasks: Sequence[str] = (), **kwargs: Any) -> Pipeline:
    """``tasks``: the configured task names, one branch each (``pipeline_registry``)."""
    branches = [
        Pipeline(
            [
                Node(
                    bind_task(tokenize_task, task),
                    inputs=[
                        "train_examples",
                        "validation_examples",
                        "label_info",
                        "params:model",
                        "params:tokenization",
                    ],
                    outputs=["train_features", "validation_features", "tokenization_stats"],
                    name="tokenize_task",
                    tags=["tokenization"],
                )
            ],
            namespace=task,
            inputs={
                name: task_dataset(task, name)
                for name in ("train_examples", "validation_examples", "label_info")
            },
            outputs={
                name: task_dataset(task, name)
                for name in ("train_features", "validation_features", "tokenization_stats")
            },
            parameters={
                "params:model": "params:model",
                "params:tokenization": "params:tokenization",
            },
        )
        for task in list(tasks)
    ]
    return sum(branches, Pipeline([]))
