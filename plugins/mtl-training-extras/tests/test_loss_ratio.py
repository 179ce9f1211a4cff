"""The ``loss_ratio`` sampler: hand-computed probabilities, the loss feed, exact resume."""

from __future__ import annotations

import pytest

from mtl_training_extras import plugin
from mtl_training_extras.loss_ratio import LossRatioSampler


def sampler(sizes=None, tasks_per_step=1, seed=0, **options) -> LossRatioSampler:
    sizes = sizes or {"a": 100, "b": 100, "c": 100}
    return LossRatioSampler(
        sizes,
        tasks_per_step=tasks_per_step,
        max_steps=100,
        batch_size=8,
        seed=seed,
        options=LossRatioSampler.parse_options(options, "training.sampler"),
    )


def test_uniform_before_any_loss():
    assert sampler().probabilities(0) == pytest.approx({"a": 1 / 3, "b": 1 / 3, "c": 1 / 3})


def test_probabilities_by_hand():
    """smoothing 0.5: a: 2.0 then 1.0 -> EMA 1.5, ratio 0.75; b: one loss, ratio 1;
    c: unseen, ratio 1. floor 0, T 1: p = (0.75, 1, 1) / 2.75."""
    s = sampler(smoothing=0.5, floor=0.0, T=1.0)
    s.record_losses({"a": 2.0})
    s.record_losses({"b": 1.0})
    s.record_losses({"a": 1.0})
    assert s.ratios() == pytest.approx({"a": 0.75, "b": 1.0, "c": 1.0})
    assert s.probabilities(5) == pytest.approx({"a": 0.75 / 2.75, "b": 1 / 2.75, "c": 1 / 2.75})


def test_temperature_and_floor():
    """T = 0.5 squares the ratios; floor 0.3 mixes in 0.1 per task."""
    s = sampler(smoothing=0.0, floor=0.3, T=0.5)
    s.record_losses({"a": 4.0, "b": 4.0, "c": 4.0})
    s.record_losses({"a": 2.0, "b": 4.0, "c": 4.0})  # ratios 0.5, 1, 1 -> squared .25, 1, 1
    p = s.probabilities(0)
    assert p["a"] == pytest.approx(0.7 * 0.25 / 2.25 + 0.1)
    assert p["b"] == pytest.approx(0.7 * 1 / 2.25 + 0.1)
    assert sum(p.values()) == pytest.approx(1.0)


def test_observe_losses_feeds_the_sampler():
    s = sampler(smoothing=0.0)
    s.observe_losses(1, {"a": 3.0})
    s.observe_losses(2, {"a": 1.5, "zzz": 9.0})
    assert s.initial_loss == {"a": 3.0}
    assert s.ratios()["a"] == pytest.approx(0.5)


def test_no_process_wide_feed_remains():
    """Each sampler gets its own losses from its trainer; the plugin keeps no global."""
    assert not hasattr(plugin, "on_step_end")
    first, second = sampler(smoothing=0.0), sampler(smoothing=0.0)
    first.observe_losses(1, {"a": 2.0})
    assert second.initial_loss == {}


def test_non_finite_losses_are_ignored():
    s = sampler()
    s.record_losses({"a": float("nan")})
    s.record_losses({"a": float("inf")})
    assert s.initial_loss == {}


def test_lagging_task_is_drawn_most():
    s = sampler(smoothing=0.0, floor=0.0, T=0.25)
    s.record_losses({"a": 1.0, "b": 1.0, "c": 1.0})
    s.record_losses({"a": 0.1, "b": 0.2, "c": 0.9})
    draws = [s.sample(step)[0] for step in range(400)]
    assert max(set(draws), key=draws.count) == "c"


def test_resume_draws_the_same_sequence():
    first = sampler(tasks_per_step=2, seed=3)
    first.record_losses({"a": 2.0, "b": 1.0, "c": 0.5})
    first.record_losses({"a": 1.0, "b": 1.0, "c": 0.5})
    [first.sample(s) for s in range(5)]
    state = first.state_dict()
    second = sampler(tasks_per_step=2, seed=99)
    second.load_state_dict(state)
    assert [first.sample(s) for s in range(5, 30)] == [second.sample(s) for s in range(5, 30)]
    assert first.probabilities(30) == second.probabilities(30)


def test_probabilities_do_not_touch_the_rng():
    s = sampler()
    before = s.rng.bit_generator.state
    s.probabilities(0)
    assert s.rng.bit_generator.state == before
