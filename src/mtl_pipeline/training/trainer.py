"""The multi-task training loop.

One optimizer step: the sampler names ``k`` tasks; each contributes
``gradient_accumulation_steps`` micro-batches of ``batch_size`` from its own stream.
Loss-mode weightings combine the per-task losses into one scalar; gradient-mode ones get
the per-task gradients on the shared parameters (flattened once per task, float32) and
return the combined gradient. Heads always receive their own task's gradient.
"""

from __future__ import annotations

import copy
import logging
import math
import time
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch

from mtl_pipeline.config import TrainingConfig
from mtl_pipeline.errors import TrainingError
from mtl_pipeline.losses.context import weighting_context
from mtl_pipeline.metrics.base import Metric
from mtl_pipeline.training.batching import TaskBatchStream, TokenizedSplit
from mtl_pipeline.training.device import autocast, resolve_device, resolve_precision
from mtl_pipeline.training.distributed import (
    DistContext,
    all_reduce_grads_,
    all_reduce_mean_,
    barrier,
    broadcast_parameters_,
    device_for,
)
from mtl_pipeline.training.evaluate import compute_metrics, predict_split
from mtl_pipeline.training.gradient_monitor import GradientConflictMonitor
from mtl_pipeline.training.task_affinity import TaskAffinityMonitor

logger = logging.getLogger(__name__)


@dataclass
class TrainTask:
    """One task as the trainer sees it."""

    name: str
    train: TokenizedSplit
    dev: TokenizedSplit
    metrics: dict[str, Metric]  # insertion order: the first is the task's main metric

    @property
    def main_metric(self) -> Metric:
        return next(iter(self.metrics.values()))


@dataclass
class TrainResult:
    history: dict[str, Any]
    best_step: int
    best_score: float
    best_metrics: dict[str, dict[str, float]] = field(default_factory=dict)


def mean_main_score(metrics: dict[str, dict[str, float]], tasks: dict[str, TrainTask]) -> float:
    """Model-selection score: mean over tasks of each main metric (negated where lower is better)."""
    values = []
    for name, task in tasks.items():
        value = metrics[name][task.main_metric.name]
        values.append(value if task.main_metric.higher_is_better else -value)
    return float(np.mean(values))


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
        self.architecture = architecture
        # Pairwise MTL keeps the step best for its target, not for the mean of both.
        self.selection_tasks = {t: tasks[t] for t in selection_tasks} if selection_tasks else tasks
        self.tasks = tasks
        self.config = config
        self.weighting = weighting
        self.sampler = sampler
        self.pad_id = pad_id
        self.dist = dist or DistContext()
        self.hook = hook if self.dist.is_main else None  # observers (trackers) see rank 0 only
        self.device = device_for(self.dist, resolve_device(config.device))
        self.precision = resolve_precision(config.precision, self.device)
        self.architecture.to(self.device)
        self.weighting.to(self.device)
        broadcast_parameters_(self.architecture, self.dist)
        if config.compile:
            # In place, so state_dict keys (and checkpoints) stay those of the plain module.
            self.architecture.compile(dynamic=True)
        self.streams = {
            # Every rank draws the same global batch (batch_size x world size) and keeps its stride.
            name: TaskBatchStream(
                task.train,
                config.batch_size * self.dist.world_size,
                seed=config.seed * 1009 + i,
                length_grouping=config.length_grouping,
                max_tokens=config.max_tokens_per_batch * self.dist.world_size
                if config.max_tokens_per_batch
                else None,
            )
            for i, (name, task) in enumerate(tasks.items())
        }
        self.optimizer = self._build_optimizer()
        total = config.max_steps
        warmup = int(round(config.warmup_ratio * total))
        self.scheduler = torch.optim.lr_scheduler.LambdaLR(
            self.optimizer,
            lambda s: (
                (s + 1) / max(1, warmup)
                if s < warmup
                else max(0.0, (total - s) / max(1, total - warmup))
            ),
        )
        self.scaler = torch.amp.GradScaler("cuda") if self.precision == "fp16" else None
        self.shared_params = [p for p in architecture.shared_parameters() if p.requires_grad]
        # Fixed for the run, so computed once rather than on every step: the parameters to
        # clip, and those averaged once per step under torchrun (gradient-mode losses
        # average their shared rows per task instead).
        self._optimized_params = [p for g in self.optimizer.param_groups for p in g["params"]]
        shared_ids = {id(p) for p in self.shared_params} if weighting.mode == "gradient" else set()
        self._step_synced_params = [p for p in self._optimized_params if id(p) not in shared_ids]
        self.step = 0
        self.history: dict[str, Any] = {
            "steps": [],
            "evaluations": [],
            "skipped_steps": [],
            "gradient_conflicts": [],
        }
        # --- weighting context (task types, last shared layer) + conflict monitor ---
        self.weighting.bind(weighting_context(architecture, self.shared_params, config.seed))
        self.conflict_monitor = (
            GradientConflictMonitor(self, config.conflict_monitor_every)
            if config.conflict_monitor_every
            else None
        )
        self.affinity_monitor = (
            TaskAffinityMonitor(self, config.task_affinity.every, config.task_affinity.lr)
            if config.task_affinity.every
            else None
        )
        self.best_score, self.best_step = -math.inf, 0
        self.best_metrics: dict[str, dict[str, float]] = {}
        self.best_state: dict[str, torch.Tensor] | None = None
        self._ema: dict[str, float] = {}
        self.checkpointer = checkpointer
        self._final_checkpoint: Any | None = None

    # --- setup ------------------------------------------------------------------------
    def _build_optimizer(self) -> torch.optim.Optimizer:
        cfg = self.config
        # Only the output heads get head_learning_rate; other task-specific modules
        # (adapters, private layers, cross-stitch columns) are encoder-like parameters.
        heads = getattr(self.architecture, "heads", None)
        head_ids = {id(p) for p in heads.parameters()} if heads is not None else set()
        groups: dict[str, dict[str, Any]] = {
            "decay": {"params": [], "weight_decay": cfg.weight_decay, "lr": cfg.learning_rate},
            "no_decay": {"params": [], "weight_decay": 0.0, "lr": cfg.learning_rate},
            "heads": {
                "params": [],
                "weight_decay": cfg.weight_decay,
                "lr": cfg.head_learning_rate or cfg.learning_rate,
            },
            # A weighting may set its own rate (uncertainty's log-variances)
            "weighting": {
                "params": [],
                "weight_decay": 0.0,
                "lr": getattr(self.weighting, "learning_rate", None) or cfg.learning_rate,
            },
        }
        for name, param in self.architecture.named_parameters():
            if not param.requires_grad:
                continue
            if id(param) in head_ids:
                groups["heads"]["params"].append(param)
            elif (
                param.ndim < 2
                or "LayerNorm" in name
                or "layer_norm" in name
                or name.endswith(".bias")
            ):
                groups["no_decay"]["params"].append(param)
            else:
                groups["decay"]["params"].append(param)
        groups["weighting"]["params"] = [p for p in self.weighting.parameters() if p.requires_grad]
        self.group_names = [k for k, g in groups.items() if g["params"]]
        # fused: one kernel over all tensors, ~5x faster than the per-tensor loop on a CPU
        return torch.optim.AdamW(
            [g for g in groups.values() if g["params"]], fused=self.device.type in ("cpu", "cuda")
        )

    # --- one step ---------------------------------------------------------------------
    def _batch(self, task: str) -> dict[str, torch.Tensor]:
        indices = self.streams[task].next_indices()
        if self.dist.enabled:
            indices = indices[self.dist.rank :: self.dist.world_size]
        batch = self.tasks[task].train.collate(indices, self.pad_id)
        return {k: v.to(self.device, non_blocking=True) for k, v in batch.items()}

    def _task_loss(self, task: str) -> tuple[torch.Tensor, torch.Tensor]:
        """(loss to optimize incl. auxiliary terms, plain task loss for logging)."""
        batch = self._batch(task)
        labels = batch.pop("labels")
        with autocast(self.device, self.precision):
            out = self.architecture(task, batch)
        task_type = self.architecture.task_specs[task].task_type
        loss = task_type.loss(out.logits, labels)
        total = loss + out.aux_loss.float() if out.aux_loss is not None else loss
        return total, loss

    def _backward(self, loss: torch.Tensor) -> None:
        (self.scaler.scale(loss) if self.scaler is not None else loss).backward()

    def _flat_shared_grad(self) -> torch.Tensor:
        if not self.shared_params:  # e.g. adapters on a frozen encoder: nothing is shared
            return torch.zeros(0, device=self.device)
        grads = [
            (p.grad if p.grad is not None else torch.zeros_like(p)).reshape(-1).float()
            for p in self.shared_params
        ]
        flat = torch.cat(grads)
        for p in self.shared_params:
            p.grad = None
        if self.scaler is not None:
            flat = flat / self.scaler.get_scale()
        return flat

    def _write_shared_grad(self, flat: torch.Tensor) -> None:
        if self.scaler is not None:
            flat = flat * self.scaler.get_scale()
        offset = 0
        for p in self.shared_params:
            n = p.numel()
            p.grad = flat[offset : offset + n].view_as(p).to(p.dtype)
            offset += n

    def train_step(self) -> dict[str, Any]:
        cfg = self.config
        accum = cfg.gradient_accumulation_steps
        tasks = self.sampler.sample(self.step)
        self.optimizer.zero_grad(set_to_none=True)
        logged: dict[str, torch.Tensor] = {t: torch.zeros((), device=self.device) for t in tasks}
        if self.weighting.mode == "loss":
            for _ in range(accum):
                losses = {}
                for task in tasks:
                    total, plain = self._task_loss(task)
                    losses[task] = total
                    logged[task] += plain.detach() / accum
                combined = self.weighting.combine_losses(losses, self.step)
                self._backward(combined / accum)
        else:
            rows = []
            for task in tasks:
                for _ in range(accum):
                    total, plain = self._task_loss(task)
                    logged[task] += plain.detach() / accum
                    self._backward(total / accum)
                rows.append(all_reduce_mean_(self._flat_shared_grad(), self.dist))
            detached = {t: logged[t].detach() for t in tasks}
            if self.shared_params:  # no shared parameters: every task keeps its own gradient
                combined = self.weighting.combine_gradients(torch.stack(rows), detached, self.step)
                self._write_shared_grad(combined)
        all_reduce_grads_(self._step_synced_params, self.dist)
        values = (
            all_reduce_mean_(torch.stack(list(logged.values())).float(), self.dist).cpu().tolist()
        )
        losses_f = dict(zip(tasks, values, strict=True))
        if not all(math.isfinite(v) for v in values):
            return self._non_finite(tasks, losses_f)
        if self.scaler is not None:
            self.scaler.unscale_(self.optimizer)
        grad_norm = (
            torch.nn.utils.clip_grad_norm_(self._optimized_params, cfg.max_grad_norm).item()
            if cfg.max_grad_norm
            else float("nan")
        )
        if self.scaler is not None:
            self.scaler.step(self.optimizer)
            self.scaler.update()
        else:
            self.optimizer.step()
        self.scheduler.step()
        return {
            "step": self.step + 1,
            "tasks": tasks,
            "losses": losses_f,
            "weights": self.weighting.last_weights(),
            "lr": self.scheduler.get_last_lr()[0],
            "grad_norm": grad_norm,
        }

    def _non_finite(self, tasks: list[str], losses: dict[str, float]) -> dict[str, Any]:
        bad = {t: v for t, v in losses.items() if not math.isfinite(v)}
        message = (
            f"non-finite loss at step {self.step + 1}: {bad} (tasks in step: {tasks}). "
            "Lower training.learning_rate, check the labels, or set "
            "training.on_nonfinite_loss: skip to skip such steps."
        )
        if self.config.on_nonfinite_loss == "stop":
            raise TrainingError(message)
        logger.warning("Skipping step: %s", message)
        self.optimizer.zero_grad(set_to_none=True)
        self.history["skipped_steps"].append(self.step + 1)
        return {"step": self.step + 1, "tasks": tasks, "losses": losses, "skipped": True}

    # --- evaluation -------------------------------------------------------------------
    def evaluate(self, limit: int | None = None) -> dict[str, dict[str, float]]:
        results = {}
        for name, task in self.tasks.items():
            preds, refs = predict_split(
                self.architecture,
                name,
                task.dev,
                batch_size=self.config.eval_batch_size,
                device=self.device,
                precision=self.precision,
                pad_id=self.pad_id,
                limit=limit,
            )
            results[name] = compute_metrics(task.metrics, preds, refs)
        return results

    # --- the loop ---------------------------------------------------------------------
    def train(self) -> TrainResult:
        from tqdm.auto import tqdm

        cfg = self.config
        self.architecture.train()
        if self.checkpointer is not None:
            self.checkpointer.resume(self)
        started = time.perf_counter() - self.history.get("seconds", 0.0)
        if self.hook is not None:
            self.hook.on_train_start(
                run_info={
                    "config": cfg.model_dump(),
                    "tasks": list(self.tasks),
                    "device": str(self.device),
                    "precision": self.precision,
                }
            )
        bar = tqdm(
            total=cfg.max_steps,
            initial=self.step,
            disable=not (cfg.progress_bar and self.dist.is_main),
            desc="training",
            unit="step",
            mininterval=1.0,
            dynamic_ncols=True,
        )
        while self.step < cfg.max_steps:
            # --- record the sampler's distribution for the report (pure; no RNG use) ---
            if self.step % cfg.log_every == 0:
                self.history.setdefault("sampler_probabilities", []).append(
                    {"step": self.step + 1, "probabilities": self.sampler.probabilities(self.step)}
                )
            logs = self.train_step()
            self.step += 1
            self.history["steps"].append(logs)
            # --- gradient-conflict monitor (forks the RNG; touches no training state) ---
            if self.conflict_monitor is not None and self.conflict_monitor.due(self.step):
                self.history.setdefault("gradient_conflicts", []).append(
                    self.conflict_monitor.measure(logs)
                )
            if self.affinity_monitor is not None and self.affinity_monitor.due(self.step):
                self.history.setdefault("task_affinity", []).append(self.affinity_monitor.measure())
            for t, v in logs["losses"].items():
                if math.isfinite(v):
                    self._ema[t] = v if t not in self._ema else 0.9 * self._ema[t] + 0.1 * v
            bar.update(1)
            if self.step % cfg.log_every == 0 or self.step == cfg.max_steps:
                bar.set_postfix(
                    {t: f"{v:.3f}" for t, v in sorted(self._ema.items())}, refresh=False
                )
            if self.hook is not None:
                self.hook.on_step_end(step=self.step, logs=logs)
            final = self.step == cfg.max_steps
            if final:
                self._save_final_checkpoint()
            if (cfg.eval_every and self.step % cfg.eval_every == 0) or final:
                self._evaluate_and_select(final=final)
            self.history["seconds"] = time.perf_counter() - started
            # Decided alike on every rank (the save below is followed by a barrier).
            kept = final and self.checkpointer is not None and self.checkpointer.keep_final
            if self.checkpointer is not None and self.checkpointer.due(self.step) and not kept:
                if self.dist.is_main:
                    self.checkpointer.save(self)
                barrier(self.dist)
        bar.close()
        evaluations = self.history.get("evaluations") or []
        if not evaluations or evaluations[-1]["step"] != self.step:
            # Resumed from the checkpoint kept before the final evaluation: do it now.
            if self.checkpointer is not None and self.checkpointer.keep_final:
                self._final_checkpoint = self.checkpointer.latest()
            self._evaluate_and_select(final=True)
        if self.best_state is not None and self.best_step != self.step:
            self.architecture.load_state_dict(self.best_state)
        seconds = time.perf_counter() - started
        self.history.update(
            {
                "best_step": self.best_step,
                "best_score": self.best_score,
                "seconds": seconds,
                "device": str(self.device),
                "precision": self.precision,
            }
        )
        if self.hook is not None:
            self.hook.on_train_end(
                summary={
                    "best_step": self.best_step,
                    "best_score": self.best_score,
                    "steps": self.step,
                    "seconds": seconds,
                }
            )
        if self.checkpointer is not None and self.dist.is_main and not self.checkpointer.keep_final:
            self.checkpointer.finished()
        return TrainResult(
            copy.deepcopy(self.history), self.best_step, self.best_score, self.best_metrics
        )

    def _save_final_checkpoint(self) -> None:
        """With ``keep_final``: the trained state on disk before the final evaluation (which
        can fail) and before the model is saved (which can hit a full disk)."""
        checkpointer = self.checkpointer
        if checkpointer is None or not checkpointer.keep_final:
            return
        if self.dist.is_main:
            try:
                self._final_checkpoint = checkpointer.save(self)
            except TrainingError as exc:  # the model is still in memory: go on, but say so
                logger.warning("No final checkpoint kept: %s", exc)
        barrier(self.dist)

    def _evaluate_and_select(self, final: bool = False) -> None:
        """Periodic evaluation: log, feed the sampler, keep the best weights in memory."""
        try:
            metrics = self.evaluate(self.config.eval_max_examples)
        except Exception as exc:
            if final and self._final_checkpoint is not None:
                note = (
                    f"The trained weights are kept in {self._final_checkpoint}: fix the cause and "
                    "run again with the same configuration; training resumes there and only "
                    "this evaluation is repeated."
                )
                logger.error("The final evaluation failed. %s", note)
                exc.add_note(note)
            raise
        score = mean_main_score(metrics, self.selection_tasks)
        self.history["evaluations"].append({"step": self.step, "metrics": metrics, "score": score})
        self.sampler.observe(
            self.step, {t: m[self.tasks[t].main_metric.name] for t, m in metrics.items()}
        )
        if self.hook is not None:
            self.hook.on_evaluation(step=self.step, metrics=metrics)
        logger.info(
            "step %d: mean main metric %.4f %s", self.step, score, _brief(metrics, self.tasks)
        )
        if score > self.best_score:
            self.best_score, self.best_step, self.best_metrics = score, self.step, metrics
            self.best_state = {
                k: v.detach().to("cpu", copy=True)
                for k, v in self.architecture.state_dict().items()
            }


def _brief(metrics: dict[str, dict[str, float]], tasks: dict[str, TrainTask]) -> str:
    return " ".join(f"{t}={metrics[t][tasks[t].main_metric.name]:.3f}" for t in tasks)
