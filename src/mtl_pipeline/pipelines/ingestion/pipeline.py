"""Ingestion: one namespaced branch per task (``<task>.ingest_task``)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from kedro.pipeline import Node, Pipeline

from mtl_pipeline.pipelines._namespacing import bind_task, task_dataset
from mtl_pipeline.pipelines.ingestion.nodes import ingest_task


def create_pipeline(tasks: Sequence[str] = (), **kwargs: Any) -> Pipeline:
    """``tasks``: the configured task names, one branch each (``pipeline_registry``)."""
    branches = [
        Pipeline(
            [
                Node(
                    bind_task(ingest_task, task),
                    inputs=["params:task", "params:ingestion"],
                    outputs=["train_examples", "validation_examples", "label_info"],
                    name="ingest_task",
                    tags=["ingestion"],
                )
            ],
            namespace=task,
            outputs={
                name: task_dataset(task, name)
                for name in ("train_examples", "validation_examples", "label_info")
            },
            parameters={
                "params:task": f"params:tasks.{task}",
                "params:ingestion": "params:ingestion",
            },
        )
        for task in list(tasks)
    ]
    return sum(branches, Pipeline([]))
