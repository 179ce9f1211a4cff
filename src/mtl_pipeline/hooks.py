"""Kedro project hooks: remember the config for the pipeline shape, validate it first."""

from __future__ import annotations

import logging
import time
from typing import Any

from kedro.framework.hooks import hook_impl

from mtl_pipeline import project_tasks

logger = logging.getLogger(__name__)


class ConfigValidationHooks:
    @hook_impl
    def after_context_created(self, context: Any) -> None:
        project_tasks.remember_config_loader(context.config_loader)

    @hook_impl
    def before_pipeline_run(self, run_params: dict[str, Any], pipeline: Any, catalog: Any) -> None:
        """Fail in the first second on a typo, before any data is read."""
        from mtl_pipeline.validation import validate_parameters

        started = time.perf_counter()
        validate_parameters(catalog.load("parameters"))
        logger.info("Configuration valid (%.2f s).", time.perf_counter() - started)
