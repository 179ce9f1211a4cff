"""The multi-task training loop.

One optimizer step: the sampler names ``k`` tasks; each contributes
``gradient_accumulation_steps`` micro-batches of ``batch_size`` from its own stream.
Loss-mode weightings combine the per-task losses into one scalar; gradient-mode ones get
the per-task gradients on the shared parameters (flattened once per task, float32) and
return the combined gradient. Heads always receive their own task's gradient. Everything
else the loop does is a step callback (``training/callbacks.py``); everything a resumed run
needs is in ``state_dict()``.
"""

from __future__ import annotations

import copy
import logging
import math
import time
from pathlib import Path
from typing import Any

import torch

from mtl_pipeline.config import TrainingConfig
from mtl_pipeline.losses.context import weighting_context
from mtl_pipeline.training import callbacks as cb
from mtl_pipeline.training import state as snapshot
from mtl_pipeline.training import step as step_parts
from mtl_pipeline.training.batching import task_streams
from mtl_pipeline.training.device import autocast, resolve_device, resolve_precision
from mtl_pipeline.training.distributed import (
    DistContext,
    all_reduce_grads_,
    all_reduce_mean_,
    broadcast_parameters_,
    device_for,
)
from mtl_pipeline.training.evaluate import evaluate_tasks
from mtl_pipeline.training.optim import build_optimizer, warmup_linear_decay
from mtl_pipeline.training.state import TrainResult, TrainTask, mean_main_score

__all__ = ["Trainer", "TrainResult", "TrainTask", "mean_main_score"]

logger = logging.getLogger(__name__)


class Trainer:
    def __init__(
        self,
        architecture: Any,
        tasks: dict[str, TrainTask],
        config: TrainingConfig,
        weighting: Any,
        sampler: Any,
        pad_id: int,
        hook: Any | None = None,
        checkpointer: Any | None = None,
        dist: DistContext | None = None,
        selection_tasks: list[str] | None = None,
    ) -> None:
        self.architecture, self.tasks, self.config = architecture, tasks, config
        # Pairwise MTL keeps the step best for its target, not for the mean of both.
        self.selection_tasks = {t: tasks[t] for t in selection_tasks} if selection_tasks else tasks
        self.weighting, self.sampler, self.pad_id = weighting, sampler, pad_id
        self.dist = dist or DistContext()
        self.device = device_for(self.dist, resolve_device(config.device))
        self.precision = resolve_precision(config.precision, self.device)
        self.architecture.to(self.device)
        self.weighting.to(self.device)
        broadcast_parameters_(self.architecture, self.dist)
        if config.compile:
            # In place, so state_dict keys (and checkpoints) stay those of the plain module.
            self.architecture.compile(dynamic=True)
        self.streams = task_streams(tasks, config, self.dist)
        self.optimizer, self.group_names = build_optimizer(
            architecture, weighting, config, self.device
        )
        self.scheduler = warmup_linear_decay(self.optimizer, config)
        self.scaler = torch.amp.GradScaler("cuda") if self.precision == "fp16" else None
        self.shared_params = [p for p in architecture.shared_parameters() if p.requires_grad]
        # Fixed for the run: the parameters to clip, and those averaged once per step under
        # torchrun (gradient-mode losses average their shared rows per task instead).
        self.optimized_params = [p for g in self.optimizer.param_groups for p in g["params"]]
        shared_ids = {id(p) for p in self.shared_params} if weighting.mode == "gradient" else set()
        self.step_synced_params = [p for p in self.optimized_params if id(p) not in shared_ids]
        self.step = 0
        keys = ("steps", "evaluations", "skipped_steps", "gradient_conflicts")
        self.history: dict[str, Any] = {key: [] for key in keys}
        self.weighting.bind(weighting_context(architecture, self.shared_params, config.seed))
        self.best_score, self.best_step = -math.inf, 0
        self.best_metrics: dict[str, dict[str, float]] = {}
        self.best_state: dict[str, torch.Tensor] | None = None
        self.checkpointer = checkpointer
        #: Where the last step's checkpoint was kept (``keep_final``), for error messages.
        self.final_checkpoint: Path | None = None
        self.callbacks = cb.default_callbacks(self, hook if self.dist.is_main else None)

    # --- losses and gradients (also used by the monitors) -----------------------------
    def next_batch(self, task: str) -> dict[str, torch.Tensor]:
        """The next training batch of ``task`` from its stream (this rank's share), on device."""
        indices = self.streams[task].next_indices()
        if self.dist.enabled:
            indices = indices[self.dist.rank :: self.dist.world_size]
        batch = self.tasks[task].train.collate(indices, self.pad_id)
        return {k: v.to(self.device, non_blocking=True) for k, v in batch.items()}

    def task_loss(
        self, task: str, batch: dict[str, torch.Tensor]
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """``(loss to optimize incl. auxiliary terms, plain task loss)`` of ``batch`` (its
        ``labels`` included; the dict is not modified), under the run's autocast."""
        inputs = {k: v for k, v in batch.items() if k != "labels"}
        with autocast(self.device, self.precision):
            out = self.architecture(task, inputs)
        loss = self.architecture.task_specs[task].task_type.loss(out.logits, batch["labels"])
        total = loss + out.aux_loss.float() if out.aux_loss is not None else loss
        return total, loss

    def backward(self, loss: torch.Tensor) -> None:
        """Backpropagate ``loss`` (through the fp16 grad scaler when there is one)."""
        (self.scaler.scale(loss) if self.scaler is not None else loss).backward()

    def shared_gradient(
        self, loss: torch.Tensor | None = None, scaled: bool = True
    ) -> torch.Tensor:
        """Backpropagate ``loss`` when given (``scaled``: through the grad scaler), then take
        the gradient accumulated on the shared parameters: flattened, float32, unscaled; the
        parameters' ``.grad`` are cleared. Empty when nothing is shared."""
        if loss is not None:
            self.backward(loss) if scaled else loss.backward()
        if not self.shared_params:  # e.g. adapters on a frozen encoder: nothing is shared
            return torch.zeros(0, device=self.device)
        flat = step_parts.take_flat_grad(self.shared_params)
        return flat / self.scaler.get_scale() if self.scaler is not None and scaled else flat

    # --- one step ---------------------------------------------------------------------
    def train_step(self) -> dict[str, Any]:
        """One optimizer step; returns its logs (``hookspecs.on_step_end`` lists them)."""
        tasks = self.sampler.sample(self.step)
        self.optimizer.zero_grad(set_to_none=True)
        if self.weighting.mode == "loss":
            logged = step_parts.loss_mode_gradients(self, tasks)
        else:
            logged = step_parts.gradient_mode_gradients(self, tasks)
        all_reduce_grads_(self.step_synced_params, self.dist)
        values = all_reduce_mean_(torch.stack(list(logged.values())).float(), self.dist)
        losses = dict(zip(tasks, values.cpu().tolist(), strict=True))
        if not all(math.isfinite(v) for v in losses.values()):
            return step_parts.skip_or_stop(self, tasks, losses)
        grad_norm = step_parts.apply_gradients(self)
        return {
            "step": self.step + 1,
            "tasks": tasks,
            "losses": losses,
            "weights": self.weighting.last_weights(),
            "lr": self.scheduler.get_last_lr()[0],
            "grad_norm": grad_norm,
        }

    # --- evaluation -------------------------------------------------------------------
    def evaluate(self, limit: int | None = None) -> dict[str, dict[str, float]]:
        """``{task: {metric: value}}`` on each task's validation split."""
        return evaluate_tasks(self, limit)

    def _evaluate_and_select(self, final: bool = False) -> None:
        """Periodic evaluation: log, feed the sampler, keep the best weights in memory."""
        try:
            metrics = self.evaluate(self.config.eval_max_examples)
        except Exception as exc:
            if final and self.final_checkpoint is not None:
                note = (
                    f"The trained weights are kept in {self.final_checkpoint}: fix the cause and "
                    "run again with the same configuration; training resumes there and only "
                    "this evaluation is repeated."
                )
                logger.error("The final evaluation failed. %s", note)
                exc.add_note(note)
            raise
        score = mean_main_score(metrics, self.selection_tasks)
        self.history["evaluations"].append({"step": self.step, "metrics": metrics, "score": score})
        main = {t: m[self.tasks[t].main_metric.name] for t, m in metrics.items()}
        self.sampler.observe(self.step, main)
        self._call("on_evaluation", metrics)
        logger.info(
            "step %d: mean main metric %.4f %s",
            self.step,
            score,
            " ".join(f"{t}={v:.3f}" for t, v in main.items()),
        )
        if score > self.best_score:
            self.best_score, self.best_step, self.best_metrics = score, self.step, metrics
            self.best_state = {
                k: v.detach().to("cpu", copy=True)
                for k, v in self.architecture.state_dict().items()
            }

    # --- state ------------------------------------------------------------------------
    def state_dict(self) -> dict[str, Any]:
        """Everything the next step depends on (``training/state.py`` lists it)."""
        return snapshot.trainer_state(self)

    def load_state_dict(self, state: dict[str, Any]) -> None:
        snapshot.load_trainer_state(self, state)

    # --- the loop ---------------------------------------------------------------------
    def _call(self, event: str, *args: Any) -> None:
        for callback in self.callbacks:
            getattr(callback, event)(self, *args)

    def train(self) -> TrainResult:
        cfg = self.config
        self.architecture.train()
        self._resume()
        started = time.perf_counter() - self.history.get("seconds", 0.0)
        self._call("on_train_start")
        while self.step < cfg.max_steps:
            self._call("before_step")
            logs = self.train_step()
            self.step += 1
            self.history["steps"].append(logs)
            self._call("after_step", logs)
            final = self.step == cfg.max_steps
            if (cfg.eval_every and self.step % cfg.eval_every == 0) or final:
                self._evaluate_and_select(final=final)
            self.history["seconds"] = time.perf_counter() - started
            self._call("end_of_step")
        evaluations = self.history.get("evaluations") or []
        if not evaluations or evaluations[-1]["step"] != self.step:
            # Resumed from the checkpoint kept before the final evaluation: do it now.
            if self.checkpointer is not None and self.checkpointer.keep_final:
                self.final_checkpoint = self.checkpointer.latest()
            self._evaluate_and_select(final=True)
        if self.best_state is not None and self.best_step != self.step:
            self.architecture.load_state_dict(self.best_state)
        self.history["seconds"] = time.perf_counter() - started
        best = {"best_step": self.best_step, "best_score": self.best_score}
        self.history.update(best, device=str(self.device), precision=self.precision)
        self._call("on_train_end")
        history = copy.deepcopy(self.history)
        return TrainResult(history, self.best_step, self.best_score, self.best_metrics)

    def _resume(self) -> None:
        if self.checkpointer is None or not self.checkpointer.resume_enabled:
            return
        found = self.checkpointer.load()
        if found is not None:
            path, state = found
            self.load_state_dict(state)
            self.history.setdefault("resumed_from", []).append(self.step)
            logger.info("Resumed from checkpoint %s (step %d).", path, self.step)
