"""Every built-in metric against values computed by hand (worked out in the comments)."""

from __future__ import annotations

import math

import numpy as np
import pytest

from mtl_pipeline.metrics.builtin import BUILTIN_METRICS

METRICS = {m.name: m for m in BUILTIN_METRICS}

# A binary example used by several metrics:
#   refs  1 0 0 1 1
#   preds 1 1 0 0 1
#   TP = 2 (pos 0, 4), FP = 1 (pos 1), FN = 1 (pos 3), TN = 1 (pos 2)
P_BIN = np.array([1, 1, 0, 0, 1])
R_BIN = np.array([1, 0, 0, 1, 1])


def approx(value: float) -> object:
    return pytest.approx(value, abs=1e-12)


def test_accuracy():
    assert METRICS["accuracy"](np.array([1, 0, 1, 1]), np.array([1, 0, 0, 1])) == approx(0.75)


def test_binary_f1_uses_label_id_1_as_positive():
    # P = 2/3, R = 2/3 -> F1 = 2/3. (Class 0 would give TP=1, FP=1, FN=1 -> 1/2.)
    assert METRICS["f1"](P_BIN, R_BIN) == approx(2 / 3)


def test_binary_f1_accepts_float_predictions():
    # The evaluation loop hands predictions over as floats (argmax ids cast to float).
    assert METRICS["f1"](P_BIN.astype(np.float32), R_BIN) == approx(2 / 3)


def test_binary_f1_without_positives_is_zero():
    assert METRICS["f1"](np.array([0, 0]), np.array([0, 0])) == 0.0


def test_macro_f1_three_classes():
    # refs  0 0 1 1 2 2 / preds 0 1 1 1 2 0
    # class 0: TP 1, FP 1, FN 1 -> 1/2; class 1: TP 2, FP 1, FN 0 -> 4/5;
    # class 2: TP 1, FP 0, FN 1 -> 2/3; mean = (1/2 + 4/5 + 2/3) / 3 = 59/90
    p, r = np.array([0, 1, 1, 1, 2, 0]), np.array([0, 0, 1, 1, 2, 2])
    assert METRICS["macro_f1"](p, r) == approx(59 / 90)


def test_macro_f1_counts_a_class_seen_only_in_predictions():
    # class 0: TP 1, FN 1 -> 2/3; class 1 (predicted, never true): F1 0 -> mean 1/3
    assert METRICS["macro_f1"](np.array([0, 1]), np.array([0, 0])) == approx(1 / 3)


def test_mcc():
    # (TP*TN - FP*FN) / sqrt((TP+FP)(TP+FN)(TN+FP)(TN+FN)) = (2 - 1) / sqrt(3*3*2*2) = 1/6
    assert METRICS["mcc"](P_BIN, R_BIN) == approx(1 / 6)


def test_mcc_perfect_and_inverted():
    assert METRICS["mcc"](R_BIN, R_BIN) == approx(1.0)
    assert METRICS["mcc"](1 - R_BIN, R_BIN) == approx(-1.0)


def test_pearson():
    # dp = -1.5 -0.5 0.5 1.5, dr = -3 -1 0 4: sum(dp*dr) = 11, sum(dp^2) = 5, sum(dr^2) = 26
    p, r = np.array([1.0, 2.0, 3.0, 4.0]), np.array([2.0, 4.0, 5.0, 9.0])
    assert METRICS["pearson"](p, r) == approx(11 / math.sqrt(130))


def test_spearman_without_ties():
    # rank differences 0 1 1 0: 1 - 6 * 2 / (4 * (16 - 1)) = 0.8
    p, r = np.array([1.0, 2.0, 3.0, 4.0]), np.array([1.0, 3.0, 2.0, 4.0])
    assert METRICS["spearman"](p, r) == approx(0.8)


def test_spearman_with_ties_uses_average_ranks():
    # ranks of p: 1 2.5 2.5 4 -> Pearson of ranks = 4.5 / sqrt(4.5 * 5)
    p, r = np.array([1.0, 2.0, 2.0, 3.0]), np.array([1.0, 2.0, 3.0, 4.0])
    assert METRICS["spearman"](p, r) == approx(4.5 / math.sqrt(22.5))


def test_token_metrics_on_flattened_words():
    # One entry per word (first sub-words only): refs 0 1 1 2 / preds 0 1 2 2
    p, r = np.array([0, 1, 2, 2]), np.array([0, 1, 1, 2])
    assert METRICS["token_accuracy"](p, r) == approx(0.75)
    # class 0: 1; class 1: TP 1, FN 1 -> 2/3; class 2: TP 1, FP 1 -> 2/3 -> mean 7/9
    assert METRICS["token_macro_f1"](p, r) == approx(7 / 9)


@pytest.mark.parametrize("name", ["pearson", "spearman"])
def test_correlation_of_a_constant_prediction_is_zero_not_nan(name):
    constant = np.full(5, 2.5)
    varying = np.array([0.0, 1.0, 2.0, 3.0, 4.0])
    assert METRICS[name](constant, varying) == 0.0
    assert METRICS[name](varying, constant) == 0.0


def test_constant_class_prediction():
    always_one = np.ones(5, dtype=int)
    assert METRICS["mcc"](always_one, R_BIN) == 0.0  # no information, not NaN
    assert METRICS["accuracy"](always_one, R_BIN) == approx(3 / 5)
    # P = 3/5, R = 1 -> F1 = 2 * 3/5 / (3/5 + 1) = 3/4
    assert METRICS["f1"](always_one, R_BIN) == approx(3 / 4)
    # class 0 never predicted: F1 0; class 1: 3/4 -> macro 3/8
    assert METRICS["macro_f1"](always_one, R_BIN) == approx(3 / 8)


def test_no_references_gives_nan_and_length_mismatch_is_an_error():
    empty = np.array([], dtype=int)
    assert all(math.isnan(m(empty, empty)) for m in BUILTIN_METRICS)
    with pytest.raises(ValueError, match="metric accuracy: 2 predictions for 3 references"):
        METRICS["accuracy"](np.array([0, 1]), np.array([0, 1, 1]))


def test_every_builtin_metric_has_a_description_and_higher_is_better():
    assert len(METRICS) == len(BUILTIN_METRICS)
    assert all(m.description and m.higher_is_better for m in BUILTIN_METRICS)
