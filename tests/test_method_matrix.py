"""Every architecture trains with every loss and with every sampler (smoke data, tiny encoder).

A full cross product (architectures x losses x samplers) is hundreds of runs; this
covering design runs each architecture once per loss, rotating the sampler so that every
(architecture, loss) and every (architecture, sampler) pair is exercised, each with
k = 2 tasks per step so gradient-combination losses really combine.

Each cell also checks that training moved the model: some shared parameter (where the
architecture has any) and, for every task the sampler drew, some of that task's own
parameters. With weight decay and warm-up off, only a non-zero gradient and an optimizer
step can move a parameter, so a method whose combined gradient is zero, or a trainer that
skips the step, fails here. A task that was never drawn may keep its parameters; that is
not checked.
"""

from __future__ import annotations

import math

import pytest
import torch

from mtl_pipeline.config import ModelConfig, TaskConfig, TrainingConfig, parse_section
from mtl_pipeline.registry import get_registry
from mtl_pipeline.training.run import train_phase
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
    training.update(weight_decay=0.0, warmup_ratio=0.0)  # only a gradient step moves weights
    model["architecture"] = architecture_spec(architecture, list(task_data))
    initial: dict[str, torch.Tensor] = {}

    def snapshot(arch: torch.nn.Module) -> None:
        initial.update({n: p.detach().clone() for n, p in arch.named_parameters()})

    trained, history = train_phase(
        parse_section(ModelConfig, model, "model"),
        parse_section(TrainingConfig, training, "training"),
        {name: parse_section(TaskConfig, tasks[name], f"tasks.{name}") for name in task_data},
        task_data,
        init=snapshot,
    )
    assert len(history["steps"]) == 2
    assert all(math.isfinite(v) for step in history["steps"] for v in step["losses"].values())

    arch = trained.architecture
    names = {id(p): n for n, p in arch.named_parameters()}

    def moved(params: list[torch.nn.Parameter]) -> list[str]:
        return [
            names[id(p)]
            for p in params
            if p.requires_grad and not torch.equal(p.detach(), initial[names[id(p)]])
        ]

    shared = [p for p in arch.shared_parameters() if p.requires_grad]
    if shared:
        assert moved(shared), "no shared parameter changed in training"
    drawn = {task for step in history["steps"] for task in step["tasks"]}
    for task in sorted(drawn):
        assert moved(arch.task_parameters(task)), f"no parameter of task {task!r} changed"
