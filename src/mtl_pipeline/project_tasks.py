"""Which tasks the pipelines have branches for, read from the active configuration.

The pipeline shape depends on ``tasks`` in conf (one namespaced branch per task), but
Kedro builds pipelines (``pipeline_registry.register_pipelines``, which passes the names
to every ``create_pipeline(tasks=...)``) without handing it the config. Kedro's only
channel from the session to that point is a hook: ``after_context_created`` gives the
session's config loader to ``use_session_config`` (so ``--env`` and ``--params`` count).
Outside a session (for example ``kedro registry list``) the ``base`` + ``local`` config
(``KEDRO_ENV`` when set) is read directly. Either way the run's task selection
(``run.tasks``, or the tasks a strategy's ``task_keys`` name; ``task_selection``)
decides which branches exist. A configuration that cannot be read is a ``ConfigError``
saying why, never a pipeline without task branches.
This module must stay free of torch/transformers so `kedro viz` stays fast.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from mtl_pipeline.errors import ConfigError, MTLError

_session_config: Any | None = None


def use_session_config(config_loader: Any) -> None:
    """Read the pipeline shape from this session's config loader from now on."""
    global _session_config
    _session_config = config_loader


def project_config_loader() -> Any:
    """The project's loader outside a session: base + local (or ``KEDRO_ENV``)."""
    from mtl_pipeline.config_loader import CONFIG_LOADER_ARGS, ProjectConfigLoader

    project = Path(os.environ.get("MTL_PIPELINE_PROJECT_PATH", Path.cwd()))
    return ProjectConfigLoader(
        conf_source=str(project / "conf"), env=os.environ.get("KEDRO_ENV"), **CONFIG_LOADER_ARGS
    )


def task_names() -> list[str]:
    """The configured task names, in config order; ``ConfigError`` when they cannot be read."""
    # A config loader is a mapping that is empty (falsy) until read: test for None.
    loader = _session_config if _session_config is not None else None
    try:
        if loader is None:
            loader = project_config_loader()
        params = loader["parameters"]
    except MTLError:  # already a configuration error the user must see (unknown --env, ...)
        raise
    except Exception as exc:
        source = getattr(loader, "conf_source", None) or "conf/"
        raise ConfigError(
            f"cannot read `tasks` from the parameters in {source} to build the pipelines "
            f"({type(exc).__name__}: {exc}); run Kedro from the project folder (or set "
            "MTL_PIPELINE_PROJECT_PATH) with a readable conf/base."
        ) from exc
    tasks = params.get("tasks") if isinstance(params, dict) else None
    if tasks is not None and not isinstance(tasks, dict):
        raise ConfigError(
            f"tasks: expected a mapping of task name to task settings, got "
            f"{type(tasks).__name__} {tasks!r:.80}"
        )
    return list(tasks or {})
