"""Reporting: joins every task's metrics into the run's reports and plots."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from kedro.pipeline import Node, Pipeline

from mtl_pipeline.pipelines._namespacing import per_task_inputs
from mtl_pipeline.pipelines.reporting.nodes import (
    collect_metrics,
    index_tasks,
    plot_gradient_conflicts,
    plot_learning_curves,
    plot_task_mixture,
    plot_task_weights,
    report_task_affinity,
    summarize,
)


def create_pipeline(tasks: Sequence[str] = (), **kwargs: Any) -> Pipeline:
    """``tasks``: the configured task names, one branch each (``pipeline_registry``)."""
    metric_inputs = per_task_inputs(list(tasks), ("metrics",))
    return Pipeline(
        [
            Node(
                collect_metrics,
                inputs=metric_inputs,
                outputs="metrics",
                name="collect_metrics",
                tags=["reporting"],
            ),
            Node(
                index_tasks,
                inputs="metrics",
                outputs="task_index",
                name="index_tasks",
                tags=["reporting"],
            ),
            Node(
                summarize,
                inputs=["metrics", "training_history", "task_mixture", "params:reporting"],
                outputs="summary",
                name="summarize",
                tags=["reporting"],
            ),
            Node(
                plot_learning_curves,
                inputs="training_history",
                outputs="learning_curves",
                name="plot_learning_curves",
                tags=["reporting"],
            ),
            Node(
                plot_task_mixture,
                inputs="training_history",
                outputs="task_mixture_plot",
                name="plot_task_mixture",
                tags=["reporting"],
            ),
            Node(
                plot_gradient_conflicts,
                inputs="training_history",
                outputs="gradient_conflicts_plot",
                name="plot_gradient_conflicts",
                tags=["reporting"],
            ),
            Node(
                report_task_affinity,
                inputs="training_history",
                outputs=["task_affinity", "task_affinity_plot"],
                name="report_task_affinity",
                tags=["reporting"],
            ),
            Node(
                plot_task_weights,
                inputs="training_history",
                outputs="task_weights_plot",
                name="plot_task_weights",
                tags=["reporting"],
            ),
        ]
    )
