"""Training: one node that consumes every task's features and the mixture."""

from kedro.pipeline import Node, Pipeline

from mtl_pipeline.pipelines._namespacing import per_task_inputs
from mtl_pipeline.pipelines.training.nodes import train_model
from mtl_pipeline.project_tasks import task_names


def create_pipeline(**kwargs) -> Pipeline:
    inputs = {
        "task_mixture": "task_mixture",
        "model": "params:model",
        "training": "params:training",
        "tasks": "params:tasks",
    } | per_task_inputs(task_names(), ("train_features", "validation_features", "label_info"))
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
