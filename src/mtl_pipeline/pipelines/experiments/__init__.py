"""The experiments pipeline: the transfer-strategy grid; not part of ``__default__``."""

from mtl_pipeline.pipelines.experiments.pipeline import create_pipeline

__all__ = ["create_pipeline"]
