"""Task types: loss and prediction conventions."""

from __future__ import annotations

import pytest
import torch

from mtl_pipeline.task_types.regression import RegressionOptions, RegressionTask


def test_regression_with_range_learns_scaled_labels_and_predicts_on_the_original_scale():
    task = RegressionTask(RegressionOptions(label_range=(0.0, 5.0)))
    logits = torch.tensor([[0.5], [1.0]])
    labels = torch.tensor([2.5, 5.0])
    assert task.loss(logits, labels).item() == 0.0
    assert task.predict(logits).tolist() == [2.5, 5.0]
    # The loss is on the [0, 1] scale: an error of 1 label unit costs (1/5)^2.
    assert abs(task.loss(torch.tensor([[0.5]]), torch.tensor([3.5])).item() - 0.04) < 1e-7


def test_regression_without_range_is_plain_mse():
    task = RegressionTask(RegressionOptions())
    assert task.loss(torch.tensor([[2.0]]), torch.tensor([3.0])).item() == 1.0
    assert task.predict(torch.tensor([[2.0]])).tolist() == [2.0]


def test_balanced_class_weights_and_weighted_loss():
    from mtl_pipeline.task_types.classification import (
        ClassificationOptions,
        ClassificationTask,
        balanced_class_weights,
    )

    weights = balanced_class_weights({"0": 1, "1": 3}, ["0", "1"])
    assert weights == [2.0, 2.0 / 3.0]
    task = ClassificationTask(ClassificationOptions(class_weights=weights))
    logits = torch.tensor([[0.0, 0.0], [0.0, 0.0]])
    labels = torch.tensor([0, 1])
    # Weighted mean of two identical per-example losses is that loss: ln 2.
    assert task.loss(logits, labels).item() == pytest.approx(0.693147, abs=1e-5)
    skewed = torch.tensor([[2.0, 0.0], [2.0, 0.0]])
    plain = ClassificationTask(ClassificationOptions()).loss(skewed, labels).item()
    # Here the frequent class (label 1) is the one predicted wrong: down-weighted, it costs less.
    assert task.loss(skewed, labels).item() < plain


@pytest.mark.parametrize(
    "options, key",
    [
        ("mtl_pipeline.task_types.classification:ClassificationOptions", "class_weights"),
        ("mtl_pipeline.task_types.multi_label:MultiLabelOptions", "pos_weight"),
    ],
)
def test_loss_weights_must_be_positive_and_finite(options, key):
    import importlib

    from pydantic import ValidationError

    module, name = options.split(":")
    cls = getattr(importlib.import_module(module), name)
    for bad in ([], [1.0, 0.0], [1.0, -2.0], [1.0, float("nan")], [float("inf"), 1.0]):
        with pytest.raises(ValidationError, match=f"(?s){key}.*expected positive finite weights"):
            cls(**{key: bad})
    for good in ([0.5, 2.0], "balanced", None):
        assert getattr(cls(**{key: good}), key) == good
