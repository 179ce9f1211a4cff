"""``mae`` and ``quadratic_kappa`` against hand-computed values and scikit-learn."""

from __future__ import annotations

import numpy as np
import pytest

from mtl_data_extras.metrics import METRICS

BY_NAME = {m.name: m for m in METRICS}


def test_mae_by_hand():
    mae = BY_NAME["mae"]
    assert mae(np.array([1.0, 2.0, 4.0]), np.array([1.5, 2.0, 1.0])) == pytest.approx(3.5 / 3)
    assert mae.higher_is_better is False


def test_quadratic_kappa_by_hand():
    """r = (0, 1, 2), p = (0, 2, 2). Observed disagreement sum_i (r_i - p_i)^2 = 1; chance
    disagreement (1/N) sum_i sum_j (r_i - p_j)^2 = ((0+4+4) + (1+1+1) + (4+0+0)) / 3 = 5;
    kappa = 1 - 1/5 = 0.8."""
    kappa = BY_NAME["quadratic_kappa"]
    assert kappa(np.array([0, 2, 2]), np.array([0, 1, 2])) == pytest.approx(0.8)
    assert kappa.higher_is_better is True


def test_quadratic_kappa_properties():
    kappa = BY_NAME["quadratic_kappa"]
    r = np.array([1, 2, 3, 4, 5, 3, 2])
    assert kappa(r, r) == pytest.approx(1.0)
    assert kappa(6 - r, r) < 0  # reversed ratings disagree systematically
    # A near miss costs less than a far miss (the point of quadratic weights).
    near, far = r.copy(), r.copy()
    near[0], far[0] = 2, 5
    assert kappa(near, r) > kappa(far, r)
    # Regression outputs are rounded first.
    assert kappa(r + 0.3, r) == pytest.approx(1.0)
    # Constant predictions and references: 0.0 (undefined), as the core does for correlations.
    assert kappa(np.ones(4), np.ones(4)) == 0.0


def test_quadratic_kappa_matches_sklearn():
    from sklearn.metrics import cohen_kappa_score

    rng = np.random.default_rng(0)
    for _ in range(20):
        r = rng.integers(0, 6, size=50)
        p = np.clip(r + rng.integers(-2, 3, size=50), 0, 5)
        expected = cohen_kappa_score(r, p, weights="quadratic", labels=np.arange(6))
        assert BY_NAME["quadratic_kappa"](p, r) == pytest.approx(expected, abs=1e-12)
