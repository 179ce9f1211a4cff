"""Mixing: joins every task branch into one task mixture."""

from kedro.pipeline import Node, Pipeline

from mtl_pipeline.pipelines._namespacing import per_task_inputs
from mtl_pipeline.pipelines.mixing.nodes import build_task_mixture
from mtl_pipeline.project_tasks import task_names


def create_pipeline(**kwargs) -> Pipeline:
    tasks = task_names()
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
