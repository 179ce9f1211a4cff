"""Task weightings against known properties and hand-worked cases (synthetic tensors only).

Gradient methods get float64 rows here so that properties can be checked tightly; the
trainer passes float32 rows, which the same code handles.
"""

from __future__ import annotations

import itertools
import json
import math

import numpy as np
import pytest
import torch
from pydantic import BaseModel

from mtl_pipeline.errors import ConfigError
from mtl_pipeline.losses.base import TaskWeighting, WeightingContext
from mtl_pipeline.losses.context import weighting_context
from mtl_pipeline.losses.mgda import min_norm_weights
from mtl_pipeline.losses.nash_mtl import nash_residual
from mtl_pipeline.losses.pcgrad import pcgrad_coefficients
from mtl_pipeline.registry import BUILTIN_PLUGIN, get_registry


def _builtin_losses() -> list[str]:
    """Every loss the built-in plugin registers: a new method is tested without editing here."""
    registry = get_registry()
    return [n for n in registry.names("loss") if registry.entry("loss", n).plugin == BUILTIN_PLUGIN]


ALL = _builtin_losses()
GRADIENT = [n for n in ALL if get_registry().get("loss", n).mode == "gradient"]
#: The methods the project documents (docs/losses.md), by mode.
DOCUMENTED = {
    "loss": {"equal", "static", "uncertainty", "dwa", "rlw"},
    "gradient": {"gradnorm", "pcgrad", "cagrad", "mgda", "imtl", "nash_mtl"},
}


def make(name: str, tasks: list[str], **options) -> TaskWeighting:
    cls = get_registry().get("loss", name)
    return cls(tasks, cls.parse_options(options, "training.loss"))


def combine(
    weighting: TaskWeighting, grads: torch.Tensor, tasks: list[str], losses=None, step: int = 0
) -> torch.Tensor:
    values = losses if losses is not None else [1.0] * len(tasks)
    detached = {t: torch.tensor(float(v)) for t, v in zip(tasks, values, strict=True)}
    return weighting.combine_gradients(grads, detached, step)


def brute_force_min_norm(points: np.ndarray) -> np.ndarray:
    """Exact min-norm point of conv(points): try every face (affine min-norm by KKT)."""
    k = len(points)
    best, best_norm = None, np.inf
    for size in range(1, k + 1):
        for face in itertools.combinations(range(k), size):
            p = points[list(face)]
            gram = p @ p.T
            kkt = np.block([[gram, np.ones((size, 1))], [np.ones((1, size)), np.zeros((1, 1))]])
            rhs = np.concatenate([np.zeros(size), [1.0]])
            w = np.linalg.lstsq(kkt, rhs, rcond=None)[0][:size]
            if np.all(w >= -1e-12):
                point = w @ p
                if np.linalg.norm(point) < best_norm - 1e-15:
                    best, best_norm = point, np.linalg.norm(point)
    return best


# --- registry ---------------------------------------------------------------------
def test_all_methods_registered_with_strict_options():
    registry = get_registry()
    assert set().union(*DOCUMENTED.values()) <= set(ALL)
    for name in ALL:
        cls = registry.get("loss", name)
        assert cls.description
        assert name not in DOCUMENTED["loss" if cls.mode == "gradient" else "gradient"]
        assert issubclass(cls.Options, BaseModel)
        with pytest.raises(ConfigError, match="Options it accepts"):
            cls.parse_options({"not_an_option": 1}, "training.loss")


# --- loss-mode methods ------------------------------------------------------------
def test_static_weights_applied_and_validated():
    w = make("static", ["a", "b", "c"], weights={"a": 0.5, "c": 2.0})
    out = w.combine_losses(
        {"a": torch.tensor(2.0), "b": torch.tensor(3.0), "c": torch.tensor(1.0)}, 0
    )
    assert out.item() == pytest.approx(0.5 * 2 + 3 + 2 * 1)
    assert w.last_weights() == {"a": 0.5, "b": 1.0, "c": 2.0}
    with pytest.raises(ConfigError, match=r"unknown task\(s\) 'sst'.*tasks of this run are a, b"):
        make("static", ["a", "b"], weights={"sst": 1.0})
    with pytest.raises(ConfigError, match="weights"):
        make("static", ["a"], weights={"a": -1.0})


def test_uncertainty_forms_and_task_types_from_context():
    w = make("uncertainty", ["cls", "reg"])
    w.bind(WeightingContext(task_types={"cls": "classification", "reg": "regression"}))
    with torch.no_grad():
        w.log_vars.copy_(torch.tensor([math.log(2.0), math.log(4.0)]))
    out = w.combine_losses({"cls": torch.tensor(3.0), "reg": torch.tensor(5.0)}, 0)
    expected = 3.0 / 2.0 + 0.5 * math.log(2.0) + 5.0 / (2 * 4.0) + 0.5 * math.log(4.0)
    assert out.item() == pytest.approx(expected, rel=1e-6)
    assert w.last_weights() == pytest.approx({"cls": 0.5, "reg": 0.125})
    explicit = make("uncertainty", ["cls", "reg"], regression_tasks=["cls"])
    explicit.bind(WeightingContext(task_types={"cls": "classification", "reg": "regression"}))
    assert explicit.factors(["cls", "reg"]) == [0.5, 1.0]  # the option wins over task types
    with pytest.raises(ConfigError, match="regression_tasks"):
        make("uncertainty", ["a"], regression_tasks=["b"])
    assert w.learning_rate == 0.01


def test_uncertainty_noisier_task_gets_larger_variance():
    """Two regression tasks sharing a linear layer, label noise 0.1 vs 1.0: the learned
    variance of the noisy task ends larger, near its irreducible MSE."""
    gen = torch.Generator().manual_seed(0)
    x = torch.randn(256, 8, generator=gen)
    w_true = torch.randn(8, 2, generator=gen)
    y = x @ w_true + torch.randn(256, 2, generator=gen) * torch.tensor([0.1, 1.0])
    model = torch.nn.Linear(8, 2)
    weighting = make("uncertainty", ["clean", "noisy"], regression_tasks=["clean", "noisy"])
    opt = torch.optim.Adam([*model.parameters(), *weighting.parameters()], lr=0.05)
    for _ in range(300):
        pred = model(x)
        losses = {
            "clean": ((pred[:, 0] - y[:, 0]) ** 2).mean(),
            "noisy": ((pred[:, 1] - y[:, 1]) ** 2).mean(),
        }
        opt.zero_grad()
        weighting.combine_losses(losses, 0).backward()
        opt.step()
    s = weighting.log_variances()
    assert s["noisy"] > s["clean"] + 2.0
    assert math.exp(s["noisy"]) == pytest.approx(1.0, rel=0.25)  # sigma^2 -> MSE = noise variance
    assert weighting.last_weights()["noisy"] < weighting.last_weights()["clean"]


def test_dwa_follows_formula_over_windows():
    w = make("dwa", ["a", "b"], temperature=2.0, window=2)
    feed = {0: (4.0, 1.0), 1: (2.0, 1.0), 2: (1.5, 0.9), 3: (1.5, 1.1)}
    for step, (la, lb) in feed.items():
        w.combine_losses({"a": torch.tensor(la), "b": torch.tensor(lb)}, step)
        assert w.last_weights() == pytest.approx({"a": 1.0, "b": 1.0})  # first two windows
    out = w.combine_losses({"a": torch.tensor(1.0), "b": torch.tensor(2.0)}, 4)
    r = np.array([1.5 / 3.0, 1.0 / 1.0])  # window means: a 3 -> 1.5, b 1 -> 1
    expected = 2 * np.exp(r / 2.0) / np.exp(r / 2.0).sum()
    assert [w.last_weights()["a"], w.last_weights()["b"]] == pytest.approx(expected.tolist())
    assert out.item() == pytest.approx(expected[0] * 1.0 + expected[1] * 2.0, rel=1e-6)
    # A step drawing only one task: softmax over the step's tasks, scaled to k = 1.
    w.combine_losses({"b": torch.tensor(1.0)}, 5)
    assert w.last_weights() == pytest.approx({"b": 1.0})


def test_rlw_sums_to_k_reproducible_and_fixed_within_a_step():
    tasks = ["a", "b", "c"]
    losses = {t: torch.tensor(1.0) for t in tasks}
    first, second, other = (
        make("rlw", tasks, seed=3),
        make("rlw", tasks, seed=3),
        make("rlw", tasks, seed=4),
    )
    draws = []
    for step in range(5):
        first.combine_losses(losses, step)
        second.combine_losses(losses, step)
        other.combine_losses(losses, step)
        weights = first.last_weights()
        assert sum(weights.values()) == pytest.approx(3.0)
        assert all(v > 0 for v in weights.values())
        assert weights == second.last_weights()
        draws.append(weights)
        first.combine_losses(losses, step)  # a second micro-batch of the same step
        assert first.last_weights() == weights
    assert draws[0] != draws[1]
    assert other.last_weights() != first.last_weights()
    bound = make("rlw", tasks)
    bound.bind(WeightingContext(seed=3))
    bound.combine_losses(losses, 0)
    assert bound.last_weights() == draws[0]  # seed defaults to training.seed


# --- gradient-mode methods --------------------------------------------------------
def reference_pcgrad(grads: np.ndarray, orders: np.ndarray) -> np.ndarray:
    """Yu et al.'s sequential loops, for comparison."""
    out = []
    for i in range(len(grads)):
        g = grads[i].copy()
        for j in orders[i]:
            if j == i:
                continue
            dot = g @ grads[j]
            if dot < 0:
                g = g - dot / (grads[j] @ grads[j]) * grads[j]
        out.append(g)
    return np.sum(out, axis=0)


def test_pcgrad_hand_worked_and_matches_sequential_reference():
    w = make("pcgrad", ["a", "b"])
    out = combine(w, torch.tensor([[1.0, 0.0], [-1.0, 1.0]], dtype=torch.float64), ["a", "b"])
    # g_a -> g_a - (-1/2) g_b = (0.5, 0.5); g_b -> g_b - (-1/1) g_a = (0, 1)
    assert out.tolist() == pytest.approx([0.5, 1.5])
    rng = np.random.default_rng(0)
    for _ in range(20):
        grads = rng.normal(size=(4, 6))
        orders = rng.permuted(np.tile(np.arange(4), (4, 1)), axis=1)
        coef = pcgrad_coefficients(grads @ grads.T, orders)
        np.testing.assert_allclose(coef.sum(0) @ grads, reference_pcgrad(grads, orders), atol=1e-10)


def test_pcgrad_nonnegative_inner_products_when_conflicting():
    rng = np.random.default_rng(1)
    w = make("pcgrad", ["a", "b"], seed=0)
    checked = 0
    for _ in range(200):
        grads = torch.from_numpy(rng.normal(size=(2, 5)))
        if grads[0] @ grads[1] >= 0:
            continue
        out = combine(w, grads, ["a", "b"])
        assert (grads @ out).min() >= -1e-10
        checked += 1
    assert checked > 50


def test_pcgrad_equals_plain_sum_without_conflicts():
    rng = np.random.default_rng(2)
    grads = torch.from_numpy(np.abs(rng.normal(size=(3, 7))))  # all inner products > 0
    w = make("pcgrad", ["a", "b", "c"])
    torch.testing.assert_close(combine(w, grads, ["a", "b", "c"]), grads.sum(0), rtol=0, atol=0)
    assert w.last_weights() == {"a": 1.0, "b": 1.0, "c": 1.0}


@pytest.mark.parametrize(("k", "dim"), [(2, 2), (3, 2), (3, 3), (4, 3), (6, 3)])
def test_mgda_returns_min_norm_point_of_hull(k, dim):
    rng = np.random.default_rng(k * 10 + dim)
    w = make("mgda", [f"t{i}" for i in range(k)])
    for _ in range(40):
        points = rng.normal(size=(k, dim)) + rng.normal(size=dim)  # shift: hull often off origin
        out = combine(w, torch.from_numpy(points), [f"t{i}" for i in range(k)]).numpy()
        best = brute_force_min_norm(points)
        assert np.linalg.norm(out) <= np.linalg.norm(best) + 1e-9
        np.testing.assert_allclose(out, best, atol=1e-6)
        weights = np.array(list(w.last_weights().values()))
        assert weights.min() >= 0 and weights.sum() == pytest.approx(1.0)


def test_mgda_two_tasks_closed_form():
    w = make("mgda", ["a", "b"])
    out = combine(w, torch.tensor([[1.0, 0.0], [0.0, 1.0]], dtype=torch.float64), ["a", "b"])
    assert out.tolist() == pytest.approx([0.5, 0.5])
    out = combine(w, torch.tensor([[1.0, 0.0], [2.0, 1.0]], dtype=torch.float64), ["a", "b"])
    assert out.tolist() == pytest.approx([1.0, 0.0])  # g_a is already the min-norm point


@pytest.mark.parametrize(
    ("normalization", "weights"),
    [
        # g_a = (2, 0), g_b = (0, 1), losses (1, 4). Each option solves the min-norm problem
        # for g_i / s_i, then weights the raw gradients by w_i / s_i.
        # none, s = (1, 1): min 4 w^2 + (1 - w)^2 at w = 1/5 -> (1/5, 4/5).
        ("none", [1 / 5, 4 / 5]),
        # l2, s = |g| = (2, 1): unit gradients, w = (1/2, 1/2) -> (1/4, 1/2).
        ("l2", [1 / 4, 1 / 2]),
        # loss, s = L = (1, 4): points (2, 0), (0, 1/4); min 4 w^2 + (1 - w)^2 / 16 at
        # w = 1/65 -> (1/65, 64/65) / (1, 4) = (1/65, 16/65).
        ("loss", [1 / 65, 16 / 65]),
        # loss+, s = L |g| = (2, 4): points (1, 0), (0, 1/4); min w^2 + (1 - w)^2 / 16 at
        # w = 1/17 -> (1/17, 16/17) / (2, 4) = (1/34, 4/17).
        ("loss+", [1 / 34, 4 / 17]),
    ],
)
def test_mgda_normalization_hand_worked(normalization, weights):
    w = make("mgda", ["a", "b"], normalization=normalization)
    grads = torch.tensor([[2.0, 0.0], [0.0, 1.0]], dtype=torch.float64)
    out = combine(w, grads, ["a", "b"], losses=[1.0, 4.0])
    assert list(w.last_weights().values()) == pytest.approx(weights, rel=1e-9)
    torch.testing.assert_close(out, torch.tensor(weights, dtype=torch.float64) @ grads)


def test_mgda_loss_normalizations_use_the_losses_and_l2_does_not():
    grads = torch.from_numpy(np.random.default_rng(9).normal(size=(3, 6)))
    tasks = ["a", "b", "c"]
    for normalization in ("none", "l2", "loss", "loss+"):
        w = make("mgda", tasks, normalization=normalization)
        first = combine(w, grads, tasks, losses=[1.0, 2.0, 3.0])
        second = combine(w, grads, tasks, losses=[3.0, 1.0, 0.5])
        same = torch.allclose(first, second, rtol=1e-9, atol=0)
        assert same == (normalization in ("none", "l2")), normalization


def test_mgda_last_layer_uses_only_the_slice():
    rng = np.random.default_rng(3)
    grads = torch.from_numpy(rng.normal(size=(3, 10)))
    tasks = ["a", "b", "c"]
    w = make("mgda", tasks, params="last_layer")
    w.bind(WeightingContext(last_shared_layer=((6, 10),)))
    out = combine(w, grads, tasks)
    sliced = grads[:, 6:].numpy()
    expected = min_norm_weights(sliced @ sliced.T)
    np.testing.assert_allclose(np.array(list(w.last_weights().values())), expected, atol=1e-12)
    torch.testing.assert_close(out, torch.from_numpy(expected) @ grads)
    unbound = make("mgda", tasks, params="last_layer")  # no slice known: all parameters
    full = combine(unbound, grads, tasks)
    torch.testing.assert_close(full, combine(make("mgda", tasks), grads, tasks))


def test_cagrad_with_c_zero_is_mean_gradient():
    grads = torch.from_numpy(np.random.default_rng(4).normal(size=(3, 9)))
    out = combine(make("cagrad", ["a", "b", "c"], c=0.0), grads, ["a", "b", "c"])
    torch.testing.assert_close(out, grads.mean(0))


def test_cagrad_maximizes_worst_task_gain_in_the_ball():
    rng = np.random.default_rng(5)
    c = 0.5
    w = make("cagrad", ["a", "b", "c"], c=c, rescale=0)
    for _ in range(5):
        grads = rng.normal(size=(3, 4))
        d = combine(w, torch.from_numpy(grads), ["a", "b", "c"]).numpy()
        g0 = grads.mean(0)
        radius = c * np.linalg.norm(g0)
        assert np.linalg.norm(d - g0) == pytest.approx(radius, rel=1e-5)  # on the ball's boundary
        samples = rng.normal(size=(20000, 4))
        samples = g0 + radius * samples / np.linalg.norm(samples, axis=1, keepdims=True)
        assert (grads @ d).min() >= (samples @ grads.T).min(axis=1).max() - 1e-5
    rescaled = combine(
        make("cagrad", ["a", "b", "c"], c=c), torch.from_numpy(grads), ["a", "b", "c"]
    ).numpy()
    np.testing.assert_allclose(rescaled, d / (1 + c**2), rtol=1e-6)


@pytest.mark.parametrize("seed", range(5))
def test_cagrad_float32_update_stays_on_its_ball_with_opposed_gradients(seed):
    """k=3 with g_b = -g_a exactly: the dual optimum is g_w ~ 0, the weights reach ~1e6 and
    the update is their near-cancellation; it must still satisfy |d - g0| <= c |g0| (on
    the boundary, as everywhere else for CAGrad)."""
    gen = torch.Generator().manual_seed(seed)
    g, h = torch.randn(1000, generator=gen), torch.randn(1000, generator=gen)
    rows = torch.stack([g, -g, h])
    c = 0.4
    w = make("cagrad", ["a", "b", "c"], c=c, rescale=0)
    d = combine(w, rows, ["a", "b", "c"]).double()
    assert max(w.last_weights().values()) > 1e4  # the ill-conditioned case this is about
    g0 = rows.double().mean(0)
    ratio = ((d - g0).norm() / (c * g0.norm())).item()
    assert 1.0 - 1e-3 < ratio <= 1.0 + 1e-6


def test_imtl_equal_projections_on_unit_gradients():
    rng = np.random.default_rng(6)
    w = make("imtl", ["a", "b", "c", "d"])
    for _ in range(10):
        grads = rng.normal(size=(4, 8)) * rng.uniform(0.1, 10, size=(4, 1))
        out = combine(w, torch.from_numpy(grads), ["a", "b", "c", "d"]).numpy()
        units = grads / np.linalg.norm(grads, axis=1, keepdims=True)
        projections = units @ out
        np.testing.assert_allclose(projections, projections[0], rtol=1e-8)
        assert sum(w.last_weights().values()) == pytest.approx(1.0)
    # Hand-worked: orthogonal g_a = (2, 0), g_b = (0, 1): a_a * 2 = a_b * 1, a_a + a_b = 1.
    out = combine(
        make("imtl", ["a", "b"]),
        torch.tensor([[2.0, 0.0], [0.0, 1.0]], dtype=torch.float64),
        ["a", "b"],
    )
    assert out.tolist() == pytest.approx([2 / 3, 2 / 3])


def test_nash_mtl_satisfies_bargaining_condition():
    rng = np.random.default_rng(7)
    w = make("nash_mtl", ["a", "b", "c"])
    for _ in range(10):
        grads = rng.normal(size=(3, 12)) * rng.uniform(0.01, 100, size=(3, 1))
        combine(w, torch.from_numpy(grads), ["a", "b", "c"])
        alpha = np.array(list(w.last_weights().values()))
        assert alpha.min() > 0
        gram = grads @ grads.T  # unnormalized: the paper's a_i (G G^T a)_i = 1
        np.testing.assert_allclose(alpha * (gram @ alpha), 1.0, rtol=1e-6)
        assert nash_residual(gram, alpha) < 1e-6


@pytest.mark.parametrize(
    ("grads", "expected"),
    [
        # Orthogonal, norms 1 and 2: G G^T = diag(1, 4), a_i^2 |g_i|^2 = 1 -> a = (1, 1/2).
        ([[1.0, 0.0], [0.0, 2.0]], [1.0, 0.5]),
        # Orthogonal, norms 2 and 1: a = (1/2, 1).
        ([[2.0, 0.0], [0.0, 1.0]], [0.5, 1.0]),
        # Three orthonormal gradients: a = (1, 1, 1).
        ([[1.0, 0.0, 0.0], [0.0, 1.0, 0.0], [0.0, 0.0, 1.0]], [1.0, 1.0, 1.0]),
        # g_a = (1, 0), g_b = (1, 1): G G^T = [[1, 1], [1, 2]], so a_a (a_a + a_b) = 1 and
        # a_b (a_a + 2 a_b) = 1. With x = a_a^2: a_b = (1 - x) / a_a, then
        # (1 - x)(2 - x) = x, x^2 - 4x + 2 = 0, x = 2 - sqrt(2) (a_b > 0 needs x < 1):
        # a_a = sqrt(2 - sqrt 2) = 0.76537, a_b = (sqrt 2 - 1) / a_a = 0.54120.
        (
            [[1.0, 0.0], [1.0, 1.0]],
            [math.sqrt(2 - math.sqrt(2)), (math.sqrt(2) - 1) / math.sqrt(2 - math.sqrt(2))],
        ),
    ],
)
def test_nash_mtl_hand_worked_weights(grads, expected):
    tasks = ["a", "b", "c"][: len(grads)]
    w = make("nash_mtl", tasks)
    rows = torch.tensor(grads, dtype=torch.float64)
    out = combine(w, rows, tasks)
    assert list(w.last_weights().values()) == pytest.approx(expected, rel=1e-6)
    torch.testing.assert_close(out, torch.tensor(expected, dtype=torch.float64) @ rows)
    # a^T G G^T a = sum_i a_i (G G^T a)_i = k: the update's norm is sqrt(k) at any scale.
    assert out.norm().item() == pytest.approx(math.sqrt(len(tasks)), rel=1e-6)


def test_nash_mtl_update_is_scale_invariant():
    rng = np.random.default_rng(17)
    tasks = ["a", "b", "c"]
    grads = rng.normal(size=(3, 50)) * np.array([[1.0], [0.3], [5.0]])
    w = make("nash_mtl", tasks)
    reference = combine(w, torch.from_numpy(grads), tasks)
    ref_weights = np.array(list(w.last_weights().values()))
    for s in (1e-4, 0.01, 7.0, 1e3):
        out = combine(w, torch.from_numpy(grads * s), tasks)
        torch.testing.assert_close(out, reference, rtol=1e-6, atol=1e-9)
        np.testing.assert_allclose(
            np.array(list(w.last_weights().values())) * s, ref_weights, rtol=1e-6
        )


def test_nash_mtl_exactly_opposed_float32_gradients_give_near_zero_update():
    """g_b = -5 g_a (integer entries, so the float32 rows and their Gram matrix are exact):
    no bargaining solution exists, the ridge keeps the weights finite but large
    (a_a = 5 a_b), and only a float64 combination cancels them to ~0 (a float32 one left
    3e-4 of the gradient here, 1.5% before the weights were rescaled)."""
    g = torch.randint(-3, 4, (100,), generator=torch.Generator().manual_seed(0)).float()
    w = make("nash_mtl", ["a", "b"])
    out = combine(w, torch.stack([g, -5.0 * g]), ["a", "b"])
    weights = w.last_weights()
    assert weights["a"] > 100 and weights["a"] / weights["b"] == pytest.approx(5.0, rel=1e-6)
    assert out.dtype == torch.float32
    assert out.double().norm().item() < 1e-6 * g.double().norm().item()


def test_gradnorm_equalizes_gradient_norms():
    tasks = ["a", "b", "c"]
    w = make("gradnorm", tasks, alpha=1.5, lr=0.025)
    grads = torch.diag(
        torch.tensor([1.0, 4.0, 10.0], dtype=torch.float64)
    )  # orthogonal, unequal norms
    for step in range(600):
        combine(w, grads, tasks, losses=[2.0, 2.0, 2.0], step=step)  # equal training rates: r = 1
    weights = np.array(list(w.current_weights().values()))
    effective = weights * np.array([1.0, 4.0, 10.0])
    assert effective.max() / effective.min() < 1.1
    assert weights.sum() == pytest.approx(3.0, rel=1e-5)


def test_gradnorm_favours_the_slower_task_and_keeps_sum_with_subsets():
    tasks = ["a", "b", "c"]
    w = make("gradnorm", tasks, alpha=1.0)
    grads = torch.eye(2, dtype=torch.float64)
    combine(w, grads, ["a", "b"], losses=[1.0, 1.0])  # L(0)
    for step in range(1, 400):
        combine(w, grads, ["a", "b"], losses=[0.9, 0.3], step=step)  # b trains 3x faster
    current = w.current_weights()
    assert current["a"] / current["b"] == pytest.approx(
        3.0, rel=0.1
    )  # target G_a / G_b = r_a / r_b = 3
    assert current["c"] == 1.0 and sum(current.values()) == pytest.approx(3.0, rel=1e-5)


@pytest.mark.parametrize("name", GRADIENT)
def test_single_task_step_passes_the_gradient_through(name):
    grads = torch.tensor([[0.3, -1.0, 2.0]], dtype=torch.float64)
    out = combine(make(name, ["a", "b"]), grads, ["a"])
    torch.testing.assert_close(out, grads[0])


@pytest.mark.parametrize("name", GRADIENT)
def test_float32_rows_give_float32_update(name):
    grads = torch.randn(3, 50, generator=torch.Generator().manual_seed(0))
    out = combine(make(name, ["a", "b", "c"]), grads, ["a", "b", "c"])
    assert out.dtype == torch.float32 and out.shape == (50,) and torch.isfinite(out).all()


# --- state ------------------------------------------------------------------------
def _drive(w: TaskWeighting, step: int, rng: np.random.Generator) -> list[float]:
    tasks = ["a", "b", "c"]
    losses = rng.uniform(0.5, 2.0, size=3)
    if w.mode == "loss":
        out = w.combine_losses(
            {t: torch.tensor(float(v)) for t, v in zip(tasks, losses, strict=True)}, step
        )
        return [out.item()]
    grads = torch.from_numpy(rng.normal(size=(3, 6)))
    return combine(w, grads, tasks, losses, step).tolist()


@pytest.mark.parametrize("name", ALL)
def test_state_round_trip_continues_identically(name):
    options = {"window": 2} if name == "dwa" else {}
    first = make(name, ["a", "b", "c"], **options)
    first.bind(WeightingContext(seed=11))
    rng = np.random.default_rng(0)
    for step in range(5):
        _drive(first, step, rng)
    if first.mode == "loss" and list(first.parameters()):
        with torch.no_grad():  # as if the trainer had moved them
            for p in first.parameters():
                p.add_(0.3)
    extra = json.loads(json.dumps(first.extra_state()))
    state = {k: v.clone() for k, v in first.state_dict().items()}
    second = make(name, ["a", "b", "c"], **options)
    second.bind(WeightingContext(seed=99))  # the restored state, not the seed, must win
    second.load_state_dict(state)
    second.load_extra_state(extra)
    state_rng = rng.bit_generator.state
    expected = [_drive(first, step, rng) for step in range(5, 9)]
    rng.bit_generator.state = state_rng
    assert [_drive(second, step, rng) for step in range(5, 9)] == expected
    assert second.last_weights() == first.last_weights()


# --- context ----------------------------------------------------------------------
class _FakeArchitecture(torch.nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.embeddings = torch.nn.Linear(2, 3)
        self.layer = torch.nn.ModuleList([torch.nn.Linear(3, 3), torch.nn.Linear(3, 4)])
        self.pooler = torch.nn.Linear(4, 4)  # registered last, but not a numbered layer
        self.task_specs = {}


def test_context_finds_last_numbered_layer_and_optional_override():
    arch = _FakeArchitecture()
    params = list(arch.parameters())
    ctx = weighting_context(arch, params, seed=5)
    # embeddings 6 + 3, layer.0 9 + 3, layer.1 12 + 4 -> offsets 21..37
    assert ctx.last_shared_layer == ((21, 37),) and ctx.seed == 5
    assert ctx.shared_parameter_names[-1] == "pooler.bias"
    grads = torch.arange(2 * sum(ctx.shared_parameter_sizes), dtype=torch.float32).reshape(2, -1)
    assert ctx.last_layer_columns(grads).shape == (2, 16)
    arch.last_shared_parameters = lambda: [arch.embeddings.bias, arch.pooler.weight]
    ctx = weighting_context(arch, params, seed=0)
    assert ctx.last_shared_layer == ((6, 9), (37, 53))
    assert ctx.last_layer_columns(grads).shape == (2, 19)
