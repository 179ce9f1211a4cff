"""Predict: one task's predictions for one input file, with the trained model.

Not a stage of the main job (``pipeline_registry.STAGES``), so ``kedro run`` never runs it;
run it with ``kedro run --pipelines predict --params predict.task=sst2,predict.input=...``.
It reads the model through the ``trained_model`` catalog entry, so kedro-viz draws it
downstream of training.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from kedro.pipeline import Node, Pipeline

from mtl_pipeline.pipelines.predict.nodes import load_prediction_input, predict_batch


def create_pipeline(tasks: Sequence[str] = (), **kwargs: Any) -> Pipeline:
    """Task-independent: ``tasks`` is accepted like every pipeline's, and unused."""
    return Pipeline(
        [
            Node(
                load_prediction_input,
                inputs="params:predict",
                outputs="prediction_input",
                name="load_prediction_input",
                tags=["predict"],
            ),
            Node(
                predict_batch,
                inputs=["trained_model", "prediction_input", "params:predict", "params:tasks"],
                outputs="batch_predictions",
                name="predict_batch",
                tags=["predict"],
            ),
        ]
    )
