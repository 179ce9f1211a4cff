"""Typed run configuration, validated before the first node runs.

A package by concern: ``core`` (tasks, model, training, ... and ``RunConfig``),
``experiments`` (the experiments pipeline), ``tracking`` (MLflow and batch prediction),
``errors`` (readable validation errors), ``base`` (strict models, component specs).
Everything is importable from here: ``from mtl_pipeline.config import TrainingConfig``.
"""

from __future__ import annotations

from mtl_pipeline.config.base import DEVICE_PATTERN, TASK_NAME_PATTERN, ComponentSpec, StrictModel
from mtl_pipeline.config.core import (
    STRATEGY_TRAINING_KEYS,
    EvaluationConfig,
    IngestionConfig,
    ModelConfig,
    ReportingConfig,
    RunConfig,
    RunSelectionConfig,
    TaskAffinityConfig,
    TaskConfig,
    TokenizationConfig,
    TrainingConfig,
    parse_run_config,
    parse_task_list,
)
from mtl_pipeline.config.errors import format_validation_error, parse_section
from mtl_pipeline.config.experiments import ExperimentsBudget, ExperimentsConfig
from mtl_pipeline.config.tracking import MlflowConfig, PredictConfig, TrackingConfig

__all__ = [
    "DEVICE_PATTERN",
    "STRATEGY_TRAINING_KEYS",
    "TASK_NAME_PATTERN",
    "ComponentSpec",
    "EvaluationConfig",
    "ExperimentsBudget",
    "ExperimentsConfig",
    "IngestionConfig",
    "MlflowConfig",
    "ModelConfig",
    "PredictConfig",
    "ReportingConfig",
    "RunConfig",
    "RunSelectionConfig",
    "StrictModel",
    "TaskAffinityConfig",
    "TaskConfig",
    "TokenizationConfig",
    "TrackingConfig",
    "TrainingConfig",
    "format_validation_error",
    "parse_run_config",
    "parse_section",
    "parse_task_list",
]
