"""Experiment tracking (MLflow). Nothing here imports mlflow until tracking is enabled."""

from mtl_pipeline.tracking.mlflow_tracking import MlflowStepObserver, MlflowTrackingHooks

__all__ = ["MlflowStepObserver", "MlflowTrackingHooks"]
