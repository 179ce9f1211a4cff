"""Batch prediction with a trained model (``kedro run --pipelines predict``; not in ``__default__``)."""

from .pipeline import create_pipeline

__all__ = ["create_pipeline"]
