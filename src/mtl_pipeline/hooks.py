"""Kedro project hooks: remember the config for the pipeline shape, validate it first,
and hold the project's run lock while a pipeline runs."""

from __future__ import annotations

import logging
import time
from pathlib import Path
from typing import Any

from kedro.framework.hooks import hook_impl

from mtl_pipeline import project_tasks

logger = logging.getLogger(__name__)


class ConfigValidationHooks:
    def __init__(self) -> None:
        self._checkpoint_dir: str | None = None

    @hook_impl
    def after_context_created(self, context: Any) -> None:
        project_tasks.use_session_config(context.config_loader)
        # An empty task list gives pipelines without task branches, which Kedro would only
        # report as "Pipeline contains no nodes" (before `before_pipeline_run` runs).
        from mtl_pipeline.errors import ConfigError

        try:
            params = context.config_loader["parameters"]
        except Exception:  # noqa: BLE001 - reading conf is Kedro's to report, not ours
            return
        if isinstance(params, dict) and "tasks" in params and not params["tasks"]:
            raise ConfigError(
                "tasks is empty; expected at least one task (name: {type, train, validation, "
                "text_fields, label_field, metrics}) in conf/base/parameters_ingestion.yml or "
                "the environment's parameters, see docs/own_data.md."
            )

    @hook_impl
    def before_pipeline_run(self, run_params: dict[str, Any], pipeline: Any, catalog: Any) -> None:
        """Fail in the first second on a typo, before any data is read."""
        from mtl_pipeline.validation import validate_parameters

        started = time.perf_counter()
        config = validate_parameters(catalog.load("parameters"))
        self._checkpoint_dir = config.training.checkpoint_dir
        logger.info("Configuration valid (%.2f s).", time.perf_counter() - started)

    @hook_impl
    def after_dataset_saved(self, dataset_name: str, data: Any, node: Any) -> None:
        """The training node leaves its last-step checkpoints until the model is on disk
        (a failure in between loses no training); now it is, remove them."""
        from mtl_pipeline.training.distributed_env import env_rank

        if dataset_name != "trained_model" or self._checkpoint_dir is None or env_rank() != 0:
            return
        from mtl_pipeline.training.checkpoint import remove_checkpoints

        remove_checkpoints(self._checkpoint_dir)


class RunLockHooks:
    """One ``kedro run`` per project at a time (``run_lock``). Registered last, so it runs
    first: a second run is refused before validation imports torch. Released last, after
    every other hook's ``after_pipeline_run``; when a later ``before_pipeline_run`` hook
    fails (Kedro then calls no error hook) the lock goes with the process (atexit)."""

    def __init__(self) -> None:
        self._lock: Any | None = None

    @hook_impl
    def before_pipeline_run(self, run_params: dict[str, Any], pipeline: Any, catalog: Any) -> None:
        from mtl_pipeline.run_lock import RunLock
        from mtl_pipeline.training.distributed_env import env_rank

        if env_rank() != 0:  # torchrun: rank 0 holds the lock for the whole launch
            return
        lock = RunLock(Path(run_params.get("project_path") or Path.cwd()))
        lock.acquire()
        self._lock = lock

    @hook_impl(trylast=True)
    def after_pipeline_run(self, run_params: dict[str, Any], pipeline: Any, catalog: Any) -> None:
        self._release()

    @hook_impl(trylast=True)
    def on_pipeline_error(
        self, error: Exception, run_params: dict[str, Any], pipeline: Any, catalog: Any
    ) -> None:
        self._release()

    def _release(self) -> None:
        if self._lock is not None:
            self._lock.release()
            self._lock = None
