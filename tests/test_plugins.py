"""The plugin system end to end: observer hooks in real training, ``kedro mtl plugins``,
the example plugins under ``plugins/`` (when installed), and the core without them.

The example plugins are separate distributions; tests that need them skip with the
install command when they are missing (``pip install -e plugins/<pkg>``), so the core
suite passes with or without them.
"""

from __future__ import annotations

import importlib.metadata as md
import json
import re
import shutil
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner

from mtl_pipeline.commands import commands
from mtl_pipeline.registry import (
    BUILTIN_PLUGIN,
    DISABLE_ENV_VAR,
    disabled_plugins,
    get_registry,
    reset_registry,
)
from tests.conftest import REPO, run_kedro, tiny_training_params

#: plugin (entry-point name) -> (distribution, folder under plugins/, {kind: [names]})
EXAMPLE_PLUGINS = {
    "training_extras": (
        "mtl-pipeline-training-extras",
        "mtl-training-extras",
        {"architecture": ["lora"], "loss": ["famo"], "sampler": ["loss_ratio"]},
    ),
    "data_extras": (
        "mtl-pipeline-data-extras",
        "mtl-data-extras",
        {"reader": ["fasttext"], "metric": ["mae", "quadratic_kappa"]},
    ),
}


def installed(plugin: str) -> bool:
    """The example plugin's distribution is installed and not disabled by the switch."""
    return _missing_reason(plugin) is None


def _missing_reason(plugin: str) -> str | None:
    dist, folder, _ = EXAMPLE_PLUGINS[plugin]
    try:
        md.distribution(dist)
    except md.PackageNotFoundError:
        return f"{plugin} not installed (pip install -e plugins/{folder})"
    if plugin in disabled_plugins():
        return f"{plugin} disabled by {DISABLE_ENV_VAR}"
    return None


def require(*plugins: str) -> None:
    reasons = [r for r in map(_missing_reason, plugins) if r]
    if reasons:
        pytest.skip("example plugin unavailable: " + "; ".join(reasons))


@pytest.fixture(autouse=True)
def clean_registry(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Fresh registry before and after each test. The disable switch is left as the
    caller set it: ``MTL_PIPELINE_DISABLE_PLUGINS=training_extras,data_extras pytest
    tests/test_plugins.py`` checks the core without the example plugins (theirs skip)."""
    monkeypatch.delenv("MTL_JSONL_LOG", raising=False)
    reset_registry()
    yield
    reset_registry()


# --- observer hooks in real training ---------------------------------------------------------
RECORDER = """
from mtl_pipeline.hookspecs import hookimpl
MTL_PIPELINE_API_VERSION = 1
CALLS = []

@hookimpl
def on_train_start(run_info):
    CALLS.append(("on_train_start", run_info))

@hookimpl
def on_step_end(step, logs):
    CALLS.append(("on_step_end", step, logs))

@hookimpl
def on_evaluation(step, metrics):
    CALLS.append(("on_evaluation", step, metrics))

@hookimpl
def on_train_end(summary):
    CALLS.append(("on_train_end", summary))
"""


@pytest.fixture
def recorder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[list]:
    """A throwaway installed plugin (real dist-info + entry point) recording observer calls."""
    monkeypatch.delenv(DISABLE_ENV_VAR, raising=False)
    site = tmp_path / "site"
    info = site / "mtl_recorder-0.1.dist-info"
    info.mkdir(parents=True)
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: mtl-recorder\nVersion: 0.1\n")
    (info / "entry_points.txt").write_text("[mtl_pipeline]\nrecorder = recorder_plugin\n")
    (site / "recorder_plugin.py").write_text(textwrap.dedent(RECORDER))
    monkeypatch.syspath_prepend(str(site))
    reset_registry()
    assert get_registry().origins["recorder"].endswith("package mtl-recorder 0.1")
    yield sys.modules["recorder_plugin"].CALLS
    sys.modules.pop("recorder_plugin", None)


def test_observer_hooks_fire_in_order_with_the_documented_payloads(
    recorder: list, smoke_task_data, tiny_encoder_dir
) -> None:
    from mtl_pipeline.training.run import run_training

    tasks, task_data = smoke_task_data
    model, training = tiny_training_params(tiny_encoder_dir, max_steps=4, eval_every=2)
    run_training(model, training, tasks, task_data)
    names = [call[0] for call in recorder]
    assert names == [
        "on_train_start",
        "on_step_end",
        "on_step_end",
        "on_evaluation",
        "on_step_end",
        "on_step_end",
        "on_evaluation",
        "on_train_end",
    ]
    run_info = recorder[0][1]
    assert {"config", "tasks", "device", "precision"} <= set(run_info)
    assert run_info["tasks"] == list(task_data) and run_info["config"]["max_steps"] == 4
    _, step, logs = recorder[1]
    assert step == 1
    assert {"tasks", "losses", "weights", "lr", "grad_norm"} <= set(logs)
    assert set(logs["losses"]) == set(logs["tasks"]) and all(
        isinstance(v, float) for v in logs["losses"].values()
    )
    _, step, metrics = recorder[3]
    assert step == 2 and set(metrics) == set(task_data)
    assert set(metrics["stsb"]) == {"pearson", "spearman"}
    summary = recorder[-1][1]
    assert {"best_step", "best_score", "steps", "seconds"} <= set(summary)
    assert summary["steps"] == 4


# --- kedro mtl plugins ------------------------------------------------------------------------
def invoke(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(commands, ["mtl", "plugins", *args])
    return result.exit_code, result.output


def test_plugins_json_lists_the_builtins() -> None:
    code, out = invoke("--json")
    assert code == 0, out
    document = json.loads(out)
    assert document["api_version"] == 1
    assert document["plugins"][BUILTIN_PLUGIN].startswith("entry point builtins")
    found = {(c["kind"], c["name"]): c["plugin"] for c in document["components"]}
    for key in [
        ("architecture", "hard_sharing"),
        ("loss", "equal"),
        ("sampler", "temperature"),
        ("reader", "glue_tsv"),
        ("metric", "accuracy"),
        ("task_type", "classification"),
    ]:
        assert found[key] == BUILTIN_PLUGIN
    assert all(c["description"] for c in document["components"])


def test_plugins_table_and_disabled_list(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(DISABLE_ENV_VAR, "*")
    reset_registry()
    code, out = invoke()
    assert code == 0, out
    assert re.search(r"^KIND\s+NAME\s+PLUGIN\s+DESCRIPTION$", out, re.MULTILINE)
    assert re.search(r"^architecture\s+hard_sharing\s+builtins\s+", out, re.MULTILINE)
    code, out = invoke("--json")
    document = json.loads(out)
    assert set(document["plugins"]) == {BUILTIN_PLUGIN}
    assert {p for p in EXAMPLE_PLUGINS if installed(p)} <= set(document["disabled"])


def test_plugins_command_reports_a_broken_plugin_without_traceback(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    site = tmp_path / "site"
    info = site / "mtl_broken-0.1.dist-info"
    info.mkdir(parents=True)
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: mtl-broken\nVersion: 0.1\n")
    (info / "entry_points.txt").write_text("[mtl_pipeline]\nbroken = broken_mod\n")
    (site / "broken_mod.py").write_text("raise ImportError('needs libfoo')\n")
    monkeypatch.delenv(DISABLE_ENV_VAR, raising=False)
    monkeypatch.syspath_prepend(str(site))
    reset_registry()
    code, out = invoke("--json")
    assert code == 1
    assert "Error: Plugin 'broken' failed to import" in out and "needs libfoo" in out
    assert "Traceback" not in out
    monkeypatch.setenv(DISABLE_ENV_VAR, "broken")
    reset_registry()
    assert invoke("--json")[0] == 0


def test_kedro_mtl_plugins_json_subprocess(project_copy: Path) -> None:
    """The real command line, through Kedro's ``kedro.project_commands`` entry point."""
    proc = run_kedro(project_copy, "mtl", "plugins", "--json", timeout=300)
    document = json.loads(proc.stdout)
    components = {(c["kind"], c["name"]): c["plugin"] for c in document["components"]}
    assert components[("architecture", "hard_sharing")] == BUILTIN_PLUGIN
    assert components[("task_type", "tagging")] == BUILTIN_PLUGIN
    reasons = [r for r in map(_missing_reason, EXAMPLE_PLUGINS) if r]
    if reasons:
        pytest.skip("built-ins checked; example plugins unavailable: " + "; ".join(reasons))
    for plugin, (dist, _, kinds) in EXAMPLE_PLUGINS.items():
        assert document["plugins"][plugin].startswith(f"entry point {plugin} = ")
        assert f"package {dist} " in document["plugins"][plugin]
        for kind, names in kinds.items():
            for name in names:
                assert components[(kind, name)] == plugin, (kind, name)


# --- the example plugins ----------------------------------------------------------------------
@pytest.mark.parametrize("plugin", sorted(EXAMPLE_PLUGINS))
def test_example_plugin_components_are_registered(plugin: str) -> None:
    require(plugin)
    registry = get_registry()
    for kind, names in EXAMPLE_PLUGINS[plugin][2].items():
        for name in names:
            assert registry.entry(kind, name).plugin == plugin


def test_example_plugins_train_in_process(
    smoke_task_data, tiny_encoder_dir, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """lora + famo + loss_ratio (2 tasks per step) with the JSONL log: the observer hooks of
    both plugins run inside the real trainer."""
    require("training_extras", "data_extras")
    from mtl_pipeline.training.run import run_training

    log = tmp_path / "log.jsonl"
    monkeypatch.setenv("MTL_JSONL_LOG", str(log))
    tasks, task_data = smoke_task_data
    tasks = {**tasks, "stsb": {**tasks["stsb"], "metrics": ["mae", "pearson"]}}
    model, training = tiny_training_params(
        tiny_encoder_dir,
        max_steps=4,
        tasks_per_step=2,
        loss={"name": "famo"},
        sampler={"name": "loss_ratio", "T": 0.5},
    )
    model["architecture"] = {"name": "lora", "rank": 4, "shared_rank": 2}
    trained, history = run_training(model, training, tasks, task_data)
    assert history["architecture_report"]["lora"]["rank"] == 4
    steps = [s for s in history["steps"] if not s.get("skipped")]
    assert all(abs(sum(s["weights"].values()) - 1.0) < 1e-5 for s in steps)  # FAMO: convex
    assert "mae" in history["evaluations"][-1]["metrics"]["stsb"]
    events = [json.loads(line) for line in log.read_text().splitlines()]
    assert [e["event"] for e in events].count("step") == 4
    assert events[0]["event"] == "train_start" and events[-1]["event"] == "train_end"
    # The lora model saves and loads back through the registry like a built-in one.
    trained.save(tmp_path / "model")
    from mtl_pipeline.modeling.multitask_model import MultiTaskModel

    loaded = MultiTaskModel.load(tmp_path / "model")
    texts = ["a gripping, funny film", "dull and far too long"]
    assert loaded.predict("sst2", texts) == trained.predict("sst2", texts)


def test_fasttext_example_data_ingests(monkeypatch: pytest.MonkeyPatch) -> None:
    require("data_extras")
    from mtl_pipeline.config import TaskConfig
    from mtl_pipeline.ingestion import ingest

    monkeypatch.chdir(REPO)
    examples = "plugins/mtl-data-extras/examples/sst2"
    cfg = TaskConfig(
        type="classification",
        reader="fasttext",
        train=f"{examples}/train.txt",
        validation=f"{examples}/dev.txt",
        text_fields=["text"],
        label_field="label",
        labels=["0", "1"],
        metrics=["quadratic_kappa", "accuracy"],
    )
    train, dev, info = ingest("sst2", cfg, None, None, 0)
    assert (len(train), len(dev)) == (200, 100)
    assert info["labels"] == ["0", "1"] and info["sources"]["reader"] == "fasttext"


# --- the core without the example plugins ------------------------------------------------------
def test_core_never_imports_the_example_plugins() -> None:
    """Installing a plugin adds components without touching core files: by construction,
    nothing under src/ or conf/ names the example packages or their components."""
    pattern = re.compile(r"mtl_training_extras|mtl_data_extras|training_extras|data_extras")
    offenders = [
        str(path.relative_to(REPO))
        for folder in ("src", "conf")
        for path in (REPO / folder).rglob("*")
        if path.is_file()
        and path.suffix in {".py", ".yml", ".yaml", ".toml"}
        and pattern.search(path.read_text(encoding="utf-8", errors="replace"))
    ]
    assert offenders == []
    assert not pattern.search((REPO / "pyproject.toml").read_text())


def test_core_trains_with_every_third_party_plugin_disabled(
    smoke_task_data, tiny_encoder_dir, monkeypatch: pytest.MonkeyPatch
) -> None:
    from mtl_pipeline.training.run import run_training

    monkeypatch.setenv(DISABLE_ENV_VAR, "*")
    reset_registry()
    registry = get_registry()
    assert set(registry.origins) == {BUILTIN_PLUGIN}
    for plugin in EXAMPLE_PLUGINS:
        assert all(e.plugin != plugin for e in registry.entries())
    tasks, task_data = smoke_task_data
    model, training = tiny_training_params(tiny_encoder_dir, max_steps=2, eval_every=0)
    _, history = run_training(model, training, tasks, task_data)
    assert len(history["steps"]) == 2


def test_validating_the_shipped_config_needs_no_plugin(monkeypatch: pytest.MonkeyPatch) -> None:
    import yaml

    from mtl_pipeline.validation import validate_parameters

    monkeypatch.setenv(DISABLE_ENV_VAR, "*")
    reset_registry()
    params: dict = {}
    for file in sorted((REPO / "conf" / "base").glob("parameters_*.yml")):
        params.update(yaml.safe_load(file.read_text()) or {})
    validate_parameters(params)


# --- end to end through kedro run (slow) ----------------------------------------------------------
#: plugin -> the --params of a smoke run that uses every component of it (CI runs the same
#: values from the repository root with the real encoder; see docs/plugins.md).
E2E_PARAMS = {
    "training_extras": [
        "model.architecture.name=lora",
        "training.loss.name=famo",
        "training.sampler.name=loss_ratio",
        "training.tasks_per_step=2",
    ],
    "data_extras": [
        "tasks.sst2.reader=fasttext",
        "tasks.sst2.train=plugins/mtl-data-extras/examples/sst2/train.txt",
        "tasks.sst2.validation=plugins/mtl-data-extras/examples/sst2/dev.txt",
        "tasks.sst2.text_fields=[text]",
        "tasks.sst2.metrics=[quadratic_kappa]",
        "tasks.stsb.metrics=[mae]",
    ],
}


@pytest.mark.slow
@pytest.mark.parametrize("plugin", sorted(E2E_PARAMS))
def test_kedro_smoke_run_with_example_plugin(
    plugin: str, project_copy: Path, tiny_encoder_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``kedro run --env smoke --params ...`` with every component of one example plugin
    (on the tiny encoder, to keep the suite fast; CI also runs it on the real one)."""
    require(plugin)
    examples = REPO / "plugins" / "mtl-data-extras" / "examples"
    shutil.copytree(examples, project_copy / "plugins" / "mtl-data-extras" / "examples")
    log = project_copy / "training_log.jsonl"
    monkeypatch.setenv("MTL_JSONL_LOG", str(log))
    params = ",".join([f"model.encoder={tiny_encoder_dir}", *E2E_PARAMS[plugin]])
    run_kedro(project_copy, "run", "--env", "smoke", "--params", params)
    reporting = project_copy / "data" / "08_reporting"
    metrics = json.loads((reporting / "metrics.json").read_text())
    summary = (reporting / "summary.md").read_text()
    if plugin == "training_extras":
        assert "`lora`" in summary and "`famo`" in summary and "`loss_ratio`" in summary
    else:
        assert set(metrics["sst2"]) == {"quadratic_kappa"} and set(metrics["stsb"]) == {"mae"}
        info = json.loads(
            (project_copy / "data" / "03_primary" / "sst2" / "label_info.json").read_text()
        )
        assert info["sources"]["reader"] == "fasttext"
    if installed("data_extras"):
        events = [json.loads(line)["event"] for line in log.read_text().splitlines()]
        assert events[0] == "train_start" and events[-1] == "train_end"
        assert events.count("step") == 12  # conf/smoke: training.max_steps
