"""Which tasks the pipelines have branches for, read from the active configuration.

The pipeline shape depends on ``tasks`` in conf (one namespaced branch per task), but
Kedro builds pipelines without handing them the config. The project hook records the
session's config loader (so ``--env`` and ``--params`` count); outside a session (for
example ``kedro registry list``) the ``base`` + ``local`` config is read directly. Both
are the project's loader, so the run's task selection (``run.tasks``, or the two tasks of
a pairwise/stilts strategy; ``task_selection``) decides which branches exist.
This module must stay free of torch/transformers so `kedro viz` stays fast.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

_config_loader: Any | None = None


def remember_config_loader(config_loader: Any) -> None:
    global _config_loader
    _config_loader = config_loader


def _fallback_loader() -> Any:
    from mtl_pipeline.config_loader import ProjectConfigLoader
    from mtl_pipeline.settings import CONFIG_LOADER_ARGS

    project = Path(os.environ.get("MTL_PIPELINE_PROJECT_PATH", Path.cwd()))
    return ProjectConfigLoader(
        conf_source=str(project / "conf"), env=os.environ.get("KEDRO_ENV"), **CONFIG_LOADER_ARGS
    )


def task_names() -> list[str]:
    # A config loader is a mapping that is empty (falsy) until read: test for None.
    from mtl_pipeline.errors import MTLError

    try:
        loader = _config_loader if _config_loader is not None else _fallback_loader()
        params = loader["parameters"]
    except MTLError:  # a configuration error the user must see (unknown --env, ...)
        raise
    except Exception:  # no conf at all (e.g. imported from elsewhere): no task branches
        return []
    tasks = params.get("tasks") or {}
    return list(tasks)
