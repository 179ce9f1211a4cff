"""Checkpoints: exact resume, atomic writes, config-change detection, NaN handling."""

from __future__ import annotations

import json
import math
import os
import signal
import subprocess
import sys
import time

import pytest
import torch

from mtl_pipeline.errors import TrainingError
from mtl_pipeline.training import trainer as trainer_module
from mtl_pipeline.training.run import run_training
from tests.conftest import run_kedro, tiny_training_params


def _state(model) -> dict[str, torch.Tensor]:
    return {k: v.clone() for k, v in model.architecture.state_dict().items()}


def _assert_identical(a: dict[str, torch.Tensor], b: dict[str, torch.Tensor]) -> None:
    assert a.keys() == b.keys()
    for key in a:
        assert torch.equal(a[key], b[key]), key


def _run_killed_at(step, monkeypatch, model_params, training, tasks, task_data) -> None:
    """Train until ``step`` and die there as a kill would (the checkpoints stay)."""
    original = trainer_module.Trainer.train_step

    def dying_step(self):
        if self.step == step:
            raise KeyboardInterrupt("simulated kill")
        return original(self)

    monkeypatch.setattr(trainer_module.Trainer, "train_step", dying_step)
    with pytest.raises(KeyboardInterrupt):
        run_training(model_params, training, tasks, task_data)
    monkeypatch.setattr(trainer_module.Trainer, "train_step", original)


@pytest.mark.parametrize("kill_after", [1, 3, 5])
def test_interrupted_then_resumed_equals_uninterrupted(
    smoke_task_data, tiny_encoder_dir, tmp_path, monkeypatch, kill_after
):
    tasks, task_data = smoke_task_data
    common = dict(max_steps=6, eval_every=2, checkpoint_every=1, precision="bf16")
    model_params, training = tiny_training_params(
        tiny_encoder_dir, checkpoint_dir=str(tmp_path / "a"), **common
    )
    reference, ref_history = run_training(model_params, training, tasks, task_data)

    model_params, training = tiny_training_params(
        tiny_encoder_dir, checkpoint_dir=str(tmp_path / "b"), **common
    )
    original = trainer_module.Trainer.train_step

    def dying_step(self):
        if self.step == kill_after:
            raise KeyboardInterrupt("simulated kill")
        return original(self)

    monkeypatch.setattr(trainer_module.Trainer, "train_step", dying_step)
    with pytest.raises(KeyboardInterrupt):
        run_training(model_params, training, tasks, task_data)
    assert json.loads((tmp_path / "b" / "latest.json").read_text())["step"] == kill_after
    steps_run = []

    def counting_step(self):
        steps_run.append(self.step)
        return original(self)

    monkeypatch.setattr(trainer_module.Trainer, "train_step", counting_step)
    resumed, history = run_training(model_params, training, tasks, task_data)
    # It resumed (a rerun from step 0 would give the same bytes on a deterministic CPU):
    assert history["resumed_from"] == [kill_after]
    assert steps_run == list(range(kill_after, 6))
    assert "resumed_from" not in ref_history
    _assert_identical(_state(reference), _state(resumed))
    assert [s["losses"] for s in history["steps"]] == [s["losses"] for s in ref_history["steps"]]
    assert not (tmp_path / "b").exists(), "a finished run removes its checkpoints"


def test_changed_config_does_not_resume(
    smoke_task_data, tiny_encoder_dir, tmp_path, monkeypatch, caplog
):
    tasks, task_data = smoke_task_data
    model_params, training = tiny_training_params(
        tiny_encoder_dir, checkpoint_dir=str(tmp_path / "c"), checkpoint_every=1, max_steps=4
    )
    _run_killed_at(2, monkeypatch, model_params, training, tasks, task_data)
    training["learning_rate"] = 1e-3
    _, history = run_training(model_params, training, tasks, task_data)
    assert len(history["steps"]) == 4
    assert "different configuration" in caplog.text


@pytest.mark.parametrize("change", ["relabel", "edit_tokens", "reorder_labels"])
def test_changed_data_of_the_same_size_does_not_resume(
    smoke_task_data, tiny_encoder_dir, tmp_path, monkeypatch, caplog, change
):
    """Sizes and token sums stay equal; the content differs, so the old run is not reused."""
    import datasets

    tasks, task_data = smoke_task_data
    model_params, training = tiny_training_params(
        tiny_encoder_dir, checkpoint_dir=str(tmp_path / "f"), checkpoint_every=1, max_steps=4
    )
    _run_killed_at(2, monkeypatch, model_params, training, tasks, task_data)

    changed = dict(task_data)
    sst2 = dict(task_data["sst2"])
    columns = sst2["train_features"].to_dict()
    if change == "relabel":
        columns["labels"] = [1 - v for v in columns["labels"]]
    elif change == "edit_tokens":
        first = columns["input_ids"][0]
        first[1], first[2] = first[2], first[1]  # same ids, same sum, other order
    else:
        info = dict(sst2["label_info"])
        info["labels"] = list(reversed(info["labels"]))
        sst2["label_info"] = info
    sst2["train_features"] = datasets.Dataset.from_dict(columns)
    changed["sst2"] = sst2
    _, history = run_training(model_params, training, tasks, changed)
    assert "resumed_from" not in history
    assert len(history["steps"]) == 4
    assert "different configuration or data" in caplog.text


def test_checkpoint_pointer_outside_the_directory_is_refused(tmp_path):
    from mtl_pipeline.training.checkpoint import LATEST, Checkpointer

    directory = tmp_path / "ckpt"
    outside = tmp_path / "elsewhere"
    (outside).mkdir(parents=True)
    (outside / "trainer_state.json").write_text("{}")
    directory.mkdir()
    (directory / LATEST).write_text(
        json.dumps({"checkpoint": "../elsewhere", "step": 1, "fingerprint": "f"})
    )
    with pytest.raises(TrainingError, match=r"not of the form step-NNNNNNNN"):
        Checkpointer(directory, every=1, keep=1, fingerprint="f").latest()


def test_latest_json_temp_file_does_not_follow_a_planted_link(tmp_path, monkeypatch):
    """The old temporary name was predictable (.latest.json.tmp-<pid>): a link planted
    there would have redirected the write. The file is now created exclusively."""
    from mtl_pipeline.training.checkpoint import write_json_atomic

    victim = tmp_path / "victim.txt"
    victim.write_text("untouched")
    target = tmp_path / "latest.json"
    (tmp_path / f".latest.json.tmp-{os.getpid()}").symlink_to(victim)
    write_json_atomic(target, {"checkpoint": "step-00000001"})
    assert victim.read_text() == "untouched"
    assert json.loads(target.read_text()) == {"checkpoint": "step-00000001"}
    assert sorted(p.name for p in tmp_path.iterdir() if not p.is_symlink()) == [
        "latest.json",
        "victim.txt",
    ]


def test_unwritable_checkpoint_dir_is_a_clear_error(smoke_task_data, tiny_encoder_dir, tmp_path):
    tasks, task_data = smoke_task_data
    blocker = tmp_path / "not_a_dir"
    blocker.write_text("a file where the checkpoint directory should be")
    model_params, training = tiny_training_params(
        tiny_encoder_dir, checkpoint_dir=str(blocker / "ckpt"), checkpoint_every=1
    )
    with pytest.raises(TrainingError, match="could not write checkpoint .*ckpt"):
        run_training(model_params, training, tasks, task_data)


def test_kill_during_checkpoint_write_keeps_previous(
    smoke_task_data, tiny_encoder_dir, tmp_path, monkeypatch
):
    from mtl_pipeline.training import checkpoint as checkpoint_module

    tasks, task_data = smoke_task_data
    directory = tmp_path / "d"
    model_params, training = tiny_training_params(
        tiny_encoder_dir, checkpoint_dir=str(directory), checkpoint_every=1, max_steps=4
    )
    original_write = checkpoint_module.Checkpointer._write

    def dying_write(self, state, target):
        if state["step"] == 3:
            (target / "model.safetensors").write_bytes(b"half written")
            raise KeyboardInterrupt("killed mid-write")
        return original_write(self, state, target)

    monkeypatch.setattr(checkpoint_module.Checkpointer, "_write", dying_write)
    with pytest.raises(KeyboardInterrupt):
        run_training(model_params, training, tasks, task_data)
    latest = json.loads((directory / "latest.json").read_text())
    assert latest["step"] == 2
    from safetensors.torch import load_file

    assert load_file(str(directory / "step-00000002" / "model.safetensors"))


@pytest.mark.parametrize("policy", ["stop", "skip"])
def test_non_finite_loss(smoke_task_data, tiny_encoder_dir, tmp_path, monkeypatch, policy):
    tasks, task_data = smoke_task_data
    from mtl_pipeline.task_types.classification import ClassificationTask

    original = ClassificationTask.loss
    calls = {"n": 0}

    def poisoned(self, logits, labels):
        calls["n"] += 1
        loss = original(self, logits, labels)
        return loss * float("nan") if calls["n"] == 3 else loss

    monkeypatch.setattr(ClassificationTask, "loss", poisoned)
    model_params, training = tiny_training_params(
        tiny_encoder_dir,
        on_nonfinite_loss=policy,
        checkpoint_dir=str(tmp_path / "e"),
        checkpoint_every=1,
        max_steps=5,
    )
    if policy == "stop":
        with pytest.raises(TrainingError, match="non-finite loss at step"):
            run_training(model_params, training, tasks, task_data)
        assert (tmp_path / "e" / "latest.json").exists(), "the last good checkpoint is kept"
    else:
        _, history = run_training(model_params, training, tasks, task_data)
        assert len(history["skipped_steps"]) == 1
        assert all(
            math.isfinite(v)
            for s in history["steps"]
            if not s.get("skipped")
            for v in s["losses"].values()
        )


@pytest.mark.slow
def test_sigkill_real_kedro_run_then_resume_is_byte_identical(
    project_copy, tiny_encoder_dir, tmp_path
):
    """Kill a real `kedro run` at a random training step; the resumed run's weights match."""
    import random

    params = (
        f"model.encoder={tiny_encoder_dir},training.max_steps=30,training.checkpoint_every=1,"
        "training.eval_every=10,training.precision=fp32,training.batch_size=4"
    )
    run_kedro(project_copy, "run", "--env", "smoke", "--params", params)
    reference = (project_copy / "data/06_models/mtl_model/model.safetensors").read_bytes()

    second = tmp_path / "second"
    second.mkdir()
    os.rename(project_copy, second / "project")
    project = second / "project"
    for sub in (
        "02_intermediate",
        "03_primary",
        "04_feature",
        "05_model_input",
        "06_models",
        "07_model_output",
        "08_reporting",
    ):
        subprocess.run(["rm", "-rf", str(project / "data" / sub)], check=True)
    env = {**os.environ, "DO_NOT_TRACK": "1"}
    proc = subprocess.Popen(
        [sys.executable, "-m", "kedro", "run", "--env", "smoke", "--params", params],
        cwd=project,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    target = random.Random(os.getpid()).randint(3, 25)
    latest = project / "data/06_models/checkpoints/latest.json"
    deadline = time.time() + 300
    while time.time() < deadline:
        try:
            if json.loads(latest.read_text())["step"] >= target:
                break
        except (OSError, ValueError):
            pass
        time.sleep(0.05)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    assert latest.exists()
    killed_at = json.loads(latest.read_text())["step"]
    run_kedro(project, "run", "--env", "smoke", "--params", params)
    history = json.loads((project / "data/07_model_output/training_history.json").read_text())
    assert history["resumed_from"] == [killed_at], "the second run must resume, not restart"
    assert len(history["steps"]) == 30
    resumed = (project / "data/06_models/mtl_model/model.safetensors").read_bytes()
    assert resumed == reference


def _fresh_trainer(tiny_encoder_dir, smoke_task_data):
    """A Trainer as ``train_phase`` builds it (no checkpointer, no observers)."""
    from mtl_pipeline.config import ModelConfig, TaskConfig, TrainingConfig
    from mtl_pipeline.losses.factory import build_weighting
    from mtl_pipeline.samplers.factory import build_sampler
    from mtl_pipeline.training.phase import build_model, build_train_tasks, seed_everything
    from mtl_pipeline.training.trainer import Trainer

    tasks, task_data = smoke_task_data
    model_params, training = tiny_training_params(
        tiny_encoder_dir, max_steps=6, loss={"name": "uncertainty"}
    )
    model_cfg, train_cfg = ModelConfig(**model_params), TrainingConfig(**training)
    task_cfgs = {n: TaskConfig(**tasks[n]) for n in task_data}
    seed_everything(0)
    tokenizer, _, architecture = build_model(model_cfg, train_cfg, task_cfgs, task_data)
    train_tasks = build_train_tasks(task_cfgs, task_data)
    weighting = build_weighting(train_cfg, list(task_data))
    sampler = build_sampler(train_cfg, {n: len(t.train) for n, t in train_tasks.items()})
    return Trainer(architecture, train_tasks, train_cfg, weighting, sampler, 0)


def _steps(trainer, count: int) -> None:
    trainer.architecture.train()
    for _ in range(count):
        trainer.train_step()
        trainer.step += 1


def test_trainer_state_dict_is_all_a_resume_needs(tiny_encoder_dir, smoke_task_data):
    """A fresh trainer given another's ``state_dict()`` (in memory, no files) takes exactly
    the steps the original takes next: weights, optimizer, schedule, weighting, sampler,
    batch streams and RNGs all travel in it."""
    import copy

    original = _fresh_trainer(tiny_encoder_dir, smoke_task_data)
    _steps(original, 3)
    state = copy.deepcopy(original.state_dict())
    _steps(original, 3)
    copied = _fresh_trainer(tiny_encoder_dir, smoke_task_data)
    torch.manual_seed(12345)  # the state, not the seed, must decide what happens next
    copied.load_state_dict(state)
    assert copied.step == 3
    _steps(copied, 3)
    expected = original.architecture.state_dict()
    for name, value in copied.architecture.state_dict().items():
        assert torch.equal(value, expected[name]), name
    assert copied.weighting.state_dict().keys() == original.weighting.state_dict().keys()
    for name, value in copied.weighting.state_dict().items():
        assert torch.equal(value, original.weighting.state_dict()[name]), name
