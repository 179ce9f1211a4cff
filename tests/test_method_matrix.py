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
from mtl_pipeline.training.run import run_training, train_phase
from tests.conftest import strategy_training_keys, tiny_training_params
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


def _cell_params(architecture, loss, sampler, task_data, tiny_encoder_dir):
    """(model, training) params of one matrix cell: two steps, two tasks a step; a sampler
    that needs per-task options gets them for these tasks."""
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
    return model, training


def _train_cell(architecture, loss, sampler, data, tiny_encoder_dir) -> dict:
    """Train one matrix cell through ``run_training``; every logged loss must be finite.
    Returns the last evaluation's metrics per task."""
    tasks, task_data = data
    model, training = _cell_params(architecture, loss, sampler, task_data, tiny_encoder_dir)
    _, history = run_training(model, training, tasks, task_data)
    assert all(math.isfinite(v) for step in history["steps"] for v in step["losses"].values())
    return history["evaluations"][-1]["metrics"]


@pytest.mark.slow
@pytest.mark.parametrize(("architecture", "loss", "sampler"), CELLS)
def test_trains(architecture, loss, sampler, all_task_data, tiny_encoder_dir):
    tasks, task_data = all_task_data
    model, training = _cell_params(architecture, loss, sampler, task_data, tiny_encoder_dir)
    training.update(weight_decay=0.0, warmup_ratio=0.0)  # only a gradient step moves weights
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


# --- the passage-level task types (span extraction, multiple choice, multi-label) -------------
# One run per architecture and per loss (whichever list is longer sets the count), rotating
# the other two lists, so that every architecture and every loss trains the three types.
STRATEGIES = ["single_task", "mtl_then_finetune", "pairwise", "stilts"]
PASSAGE_CELLS = [
    (
        ARCHITECTURES[i % len(ARCHITECTURES)],
        LOSSES[i % len(LOSSES)],
        SAMPLERS[i % len(SAMPLERS)],
    )
    for i in range(max(len(ARCHITECTURES), len(LOSSES), len(SAMPLERS)))
]


@pytest.fixture(scope="module")
def passage_task_data(tmp_path_factory, tiny_encoder_dir):
    from tests.passage_data import build_passage_task_data, write_passage_files

    root = write_passage_files(tmp_path_factory.mktemp("passage"))
    return build_passage_task_data(root, tiny_encoder_dir, names=["qa", "copa", "emo"])


def test_passage_design_covers_every_component():
    assert {a for a, _, _ in PASSAGE_CELLS} == set(ARCHITECTURES)
    assert {lo for _, lo, _ in PASSAGE_CELLS} == set(LOSSES)
    assert {s for _, _, s in PASSAGE_CELLS} == set(SAMPLERS)


@pytest.mark.slow
@pytest.mark.parametrize(("architecture", "loss", "sampler"), PASSAGE_CELLS)
def test_passage_types_train(architecture, loss, sampler, passage_task_data, tiny_encoder_dir):
    final = _train_cell(architecture, loss, sampler, passage_task_data, tiny_encoder_dir)
    assert set(final["qa"]) == {"f1", "exact_match"} and set(final["emo"]) >= {"micro_f1"}


@pytest.mark.slow
@pytest.mark.parametrize("strategy", STRATEGIES)
def test_passage_types_with_every_strategy(strategy, passage_task_data, tiny_encoder_dir):
    tasks, task_data = passage_task_data
    extra = strategy_training_keys(strategy, "qa", "copa")
    if "target_task" in extra:  # the strategy trains the tasks it names
        tasks = {n: tasks[n] for n in ("qa", "copa")}
        task_data = {n: task_data[n] for n in ("qa", "copa")}
    model, training = tiny_training_params(tiny_encoder_dir, max_steps=2, eval_every=2, **extra)
    _, history = run_training(model, training, tasks, task_data)
    assert history


# --- entities and dependency parsing ----------------------------------------------------------
# One run per architecture, rotating losses and samplers: every architecture trains the ner
# and dependency_parsing types together (or refuses them when the run is configured).
STRUCTURED_CELLS = [
    (arch, LOSSES[i % len(LOSSES)], SAMPLERS[i % len(SAMPLERS)])
    for i, arch in enumerate(ARCHITECTURES)
]


@pytest.fixture(scope="module")
def ner_parse_task_data(tmp_path_factory, tiny_encoder_dir):
    from tests.ner_parse_data import build_ner_parse_data

    return build_ner_parse_data(tmp_path_factory.mktemp("ner_parse"), tiny_encoder_dir)


@pytest.mark.slow
@pytest.mark.parametrize(("architecture", "loss", "sampler"), STRUCTURED_CELLS)
def test_ner_and_parsing_train(architecture, loss, sampler, ner_parse_task_data, tiny_encoder_dir):
    final = _train_cell(architecture, loss, sampler, ner_parse_task_data, tiny_encoder_dir)
    assert set(final["ner"]) == {"f1", "entity_precision", "entity_recall"}
    assert set(final["deps"]) == {"uas", "las"}
