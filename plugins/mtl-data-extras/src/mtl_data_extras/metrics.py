"""Two metrics the core lacks: MAE for regression, quadratic weighted kappa for ordinal labels.

Both receive 1-D numpy arrays (predictions, references) of equal, non-zero length: label
ids for classification tasks, floats for regression tasks (the core's ``Metric`` wrapper
checks the lengths and returns NaN for empty input before these functions run).
"""

from __future__ import annotations

import numpy as np
from mtl_pipeline.metrics.base import Metric


def mean_absolute_error(predictions: np.ndarray, references: np.ndarray) -> float:
    """mean |p - r|: in the label's own unit, less dominated by outliers than MSE."""
    p = predictions.astype(np.float64)
    r = references.astype(np.float64)
    return float(np.mean(np.abs(p - r)))


def quadratic_weighted_kappa(predictions: np.ndarray, references: np.ndarray) -> float:
    """Cohen's kappa with quadratic disagreement weights (Cohen 1968).

    Cohen, J. "Weighted kappa: Nominal scale agreement with provision for scaled
    disagreement or partial credit." Psychological Bulletin 70(4), 1968. The standard
    metric for ordinal ratings (essay scoring, ASAP/Kaggle), where predicting 4 for a 5 is
    better than predicting 1.

    Values are rounded to the nearest integer first, so a regression task over integer
    scores can use it as well as a classification task whose label ids are in order
    (e.g. ``labels: ["1", "2", "3", "4", "5"]``). With weights ``(i - j)^2`` the observed
    and chance-expected disagreements reduce to moments, no confusion matrix needed:

        kappa = 2 cov(r, p) / (var(r) + var(p) + (mean(r) - mean(p))^2)

    (population moments). Undefined when both sides are one constant value; 0.0 then,
    the core's convention for correlations of a constant.
    """
    p = np.rint(predictions.astype(np.float64))
    r = np.rint(references.astype(np.float64))
    denominator = r.var() + p.var() + (r.mean() - p.mean()) ** 2
    if denominator == 0.0:
        return 0.0
    covariance = np.mean((r - r.mean()) * (p - p.mean()))
    return float(2.0 * covariance / denominator)


METRICS = [
    Metric(
        "mae",
        mean_absolute_error,
        "Mean absolute error (lower is better), for regression tasks.",
        higher_is_better=False,
        predictions={"values"},
    ),
    Metric(
        "quadratic_kappa",
        quadratic_weighted_kappa,
        "Quadratic weighted Cohen's kappa for ordinal labels (Cohen 1968).",
        predictions={"classes", "values"},
    ),
]
