"""The plugin registry, driven through REAL entry points.

Each test that needs a third-party plugin writes a throwaway distribution into
``tmp_path`` — a ``<name>-0.1.dist-info/`` folder (METADATA, entry_points.txt) beside the
plugin module — and puts that folder on ``sys.path``. ``importlib.metadata`` then finds it
exactly as it finds a pip-installed package, so discovery, import, version checks and
error messages are the production code paths, not a monkeypatched registry.
"""

from __future__ import annotations

import importlib.metadata as md
import logging
import sys
import textwrap
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from mtl_pipeline import PLUGIN_API_VERSION
from mtl_pipeline.errors import ConfigError, PluginError, UnknownComponentError
from mtl_pipeline.registry import (
    BUILTIN_PLUGIN,
    DISABLE_ENV_VAR,
    KINDS,
    get_registry,
    reset_registry,
)

InstallFn = Callable[..., Path]


@pytest.fixture(autouse=True)
def clean_registry(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Every test starts and ends with a freshly discovered registry and no disable switch,
    so no other test ever sees a throwaway plugin."""
    monkeypatch.delenv(DISABLE_ENV_VAR, raising=False)
    reset_registry()
    yield
    reset_registry()


@pytest.fixture
def install(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[InstallFn]:
    """``install(dist, {ep_name: "module[:attr]"}, {module: source})``: a throwaway
    distribution discoverable through importlib.metadata (registry reset afterwards)."""
    site = tmp_path / "site-packages"
    site.mkdir()
    monkeypatch.syspath_prepend(str(site))
    modules: list[str] = []

    def install_dist(dist: str, entry_points: dict[str, str], sources: dict[str, str]) -> Path:
        info = site / f"{dist.replace('-', '_')}-0.1.dist-info"
        info.mkdir()
        (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {dist}\nVersion: 0.1\n")
        lines = "".join(f"{name} = {value}\n" for name, value in entry_points.items())
        (info / "entry_points.txt").write_text(f"[mtl_pipeline]\n{lines}")
        for module, source in sources.items():
            (site / f"{module}.py").write_text(textwrap.dedent(source))
            modules.append(module)
        reset_registry()
        return site

    yield install_dist
    for module in modules:
        sys.modules.pop(module, None)


HEADER = """
from mtl_pipeline.hookspecs import hookimpl
MTL_PIPELINE_API_VERSION = 1
"""

SAMPLER_PLUGIN = (
    HEADER
    + """
from pydantic import BaseModel, ConfigDict, Field
from mtl_pipeline.metrics.base import Metric
from mtl_pipeline.samplers.base import TaskSampler, normalize


class FavouriteOptions(BaseModel):
    model_config = ConfigDict(extra="forbid")
    favourite: str
    boost: float = Field(default=2.0, gt=0)


class FavouriteSampler(TaskSampler):
    name = "favourite"
    description = "The favourite task gets `boost` times the others' weight."
    Options = FavouriteOptions

    def probabilities(self, step):
        o = self.options
        return normalize({t: o.boost if t == o.favourite else 1.0 for t in self.task_names})


@hookimpl
def register_samplers():
    return [FavouriteSampler]


@hookimpl
def register_metrics():
    return [Metric("always_one", lambda p, r: 1.0, "Constant 1 (test metric).")]
"""
)


def install_favourite(install: InstallFn) -> None:
    """Distribution ``mtl-favourite``, entry point ``favourite`` (sampler + metric)."""
    install(
        "mtl-favourite", {"favourite": "favourite_plugin"}, {"favourite_plugin": SAMPLER_PLUGIN}
    )


# --- the built-ins are an ordinary plugin ------------------------------------------------
def test_builtins_come_from_an_installed_entry_point() -> None:
    eps = {ep.name: ep for ep in md.entry_points(group="mtl_pipeline")}
    assert eps[BUILTIN_PLUGIN].value == "mtl_pipeline.builtin_plugin"
    assert eps[BUILTIN_PLUGIN].dist.name == "mtl_pipeline"
    registry = get_registry()
    assert registry.origins[BUILTIN_PLUGIN].startswith(
        "entry point builtins = mtl_pipeline.builtin_plugin, package mtl_pipeline"
    )
    builtin_module = registry.plugin_manager.get_plugin(BUILTIN_PLUGIN)
    assert builtin_module.__name__ == "mtl_pipeline.builtin_plugin"
    assert builtin_module.MTL_PIPELINE_API_VERSION == PLUGIN_API_VERSION
    # Every kind has built-ins, all registered by the `builtins` plugin via the hooks.
    for kind in KINDS:
        names = registry.names(kind)
        assert names, kind
        assert {registry.entry(kind, n).plugin for n in names if n in _core_names(kind)} <= {
            BUILTIN_PLUGIN
        }


def _core_names(kind: str) -> set[str]:
    core = {
        "architecture": {"hard_sharing"},
        "loss": {"equal"},
        "sampler": {"temperature"},
        "reader": {"glue_tsv", "csv", "jsonl", "parquet", "conllu", "hf_disk", "hf_hub"},
        "metric": {"accuracy", "f1", "macro_f1", "mcc", "pearson", "spearman"},
        "task_type": {"classification", "regression", "tagging"},
        "encoder_adapter": {"bert", "roberta", "deberta_v2", "modernbert", "decoder"},
        "strategy": {"mtl_all", "single_task", "pairwise", "stilts", "mtl_then_finetune"},
    }
    return core[kind]


def test_core_components_present() -> None:
    registry = get_registry()
    for kind in KINDS:
        assert _core_names(kind) <= set(registry.names(kind)), kind


# --- discovery of a third-party plugin -----------------------------------------------------
def test_third_party_plugin_is_discovered_through_its_entry_point(install: InstallFn) -> None:
    install_favourite(install)
    registry = get_registry()
    entry = registry.entry("sampler", "favourite")
    assert entry.plugin == "favourite"
    assert entry.description.startswith("The favourite task")
    assert registry.entry("metric", "always_one").plugin == "favourite"
    assert registry.origins["favourite"] == (
        "entry point favourite = favourite_plugin, package mtl-favourite 0.1"
    )
    # Built-ins are untouched.
    assert registry.entry("sampler", "temperature").plugin == BUILTIN_PLUGIN


def test_component_receives_its_validated_options(install: InstallFn) -> None:
    """``{name: favourite, favourite: b, boost: 3}``: name picks the class, the rest of the
    mapping becomes its pydantic Options."""
    from mtl_pipeline.config import TrainingConfig
    from mtl_pipeline.samplers.factory import build_sampler

    install_favourite(install)
    cfg = TrainingConfig(sampler={"name": "favourite", "favourite": "b", "boost": 3})
    sampler = build_sampler(cfg, {"a": 10, "b": 10})
    assert sampler.options.boost == 3.0
    assert sampler.probabilities(0) == pytest.approx({"a": 0.25, "b": 0.75})

    bad = TrainingConfig(sampler={"name": "favourite", "favourite": "b", "bost": 3})
    with pytest.raises(ConfigError) as info:
        build_sampler(bad, {"a": 10, "b": 10})
    message = str(info.value)
    assert "training.sampler" in message and "'favourite'" in message and "bost" in message
    assert "boost, favourite" in message  # the options it accepts


LAX_PLUGIN = (
    HEADER
    + """
from pydantic import BaseModel, ConfigDict, Field
from mtl_pipeline.samplers.base import TaskSampler, normalize


class Inner(BaseModel):  # no extra="forbid" either
    factor: float = 1.0


class LaxOptions(BaseModel):  # pydantic's default: unknown keys silently ignored
    favourite: str = "a"
    boost: float = Field(default=2.0, gt=0, alias="boost_factor")
    inner: Inner | None = None


class AllowOptions(BaseModel):
    model_config = ConfigDict(extra="allow")  # unknown keys silently kept
    boost: float = 2.0


class LaxSampler(TaskSampler):
    name = "lax"
    description = "Like favourite, with an options model that forgets extra='forbid'."
    Options = LaxOptions

    def probabilities(self, step):
        return normalize({t: 1.0 for t in self.task_names})


class AllowSampler(LaxSampler):
    name = "allow"
    Options = AllowOptions


@hookimpl
def register_samplers():
    return [LaxSampler, AllowSampler]
"""
)


@pytest.mark.parametrize(
    ("options", "expected"),
    [
        ({"name": "lax", "bost": 3}, r"bost: unknown option \(did you mean 'boost'\?\)"),
        (
            {"name": "lax", "inner": {"factr": 2}},
            r"inner\.factr: unknown option \(did you mean 'factor'\?\)",
        ),
        ({"name": "allow", "boots": 3}, r"boots: unknown option \(did you mean 'boost'\?\)"),
    ],
)
def test_unknown_option_is_refused_whatever_the_plugins_model_config(
    install: InstallFn, options: dict, expected: str
) -> None:
    """A plugin's options model without ``extra="forbid"`` (or with ``extra="allow"``) still
    gets the same unknown-option error, with a suggestion, as every built-in."""
    from mtl_pipeline.config import TrainingConfig
    from mtl_pipeline.samplers.factory import build_sampler

    install("mtl-lax", {"lax": "lax_plugin"}, {"lax_plugin": LAX_PLUGIN})
    with pytest.raises(ConfigError, match=expected) as info:
        build_sampler(TrainingConfig(sampler=options), {"a": 10, "b": 10})
    assert "training.sampler" in str(info.value) and "Options it accepts" in str(info.value)
    # Declared keys, the field's alias and a nested model's own keys still work.
    good = TrainingConfig(sampler={"name": "lax", "boost_factor": 3, "inner": {"factor": 2}})
    sampler = build_sampler(good, {"a": 10, "b": 10})
    assert sampler.options.boost == 3.0 and sampler.options.inner.factor == 2.0


def test_every_registered_component_refuses_an_unknown_option() -> None:
    registry = get_registry()
    kinds = [kind for kind in KINDS if kind != "metric"]
    for kind in kinds:
        for name in registry.names(kind):
            cls = registry.get(kind, name)
            with pytest.raises(ConfigError, match="zz_not_an_option: unknown option"):
                cls.parse_options({"zz_not_an_option": 1}, f"{kind}.{name}")


def test_entry_point_may_name_an_object(install: InstallFn) -> None:
    """``module:attr`` entry points work too (a class instance as the plugin)."""
    source = (
        HEADER
        + """
from mtl_pipeline.metrics.base import Metric

class Plugin:
    MTL_PIPELINE_API_VERSION = 1

    @hookimpl
    def register_metrics(self):
        return [Metric("object_metric", lambda p, r: 0.0)]

plugin = Plugin()
"""
    )
    install("mtl-obj", {"objplug": "obj_plugin:plugin"}, {"obj_plugin": source})
    assert get_registry().entry("metric", "object_metric").plugin == "objplug"


# --- errors naming the culprit --------------------------------------------------------------
def test_failing_import_names_entry_point_package_and_exception(install: InstallFn) -> None:
    install(
        "mtl-broken",
        {"broken": "broken_plugin"},
        {"broken_plugin": "import a_dependency_that_is_not_installed\n"},
    )
    with pytest.raises(PluginError) as info:
        get_registry()
    message = str(info.value)
    assert "Plugin 'broken' failed to import" in message
    assert "entry point broken = broken_plugin" in message
    assert "package mtl-broken 0.1" in message
    assert "ModuleNotFoundError" in message and "a_dependency_that_is_not_installed" in message
    assert f"{DISABLE_ENV_VAR}=broken" in message
    assert isinstance(info.value.__cause__, ModuleNotFoundError)


@pytest.mark.parametrize(
    "declaration, expected",
    [
        ("MTL_PIPELINE_API_VERSION = 2", "written for plugin API version 2"),
        ("MTL_PIPELINE_API_VERSION = '1'", "written for plugin API version '1'"),
        ("MTL_PIPELINE_API_VERSION = True", "written for plugin API version True"),
        ("", "does not declare MTL_PIPELINE_API_VERSION"),
    ],
)
def test_api_version_mismatch_is_refused(
    install: InstallFn, declaration: str, expected: str
) -> None:
    source = f"""
from mtl_pipeline.hookspecs import hookimpl
{declaration}

@hookimpl
def register_metrics():
    return []
"""
    install("mtl-future", {"future": "future_plugin"}, {"future_plugin": source})
    with pytest.raises(PluginError) as info:
        get_registry()
    message = str(info.value)
    assert "Plugin 'future'" in message and "package mtl-future 0.1" in message
    assert expected in message


def test_duplicate_of_a_builtin_names_both_plugins(install: InstallFn) -> None:
    source = (
        HEADER
        + """
from mtl_pipeline.architectures.hard_sharing import HardSharing

class MyHardSharing(HardSharing):
    pass

@hookimpl
def register_architectures():
    return [MyHardSharing]
"""
    )
    # "aaa" sorts before "builtins": the built-ins still load first, so the newcomer is blamed.
    install("mtl-dupe", {"aaa": "dupe_plugin"}, {"dupe_plugin": source})
    with pytest.raises(
        PluginError,
        match=(
            r"Duplicate architecture name 'hard_sharing': registered by plugin 'builtins' and "
            r"again by plugin 'aaa'"
        ),
    ):
        get_registry()


def test_duplicate_between_two_third_party_plugins(install: InstallFn) -> None:
    source = (
        HEADER
        + """
from mtl_pipeline.metrics.base import Metric

@hookimpl
def register_metrics():
    return [Metric("shared_name", lambda p, r: 0.0)]
"""
    )
    install("mtl-first", {"first": "first_plugin"}, {"first_plugin": source})
    install("mtl-second", {"second": "second_plugin"}, {"second_plugin": source})
    with pytest.raises(PluginError) as info:
        get_registry()
    assert "Duplicate metric name 'shared_name'" in str(info.value)
    assert "'first'" in str(info.value) and "'second'" in str(info.value)


def test_same_entry_point_name_in_two_packages(install: InstallFn) -> None:
    source = HEADER + "\n@hookimpl\ndef register_metrics():\n    return []\n"
    install("mtl-one", {"same": "one_plugin"}, {"one_plugin": source})
    install("mtl-two", {"same": "two_plugin"}, {"two_plugin": source})
    with pytest.raises(PluginError) as info:
        get_registry()
    message = str(info.value)
    assert "Plugin name 'same' is claimed by two entry points" in message
    assert "package mtl-one 0.1" in message and "package mtl-two 0.1" in message


@pytest.mark.parametrize(
    "body, expected",
    [
        (
            "def register_losses():\n    return {'equal2': None}",
            r"register_losses\(\) must return a list of loss components, got dict",
        ),
        (
            "def register_losses():\n    from mtl_pipeline.losses.equal import EqualWeighting\n"
            "    return EqualWeighting",
            r"register_losses\(\) must return a list of loss components, got the single class "
            r"mtl_pipeline\.losses\.equal\.EqualWeighting; return a list: \[EqualWeighting\]",
        ),
        (
            "def register_metrics():\n    from mtl_pipeline.metrics.base import Metric\n"
            "    return Metric('solo', lambda p, r: 0.0)",
            r"got the single Metric instance 'solo'; return a list: \[solo\]",
        ),
        (
            "def register_losses():\n    from mtl_pipeline.losses.equal import EqualWeighting\n"
            "    class Lenient(EqualWeighting):\n        name = 'lenient'\n"
            "        @classmethod\n        def parse_options(cls, options, where):\n"
            "            return cls.Options()\n    return [Lenient]",
            r"returned class wrong_plugin\.register_losses\.<locals>\.Lenient, which overrides "
            r"parse_options\(\)",
        ),
        (
            "def register_samplers():\n"
            "    from mtl_pipeline.samplers.round_robin import RoundRobinSampler\n"
            "    class Loose(RoundRobinSampler):\n        name = 'loose'\n        Options = dict\n"
            "    return [Loose]",
            r"whose `Options` is <class 'dict'>; it must be a pydantic BaseModel subclass",
        ),
        (
            "def register_losses():\n    return [object]",
            r"register_losses\(\) returned <class 'object'>; each item must be a subclass of "
            r"mtl_pipeline\.losses\.base\.TaskWeighting",
        ),
        (
            "def register_metrics():\n    from mtl_pipeline.metrics.base import Metric\n"
            "    return [Metric]",
            r"each item must be an instance of mtl_pipeline\.metrics\.base\.Metric",
        ),
        (
            "def register_readers():\n    from mtl_pipeline.readers.csv_reader import CsvReader\n"
            "    class Nameless(CsvReader):\n        name = ''\n    return [Nameless]",
            r"with a non-empty string `name`",
        ),
        (
            "def register_samplers():\n    raise RuntimeError('config file missing')",
            r"Plugin 'wrong' \(entry point wrong = wrong_plugin, package mtl-wrong 0\.1\) raised "
            r"in register_samplers\(\): RuntimeError: config file missing",
        ),
    ],
)
def test_wrong_registration_result_names_the_plugin(
    install: InstallFn, body: str, expected: str
) -> None:
    source = HEADER + "\n@hookimpl\n" + body + "\n"
    install("mtl-wrong", {"wrong": "wrong_plugin"}, {"wrong_plugin": source})
    with pytest.raises(PluginError, match=expected) as info:
        get_registry()
    assert "'wrong'" in str(info.value)


def test_misspelt_hook_is_an_error_with_a_suggestion(install: InstallFn) -> None:
    source = HEADER + "\n@hookimpl\ndef register_architecture():\n    return []\n"
    install("mtl-typo", {"typo": "typo_plugin"}, {"typo_plugin": source})
    with pytest.raises(
        PluginError,
        match=(
            r"Plugin 'typo' .* implements unknown hook\(s\): register_architecture "
            r"\(did you mean register_architectures\?\)"
        ),
    ):
        get_registry()


def test_hook_with_wrong_arguments_is_refused(install: InstallFn) -> None:
    source = HEADER + "\n@hookimpl\ndef on_step_end(step, log):\n    pass\n"
    install("mtl-args", {"args": "args_plugin"}, {"args_plugin": source})
    with pytest.raises(PluginError, match=r"(?s)Plugin 'args' .* could not be registered:.*'log'"):
        get_registry()


def test_observer_exception_names_the_plugin(install: InstallFn) -> None:
    source = (
        HEADER
        + """
@hookimpl
def on_step_end(step, logs):
    raise ValueError("disk full")
"""
    )
    install("mtl-noisy", {"noisy": "noisy_plugin"}, {"noisy_plugin": source})
    hook = get_registry().hook
    with pytest.raises(PluginError) as info:
        hook.on_step_end(step=3, logs={})
    message = str(info.value)
    assert "Plugin 'noisy' (entry point noisy = noisy_plugin, package mtl-noisy 0.1)" in message
    assert "raised in on_step_end(): ValueError: disk full" in message
    assert isinstance(info.value.__cause__, ValueError)


def test_observers_may_take_a_subset_of_the_arguments(install: InstallFn) -> None:
    source = (
        HEADER
        + """
CALLS = []

@hookimpl
def on_step_end(step):
    CALLS.append(step)
"""
    )
    install("mtl-subset", {"subset": "subset_plugin"}, {"subset_plugin": source})
    get_registry().hook.on_step_end(step=7, logs={"losses": {}})
    assert sys.modules["subset_plugin"].CALLS == [7]


# --- unknown names ---------------------------------------------------------------------------
def test_unknown_name_lists_names_with_their_plugins(install: InstallFn) -> None:
    install_favourite(install)
    with pytest.raises(UnknownComponentError) as info:
        get_registry().get("sampler", "favorite", "training.sampler")
    message = str(info.value)
    assert message.startswith("training.sampler: unknown sampler 'favorite'.")
    assert "Did you mean 'favourite'?" in message
    assert "favourite (favourite)" in message and "temperature (builtins)" in message
    assert isinstance(info.value, ConfigError) and isinstance(info.value, KeyError)


def test_unknown_name_in_a_run_config_fails_validation_naming_the_key() -> None:
    from mtl_pipeline.validation import validate_parameters

    params = {
        "tasks": {
            "t": {
                "type": "classification",
                "reader": {"name": "tsv_reader"},
                "train": "x.tsv",
                "validation": "y.tsv",
                "text_fields": ["s"],
                "label_field": "l",
                "metrics": ["accuracy"],
            }
        }
    }
    with pytest.raises(
        UnknownComponentError,
        match=(
            r"tasks\.t\.reader: unknown reader 'tsv_reader'\..* Available readers \(plugin\): "
            r".*glue_tsv \(builtins\)"
        ),
    ):
        validate_parameters(params)


# --- the disable switch ----------------------------------------------------------------------
def test_disable_switch_skips_a_broken_plugin_before_import(
    install: InstallFn, monkeypatch: pytest.MonkeyPatch
) -> None:
    install("mtl-broken", {"broken": "broken_plugin"}, {"broken_plugin": "raise SystemError\n"})
    install_favourite(install)
    monkeypatch.setenv(DISABLE_ENV_VAR, " broken , favourite")
    reset_registry()
    registry = get_registry()
    assert "broken_plugin" not in sys.modules
    assert "favourite" not in registry.names("sampler")
    assert {"broken", "favourite"} <= set(registry.disabled)
    assert "temperature" in registry.names("sampler")


def test_disable_star_keeps_only_the_builtins(
    install: InstallFn, monkeypatch: pytest.MonkeyPatch
) -> None:
    install_favourite(install)
    monkeypatch.setenv(DISABLE_ENV_VAR, "*")
    reset_registry()
    registry = get_registry()
    assert set(registry.origins) == {BUILTIN_PLUGIN}
    assert {e.plugin for e in registry.entries()} == {BUILTIN_PLUGIN}


def test_disabling_the_builtins(install: InstallFn, monkeypatch: pytest.MonkeyPatch) -> None:
    install_favourite(install)
    monkeypatch.setenv(DISABLE_ENV_VAR, BUILTIN_PLUGIN)
    reset_registry()
    registry = get_registry()
    assert BUILTIN_PLUGIN not in registry.origins and BUILTIN_PLUGIN in registry.disabled
    assert "temperature" not in registry.names("sampler")
    assert "favourite" in registry.names("sampler")
    with pytest.raises(UnknownComponentError, match="unknown architecture 'hard_sharing'") as info:
        registry.get("architecture", "hard_sharing")
    assert "(builtins)" not in str(info.value)


def test_disable_switch_warns_about_names_that_match_nothing(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setenv(DISABLE_ENV_VAR, "no_such_plugin")
    reset_registry()
    with caplog.at_level(logging.WARNING, logger="mtl_pipeline.registry"):
        get_registry()
    assert "no_such_plugin" in caplog.text and "not installed" in caplog.text


def test_reset_registry_rediscovers(install: InstallFn) -> None:
    first = get_registry()
    assert get_registry() is first
    install_favourite(install)
    assert get_registry() is not first
    assert "favourite" in get_registry().names("sampler")


# --- strategies are components too ---------------------------------------------------------
def test_third_party_strategy_is_what_run_training_runs(install: InstallFn) -> None:
    """``training.strategy`` is looked up in the registry and its ``fit`` called, for every
    strategy: a plugin's strategy runs like the built-ins (no hard-coded list anywhere)."""
    from mtl_pipeline.training.run import run_training

    install(
        "mtl-echo",
        {"echo": "echo_plugin"},
        {
            "echo_plugin": """
            from mtl_pipeline.hookspecs import hookimpl
            from mtl_pipeline.strategies.base import Strategy

            MTL_PIPELINE_API_VERSION = 1

            class Echo(Strategy):
                name = "echo"
                description = "Trains nothing; returns the context it was given."

                def run(self, ctx):
                    raise AssertionError("fit is what run_training calls")

                def fit(self, ctx):
                    return ctx, {"strategy": self.name}

            @hookimpl
            def register_strategies():
                return [Echo]
            """
        },
    )
    assert get_registry().entry("strategy", "echo").plugin == "echo"
    task = {
        "type": "classification",
        "train": "t",
        "validation": "v",
        "text_fields": ["x"],
        "label_field": "y",
        "metrics": ["accuracy"],
    }
    ctx, history = run_training({"encoder": "enc"}, {"strategy": "echo"}, {"a": task}, {"a": {}})
    assert history == {"strategy": "echo"}
    assert ctx.tasks == ["a"] and ctx.train_cfg.strategy == "echo"
    with pytest.raises(UnknownComponentError, match="training.strategy: unknown strategy 'ech'"):
        run_training({"encoder": "enc"}, {"strategy": "ech"}, {"a": task}, {"a": {}})


def test_a_plugin_strategy_declares_the_training_keys_it_reads(install: InstallFn) -> None:
    """What a strategy reads comes from the strategy class, not from a list of names: a
    plugin's strategy that names its tasks narrows the run to them, one that reads
    ``finetune_steps`` only may set it, and each refuses the keys it does not read."""
    from mtl_pipeline.config import TrainingConfig, parse_section
    from mtl_pipeline.strategies.base import check_strategy_keys, strategy_readers
    from mtl_pipeline.task_selection import apply_task_selection

    install(
        "mtl-duo",
        {"duo": "duo_plugin"},
        {
            "duo_plugin": """
            from mtl_pipeline.hookspecs import hookimpl
            from mtl_pipeline.strategies.base import Strategy

            MTL_PIPELINE_API_VERSION = 1

            class Duo(Strategy):
                name = "duo"
                description = "Two named tasks."
                training_keys = {"target_task": True, "supporting_task": False}
                task_keys = ("target_task",)

                def run(self, ctx):
                    raise NotImplementedError

            class Tuned(Strategy):
                name = "tuned"
                description = "Reads finetune_steps."
                training_keys = {"finetune_steps": True}

                def run(self, ctx):
                    raise NotImplementedError

            @hookimpl
            def register_strategies():
                return [Duo, Tuned]
            """
        },
    )
    registry = get_registry()
    readers = strategy_readers(registry)
    params = {"tasks": {"a": {}, "b": {}, "c": {}}, "training": {"strategy": "duo"}}
    params["training"]["target_task"] = "b"
    assert list(apply_task_selection(params)["tasks"]) == ["b"]
    assert readers("target_task") == ["duo", "pairwise", "stilts"]
    assert readers("finetune_steps") == ["mtl_then_finetune", "stilts", "tuned"]

    def check(strategy: str, training: dict, tasks: list[str]) -> None:
        config = parse_section(TrainingConfig, {"strategy": strategy, **training}, "training")
        check_strategy_keys(registry.get("strategy", strategy), config, tasks, readers)

    check("duo", {"target_task": "b", "supporting_task": "a"}, ["b"])
    check("tuned", {"finetune_steps": 3}, ["a", "b"])
    with pytest.raises(ConfigError, match="strategy duo needs training.target_task$"):
        check("duo", {}, ["a"])
    with pytest.raises(
        ConfigError,
        match="strategy duo trains only target_task, but the run's tasks also include a ",
    ):
        check("duo", {"target_task": "b"}, ["a", "b"])
    with pytest.raises(ConfigError, match="strategy tuned needs training.finetune_steps"):
        check("tuned", {}, ["a"])
    with pytest.raises(ConfigError, match="target_task is not read by strategy tuned"):
        check("tuned", {"finetune_steps": 3, "target_task": "a"}, ["a"])


def test_missing_builtin_entry_point_is_an_error_that_says_why(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from mtl_pipeline import registry as registry_module

    monkeypatch.setattr(registry_module.md, "entry_points", lambda group: [])
    with pytest.raises(PluginError, match=r"no such entry point is installed.*pip install -e"):
        registry_module.build_plugin_manager()
    monkeypatch.setenv(DISABLE_ENV_VAR, BUILTIN_PLUGIN)  # deliberately without built-ins
    assert registry_module.build_plugin_manager()[1] == {}
