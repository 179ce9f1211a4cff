"""Transfer strategies on the smoke-sized GLUE data and the tiny random BERT.

Each strategy trains, packages one model that saves, loads and predicts identically; STILTs
really starts the target from the intermediate model's encoder with the intermediate head
dropped and a fresh target head; MT-DNN fine-tuning keeps the task's own head; pairwise
selects its best step by the target alone; wrong strategy options fail at config time.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch

from mtl_pipeline.config import TrainingConfig, parse_section
from mtl_pipeline.errors import ConfigError
from mtl_pipeline.modeling.multitask_model import MultiTaskModel
from mtl_pipeline.registry import get_registry
from mtl_pipeline.strategies.base import check_strategy_keys, strategy_readers
from mtl_pipeline.training.run import run_training
from mtl_pipeline.validation import validate_parameters
from tests.conftest import strategy_training_keys, tiny_training_params

TARGET, SUPPORT = "rte", "mrpc"  # rte has the fewer training rows in the shipped data


def _pair(smoke_task_data) -> tuple[dict, dict]:
    tasks, task_data = smoke_task_data
    return tasks, {t: task_data[t] for t in (TARGET, SUPPORT)}


def _strategy_params(strategy: str) -> dict:
    return strategy_training_keys(strategy, TARGET, SUPPORT)


#: strategy -> (phase names, which phase serves each task, saved architecture)
EXPECTED = {
    "mtl_all": (None, None, "hard_sharing"),
    "single_task": (
        ["single_task:rte", "single_task:mrpc"],
        {"rte": "single_task:rte", "mrpc": "single_task:mrpc"},
        "per_task",
    ),
    "pairwise": (
        ["pairwise:rte+mrpc"],
        {"rte": "pairwise:rte+mrpc", "mrpc": "pairwise:rte+mrpc"},
        "hard_sharing",
    ),
    "stilts": (
        ["single_task:mrpc", "stilts:mrpc>rte"],
        {"rte": "stilts:mrpc>rte", "mrpc": "single_task:mrpc"},
        "per_task",
    ),
    "mtl_then_finetune": (
        ["mtl", "finetune:rte", "finetune:mrpc"],
        {"rte": "finetune:rte", "mrpc": "finetune:mrpc"},
        "per_task",
    ),
}


@pytest.mark.parametrize("strategy", list(EXPECTED))
def test_strategy_trains_packages_saves_and_loads(
    strategy, smoke_task_data, tiny_encoder_dir, tmp_path
):
    tasks, task_data = _pair(smoke_task_data)
    model_params, training = tiny_training_params(
        tiny_encoder_dir, checkpoint_dir=str(tmp_path / "ckpt"), **_strategy_params(strategy)
    )
    model, history = run_training(model_params, training, tasks, task_data)
    phases, serving, architecture = EXPECTED[strategy]
    assert set(model.tasks) == {TARGET, SUPPORT}
    assert model.config["architecture"]["name"] == architecture
    if phases is not None:
        assert history["strategy"] == strategy
        assert [p["name"] for p in history["phases"]] == phases
        assert history["serving"] == serving
        # One step axis: phase k+1 continues where phase k stopped.
        steps = [s["step"] for s in history["steps"]]
        assert steps == list(range(1, len(steps) + 1))
        assert len(steps) == sum(p["steps"] for p in history["phases"])
    assert all(np.isfinite(v) for s in history["steps"] for v in s["losses"].values())

    model.save(tmp_path / "m")
    loaded = MultiTaskModel.load(tmp_path / "m")
    assert type(loaded.architecture) is type(model.architecture)
    pairs = [
        ("A man is playing a guitar.", "A man plays guitar."),
        ("A cat sleeps.", "Stocks fell."),
    ]
    for task in (TARGET, SUPPORT):
        assert model.predict(task, pairs) == loaded.predict(task, pairs)


def _state(module: torch.nn.Module) -> dict[str, torch.Tensor]:
    return {k: v.detach().clone() for k, v in module.state_dict().items()}


def test_stilts_carries_the_encoder_and_drops_the_heads(
    smoke_task_data, tiny_encoder_dir, tmp_path, monkeypatch
):
    """Spy on the copy: right after it, the target model's encoder equals the trained
    intermediate encoder tensor for tensor, the intermediate head is gone, and the target
    head is exactly a freshly initialized one."""
    from mtl_pipeline.encoders import load_encoder
    from mtl_pipeline.modeling.multitask_model import build_architecture
    from mtl_pipeline.strategies import transfer
    from mtl_pipeline.training.run import seed_everything

    seen: list[dict] = []
    real = transfer.carry_over

    def spy(source, target, keep_tasks=()):
        report = real(source, target, keep_tasks)
        seen.append({"source": _state(source), "target": _state(target), "report": report})
        return report

    monkeypatch.setattr(transfer, "carry_over", spy)
    tasks, task_data = _pair(smoke_task_data)
    model_params, training = tiny_training_params(
        tiny_encoder_dir, checkpoint_dir=str(tmp_path / "ckpt"), **_strategy_params("stilts")
    )
    model, history = run_training(model_params, training, tasks, task_data)

    stilts_copy = seen[0]  # the first copy is STILTs' (the others package the bundle)
    source, target, report = stilts_copy["source"], stilts_copy["target"], stilts_copy["report"]
    pretrained = load_encoder(str(tiny_encoder_dir)).state_dict()
    encoder_keys = [k for k in source if k.startswith("encoder.")]
    assert encoder_keys and all(k in target for k in encoder_keys)
    for key in encoder_keys:
        assert torch.equal(target[key], source[key]), key
    # ...and phase 1 really trained, so the equality above is not the pretrained weights'.
    assert any(
        not torch.equal(source[k], pretrained[k.removeprefix("encoder.")])
        for k in encoder_keys
        if source[k].is_floating_point()
    )
    assert any(k.startswith(f"heads.{SUPPORT}.") for k in source)
    assert not any(k.startswith(f"heads.{SUPPORT}.") for k in target), "intermediate head carried"
    assert report.dropped == sorted(k for k in source if k.startswith(f"heads.{SUPPORT}."))
    assert report.fresh == sorted(k for k in target if k.startswith(f"heads.{TARGET}."))

    # The target head is the one a fresh phase-2 build draws (same seed, nothing copied).
    seed_everything(0)
    fresh = build_architecture(
        "hard_sharing", {}, load_encoder(str(tiny_encoder_dir)), {TARGET: model.tasks[TARGET]}
    )
    for key, value in fresh.state_dict().items():
        if key.startswith(f"heads.{TARGET}."):
            assert torch.equal(target[key], value), key
    assert history["phases"][1]["transfer"]["dropped"] == report.dropped
    # The bundle answers for the target with phase 2's weights, not phase 1's.
    final = model.architecture.models[TARGET].state_dict()
    assert not all(torch.equal(final[k], source[k]) for k in encoder_keys)


def test_mtl_then_finetune_keeps_the_tasks_own_head(
    smoke_task_data, tiny_encoder_dir, tmp_path, monkeypatch
):
    from mtl_pipeline.strategies import transfer

    seen: list[tuple[dict, dict, list]] = []
    real = transfer.carry_over

    def spy(source, target, keep_tasks=()):
        report = real(source, target, keep_tasks)
        seen.append((_state(source), _state(target), list(keep_tasks)))
        return report

    monkeypatch.setattr(transfer, "carry_over", spy)
    tasks, task_data = _pair(smoke_task_data)
    model_params, training = tiny_training_params(
        tiny_encoder_dir,
        checkpoint_dir=str(tmp_path / "ckpt"),
        **_strategy_params("mtl_then_finetune"),
    )
    run_training(model_params, training, tasks, task_data)
    source, target, keep = seen[0]  # MTL model -> rte's fine-tuning copy
    assert keep == [TARGET]
    assert set(target) == {k for k in source if not k.startswith(f"heads.{SUPPORT}.")}
    for key, value in target.items():
        assert torch.equal(value, source[key]), key


def test_pairwise_selects_the_best_step_by_the_target_alone(
    smoke_task_data, tiny_encoder_dir, tmp_path, monkeypatch
):
    """Scripted evaluations: step 1 has the better mean, step 2 the better target score."""
    from mtl_pipeline.training import trainer as trainer_module

    script = {
        1: {TARGET: {"accuracy": 0.50}, SUPPORT: {"f1": 0.90, "accuracy": 0.90}},
        2: {TARGET: {"accuracy": 0.60}, SUPPORT: {"f1": 0.10, "accuracy": 0.10}},
    }
    monkeypatch.setattr(
        trainer_module.Trainer, "evaluate", lambda self, limit=None: script[self.step]
    )
    tasks, task_data = _pair(smoke_task_data)
    for strategy, best in (("pairwise", 2), ("mtl_all", 1)):
        extra = _strategy_params(strategy)
        model_params, training = tiny_training_params(
            tiny_encoder_dir,
            max_steps=2,
            eval_every=1,
            checkpoint_dir=str(tmp_path / strategy),
            **extra,
        )
        _, history = run_training(model_params, training, tasks, task_data)
        assert history["best_step"] == best, strategy


@pytest.mark.parametrize(
    ("training", "message"),
    [
        ({"strategy": "pairwise"}, "needs training.target_task and training.supporting_task"),
        ({"strategy": "stilts", "target_task": "rte"}, "needs training.supporting_task"),
        (
            {"strategy": "stilts", "target_task": "rte", "supporting_task": "rte"},
            "name the same task 'rte'",
        ),
        (
            {"strategy": "mtl_all", "target_task": "rte"},
            "not read by strategy mtl_all; strategies that read it: pairwise, stilts",
        ),
        (
            {
                "strategy": "pairwise",
                "target_task": "rte",
                "supporting_task": "mrpc",
                "finetune_steps": 3,
            },
            "finetune_steps is not read by strategy pairwise; strategies that read it: "
            "mtl_then_finetune, stilts",
        ),
        (
            {"strategy": "pairwise", "target_task": "rte", "supporting_task": "qnli"},
            "supporting_task: 'qnli' is not in tasks",
        ),
    ],
)
def test_strategy_keys_are_checked_against_what_the_strategy_declares(training, message):
    registry = get_registry()
    strategy = registry.get("strategy", training["strategy"])
    config = parse_section(TrainingConfig, training, "training")
    with pytest.raises(ConfigError, match=message):
        check_strategy_keys(strategy, config, ["rte", "mrpc"], strategy_readers(registry))


def test_declared_strategy_keys_pass():
    registry = get_registry()
    for name in registry.names("strategy"):
        config = parse_section(TrainingConfig, _strategy_params(name), "training")
        check_strategy_keys(
            registry.get("strategy", name), config, [TARGET, SUPPORT], strategy_readers(registry)
        )


def test_run_training_refuses_a_key_its_strategy_does_not_read(smoke_task_data, tiny_encoder_dir):
    tasks, task_data = _pair(smoke_task_data)
    model_params, training = tiny_training_params(tiny_encoder_dir, max_steps=1)
    training |= {"strategy": "single_task", "finetune_steps": 2}
    with pytest.raises(ConfigError, match="finetune_steps is not read by strategy single_task"):
        run_training(model_params, training, tasks, task_data)


def test_pair_strategies_need_exactly_their_two_tasks_in_the_main_pipeline(smoke_task_data):
    tasks, _ = smoke_task_data
    training = {"strategy": "stilts", "target_task": "rte", "supporting_task": "mrpc"}
    with pytest.raises(ConfigError, match="also include cola, sst2, stsb"):
        validate_parameters({"tasks": tasks, "training": training, "run": {"tasks": list(tasks)}})
    selected = validate_parameters({"tasks": tasks, "training": training})
    assert list(selected.tasks) == ["rte", "mrpc"]  # the strategy's task keys select them
    with pytest.raises(ConfigError, match="'qnli' is not in tasks"):
        validate_parameters({"tasks": tasks, "training": {**training, "supporting_task": "qnli"}})


def test_carry_over_refuses_a_shared_part_it_cannot_cover(smoke_task_data, tiny_encoder_dir):
    """A target whose shared tensors have no same-shaped source counterpart is refused,
    never left half-initialized."""
    from mtl_pipeline.config import TaskConfig
    from mtl_pipeline.encoders import load_encoder
    from mtl_pipeline.modeling.multitask_model import build_architecture
    from mtl_pipeline.strategies.transfer import carry_over
    from mtl_pipeline.training.run import task_meta

    tasks, task_data = smoke_task_data
    metas = {
        t: task_meta(t, TaskConfig(**tasks[t]), task_data[t]["label_info"])
        for t in (TARGET, SUPPORT)
    }
    source = build_architecture(
        "hard_sharing", {}, load_encoder(str(tiny_encoder_dir)), {SUPPORT: metas[SUPPORT]}
    )
    target = build_architecture(
        "mmoe", {}, load_encoder(str(tiny_encoder_dir)), {TARGET: metas[TARGET]}
    )
    before = _state(target)
    with pytest.raises(ConfigError, match="cannot carry .* would stay untrained"):
        carry_over(source, target)
    assert all(torch.equal(v, before[k]) for k, v in target.state_dict().items())


@pytest.mark.parametrize("architecture", ["cross_stitch", "adapters"])
def test_stilts_refuses_an_encoder_that_is_a_tasks_own_before_training(
    architecture, smoke_task_data, tiny_encoder_dir, tmp_path, monkeypatch
):
    """Cross-stitch columns and adapters on a frozen encoder are the task's own: carrying
    "everything but the heads" would start the target from the pretrained encoder, i.e.
    silently run single-task. Refused before the first phase trains."""
    from mtl_pipeline.training import trainer as trainer_module

    def no_training(self):
        raise AssertionError("trained before refusing")

    monkeypatch.setattr(trainer_module.Trainer, "train", no_training)
    tasks, task_data = _pair(smoke_task_data)
    model_params, training = tiny_training_params(
        tiny_encoder_dir, checkpoint_dir=str(tmp_path), **_strategy_params("stilts")
    )
    model_params["architecture"] = {"name": architecture}
    with pytest.raises(ConfigError, match="would stay untrained"):
        run_training(model_params, training, tasks, task_data)


@pytest.mark.slow
def test_main_pipeline_smoke_run_with_a_per_task_strategy(project_copy, tiny_encoder_dir):
    """`kedro run --env smoke` with MT-DNN's recipe: evaluation and reporting work on the
    saved per-task bundle, for every configured task."""
    import json

    from tests.conftest import run_kedro

    run_kedro(
        project_copy, "run", "--env", "smoke", "--params",
        f"training.strategy=mtl_then_finetune,training.finetune_steps=4,model.encoder={tiny_encoder_dir}",
    )  # fmt: skip
    metrics = json.loads((project_copy / "data" / "08_reporting" / "metrics.json").read_text())
    assert set(metrics) == {"sst2", "mrpc", "rte", "stsb", "cola"}
    model = MultiTaskModel.load(project_copy / "data" / "06_models" / "mtl_model")
    assert model.config["architecture"]["name"] == "per_task"
    history = json.loads(
        (project_copy / "data" / "07_model_output" / "training_history.json").read_text()
    )
    assert [p["name"] for p in history["phases"]][:2] == ["mtl", "finetune:sst2"]
    assert len(history["steps"]) == 12 + 5 * 4
