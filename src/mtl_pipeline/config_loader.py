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


class ProjectConfigLoader(OmegaConfigLoader):
    """``OmegaConfigLoader`` whose YAML construction errors name the file."""

    def __getitem__(self, key: str) -> Any:
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
