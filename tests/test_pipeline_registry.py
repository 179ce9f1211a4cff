"""The pipeline shape comes from the configured task names, passed in explicitly."""

from __future__ import annotations

from pathlib import Path

import pytest

from mtl_pipeline import project_tasks
from mtl_pipeline.errors import ConfigError
from mtl_pipeline.pipeline_registry import STAGES, create_pipelines


def test_every_pipeline_gets_the_task_names():
    pipelines = create_pipelines(["alpha", "beta"])
    for stage in ("ingestion", "tokenization", "evaluation"):
        namespaces = {node.namespace for node in pipelines[stage].nodes}
        assert {"alpha", "beta"} <= {p for ns in namespaces if ns for p in ns.split(".")}, stage
    default = {node.name for node in pipelines["__default__"].nodes}
    assert default == {node.name for s in STAGES for node in pipelines[s].nodes}


def test_unreadable_configuration_is_an_error_not_an_empty_pipeline(tmp_path, monkeypatch):
    monkeypatch.setattr(project_tasks, "_session_config", None)
    monkeypatch.setenv("MTL_PIPELINE_PROJECT_PATH", str(tmp_path))
    with pytest.raises(ConfigError, match=r"cannot read `tasks`.*" + str(tmp_path / "conf")):
        project_tasks.task_names()


def test_tasks_that_are_not_a_mapping_are_refused(monkeypatch):
    monkeypatch.setattr(project_tasks, "_session_config", {"parameters": {"tasks": ["a"]}})
    with pytest.raises(ConfigError, match="tasks: expected a mapping"):
        project_tasks.task_names()
    monkeypatch.setattr(project_tasks, "_session_config", {"parameters": {"tasks": {"a": {}}}})
    assert project_tasks.task_names() == ["a"]


def test_every_pipeline_package_is_registered():
    """A new folder under pipelines/ must be added to the registry's BUILDERS."""
    from mtl_pipeline import pipelines
    from mtl_pipeline.pipeline_registry import BUILDERS

    folders = {
        p.name for p in Path(pipelines.__file__).parent.iterdir() if (p / "pipeline.py").exists()
    }
    assert folders == set(BUILDERS)


def test_a_strategy_selects_its_tasks_for_the_pipeline_shape_without_torch():
    """The pipeline shape of a pairwise run has the two tasks its keys name, and reading it
    (what ``kedro viz`` does) imports neither torch nor transformers."""
    import json
    import subprocess
    import sys

    from tests.conftest import REPO

    script = f"""
import json, sys
from mtl_pipeline.config_loader import ProjectConfigLoader
from mtl_pipeline.pipeline_registry import create_pipelines
from mtl_pipeline.settings import CONFIG_LOADER_ARGS
training = {{"strategy": "pairwise", "target_task": "rte", "supporting_task": "mrpc"}}
loader = ProjectConfigLoader({str(REPO / "conf")!r}, env="local", **CONFIG_LOADER_ARGS,
                             runtime_params={{"training": training}})
tasks = list(loader["parameters"]["tasks"])
namespaces = {{n.namespace.split(".")[0] for n in create_pipelines(tasks)["ingestion"].nodes}}
print(json.dumps([tasks, sorted(namespaces), "torch" in sys.modules,
                  "transformers" in sys.modules]))
"""
    out = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, check=True, cwd=REPO
    )
    tasks, namespaces, torch_loaded, transformers_loaded = json.loads(out.stdout.splitlines()[-1])
    assert tasks == ["rte", "mrpc"] and namespaces == ["mrpc", "rte"]
    assert not torch_loaded and not transformers_loaded
