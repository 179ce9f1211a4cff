"""The project's config loader: Kedro's ``OmegaConfigLoader`` with a better YAML error.

A key written twice in one YAML file (two tasks named ``sst2``) is rejected by OmegaConf's
YAML loader, which is right: the second would silently replace the first. But its message
says ``in "<file>", line 13`` because Kedro parses from an in-memory buffer, so nothing
tells the user *which* of the parameter files is at fault. This loader finds the file and
raises a ``ConfigError`` naming it, the duplicated key and both lines. (The same key in two
*different* files of one environment is already reported by Kedro with both file names.)
"""

from __future__ import annotations

import glob
from pathlib import Path
from typing import Any

import yaml
from kedro.config import OmegaConfigLoader

from mtl_pipeline.errors import ConfigError

_CONFIG_SUFFIXES = {".yml", ".yaml", ".json"}

#: Keyword arguments of the project's config loader (``settings.CONFIG_LOADER_ARGS``); kept
#: here so that code reading the configuration outside a Kedro session need not import the
#: settings module (which imports the project hooks).
CONFIG_LOADER_ARGS: dict[str, Any] = {
    "base_env": "base",
    "default_run_env": "local",
    # Environments (smoke, hierarchical, ...) override single nested keys such as
    # `training.max_steps` without restating the whole `training` block.
    "merge_strategy": {"parameters": "soft"},
}


def _duplicate_key_error(conf_path: str, patterns: Any) -> ConfigError | None:
    """Re-read the files of ``conf_path`` one by one to find the one with a repeated key."""
    from omegaconf import OmegaConf

    files: set[Path] = set()
    for pattern in patterns:
        files.update(Path(p) for p in glob.glob(f"{conf_path}/{pattern}", recursive=True))
    for file in sorted(f for f in files if f.suffix in _CONFIG_SUFFIXES and f.is_file()):
        try:
            OmegaConf.load(file)
        except yaml.constructor.ConstructorError as exc:
            problem = exc.problem or "invalid mapping"
            first = f" (first at line {exc.context_mark.line + 1})" if exc.context_mark else ""
            line = f"line {exc.problem_mark.line + 1}: " if exc.problem_mark else ""
            return ConfigError(
                f"{file}: {line}{problem}{first}; expected each key once in a mapping (a "
                "second entry with the same name would silently replace the first, e.g. two "
                "tasks with one name)."
            )
        except Exception:  # other files' problems are for Kedro to report
            continue
    return None


def check_environment(conf_source: str, env: str | None, base_env: str | None) -> None:
    """``--env NAME`` must be a directory under conf/; otherwise Kedro fails later with a
    traceback about a missing path (or, where it is read leniently, an empty pipeline)."""
    if not env or env == base_env:
        return
    root = Path(conf_source)
    if not root.is_dir() or (root / env).is_dir():
        return
    available = sorted(p.name for p in root.iterdir() if p.is_dir() and not p.name.startswith("."))
    raise ConfigError(
        f"--env {env}: there is no environment {env!r} (no directory {root / env}); "
        f"available environments: {', '.join(available) or 'none'}. An environment is a "
        "folder under conf/ whose files override conf/base."
    )


class ProjectConfigLoader(OmegaConfigLoader):
    """``OmegaConfigLoader`` whose YAML construction errors name the file, which refuses an
    environment that has no directory (naming the ones there are), which applies the run's
    task selection (``run.tasks``, see ``task_selection``) to ``parameters``, and which
    layers environments: ``--env smoke,mine`` reads base, then smoke, then mine (each merged
    as an environment is into base), so an environment of one's own needs no copy of
    another's settings."""

    def __init__(self, conf_source: str, *args: Any, **kwargs: Any) -> None:
        env = kwargs.get("env")
        layers = [e.strip() for e in env.split(",")] if isinstance(env, str) and "," in env else []
        if layers:
            kwargs["env"] = layers[0]
        self._layers = [layer for layer in layers[1:] if layer]  # read by __init__ (globals)
        super().__init__(conf_source, *args, **kwargs)
        for layer in [self.env, *self._layers]:
            check_environment(conf_source, layer, self.base_env)

    def __getitem__(self, key: str) -> Any:
        config = self._load(key)
        for layer in self._layers if key in self.config_patterns else ():
            config = self._merge_layer(config, layer, key)
        if key == "parameters" and isinstance(config, dict):
            from mtl_pipeline.task_selection import apply_task_selection

            config = apply_task_selection(config)
        return config

    def _merge_layer(self, config: Any, layer: str, key: str) -> Any:
        """``config`` with ``layer``'s files for ``key`` merged over it (runtime params
        included again, so ``--params`` still wins over every layer)."""
        from kedro.config import MissingConfigException

        layer_loader = OmegaConfigLoader(
            conf_source=self.conf_source,
            env=layer,
            base_env=layer,
            default_run_env=layer,
            runtime_params=self.runtime_params,
            config_patterns=self.config_patterns,
            merge_strategy=self.merge_strategy,
        )
        try:
            extra = layer_loader[key]
        except MissingConfigException:  # the layer has no files for this key
            return config
        return self._merge_configs(config, extra, key, str(Path(self.conf_source) / layer))

    def _load(self, key: str) -> Any:
        try:
            return super().__getitem__(key)
        except yaml.constructor.ConstructorError as exc:
            patterns = self.config_patterns.get(key, [f"{key}*", f"{key}*/**", f"**/{key}*"])
            # The same directories Kedro read: base, then the run environment ("" is the
            # conf_source itself when the loader is used without environments).
            for env in dict.fromkeys((self.base_env, self.env or self.default_run_env)):
                error = _duplicate_key_error(str(Path(self.conf_source) / env), patterns)
                if error is not None:
                    raise error from exc
            raise
