"""Task samplers: frequencies, schedules, determinism, resume and validation (numpy only)."""

from __future__ import annotations

import json
from typing import Any

import numpy as np
import pytest
from scipy.stats import chisquare

from mtl_pipeline.config import TrainingConfig
from mtl_pipeline.errors import ConfigError
from mtl_pipeline.samplers.base import TaskSampler, inclusion_probabilities, subset_probabilities
from mtl_pipeline.samplers.factory import build_sampler

SIZES = {"big": 5000, "mid": 1000, "small": 300, "tiny": 50}
DRAWS = 20_000
SPECIFIED = {"big": 0.1, "mid": 0.2, "small": 0.3, "tiny": 0.4}

#: name -> options; every built-in sampler.
SAMPLERS: dict[str, dict[str, Any]] = {
    "uniform": {},
    "proportional": {},
    "temperature": {"T": 2.0},
    "capped": {"cap": 800},
    "annealed": {},
    "round_robin": {},
    "specified": {"probabilities": SPECIFIED},
    "dynamic": {"targets": {"big": 0.9, "mid": 0.9, "small": 0.9, "tiny": 0.9}},
}
RANDOM_SAMPLERS = [n for n in SAMPLERS if n != "round_robin"]


def make(
    name: str,
    options: dict[str, Any] | None = None,
    *,
    sizes: dict[str, int] | None = None,
    k: int = 1,
    seed: int = 0,
    max_steps: int = 1000,
    batch_size: int = 8,
) -> TaskSampler:
    """Build through the registry and the typed config, as a run does."""
    opts = SAMPLERS[name] if options is None else options
    cfg = TrainingConfig(
        sampler={"name": name, **opts},
        tasks_per_step=k,
        seed=seed,
        max_steps=max_steps,
        batch_size=batch_size,
    )
    return build_sampler(cfg, dict(SIZES if sizes is None else sizes))


def expected(name: str, sampler: TaskSampler) -> dict[str, float]:
    """Closed-form probabilities of each sampler on SIZES (independent of the code under test)."""
    n = np.array([SIZES[t] for t in sampler.task_names], dtype=float)
    if name in ("uniform", "round_robin"):
        w = np.ones_like(n)
    elif name == "proportional":
        w = n
    elif name == "temperature":
        w = np.sqrt(n)
    elif name == "capped":
        w = np.minimum(n, 800)
    elif name == "annealed":  # step 0 is epoch 1: alpha = 1
        w = n
    elif name == "specified":
        w = np.array([SPECIFIED[t] for t in sampler.task_names])
    elif name == "dynamic":  # before any evaluation: uniform base
        w = np.ones_like(n)
    else:
        raise AssertionError(name)
    return dict(zip(sampler.task_names, w / w.sum(), strict=True))


def plan(sampler: TaskSampler, steps: range) -> list[list[str]]:
    return [sampler.sample(s) for s in steps]


def chi2_pvalue(counts: dict[Any, int], probs: dict[Any, float]) -> float:
    keys = [key for key in probs if probs[key] > 0]
    assert sum(counts.get(key, 0) for key in probs if probs[key] == 0) == 0
    observed = np.array([counts.get(key, 0) for key in keys], dtype=float)
    exp = np.array([probs[key] for key in keys]) * observed.sum()
    return float(chisquare(observed, exp).pvalue)


# --- frequencies ----------------------------------------------------------------------
@pytest.mark.parametrize("name", RANDOM_SAMPLERS)
def test_k1_frequencies_match_probabilities(name: str) -> None:
    sampler = make(name)
    probs = sampler.probabilities(0)
    want = expected(name, sampler)
    assert probs == pytest.approx(want, abs=1e-12)
    counts: dict[str, int] = {}
    for _ in range(DRAWS):
        (task,) = sampler.sample(0)
        counts[task] = counts.get(task, 0) + 1
    assert chi2_pvalue(counts, probs) > 0.001


@pytest.mark.parametrize("name", ["proportional", "specified", "temperature"])
def test_k2_subsets_match_exact_successive_sampling(name: str) -> None:
    """With k > 1, each step's *set* of tasks is one categorical draw over the k-subsets,
    so the chi-square test is exact against ``subset_probabilities``."""
    sampler = make(name, k=2)
    probs = sampler.probabilities(0)
    exact = subset_probabilities(probs, 2)
    assert sum(exact.values()) == pytest.approx(1.0)
    counts: dict[frozenset[str], int] = {}
    for _ in range(DRAWS):
        tasks = sampler.sample(0)
        assert len(set(tasks)) == 2
        counts[frozenset(tasks)] = counts.get(frozenset(tasks), 0) + 1
    assert chi2_pvalue(counts, exact) > 0.001
    # Inclusion probabilities: sum to k, differ from k * p (big saturates, tiny gains).
    incl = inclusion_probabilities(probs, 2)
    assert sum(incl.values()) == pytest.approx(2.0)
    if name == "proportional":
        assert incl["big"] < 2 * probs["big"] and incl["tiny"] > 2 * probs["tiny"]
    shares = {t: sum(c for s, c in counts.items() if t in s) / DRAWS for t in probs}
    assert shares == pytest.approx(incl, abs=0.015)


def test_inclusion_probabilities_brute_force() -> None:
    """Exact inclusion probabilities against enumerating every ordered draw."""
    from itertools import permutations

    p = {"a": 0.5, "b": 0.3, "c": 0.15, "d": 0.05}
    brute = dict.fromkeys(p, 0.0)
    for seq in permutations(p, 3):
        prob, rest = 1.0, 1.0
        for t in seq:
            prob *= p[t] / rest
            rest -= p[t]
        for t in seq:
            brute[t] += prob
    assert inclusion_probabilities(p, 3) == pytest.approx(brute, abs=1e-12)
    assert inclusion_probabilities(p, 1) == pytest.approx(p)
    assert inclusion_probabilities(p, 4) == pytest.approx(dict.fromkeys(p, 1.0))


@pytest.mark.parametrize("name", list(SAMPLERS))
@pytest.mark.parametrize("k", [1, 3])
def test_k_distinct_tasks_every_step(name: str, k: int) -> None:
    sampler = make(name, k=k)
    for step in range(200):
        tasks = sampler.sample(step)
        assert len(tasks) == k and len(set(tasks)) == k and set(tasks) <= set(SIZES)


# --- determinism ----------------------------------------------------------------------
@pytest.mark.parametrize("name", list(SAMPLERS))
def test_same_seed_same_plan(name: str) -> None:
    assert plan(make(name, seed=7), range(300)) == plan(make(name, seed=7), range(300))


@pytest.mark.parametrize("name", RANDOM_SAMPLERS)
def test_different_seeds_differ(name: str) -> None:
    assert plan(make(name, seed=1), range(300)) != plan(make(name, seed=2), range(300))


def test_round_robin_ignores_the_seed() -> None:
    assert plan(make("round_robin", seed=1), range(50)) == plan(
        make("round_robin", seed=2), range(50)
    )


# --- schedules ------------------------------------------------------------------------
def test_round_robin_order() -> None:
    sampler = make("round_robin")
    assert plan(sampler, range(6)) == [["big"], ["mid"], ["small"], ["tiny"], ["big"], ["mid"]]
    sampler = make("round_robin", k=3)
    assert plan(sampler, range(4)) == [
        ["big", "mid", "small"],
        ["tiny", "big", "mid"],
        ["small", "tiny", "big"],
        ["mid", "small", "tiny"],
    ]
    custom = make("round_robin", {"order": ["tiny", "big", "small", "mid"]}, k=2)
    assert plan(custom, range(3)) == [["tiny", "big"], ["small", "mid"], ["tiny", "big"]]


def test_annealed_schedule_exact_values() -> None:
    # 6350 examples / (batch 10 * k 1) = 635 steps per mixture epoch; 5 epochs.
    sampler = make("annealed", batch_size=10, max_steps=635 * 5)
    assert sampler.steps_per_epoch == 635 and sampler.num_epochs == 5
    assert [sampler.alpha(e) for e in (1, 3, 5)] == pytest.approx([1.0, 0.6, 0.2])
    assert sampler.epoch(0) == 1 and sampler.epoch(634) == 1 and sampler.epoch(635) == 2
    n = np.array(list(SIZES.values()), dtype=float)
    for step, alpha in ((0, 1.0), (634, 1.0), (635 * 2, 0.6), (635 * 4 + 7, 0.2), (10**6, 0.2)):
        w = n**alpha
        assert list(sampler.probabilities(step).values()) == pytest.approx(list(w / w.sum()))
    decayed = make("annealed", {"decay": 1.0}, batch_size=10, max_steps=635 * 5)
    assert decayed.probabilities(635 * 4) == pytest.approx(dict.fromkeys(SIZES, 0.25))


def test_annealed_single_epoch_stays_proportional() -> None:
    sampler = make("annealed", max_steps=10)
    assert sampler.num_epochs == 1
    assert sampler.alpha(1) == 1.0
    assert sampler.probabilities(9) == pytest.approx(expected("proportional", sampler))


def test_capped_with_temperature() -> None:
    sampler = make("capped", {"cap": 1000, "T": 2.0})
    w = np.sqrt([1000, 1000, 300, 50])
    assert list(sampler.probabilities(0).values()) == pytest.approx(list(w / w.sum()))


# --- resume ---------------------------------------------------------------------------
SCORES = [
    (30, {"big": 0.8, "mid": 0.6, "small": 0.5, "tiny": 0.2}),
    (60, {"big": 0.85, "mid": 0.7, "small": float("nan"), "tiny": 0.25}),
    (130, {"big": 0.86, "mid": 0.72, "small": 0.6, "tiny": 0.3}),
]


def run_with_feedback(sampler: TaskSampler, steps: range) -> list[list[str]]:
    feedback = dict(SCORES)
    out = []
    for step in steps:
        out.append(sampler.sample(step))
        if step + 1 in feedback:
            sampler.observe(step + 1, feedback[step + 1])
    return out


@pytest.mark.parametrize("name", list(SAMPLERS))
@pytest.mark.parametrize("k", [1, 2])
def test_state_round_trip_continues_identically(name: str, k: int) -> None:
    first = make(name, k=k, seed=3, max_steps=400, batch_size=50)
    run_with_feedback(first, range(100))
    state = json.loads(json.dumps(first.state_dict(), allow_nan=False))
    resumed = make(name, k=k, seed=99, max_steps=400, batch_size=50)  # seed overridden
    resumed.load_state_dict(state)
    assert resumed.probabilities(100) == first.probabilities(100)
    assert run_with_feedback(resumed, range(100, 400)) == run_with_feedback(first, range(100, 400))
    assert resumed.probabilities(400) == first.probabilities(400)


# --- dynamic --------------------------------------------------------------------------
def test_dynamic_moves_probability_to_the_lagging_task() -> None:
    sampler = make("dynamic", {"targets": dict.fromkeys(SIZES, 0.9), "smoothing": 0.1})
    assert sampler.probabilities(0) == pytest.approx(dict.fromkeys(SIZES, 0.25))
    history = []
    for i in range(1, 6):  # the others climb towards the target; "small" is held at 0.3
        scores = {t: min(0.9, 0.5 + 0.1 * i) for t in SIZES}
        scores["small"] = 0.3
        sampler.observe(100 * i, scores)
        history.append(sampler.probabilities(100 * i)["small"])
    assert history == sorted(history) and history[-1] > history[0] > 0.25
    final = sampler.probabilities(500)
    assert final["small"] == pytest.approx(0.9 + 0.1 * 0.25)  # all the gap mass, plus smoothing
    assert final["big"] == pytest.approx(0.1 * 0.25)
    counts: dict[str, int] = {}
    for _ in range(DRAWS):
        (task,) = sampler.sample(500)
        counts[task] = counts.get(task, 0) + 1
    assert chi2_pvalue(counts, final) > 0.001


def test_dynamic_formula_gottumukkala() -> None:
    """p_t = (1 - λ)·gap_t/Σgap + λ·base_t with gap = max(0, target - score)."""
    targets = {"big": 0.9, "mid": 0.8, "small": 0.7, "tiny": 0.6}
    sampler = make("dynamic", {"targets": targets, "smoothing": 0.2, "T": 1.0})
    base = expected("proportional", sampler)
    assert sampler.probabilities(0) == pytest.approx(base)  # temperature base before feedback
    sampler.observe(10, {"big": 0.6, "mid": 0.7, "small": 0.75, "tiny": 0.5})
    gaps = {"big": 0.3, "mid": 0.1, "small": 0.0, "tiny": 0.1}
    want = {t: 0.8 * gaps[t] / 0.5 + 0.2 * base[t] for t in SIZES}
    assert sampler.probabilities(11) == pytest.approx(want)
    rel = make("dynamic", {"targets": targets, "gap": "relative", "smoothing": 0.0})
    rel.observe(10, {"big": 0.6, "mid": 0.7, "small": 0.75, "tiny": 0.5})
    g = {"big": 0.3 / 0.9, "mid": 0.1 / 0.8, "small": 0.0, "tiny": 0.1 / 0.6}
    assert rel.probabilities(11) == pytest.approx({t: v / sum(g.values()) for t, v in g.items()})


def test_dynamic_best_so_far_targets_favour_forgotten_tasks() -> None:
    sampler = make("dynamic", {"smoothing": 0.0})
    sampler.observe(10, {"big": 0.5, "mid": 0.5, "small": 0.5, "tiny": 0.5})
    assert sampler.probabilities(10) == pytest.approx(dict.fromkeys(SIZES, 0.25))  # no gap yet
    sampler.observe(20, {"big": 0.6, "mid": 0.6, "small": 0.3, "tiny": 0.6})
    assert sampler.probabilities(20) == pytest.approx({"big": 0, "mid": 0, "small": 1, "tiny": 0})


def test_dynamic_lower_is_better_and_missing_scores() -> None:
    sampler = make("dynamic", {"targets": {"big": 1.0}, "lower_is_better": ["big"], "smoothing": 0})
    # big's loss-like metric 3.0 vs target 1.0: gap 2; mid regressed 0.2; small/tiny unseen (NaN)
    sampler.observe(10, {"big": 3.0, "mid": 0.8, "small": float("nan"), "tiny": 0.4})
    sampler.observe(20, {"big": 3.0, "mid": 0.6, "small": float("nan"), "tiny": 0.4})
    p = sampler.probabilities(20)
    # unseen "small" gets the largest gap of the others (2.0)
    assert p == pytest.approx({"big": 2 / 4.2, "mid": 0.2 / 4.2, "small": 2 / 4.2, "tiny": 0.0})
    json.dumps(sampler.state_dict(), allow_nan=False)  # NaN scores never reach the state


def test_dynamic_with_k_falls_back_when_too_few_tasks_lag() -> None:
    sampler = make("dynamic", {"smoothing": 0.0}, k=2)
    sampler.observe(10, dict.fromkeys(SIZES, 0.5))
    sampler.observe(20, {"big": 0.4, "mid": 0.5, "small": 0.5, "tiny": 0.5})  # only one lags
    assert sampler.probabilities(20) == pytest.approx(dict.fromkeys(SIZES, 0.25))
    assert len(set(sampler.sample(20))) == 2


# --- validation -----------------------------------------------------------------------
@pytest.mark.parametrize(
    ("name", "options", "fragments"),
    [
        ("temperature", {"T": 0}, ["T", "temperature"]),
        ("capped", {"cap": 0}, ["cap"]),
        ("capped", {"T": -1}, ["T"]),
        ("annealed", {"decay": 1.5}, ["decay"]),
        ("uniform", {"T": 2.0}, ["T", "uniform"]),
        ("specified", {}, ["probabilities"]),
        ("specified", {"probabilities": {**SPECIFIED, "big": -0.1}}, ["probabilities", "big"]),
        ("specified", {"probabilities": dict.fromkeys(SIZES, 0.0)}, ["probabilities", "sum"]),
        ("specified", {"probabilities": {**SPECIFIED, "qnli": 0.1}}, ["probabilities", "'qnli'"]),
        ("specified", {"probabilities": {"big": 1.0}}, ["probabilities", "'mid'", "'tiny'"]),
        ("round_robin", {"order": ["big", "mid", "small"]}, ["order", "'tiny'"]),
        ("round_robin", {"order": ["big", "mid", "small", "tiny", "cola"]}, ["order", "'cola'"]),
        ("dynamic", {"smoothing": 2}, ["smoothing"]),
        ("dynamic", {"gap": "ratio"}, ["gap"]),
        ("dynamic", {"targets": {"mnli": 0.8}}, ["targets", "'mnli'"]),
        ("dynamic", {"lower_is_better": ["sts"]}, ["lower_is_better", "'sts'"]),
        ("dynamic", {"target": {"big": 0.8}}, ["target"]),
    ],
)
def test_option_errors_name_the_option(name: str, options: dict, fragments: list[str]) -> None:
    with pytest.raises(ConfigError) as info:
        make(name, options)
    message = str(info.value)
    for fragment in fragments:
        assert fragment in message, message


def test_specified_needs_k_positive_tasks() -> None:
    with pytest.raises(ConfigError, match="tasks_per_step"):
        make("specified", {"probabilities": {"big": 1, "mid": 0, "small": 0, "tiny": 0}}, k=2)


def test_unknown_sampler_lists_the_builtins() -> None:
    with pytest.raises(ConfigError) as info:
        make("nope", {})
    for name in SAMPLERS:
        assert name in str(info.value)


@pytest.mark.parametrize("name", list(SAMPLERS))
def test_registered_with_name_description_and_options(name: str) -> None:
    from mtl_pipeline.registry import get_registry

    entry = get_registry().entry("sampler", name)
    assert entry.obj.name == name and entry.description
    assert entry.obj.Options.model_config.get("extra") == "forbid"
