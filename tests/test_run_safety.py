"""Running what you mean, safely: one run per project (run lock), a subset of tasks
(``run.tasks``), clear refusals of configurations that would fail late, and no lost work
after training."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from mtl_pipeline.config import parse_run_config
from mtl_pipeline.config_loader import ProjectConfigLoader
from mtl_pipeline.errors import ConfigError, RunLockedError
from mtl_pipeline.run_lock import LOCK_FILE, RunLock
from mtl_pipeline.settings import CONFIG_LOADER_ARGS
from mtl_pipeline.task_selection import apply_task_selection
from mtl_pipeline.validation import validate_parameters
from tests.conftest import REPO, run_kedro, tiny_training_params

GLUE = ["sst2", "mrpc", "rte", "stsb", "cola"]


def _params(env: str | None = None, conf: Path = REPO / "conf", **runtime: object) -> dict:
    loader = ProjectConfigLoader(
        conf_source=str(conf), env=env, runtime_params=runtime, **CONFIG_LOADER_ARGS
    )
    return dict(loader["parameters"])


def _dead_pid() -> int:
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    return proc.pid


# --- run lock ------------------------------------------------------------------------
def test_second_lock_is_refused_naming_the_holder(tmp_path: Path):
    first = RunLock(tmp_path)
    first.acquire()
    held = json.loads((tmp_path / LOCK_FILE).read_text())
    with pytest.raises(RunLockedError) as caught:
        RunLock(tmp_path).acquire()
    message = str(caught.value)
    assert f"pid {os.getpid()}" in message and held["started"] in message
    first.release()
    assert not (tmp_path / LOCK_FILE).exists()
    second = RunLock(tmp_path)
    second.acquire()  # free again
    second.release()


def test_stale_lock_of_a_dead_run_is_reported_and_taken_over(tmp_path: Path, caplog):
    path = tmp_path / LOCK_FILE
    path.parent.mkdir(parents=True)
    pid = _dead_pid()
    stale = {"pid": pid, "host": socket.gethostname(), "started": "2020-01-01 00:00:00 UTC"}
    path.write_text(json.dumps(stale))
    lock = RunLock(tmp_path)
    with caplog.at_level("WARNING"):
        lock.acquire()
    assert json.loads(path.read_text())["pid"] == os.getpid()
    assert f"pid {pid}" in caplog.text and "no longer running" in caplog.text
    lock.release()


def test_lock_of_a_reused_pid_is_stale(tmp_path: Path):
    """Our own pid, but recorded with another process start time: the pid was reused."""
    path = tmp_path / LOCK_FILE
    path.parent.mkdir(parents=True)
    stale = {"pid": os.getpid(), "host": socket.gethostname(), "process_start": "1", "started": "x"}
    path.write_text(json.dumps(stale))
    lock = RunLock(tmp_path)
    lock.acquire()
    assert json.loads(path.read_text())["process_start"] != "1"
    lock.release()


def test_lock_from_another_host_is_respected(tmp_path: Path):
    path = tmp_path / LOCK_FILE
    path.parent.mkdir(parents=True)
    # A pid not running here says nothing about a run on another machine.
    path.write_text(json.dumps({"pid": _dead_pid(), "host": "elsewhere", "started": "s"}))
    with pytest.raises(RunLockedError, match="host elsewhere"):
        RunLock(tmp_path).acquire()


def test_release_leaves_another_runs_lock(tmp_path: Path):
    lock = RunLock(tmp_path)
    lock.acquire()
    other = {"pid": 1, "host": "elsewhere", "started": "s"}
    (tmp_path / LOCK_FILE).write_text(json.dumps(other))
    lock.release()
    assert json.loads((tmp_path / LOCK_FILE).read_text()) == other


def test_only_rank_zero_takes_the_lock(tmp_path: Path, monkeypatch):
    from mtl_pipeline.hooks import RunLockHooks

    monkeypatch.setenv("RANK", "1")
    hooks = RunLockHooks()
    hooks.before_pipeline_run({"project_path": str(tmp_path)}, None, None)
    assert not (tmp_path / LOCK_FILE).exists()
    monkeypatch.setenv("RANK", "0")
    hooks.before_pipeline_run({"project_path": str(tmp_path)}, None, None)
    assert (tmp_path / LOCK_FILE).exists()
    hooks.on_pipeline_error(RuntimeError(), {}, None, None)
    assert not (tmp_path / LOCK_FILE).exists()


@pytest.mark.slow
def test_second_kedro_run_in_one_project_is_refused(project_copy: Path, tiny_encoder_dir: Path):
    env = {**os.environ, "DO_NOT_TRACK": "1", "PYTHONUNBUFFERED": "1"}
    first = subprocess.Popen(
        [sys.executable, "-m", "kedro", "run", "--env", "smoke", "--params",
         f"model.encoder={tiny_encoder_dir},training.max_steps=400"],
        cwd=project_copy, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        start_new_session=True,
    )  # fmt: skip
    try:
        lock = project_copy / LOCK_FILE
        deadline = time.monotonic() + 300
        while not lock.exists():
            assert first.poll() is None, "the first run ended before taking the lock"
            assert time.monotonic() < deadline
            time.sleep(0.5)
        started = time.monotonic()
        second = run_kedro(project_copy, "run", "--env", "smoke", check=False, timeout=120)
        # Seconds on an idle machine (Kedro start-up); the bound allows for busy shared cores.
        assert time.monotonic() - started < 90
        assert second.returncode != 0
        assert f"pid {first.pid}" in second.stdout + second.stderr
        assert first.poll() is None, "the first run goes on"
    finally:
        os.killpg(first.pid, signal.SIGKILL)
        first.wait()


# --- task selection --------------------------------------------------------------------
def test_pairwise_selects_its_two_tasks_from_the_shipped_config():
    params = _params(
        "smoke",
        training={"strategy": "pairwise", "target_task": "rte", "supporting_task": "mrpc"},
    )
    assert list(params["tasks"]) == ["rte", "mrpc"]
    config = validate_parameters(params)
    assert list(config.tasks) == ["rte", "mrpc"]


def test_run_tasks_selects_from_the_command_line_string():
    params = _params("smoke", run={"tasks": "cola+sst2"})
    assert list(params["tasks"]) == ["cola", "sst2"]
    assert validate_parameters(params).run.tasks == ["cola", "sst2"]


def test_pipeline_shape_follows_the_selection(monkeypatch):
    from mtl_pipeline import project_tasks

    loader = ProjectConfigLoader(
        conf_source=str(REPO / "conf"),
        env="smoke",
        runtime_params={"run": {"tasks": "rte mrpc"}},
        **CONFIG_LOADER_ARGS,
    )
    monkeypatch.setattr(project_tasks, "_session_config", loader)
    assert project_tasks.task_names() == ["rte", "mrpc"]


def test_unknown_task_in_run_tasks_names_the_configured_ones():
    params = _params(run={"tasks": ["rte", "nope"]})
    assert list(params["tasks"]) == GLUE  # left as configured for validation to report
    with pytest.raises(
        ConfigError, match=r"run.tasks: 'nope' not in tasks; configured tasks: sst2"
    ):
        validate_parameters(params)


def test_pairwise_with_a_wider_selection_says_what_to_change():
    params = _params(
        run={"tasks": ["rte", "mrpc", "sst2"]},
        training={"strategy": "pairwise", "target_task": "rte", "supporting_task": "mrpc"},
    )
    with pytest.raises(ConfigError, match="also include sst2 \\(from run.tasks"):
        validate_parameters(params)


def test_own_task_in_a_new_environment_trains_alone_under_smoke_caps(tmp_path: Path):
    conf = tmp_path / "conf"
    import shutil

    shutil.copytree(REPO / "conf", conf, ignore=shutil.ignore_patterns("local"))
    (conf / "mine").mkdir()
    (conf / "mine" / "parameters.yml").write_text(
        "run:\n  tasks: [mine]\n"
        "tasks:\n  mine:\n    type: classification\n    train: a.tsv\n    validation: b.tsv\n"
        "    text_fields: [text]\n    label_field: label\n    metrics: [accuracy]\n"
    )
    params = _params("mine", conf=conf)
    assert list(params["tasks"]) == ["mine"]
    # layered environments: base, then smoke's caps, then the user's task; no copy of conf/
    layered = _params("smoke,mine", conf=conf, training={"seed": 7})
    assert list(layered["tasks"]) == ["mine"]
    assert layered["ingestion"]["max_train_examples"] == 200  # from conf/smoke
    assert layered["training"]["max_steps"] == 12 and layered["training"]["seed"] == 7
    assert parse_run_config(layered).model.max_length == 64


def test_selection_leaves_params_without_one_unchanged():
    params = {"tasks": {"a": {}, "b": {}}, "training": {"strategy": "mtl_all"}}
    assert apply_task_selection(params) is params


# --- configuration errors that used to surface late ----------------------------------------
def test_unknown_env_is_named_with_the_available_ones():
    with pytest.raises(ConfigError) as caught:
        ProjectConfigLoader(conf_source=str(REPO / "conf"), env="nosuch", **CONFIG_LOADER_ARGS)
    message = str(caught.value)
    assert "--env nosuch" in message and "smoke" in message and "hierarchical" in message


def test_empty_tasks_says_tasks_is_empty():
    with pytest.raises(ConfigError, match="tasks is empty"):
        parse_run_config({"tasks": {}})


def test_empty_tasks_is_refused_when_the_context_is_created():
    from types import SimpleNamespace

    from mtl_pipeline.hooks import ConfigValidationHooks

    context = SimpleNamespace(config_loader={"parameters": {"tasks": {}}})
    with pytest.raises(ConfigError, match="tasks is empty"):
        ConfigValidationHooks().after_context_created(context)


@pytest.mark.parametrize("name", ["training", "forward", "keys", "mtl_all"])
def test_task_named_after_a_module_attribute_is_refused_listing_reserved_names(name):
    params = _params()
    params["tasks"] = {name: params["tasks"]["rte"], "mrpc": params["tasks"]["mrpc"]}
    with pytest.raises(ConfigError) as caught:
        validate_parameters(params)
    message = str(caught.value)
    assert f"{name!r} cannot be a task name" in message and "reserved names:" in message
    assert "training" in message.partition("reserved names:")[2]


def test_max_length_above_the_encoders_positions_is_refused_naming_the_limit():
    params = _params("smoke", model={"max_length": 1024})
    with pytest.raises(
        ConfigError, match=r"model.max_length: 1024 exceeds the encoder's limit of 512"
    ):
        validate_parameters(params)


def test_position_limit_of_roberta_style_encoders_excludes_the_padding_offset():
    from transformers import BertConfig, DebertaV2Config, RobertaConfig

    from mtl_pipeline.validation import encoder_max_positions

    assert encoder_max_positions(RobertaConfig(max_position_embeddings=514, pad_token_id=1)) == 512
    assert encoder_max_positions(BertConfig(max_position_embeddings=512)) == 512
    assert encoder_max_positions(DebertaV2Config(position_biased_input=False)) is None


def test_stale_task_mixture_is_named_not_a_key_error():
    from mtl_pipeline.pipelines.training.nodes import check_mixture_matches

    mixture = {"task_sizes": {"sst2": 10, "mrpc": 10}}
    data = {"rte__label_info": {"train_rows": 10}, "mrpc__label_info": {"train_rows": 10}}
    with pytest.raises(ConfigError, match=r"task_mixture.json: is stale.*sst2, mrpc.*rte"):
        check_mixture_matches(mixture, ["rte", "mrpc"], data)
    data = {"sst2__label_info": {"train_rows": 11}, "mrpc__label_info": {"train_rows": 10}}
    with pytest.raises(ConfigError, match="records 10 training rows for sst2"):
        check_mixture_matches(mixture, ["sst2", "mrpc"], data)


# --- no work lost after the last training step ----------------------------------------------
def test_failed_final_evaluation_keeps_the_trained_weights_and_resumes(
    tiny_encoder_dir: Path, smoke_task_data, tmp_path: Path, monkeypatch
):
    import torch

    from mtl_pipeline.training import trainer as trainer_module
    from mtl_pipeline.training.checkpoint import remove_checkpoints
    from mtl_pipeline.training.run import run_training

    tasks, all_data = smoke_task_data
    data = {t: all_data[t] for t in ("rte", "mrpc")}
    model, training = tiny_training_params(
        tiny_encoder_dir, max_steps=4, eval_every=2, checkpoint_dir=str(tmp_path / "ck")
    )
    reference, _ = run_training(model, training, tasks, data)

    original = trainer_module.Trainer.evaluate

    def failing(self, *args, **kwargs):
        if self.step == self.config.max_steps:
            raise RuntimeError("index out of range in self")
        return original(self, *args, **kwargs)

    monkeypatch.setattr(trainer_module.Trainer, "evaluate", failing)
    with pytest.raises(RuntimeError) as caught:
        run_training(model, training, tasks, data, keep_final_checkpoint=True)
    kept = tmp_path / "ck" / "step-00000004"
    assert (kept / "model.safetensors").exists()
    assert str(kept) in "\n".join(getattr(caught.value, "__notes__", []))

    monkeypatch.setattr(trainer_module.Trainer, "evaluate", original)
    resumed, history = run_training(model, training, tasks, data, keep_final_checkpoint=True)
    assert history["evaluations"][-1]["step"] == 4
    expected = reference.architecture.state_dict()
    for key, value in resumed.architecture.state_dict().items():
        torch.testing.assert_close(value, expected[key], rtol=0, atol=0)
    assert kept.exists(), "kept until the model is saved"
    remove_checkpoints(tmp_path / "ck")
    assert not (tmp_path / "ck").exists()


def test_model_save_failure_says_where_the_weights_are(tmp_path: Path):
    from kedro.io import DatasetError

    from mtl_pipeline.datasets.multitask_model_dataset import MultiTaskModelDataset

    class FullDisk:
        def save(self, path: str) -> None:
            raise OSError(28, "No space left on device")

    # Kedro wraps the dataset's error in a DatasetError carrying its message.
    with pytest.raises(DatasetError, match="No space left on device.*final checkpoint"):
        MultiTaskModelDataset(path=str(tmp_path / "m")).save(FullDisk())


def test_checkpoints_are_removed_only_after_the_model_is_saved(tmp_path: Path):
    from mtl_pipeline.hooks import ConfigValidationHooks

    root = tmp_path / "ck"
    (root / "step-00000004").mkdir(parents=True)
    (root / "latest.json").write_text("{}")
    (root / "phase-1" / "step-00000002").mkdir(parents=True)
    hooks = ConfigValidationHooks()
    hooks._checkpoint_dir = str(root)
    hooks.after_dataset_saved("training_history", {}, None)
    assert (root / "step-00000004").exists()
    hooks.after_dataset_saved("trained_model", None, None)
    assert not root.exists()
