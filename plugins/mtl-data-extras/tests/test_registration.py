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
    assert eps.get("data_extras") == "mtl_data_extras.plugin"


@pytest.mark.parametrize(
    "kind, name", [("reader", "fasttext"), ("metric", "mae"), ("metric", "quadratic_kappa")]
)
def test_components_are_registered_by_this_plugin(kind, name):
    entry = get_registry().entry(kind, name)
    assert entry.plugin == "data_extras"
    assert entry.description


def test_observer_hooks_are_registered():
    hook = get_registry().plugin_manager.hook
    for name in ("on_train_start", "on_step_end", "on_evaluation", "on_train_end"):
        plugins = {impl.plugin_name for impl in getattr(hook, name).get_hookimpls()}
        assert "data_extras" in plugins
