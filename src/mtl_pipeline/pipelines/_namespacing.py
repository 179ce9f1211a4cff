"""Helpers for one-branch-per-task pipelines (kept free of torch imports)."""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any


def bind_task(func: Callable[..., Any], task: str) -> Callable[..., Any]:
    """``func`` with ``task_name`` bound, keeping its name for Kedro and kedro-viz."""
    bound = functools.partial(func, task_name=task)
    functools.update_wrapper(bound, func)
    return bound


#: Separates task and dataset in a per-task dataset name (``sst2__label_info``). Not '.':
#: Kedro reserves it for namespaces and warns when a node outside the task's namespace
#: (every node that joins the tasks) reads such a name.
TASK_DATASET_SEP = "__"


def task_dataset(task: str, dataset: str) -> str:
    """The catalog name of one task's dataset (``conf/base/catalog.yml`` factories)."""
    return f"{task}{TASK_DATASET_SEP}{dataset}"


def per_task_inputs(tasks: list[str], datasets: tuple[str, ...]) -> dict[str, str]:
    """``{"<task>__<dataset>": "<task>__<dataset>"}`` for nodes that join every branch
    (keyword argument and catalog name coincide)."""
    return {task_dataset(t, d): task_dataset(t, d) for t in tasks for d in datasets}


def group_per_task(tasks: list[str], kwargs: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """Inverse of ``per_task_inputs`` inside the node: ``{task: {dataset: value}}``."""
    grouped: dict[str, dict[str, Any]] = {t: {} for t in tasks}
    for key, value in kwargs.items():
        task, _, dataset = key.partition("__")
        grouped[task][dataset] = value
    return grouped
