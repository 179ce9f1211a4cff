"""Project pipelines."""

from __future__ import annotations

import importlib
import pkgutil

from kedro.pipeline import Pipeline

from mtl_pipeline import pipelines as pipeline_package
from mtl_pipeline.project_tasks import task_names

#: The stages of the main job, in DAG order; `__default__` is their sum.
STAGES = ("ingestion", "tokenization", "mixing", "training", "evaluation", "reporting")


def create_pipelines(tasks: list[str]) -> dict[str, Pipeline]:
    """Every pipeline of ``mtl_pipeline.pipelines`` built for ``tasks`` (its
    ``create_pipeline(tasks=...)``), plus ``__default__``, the sum of the stages."""
    found: dict[str, Pipeline] = {}
    for info in sorted(pkgutil.iter_modules(pipeline_package.__path__), key=lambda i: i.name):
        if not info.ispkg or info.name.startswith("_"):
            continue
        module = importlib.import_module(f"{pipeline_package.__name__}.{info.name}.pipeline")
        found[info.name] = module.create_pipeline(tasks=list(tasks))
    found["__default__"] = sum((found[name] for name in STAGES), Pipeline([]))
    return found


def register_pipelines() -> dict[str, Pipeline]:
    """Register the project's pipelines, shaped by the configured task names.

    Returns:
        A mapping from pipeline names to ``Pipeline`` objects.
    """
    return create_pipelines(task_names())
