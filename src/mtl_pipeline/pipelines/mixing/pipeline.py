"""Mixing: joins every task branch into one task mixture."""

from kedro.pipeline import Node, Pipeline

from mtl_pipeline.pipelines.mixing.nodes import build_task_mixture
from mtl_pipeline.project_tasks import task_names


def create_pipeline(**kwargs) -> Pipeline:
    tasks = task_names()
    inputs = {"training": "params:training"} | {
        f"{t}__label_info": f"{t}.label_info" for t in tasks
    }
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
