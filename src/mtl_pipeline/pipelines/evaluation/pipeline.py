"""Evaluation: one namespaced branch per task (``evaluation.<task>.evaluate_task``)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from kedro.pipeline import Node, Pipeline

from mtl_pipeline.pipelines._namespacing import bind_task, task_dataset
from mtl_pipeline.pipelines.evaluation.nodes import evaluate_task


def create_pipeline(tasks: Sequence[str] = (), **kwargs: Any) -> Pipeline:
    """``tasks``: the configured task names, one branch each (``pipeline_registry``)."""
    branches = [
        Pipeline(
            [
                Node(
                    bind_task(evaluate_task, task),
                    inputs=[
                        "trained_model",
                        "validation_examples",
                        "validation_features",
                        "label_info",
                        "params:task",
                        "params:evaluation",
                    ],
                    outputs=["predictions", "metrics"],
                    name="evaluate_task",
                    tags=["evaluation"],
                )
            ],
            # A namespace of its own ("evaluation.<task>"): reusing "<task>" would make the
            # task's group span both sides of the training node, which kedro-viz cannot draw.
            namespace=f"evaluation.{task}",
            inputs={"trained_model": "trained_model"}
            | {
                name: task_dataset(task, name)
                for name in ("validation_examples", "validation_features", "label_info")
            },
            outputs={name: task_dataset(task, name) for name in ("predictions", "metrics")},
            parameters={
                "params:task": f"params:tasks.{task}",
                "params:evaluation": "params:evaluation",
            },
        )
        for task in list(tasks)
    ]
    return sum(branches, Pipeline([]))
