"""Tokenization: one namespaced branch per task (``<task>.tokenize_task``)."""

from kedro.pipeline import Node, Pipeline

from mtl_pipeline.pipelines._namespacing import bind_task, task_dataset
from mtl_pipeline.pipelines.tokenization.nodes import tokenize_task
from mtl_pipeline.project_tasks import task_names


def create_pipeline(**kwargs) -> Pipeline:
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
        for task in task_names()
    ]
    return sum(branches, Pipeline([]))
