"""Hook specifications of the mtl_pipeline plugin API (version 1).

A plugin is a module (or object) listed under the ``mtl_pipeline`` entry-point group. It
declares ``MTL_PIPELINE_API_VERSION = 1`` and implements any of the hooks below with the
``hookimpl`` marker. Registration hooks return a list of components; observer hooks
return nothing. The built-in components are registered by ``mtl_pipeline.builtin_plugin``
through these very hooks.

This manager is separate from Kedro's own hook manager (project name ``kedro``): Kedro's
node hooks do not fire in ParallelRunner workers, while this registry is built lazily
inside node code and works under every runner.
"""

from __future__ import annotations

from typing import Any

import pluggy

PROJECT_NAME = "mtl_pipeline"
ENTRY_POINT_GROUP = "mtl_pipeline"

hookspec = pluggy.HookspecMarker(PROJECT_NAME)
hookimpl = pluggy.HookimplMarker(PROJECT_NAME)


class MTLHookSpecs:
    """Every hook a plugin may implement."""

    # --- registration: each returns a list of components -------------------------------
    @hookspec
    def register_architectures(self) -> list[type]:
        """Return ``Architecture`` subclasses (``mtl_pipeline.architectures.base``)."""

    @hookspec
    def register_losses(self) -> list[type]:
        """Return ``TaskWeighting`` subclasses (``mtl_pipeline.losses.base``)."""

    @hookspec
    def register_samplers(self) -> list[type]:
        """Return ``TaskSampler`` subclasses (``mtl_pipeline.samplers.base``)."""

    @hookspec
    def register_readers(self) -> list[type]:
        """Return ``Reader`` subclasses (``mtl_pipeline.readers.base``)."""

    @hookspec
    def register_metrics(self) -> list[Any]:
        """Return ``Metric`` instances (``mtl_pipeline.metrics.base``)."""

    @hookspec
    def register_task_types(self) -> list[type]:
        """Return ``TaskType`` subclasses (``mtl_pipeline.task_types.base``)."""

    @hookspec
    def register_encoder_adapters(self) -> list[type]:
        """Return ``EncoderAdapter`` subclasses (``mtl_pipeline.architectures.encoder_adapters``):
        how to run one encoder family layer by layer (docs/encoders.md)."""

    @hookspec
    def register_strategies(self) -> list[type]:
        """Return ``Strategy`` subclasses (``mtl_pipeline.strategies.base``): how the tasks
        are combined over one or more training phases, selected by ``training.strategy``
        (docs/strategies.md)."""

    # --- training-loop observers: return nothing -------------------------------------
    # Called by the trainer in this order: on_train_start, then per optimizer step
    # on_step_end (and on_evaluation after the steps that evaluate), then on_train_end.
    # Under data parallelism (torchrun) they run on rank 0 only. An exception raised in one
    # stops training with a PluginError naming the plugin. An implementation may declare
    # only the arguments it needs (e.g. ``def on_step_end(step): ...``).
    @hookspec
    def on_train_start(self, run_info: dict[str, Any]) -> None:
        """Called once before the first step (after a resume: before the first new step).
        ``run_info``: ``config`` (the validated ``training`` section as a dict), ``tasks``
        (task names), ``device`` (e.g. ``"cpu"``, ``"cuda:0"``), ``precision``
        (``"fp32"``, ``"bf16"`` or ``"fp16"``)."""

    @hookspec
    def on_step_end(self, step: int, logs: dict[str, Any]) -> None:
        """Called after every optimizer step; ``step`` is 1-based. ``logs``: ``step``,
        ``tasks`` (names in the step), ``losses`` ({task: float}, averaged over
        micro-batches and ranks), ``weights`` ({task: float}, the loss's weights),
        ``lr`` (float), ``grad_norm`` (float; NaN without clipping). A step skipped for a
        non-finite loss has only ``step``, ``tasks``, ``losses`` and ``skipped: True``."""

    @hookspec
    def on_evaluation(self, step: int, metrics: dict[str, dict[str, float]]) -> None:
        """Called after each periodic evaluation (every ``eval_every`` steps and after the
        last step) with ``{task: {metric name: value}}`` on the validation split."""

    @hookspec
    def on_train_end(self, summary: dict[str, Any]) -> None:
        """Called once after training: ``best_step`` (int), ``best_score`` (float, mean of
        the main metrics, negated where lower is better), ``steps`` (int), ``seconds``."""
