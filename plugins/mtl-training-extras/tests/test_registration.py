"""The installed package is discovered through its entry point, like any plugin."""

from __future__ import annotations

import importlib.metadata as md

import pytest
from mtl_pipeline.registry import get_registry, reset_registry


@pytest.fixture(autouse=True)
def fresh_registry():
    reset_registry()
    yield
    reset_registry()


def test_entry_point_is_installed():
    eps = {ep.name: ep.value for ep in md.entry_points(group="mtl_pipeline")}
    assert eps.get("training_extras") == "mtl_training_extras.plugin"


@pytest.mark.parametrize(
    "kind, name", [("architecture", "lora"), ("loss", "famo"), ("sampler", "loss_ratio")]
)
def test_components_are_registered_by_this_plugin(kind, name):
    entry = get_registry().entry(kind, name)
    assert entry.plugin == "training_extras"
    assert entry.description


def test_disable_switch_removes_them(monkeypatch):
    monkeypatch.setenv("MTL_PIPELINE_DISABLE_PLUGINS", "training_extras")
    reset_registry()
    registry = get_registry()
    assert "lora" not in registry.names("architecture")
    assert "hard_sharing" in registry.names("architecture")
    assert registry.disabled == ["training_extras"]
