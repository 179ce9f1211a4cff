"""The one place that owns the pluggy ``PluginManager`` and the component tables.

Discovery: every entry point in the ``mtl_pipeline`` group is imported (the built-ins are
one of them). A plugin that fails to import, declares another API version, returns the
wrong thing from a hook, or registers a name another plugin already took, stops the run
with an error naming the plugin. ``MTL_PIPELINE_DISABLE_PLUGINS=name1,name2`` skips
plugins by entry-point name before they are imported.

Trust model: only code from installed distributions' entry points is ever imported; no
config string is evaluated or used as an import path.
"""

from __future__ import annotations

import importlib
import importlib.metadata as md
import logging
import os
import threading
from dataclasses import dataclass
from types import ModuleType
from typing import Any

import pluggy

from mtl_pipeline import PLUGIN_API_VERSION
from mtl_pipeline.errors import PluginError, UnknownComponentError
from mtl_pipeline.hookspecs import ENTRY_POINT_GROUP, PROJECT_NAME, MTLHookSpecs

logger = logging.getLogger(__name__)

DISABLE_ENV_VAR = "MTL_PIPELINE_DISABLE_PLUGINS"
BUILTIN_PLUGIN = "builtins"

#: kind -> (registration hook, "module:BaseClass" every component must derive from, or None)
KINDS: dict[str, tuple[str, str | None]] = {
    "architecture": ("register_architectures", "mtl_pipeline.architectures.base:Architecture"),
    "loss": ("register_losses", "mtl_pipeline.losses.base:TaskWeighting"),
    "sampler": ("register_samplers", "mtl_pipeline.samplers.base:TaskSampler"),
    "reader": ("register_readers", "mtl_pipeline.readers.base:Reader"),
    "metric": ("register_metrics", "mtl_pipeline.metrics.base:Metric"),
    "task_type": ("register_task_types", "mtl_pipeline.task_types.base:TaskType"),
}


@dataclass(frozen=True)
class ComponentEntry:
    """One registered component and where it came from."""

    kind: str
    name: str
    plugin: str
    obj: Any
    description: str

    def as_dict(self) -> dict[str, str]:
        return {
            "kind": self.kind,
            "name": self.name,
            "plugin": self.plugin,
            "description": self.description,
        }


def _import_base(spec: str) -> type:
    module, _, attr = spec.partition(":")
    return getattr(importlib.import_module(module), attr)


def _disabled_plugins() -> set[str]:
    return {n.strip() for n in os.environ.get(DISABLE_ENV_VAR, "").split(",") if n.strip()}


def _check_api_version(plugin_name: str, module: Any, origin: str) -> None:
    declared = getattr(module, "MTL_PIPELINE_API_VERSION", None)
    if declared is None:
        raise PluginError(
            f"Plugin {plugin_name!r} ({origin}) does not declare MTL_PIPELINE_API_VERSION; "
            f"set MTL_PIPELINE_API_VERSION = {PLUGIN_API_VERSION} in the plugin module."
        )
    if declared != PLUGIN_API_VERSION:
        raise PluginError(
            f"Plugin {plugin_name!r} ({origin}) was written for plugin API version {declared!r}, "
            f"but this mtl_pipeline provides version {PLUGIN_API_VERSION}. Upgrade the plugin or "
            f"mtl_pipeline, or disable it with {DISABLE_ENV_VAR}={plugin_name}."
        )


class Registry:
    """Component tables built from a plugin manager's registration hooks."""

    def __init__(self, plugin_manager: pluggy.PluginManager, origins: dict[str, str]) -> None:
        self.plugin_manager = plugin_manager
        self.origins = origins
        self._tables: dict[str, dict[str, ComponentEntry]] = {kind: {} for kind in KINDS}
        for kind, (hook_name, base_spec) in KINDS.items():
            base = _import_base(base_spec) if base_spec else None
            hook = getattr(plugin_manager.hook, hook_name)
            for impl in hook.get_hookimpls():
                plugin_name = plugin_manager.get_name(impl.plugin) or repr(impl.plugin)
                try:
                    result = impl.function()
                except Exception as exc:
                    raise PluginError(
                        f"Plugin {plugin_name!r} ({origins.get(plugin_name, '?')}) raised in "
                        f"{hook_name}(): {exc!r}"
                    ) from exc
                self._add_all(kind, hook_name, plugin_name, result, base)

    def _add_all(
        self, kind: str, hook_name: str, plugin: str, result: Any, base: type | None
    ) -> None:
        if result is None:
            return
        if not isinstance(result, list | tuple):
            raise PluginError(
                f"Plugin {plugin!r}: {hook_name}() must return a list of {kind} components, "
                f"got {type(result).__name__}."
            )
        for obj in result:
            name = getattr(obj, "name", None)
            ok_type = base is None or (
                isinstance(obj, type) and issubclass(obj, base)
                if kind != "metric"
                else isinstance(obj, base)
            )
            if not ok_type or not isinstance(name, str) or not name:
                expected = (
                    f"an instance of {base.__name__}"
                    if kind == "metric"
                    else f"a subclass of {base.__module__}.{base.__name__}"
                )
                raise PluginError(
                    f"Plugin {plugin!r}: {hook_name}() returned {obj!r}; each item must be "
                    f"{expected} with a non-empty string `name`."
                )
            table = self._tables[kind]
            if name in table:
                raise PluginError(
                    f"Duplicate {kind} name {name!r}: registered by plugin "
                    f"{table[name].plugin!r} and again by plugin {plugin!r}. Disable one with "
                    f"{DISABLE_ENV_VAR}=<plugin>."
                )
            description = getattr(obj, "description", "") or ""
            table[name] = ComponentEntry(kind, name, plugin, obj, description.strip())

    # --- lookup ---------------------------------------------------------------------
    def names(self, kind: str) -> list[str]:
        return sorted(self._tables[kind])

    def entry(self, kind: str, name: str, where: str | None = None) -> ComponentEntry:
        table = self._tables[kind]
        if name not in table:
            available = ", ".join(f"{n} ({e.plugin})" for n, e in sorted(table.items()))
            location = f"{where}: " if where else ""
            raise UnknownComponentError(
                f"{location}unknown {kind} {name!r}. Available {kind}s (plugin): "
                f"{available or 'none'}."
            )
        return table[name]

    def get(self, kind: str, name: str, where: str | None = None) -> Any:
        return self.entry(kind, name, where).obj

    def entries(self) -> list[ComponentEntry]:
        return [e for kind in KINDS for _, e in sorted(self._tables[kind].items())]

    # --- observer hooks -------------------------------------------------------------
    @property
    def hook(self) -> Any:
        return self.plugin_manager.hook


def _load_entry_point_plugins(pm: pluggy.PluginManager) -> dict[str, str]:
    origins: dict[str, str] = {}
    disabled = _disabled_plugins()
    eps = sorted(md.entry_points(group=ENTRY_POINT_GROUP), key=lambda e: e.name)
    seen: set[str] = set()
    for ep in eps:
        if ep.name in seen:  # the same distribution found twice on sys.path
            continue
        seen.add(ep.name)
        dist = f"{ep.dist.name} {ep.dist.version}" if ep.dist else "unknown distribution"
        origin = f"entry point {ep.name} = {ep.value}, package {dist}"
        if ep.name in disabled:
            logger.info("Plugin %r disabled by %s", ep.name, DISABLE_ENV_VAR)
            continue
        try:
            plugin = ep.load()
        except Exception as exc:
            raise PluginError(
                f"Plugin {ep.name!r} failed to import ({origin}): {type(exc).__name__}: {exc}. "
                f"Fix or uninstall it, or disable it with {DISABLE_ENV_VAR}={ep.name}."
            ) from exc
        _register(pm, ep.name, plugin, origin)
        origins[ep.name] = origin
    if BUILTIN_PLUGIN not in origins and BUILTIN_PLUGIN not in disabled:
        # Running from a source tree whose package metadata is not installed: the
        # built-ins are still registered as an ordinary plugin, just found by module name.
        module = importlib.import_module("mtl_pipeline.builtin_plugin")
        origin = "module mtl_pipeline.builtin_plugin (no installed entry point)"
        _register(pm, BUILTIN_PLUGIN, module, origin)
        origins[BUILTIN_PLUGIN] = origin
    return origins


def _register(pm: pluggy.PluginManager, name: str, plugin: ModuleType | Any, origin: str) -> None:
    _check_api_version(name, plugin, origin)
    try:
        pm.register(plugin, name=name)
    except (ValueError, pluggy.PluginValidationError) as exc:
        raise PluginError(f"Plugin {name!r} ({origin}) could not be registered: {exc}") from exc


def build_plugin_manager(extra_plugins: dict[str, Any] | None = None) -> tuple[pluggy.PluginManager, dict[str, str]]:
    """A fresh manager with every installed plugin (plus ``extra_plugins``, for tests)."""
    pm = pluggy.PluginManager(PROJECT_NAME)
    pm.add_hookspecs(MTLHookSpecs)
    origins = _load_entry_point_plugins(pm)
    for name, plugin in (extra_plugins or {}).items():
        origin = f"object {plugin!r}"
        _register(pm, name, plugin, origin)
        origins[name] = origin
    return pm, origins


_lock = threading.Lock()
_registry: Registry | None = None


def get_registry() -> Registry:
    """The process-wide registry, built on first use (so `kedro viz` never pays for it)."""
    global _registry
    with _lock:
        if _registry is None:
            _registry = Registry(*build_plugin_manager())
        return _registry


def reset_registry(extra_plugins: dict[str, Any] | None = None) -> Registry | None:
    """Drop the cached registry; with ``extra_plugins``, rebuild it including them."""
    global _registry
    with _lock:
        _registry = Registry(*build_plugin_manager(extra_plugins)) if extra_plugins else None
        return _registry
