"""The one place that owns the pluggy ``PluginManager`` and the component tables.

Discovery: every entry point in the ``mtl_pipeline`` group is imported (the built-ins are
one of them, entry point ``builtins``). A plugin that fails to import, declares another API
version, implements a hook that does not exist, returns the wrong thing from a hook, or
registers a name another plugin already took, stops the run with an error naming the
plugin (and, for imports, its entry point, package and the exception).

``MTL_PIPELINE_DISABLE_PLUGINS=name1,name2`` skips plugins by entry-point name before they
are imported; ``*`` skips every plugin except the built-ins.

Trust model: only code from installed distributions' entry points is ever imported; no
config string is evaluated or used as an import path. A config names a component, and the
name is looked up in the tables the installed plugins filled.
"""

from __future__ import annotations

import difflib
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
#: In ``MTL_PIPELINE_DISABLE_PLUGINS``: every plugin except the built-ins.
DISABLE_ALL_THIRD_PARTY = "*"
BUILTIN_PLUGIN = "builtins"

#: kind -> (registration hook, "module:BaseClass" every component must derive from, or None)
KINDS: dict[str, tuple[str, str | None]] = {
    "architecture": ("register_architectures", "mtl_pipeline.architectures.base:Architecture"),
    "loss": ("register_losses", "mtl_pipeline.losses.base:TaskWeighting"),
    "sampler": ("register_samplers", "mtl_pipeline.samplers.base:TaskSampler"),
    "reader": ("register_readers", "mtl_pipeline.readers.base:Reader"),
    "metric": ("register_metrics", "mtl_pipeline.metrics.base:Metric"),
    "task_type": ("register_task_types", "mtl_pipeline.task_types.base:TaskType"),
    "encoder_adapter": (
        "register_encoder_adapters",
        "mtl_pipeline.architectures.encoder_adapters:EncoderAdapter",
    ),
    "strategy": ("register_strategies", "mtl_pipeline.strategies.base:Strategy"),
}

#: Hooks the trainer calls during training (they return nothing).
OBSERVER_HOOKS = ("on_train_start", "on_step_end", "on_evaluation", "on_train_end")


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


def _is_disabled(name: str, disabled: set[str]) -> bool:
    if name in disabled:
        return True
    return DISABLE_ALL_THIRD_PARTY in disabled and name != BUILTIN_PLUGIN


def _check_api_version(plugin_name: str, module: Any, origin: str) -> None:
    declared = getattr(module, "MTL_PIPELINE_API_VERSION", None)
    if declared is None:
        raise PluginError(
            f"Plugin {plugin_name!r} ({origin}) does not declare MTL_PIPELINE_API_VERSION; "
            f"set MTL_PIPELINE_API_VERSION = {PLUGIN_API_VERSION} in the plugin module."
        )
    # bool is an int subclass: `True == 1` must not pass for a version number.
    if type(declared) is not int or declared != PLUGIN_API_VERSION:
        raise PluginError(
            f"Plugin {plugin_name!r} ({origin}) was written for plugin API version {declared!r}, "
            f"but this mtl_pipeline provides version {PLUGIN_API_VERSION}. Upgrade the plugin or "
            f"mtl_pipeline, or disable it with {DISABLE_ENV_VAR}={plugin_name}."
        )


class ObserverRelay:
    """``plugin_manager.hook`` for the trainer, naming the plugin when an observer raises.

    pluggy would let the bare exception escape from deep inside its call loop; after an
    hour of training the person reading it should see which plugin to fix or disable.
    Attributes other than the observer hooks are the plugin manager's own hook callers.
    """

    def __init__(self, plugin_manager: pluggy.PluginManager, origins: dict[str, str]) -> None:
        self._pm = plugin_manager
        self._origins = origins

    def __getattr__(self, name: str) -> Any:
        caller = getattr(self._pm.hook, name)
        if name not in OBSERVER_HOOKS:
            return caller

        def call(**kwargs: Any) -> list[Any]:
            try:
                return caller(**kwargs)
            except PluginError:
                raise
            except Exception as exc:
                plugin = _culprit(caller, exc)
                if plugin is None:
                    raise
                origin = self._origins.get(plugin, "registered at run time")
                raise PluginError(
                    f"Plugin {plugin!r} ({origin}) raised in {name}(): {type(exc).__name__}: "
                    f"{exc}. Fix it, or disable it with {DISABLE_ENV_VAR}={plugin}."
                ) from exc

        return call


def _culprit(caller: Any, exc: BaseException) -> str | None:
    """The plugin whose hook implementation the exception passed through."""
    codes = {
        getattr(impl.function, "__code__", None): impl.plugin_name
        for impl in caller.get_hookimpls()
    }
    tb = exc.__traceback__
    while tb is not None:
        plugin = codes.get(tb.tb_frame.f_code)
        if plugin is not None:
            return plugin
        tb = tb.tb_next
    return None


class Registry:
    """Component tables built from a plugin manager's registration hooks."""

    def __init__(self, plugin_manager: pluggy.PluginManager, origins: dict[str, str]) -> None:
        self.plugin_manager = plugin_manager
        self.origins = origins
        #: Installed plugins skipped because of MTL_PIPELINE_DISABLE_PLUGINS.
        self.disabled = disabled_plugins()
        self._tables: dict[str, dict[str, ComponentEntry]] = {kind: {} for kind in KINDS}
        self._hook = ObserverRelay(plugin_manager, origins)
        for kind, (hook_name, base_spec) in KINDS.items():
            base = _import_base(base_spec) if base_spec else None
            hook = getattr(plugin_manager.hook, hook_name)
            # pluggy lists implementations in registration order (built-ins first).
            for impl in hook.get_hookimpls():
                plugin_name = plugin_manager.get_name(impl.plugin) or repr(impl.plugin)
                try:
                    result = impl.function()
                except Exception as exc:
                    raise PluginError(
                        f"Plugin {plugin_name!r} ({origins.get(plugin_name, '?')}) raised in "
                        f"{hook_name}(): {type(exc).__name__}: {exc}"
                    ) from exc
                self._add_all(kind, hook_name, plugin_name, result, base)

    def _add_all(
        self, kind: str, hook_name: str, plugin: str, result: Any, base: type | None
    ) -> None:
        if result is None:
            return
        if not isinstance(result, list | tuple):
            if isinstance(result, type) or kind == "metric" and isinstance(result, base or ()):
                what = _describe_component(result)
                raise PluginError(
                    f"Plugin {plugin!r}: {hook_name}() must return a list of {kind} components, "
                    f"got the single {what}; return a list: [{_short_name(result)}]."
                )
            raise PluginError(
                f"Plugin {plugin!r}: {hook_name}() must return a list of {kind} components, "
                f"got {type(result).__name__} {result!r:.80}."
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
                    f"an instance of {base.__module__}.{base.__name__}"
                    if kind == "metric"
                    else f"a subclass of {base.__module__}.{base.__name__}"
                )
                raise PluginError(
                    f"Plugin {plugin!r}: {hook_name}() returned {obj!r}; each item must be "
                    f"{expected} with a non-empty string `name`."
                )
            if kind != "metric":
                _check_options_contract(plugin, hook_name, obj)
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
            close = difflib.get_close_matches(str(name), list(table), n=1)
            hint = f" Did you mean {close[0]!r}?" if close else ""
            raise UnknownComponentError(
                f"{location}unknown {kind} {name!r}.{hint} Available {_plural(kind)} (plugin): "
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
        """Call observers as ``registry.hook.on_step_end(step=..., logs=...)``."""
        return self._hook


def _short_name(obj: Any) -> str:
    """A class's own name, or a metric's ``name``: what the plugin author wrote."""
    return obj.__name__ if isinstance(obj, type) else str(getattr(obj, "name", type(obj).__name__))


def _describe_component(obj: Any) -> str:
    """``class pkg.mod.Cls`` or ``Metric instance 'name'`` for error messages."""
    if isinstance(obj, type):
        return f"class {obj.__module__}.{obj.__qualname__}"
    return f"{type(obj).__name__} instance {getattr(obj, 'name', obj)!r}"


def _check_options_contract(plugin: str, hook_name: str, cls: type) -> None:
    """A component's options are a pydantic model named ``Options``, parsed only by
    ``Component.parse_options`` (which refuses unknown keys whatever the model's config)."""
    from pydantic import BaseModel

    from mtl_pipeline.components import Component

    where = f"Plugin {plugin!r}: {hook_name}() returned {_describe_component(cls)}"
    options = getattr(cls, "Options", None)
    if not (isinstance(options, type) and issubclass(options, BaseModel)):
        raise PluginError(
            f"{where}, whose `Options` is {options!r}; it must be a pydantic BaseModel subclass "
            "(mtl_pipeline.components.NoOptions for a component without options)."
        )
    parse = getattr(cls.parse_options, "__func__", None)
    if parse is not Component.parse_options.__func__:
        raise PluginError(
            f"{where}, which overrides parse_options(); options are parsed by mtl_pipeline from "
            "the `Options` model (unknown keys are always refused), so declare every option "
            "there and remove the override."
        )


def disabled_plugins() -> list[str]:
    """Installed plugins (entry-point names) that the disable switch currently skips."""
    disabled = _disabled_plugins()
    names = {ep.name for ep in md.entry_points(group=ENTRY_POINT_GROUP)} | {BUILTIN_PLUGIN}
    return sorted(n for n in names if _is_disabled(n, disabled))


def _plural(kind: str) -> str:
    return f"{kind}es" if kind.endswith("s") else f"{kind}s"


def _load_entry_point_plugins(pm: pluggy.PluginManager) -> dict[str, str]:
    origins: dict[str, str] = {}
    disabled = _disabled_plugins()
    # importlib.metadata already lists a distribution found twice on sys.path only once.
    by_name: dict[str, md.EntryPoint] = {}
    # Built-ins first, so that a duplicate name is reported against the newcomer.
    ordered = sorted(
        md.entry_points(group=ENTRY_POINT_GROUP), key=lambda e: (e.name != BUILTIN_PLUGIN, e.name)
    )
    for ep in ordered:
        other = by_name.get(ep.name)
        if other is None:
            by_name[ep.name] = ep
        elif (_dist_name(other), other.value) != (_dist_name(ep), ep.value):
            raise PluginError(
                f"Plugin name {ep.name!r} is claimed by two entry points: {_origin(other)} and "
                f"{_origin(ep)}. Entry-point names in group {ENTRY_POINT_GROUP!r} must be "
                "unique; uninstall one of the packages."
            )
    known = set(by_name) | {BUILTIN_PLUGIN}
    unknown = sorted(disabled - known - {DISABLE_ALL_THIRD_PARTY})
    if unknown:
        logger.warning(
            "%s names plugin(s) %s that are not installed; installed plugins: %s.",
            DISABLE_ENV_VAR,
            ", ".join(unknown),
            ", ".join(sorted(known)),
        )
    for name, ep in by_name.items():
        origin = _origin(ep)
        if _is_disabled(name, disabled):
            logger.info("Plugin %r disabled by %s", name, DISABLE_ENV_VAR)
            continue
        try:
            plugin = ep.load()
        except Exception as exc:
            raise PluginError(
                f"Plugin {name!r} failed to import ({origin}): {type(exc).__name__}: {exc}. "
                f"Fix or uninstall it, or disable it with {DISABLE_ENV_VAR}={name}."
            ) from exc
        _register(pm, name, plugin, origin)
        origins[name] = origin
    if BUILTIN_PLUGIN not in by_name and not _is_disabled(BUILTIN_PLUGIN, disabled):
        # The built-ins are an ordinary plugin, found only through their entry point: the
        # registry never imports a component module by name (components may look others
        # up in the registry, so a direct import would make the two depend on each other).
        raise PluginError(
            f"The built-in components are registered through the entry point "
            f"{BUILTIN_PLUGIN} = mtl_pipeline.builtin_plugin (group {ENTRY_POINT_GROUP!r}) of "
            "the installed mtl_pipeline package, and no such entry point is installed: "
            "mtl_pipeline is imported from a source tree without its package metadata. "
            "Install the project (pip install -e .) in this environment."
        )
    return origins


def _dist_name(ep: md.EntryPoint) -> str | None:
    return ep.dist.name if ep.dist is not None else None


def _origin(ep: md.EntryPoint) -> str:
    dist = f"{ep.dist.name} {ep.dist.version}" if ep.dist else "unknown distribution"
    return f"entry point {ep.name} = {ep.value}, package {dist}"


def _register(pm: pluggy.PluginManager, name: str, plugin: ModuleType | Any, origin: str) -> None:
    _check_api_version(name, plugin, origin)
    try:
        pm.register(plugin, name=name)
    except (ValueError, pluggy.PluginValidationError) as exc:
        raise PluginError(f"Plugin {name!r} ({origin}) could not be registered: {exc}") from exc
    callers = pm.get_hookcallers(plugin) or []
    unknown = sorted(c.name for c in callers if not c.has_spec())
    if unknown:
        pm.unregister(plugin)
        hooks = sorted(h for h in dir(MTLHookSpecs) if not h.startswith("_"))
        hints = []
        for hook in unknown:
            close = difflib.get_close_matches(hook, hooks, n=1)
            hints.append(f"{hook} (did you mean {close[0]}?)" if close else hook)
        raise PluginError(
            f"Plugin {name!r} ({origin}) implements unknown hook(s): {', '.join(hints)}. "
            f"The hooks of plugin API version {PLUGIN_API_VERSION} are: {', '.join(hooks)}."
        )
    if not callers:
        logger.warning(
            "Plugin %r (%s) implements no %s hooks; mark its functions with "
            "mtl_pipeline.hookspecs.hookimpl.",
            name,
            origin,
            PROJECT_NAME,
        )


def build_plugin_manager(
    extra_plugins: dict[str, Any] | None = None,
) -> tuple[pluggy.PluginManager, dict[str, str]]:
    """A fresh manager with every installed plugin (plus ``extra_plugins``, for tests).

    Returns ``(plugin_manager, origins)``; ``origins`` maps each registered plugin name to
    where it came from (entry point and package, or the object for ``extra_plugins``).
    """
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


def registered_strategies() -> dict[str, type]:
    """Every registered strategy class by name, without building the other tables.

    The config loader reads the strategies' task keys to shape the pipeline, and the other
    component tables import torch, which the pipeline shape (``kedro viz``) must not pay
    for. Once the registry is built its table is used. A strategy hook that raises or
    returns something that is not a list of named classes is skipped here and reported by
    the registry when the run is validated.
    """
    with _lock:
        if _registry is not None:
            return {name: entry.obj for name, entry in _registry._tables["strategy"].items()}
    plugin_manager, _ = build_plugin_manager()
    found: dict[str, type] = {}
    for impl in plugin_manager.hook.register_strategies.get_hookimpls():
        try:
            result = impl.function()
        except Exception:  # reported with the plugin's name by Registry at validation
            continue
        for obj in result if isinstance(result, list | tuple) else ():
            name = getattr(obj, "name", None)
            if isinstance(obj, type) and isinstance(name, str) and name:
                found.setdefault(name, obj)
    return found


def reset_registry(extra_plugins: dict[str, Any] | None = None) -> Registry | None:
    """Drop the cached registry; with ``extra_plugins``, rebuild it including them.

    Tests call it after changing ``sys.path`` or the disable switch, and again afterwards,
    so that the next ``get_registry()`` rediscovers the installed plugins.
    """
    global _registry
    with _lock:
        _registry = Registry(*build_plugin_manager(extra_plugins)) if extra_plugins else None
        return _registry
