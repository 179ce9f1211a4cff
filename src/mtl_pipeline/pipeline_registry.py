"""Project pipelines."""

from __future__ import annotations

from kedro.framework.project import find_pipelines
from kedro.pipeline import Pipeline

#: The stages of the main job, in DAG order; `__default__` is their sum.
STAGES = ("ingestion", "tokenization", "mixing", "training", "evaluation", "reporting")


def register_pipelines() -> dict[str, Pipeline]:
    """Register the project's pipelines.

    Returns:
        A mapping from pipeline names to ``Pipeline`` objects.
    """
    pipelines = find_pipelines(raise_errors=True)
    # `--pipelines x` loads only the requested pipelines, so some stages may be absent here.
    pipelines["__default__"] = sum(pipelines[name] for name in STAGES if name in pipelines)
    return pipelines
