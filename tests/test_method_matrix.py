"""Every architecture trains with every loss and with every sampler (smoke data, tiny encoder).

A full cross product (architectures x losses x samplers) is hundreds of runs; this
covering design runs each architecture once per loss, rotating the sampler so that every
(architecture, loss) and every (architecture, sampler) pair is exercised, each with
k = 2 tasks per step so gradient-combination losses really combine.
"""

from __future__ import annotations

import math

import pytest

from mtl_pipeline.registry import get_registry
from mtl_pipeline.training.run import run_training
from tests.conftest import tiny_training_params
from tests.test_architectures import architecture_spec

_REGISTRY = get_registry()
ARCHITECTURES = _REGISTRY.names("architecture")
LOSSES = _REGISTRY.names("loss")
SAMPLERS = _REGISTRY.names("sampler")
CELLS = [
    (arch, loss, SAMPLERS[(i + j) % len(SAMPLERS)])
    for i, arch in enumerate(ARCHITECTURES)
    for j, loss in enumerate(LOSSES)
]


def test_design_covers_every_pair():
    assert {(a, lo) for a, lo, _ in CELLS} == {(a, lo) for a in ARCHITECTURES for lo in LOSSES}
    if len(LOSSES) >= len(SAMPLERS):
        assert {(a, s) for a, _, s in CELLS} == {(a, s) for a in ARCHITECTURES for s in SAMPLERS}


@pytest.mark.slow
@pytest.mark.parametrize(("architecture", "loss", "sampler"), CELLS)
def test_trains(architecture, loss, sampler, all_task_data, tiny_encoder_dir):
    tasks, task_data = all_task_data
    # A sampler that needs per-task options gets them for these tasks.
    sampler_spec: dict = {"name": sampler}
    if sampler == "specified":
        sampler_spec["probabilities"] = dict.fromkeys(task_data, 1.0)
    model, training = tiny_training_params(
        tiny_encoder_dir,
        max_steps=2,
        eval_every=2,
        tasks_per_step=2,
        loss={"name": loss},
        sampler=sampler_spec,
    )
    model["architecture"] = architecture_spec(architecture, list(task_data))
    _, history = run_training(model, training, tasks, task_data)
    assert len(history["steps"]) == 2
    assert all(math.isfinite(v) for step in history["steps"] for v in step["losses"].values())
