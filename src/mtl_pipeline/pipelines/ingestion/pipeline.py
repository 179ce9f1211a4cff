"""Ingestion: one namespaced branch per task (``<task>.ingest_task``)."""

from kedro.pipeline import Node, Pipeline

from mtl_pipeline.pipelines._namespacing import bind_task, task_dataset
from mtl_pipeline.pipelines.ingestion.nodes import ingest_task
from mtl_pipeline.project_tasks import task_names


def create_pipeline(**kwargs) -> Pipeline:
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
        for task in task_names()
    ]
    return sum(branches, Pipeline([]))
