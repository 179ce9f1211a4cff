"""Step callbacks: everything the training loop does besides stepping and evaluating.

``Trainer.train`` is the loop; each feature around it (sampler-probability log, gradient
conflict and task-affinity monitors, progress bar and loss EMA, checkpoints, plugin
observers) is a ``StepCallback``, called in list order at fixed points of every step. A new
loop feature is a new callback, not an edit of the loop. The plugin observer hooks
(``hookspecs``: ``on_train_start``, ``on_step_end``, ``on_evaluation``, ``on_train_end``)
are this interface's public face: ``PluginObservers`` relays the same events to them.

A callback with state a resumed run needs sets ``state_key`` and implements
``state_dict``/``load_state_dict``; ``Trainer.state_dict`` stores it under that key.
"""

from __future__ import annotations

import logging
import math
from pathlib import Path
from typing import TYPE_CHECKING, Any

from mtl_pipeline.errors import TrainingError
from mtl_pipeline.training.distributed import barrier

if TYPE_CHECKING:
    from mtl_pipeline.training.checkpoint import Checkpointer
    from mtl_pipeline.training.trainer import Trainer

logger = logging.getLogger(__name__)


class StepCallback:
    """No-op hooks, in the order the trainer calls them within a run and within a step."""

    #: Key of this callback's state in ``Trainer.state_dict()``; None: it keeps none.
    state_key: str | None = None

    def on_train_start(self, trainer: Trainer) -> None:
        """Once, before the first step (after a resume: before the first new step)."""

    def before_step(self, trainer: Trainer) -> None:
        """Before optimizer step ``trainer.step + 1``."""

    def after_step(self, trainer: Trainer, logs: dict[str, Any]) -> None:
        """After the optimizer step (``trainer.step`` counts it), before any evaluation."""

    def on_evaluation(self, trainer: Trainer, metrics: dict[str, dict[str, float]]) -> None:
        """After each periodic evaluation (and the final one)."""

    def end_of_step(self, trainer: Trainer) -> None:
        """After the step and its evaluation, if any: the state is complete."""

    def on_train_end(self, trainer: Trainer) -> None:
        """Once, after the best weights are restored and the history is complete."""

    def state_dict(self) -> Any:
        return None

    def load_state_dict(self, state: Any) -> None:
        """Restore what ``state_dict`` returned."""


class SamplerFeedback(StepCallback):
    """Records the sampler's distribution every ``log_every`` steps for the report (pure:
    no RNG use), and gives it every step's training losses (``observe_losses``)."""

    def after_step(self, trainer: Trainer, logs: dict[str, Any]) -> None:
        trainer.sampler.observe_losses(trainer.step, dict(logs["losses"]))

    def before_step(self, trainer: Trainer) -> None:
        if trainer.step % trainer.config.log_every == 0:
            trainer.history.setdefault("sampler_probabilities", []).append(
                {
                    "step": trainer.step + 1,
                    "probabilities": trainer.sampler.probabilities(trainer.step),
                }
            )


class Monitor(StepCallback):
    """Runs a monitor (``due(step)``, ``measure(...)``) after its steps and appends the
    measurement to ``history[key]``. Monitors fork the RNG and touch no training state."""

    def __init__(self, monitor: Any, key: str, with_logs: bool) -> None:
        self.monitor, self.key, self.with_logs = monitor, key, with_logs

    def after_step(self, trainer: Trainer, logs: dict[str, Any]) -> None:
        if self.monitor.due(trainer.step):
            entry = self.monitor.measure(logs) if self.with_logs else self.monitor.measure()
            trainer.history.setdefault(self.key, []).append(entry)


class Progress(StepCallback):
    """The progress bar, showing an exponential moving average of each task's loss."""

    state_key = "ema"

    def __init__(self) -> None:
        self.ema: dict[str, float] = {}
        self.bar: Any = None

    def on_train_start(self, trainer: Trainer) -> None:
        from tqdm.auto import tqdm

        cfg = trainer.config
        self.bar = tqdm(
            total=cfg.max_steps,
            initial=trainer.step,
            disable=not (cfg.progress_bar and trainer.dist.is_main),
            desc="training",
            unit="step",
            mininterval=1.0,
            dynamic_ncols=True,
        )

    def after_step(self, trainer: Trainer, logs: dict[str, Any]) -> None:
        for t, v in logs["losses"].items():
            if math.isfinite(v):
                self.ema[t] = v if t not in self.ema else 0.9 * self.ema[t] + 0.1 * v
        self.bar.update(1)
        cfg = trainer.config
        if trainer.step % cfg.log_every == 0 or trainer.step == cfg.max_steps:
            self.bar.set_postfix(
                {t: f"{v:.3f}" for t, v in sorted(self.ema.items())}, refresh=False
            )

    def on_train_end(self, trainer: Trainer) -> None:
        if self.bar is not None:
            self.bar.close()

    def state_dict(self) -> dict[str, float]:
        return self.ema

    def load_state_dict(self, state: dict[str, float]) -> None:
        self.ema = dict(state)


class PluginObservers(StepCallback):
    """Relays the loop's events to the plugins' observer hooks (rank 0 only)."""

    def __init__(self, hook: Any) -> None:
        self.hook = hook

    def on_train_start(self, trainer: Trainer) -> None:
        run_info = {
            "config": trainer.config.model_dump(),
            "tasks": list(trainer.tasks),
            "device": str(trainer.device),
            "precision": trainer.precision,
        }
        self.hook.on_train_start(run_info=run_info)

    def after_step(self, trainer: Trainer, logs: dict[str, Any]) -> None:
        self.hook.on_step_end(step=trainer.step, logs=logs)

    def on_evaluation(self, trainer: Trainer, metrics: dict[str, dict[str, float]]) -> None:
        self.hook.on_evaluation(step=trainer.step, metrics=metrics)

    def on_train_end(self, trainer: Trainer) -> None:
        summary = {
            "best_step": trainer.best_step,
            "best_score": trainer.best_score,
            "steps": trainer.step,
            "seconds": trainer.history["seconds"],
        }
        self.hook.on_train_end(summary=summary)


class Checkpoints(StepCallback):
    """Saves ``Trainer.state_dict()`` through the ``Checkpointer`` (rank 0 writes, every rank
    waits): every ``checkpoint_every`` steps, and with ``keep_final`` once after the last
    step, before the final evaluation (which can fail) and before the model is saved (which
    can hit a full disk). A finished run removes its checkpoints unless it keeps the final
    one for the caller."""

    def __init__(self, checkpointer: Checkpointer) -> None:
        self.checkpointer = checkpointer

    def after_step(self, trainer: Trainer, logs: dict[str, Any]) -> None:
        if trainer.step != trainer.config.max_steps or not self.checkpointer.keep_final:
            return
        if trainer.dist.is_main:
            try:
                trainer.final_checkpoint = self._save(trainer)
            except TrainingError as exc:  # the model is still in memory: go on, but say so
                logger.warning("No final checkpoint kept: %s", exc)
        barrier(trainer.dist)

    def end_of_step(self, trainer: Trainer) -> None:
        # Decided alike on every rank (the save is followed by a barrier).
        kept = trainer.step == trainer.config.max_steps and self.checkpointer.keep_final
        if self.checkpointer.due(trainer.step) and not kept:
            if trainer.dist.is_main:
                self._save(trainer)
            barrier(trainer.dist)

    def on_train_end(self, trainer: Trainer) -> None:
        if trainer.dist.is_main and not self.checkpointer.keep_final:
            self.checkpointer.finished()

    def _save(self, trainer: Trainer) -> Path:
        return self.checkpointer.save(trainer.step, trainer.state_dict())


def default_callbacks(trainer: Trainer, hook: Any | None) -> list[StepCallback]:
    """The loop's features, in the order they run within a step: the sampler's
    distribution (before the step), the monitors, the progress bar, the plugin observers
    (``hook``: rank 0 only, else None), and checkpoints."""
    from mtl_pipeline.training.gradient_monitor import GradientConflictMonitor
    from mtl_pipeline.training.task_affinity import TaskAffinityMonitor

    cfg = trainer.config
    callbacks: list[StepCallback] = [SamplerFeedback()]
    if cfg.conflict_monitor_every:
        monitor = GradientConflictMonitor(trainer, cfg.conflict_monitor_every)
        callbacks.append(Monitor(monitor, "gradient_conflicts", with_logs=True))
    if cfg.task_affinity.every:
        affinity = TaskAffinityMonitor(trainer, cfg.task_affinity.every, cfg.task_affinity.lr)
        callbacks.append(Monitor(affinity, "task_affinity", with_logs=False))
    callbacks.append(Progress())
    if hook is not None:
        callbacks.append(PluginObservers(hook))
    if trainer.checkpointer is not None:
        callbacks.append(Checkpoints(trainer.checkpointer))
    return callbacks
