"""Project pipelines."""

from __future__ import annotations

from collections.abc import Callable

from kedro.pipeline import Pipeline

from mtl_pipeline.pipelines.evaluation import pipeline as evaluation
from mtl_pipeline.pipelines.experiments import pipeline as experiments
from mtl_pipeline.pipelines.ingestion import pipeline as ingestion
from mtl_pipeline.pipelines.mixing import pipeline as mixing
from mtl_pipeline.pipelines.predict import pipeline as predict
from mtl_pipeline.pipelines.reporting import pipeline as reporting
from mtl_pipeline.pipelines.tokenization import pipeline as tokenization
from mtl_pipeline.pipelines.training import pipeline as training
from mtl_pipeline.project_tasks import task_names

#: The stages of the main job, in DAG order; `__default__` is their sum.
STAGES = ("ingestion", "tokenization", "mixing", "training", "evaluation", "reporting")

#: Every pipeline by name: its ``create_pipeline(tasks=...)``.
BUILDERS: dict[str, Callable[..., Pipeline]] = {
    "ingestion": ingestion.create_pipeline,
    "tokenization": tokenization.create_pipeline,
    "mixing": mixing.create_pipeline,
    "training": training.create_pipeline,
    "evaluation": evaluation.create_pipeline,
    "reporting": reporting.create_pipeline,
    "experiments": experiments.create_pipeline,
    "predict": predict.create_pipeline,
}


def create_pipelines(tasks: list[str]) -> dict[str, Pipeline]:
    """Every pipeline built for ``tasks``, plus ``__default__``, the sum of the stages."""
    found = {name: build(tasks=list(tasks)) for name, build in BUILDERS.items()}
    found["__default__"] = sum((found[name] for name in STAGES), Pipeline([]))
    return found


def register_pipelines() -> dict[str, Pipeline]:
    """Register the project's pipelines, shaped by the configured task names.

    Returns:
        A mapping from pipeline names to ``Pipeline`` objects.
    """
    return create_pipelines(task_names())
