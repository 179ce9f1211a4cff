"""Experiment tracking (``parameters_tracking.yml``) and batch prediction
(``parameters_predict.yml``) settings."""

from __future__ import annotations

from pydantic import (
    Field,
    PositiveInt,
)

from mtl_pipeline.config.base import ComponentSpec, StrictModel


class MlflowConfig(StrictModel):
    """MLflow tracking; off unless ``enabled`` (the ``mlflow`` extra must be installed)."""

    enabled: bool = Field(default=False, description="Log this run to MLflow.")
    tracking_uri: str = Field(
        default="sqlite:///mlruns.db",
        description="MLflow tracking URI; a relative sqlite path is resolved against the project.",
    )
    experiment_name: str = Field(
        default="mtl_pipeline", min_length=1, description="MLflow experiment."
    )
    run_name: str | None = Field(
        default=None, description="MLflow run name (null: MLflow picks one)."
    )
    artifact_location: str | None = Field(
        default=None,
        description="Where a new experiment stores artifacts (null: mlartifacts/ in the project).",
    )
    tags: dict[str, str] = Field(default_factory=dict, description="Extra tags set on the run.")
    log_every: PositiveInt = Field(
        default=50, description="Send per-step metrics to MLflow in batches of this many steps."
    )
    log_model: bool = Field(
        default=True, description="Log the exported model directory as an artifact."
    )
    log_artifacts: bool = Field(
        default=True, description="Log reports, plots and metrics files written by the run."
    )


class TrackingConfig(StrictModel):
    mlflow: MlflowConfig = MlflowConfig()


class PredictConfig(StrictModel):
    """``kedro run --pipelines predict``: one task's predictions for one input file."""

    task: str | None = Field(
        default=None, description="Task to predict (required to run the pipeline)."
    )
    input: str | None = Field(
        default=None, description="Input file (required to run the pipeline)."
    )
    reader: ComponentSpec | None = Field(
        default=None, description="Reader for the input (null: chosen from the file extension)."
    )
    text_fields: list[str] | None = Field(
        default=None,
        min_length=1,
        max_length=2,
        description="Input columns holding the text (null: the task's text_fields at training).",
    )
    output: str | None = Field(
        default=None,
        pattern=r"^[^/\\]+\.(csv|parquet)$",
        description="File name under data/07_model_output/predictions/ (null: <task>.parquet).",
    )
    batch_size: PositiveInt = Field(default=64, description="Examples per forward pass.")
