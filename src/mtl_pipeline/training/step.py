"""The parts of one optimizer step: per-task gradients, their combination, the update.

Split from ``trainer.py`` so that the trainer reads as setup + loop; each function works on
the ``Trainer``'s public attributes.
"""

from __future__ import annotations

import logging
import math
from typing import TYPE_CHECKING, Any

import torch

from mtl_pipeline.errors import TrainingError
from mtl_pipeline.training.distributed import all_reduce_mean_

if TYPE_CHECKING:
    from mtl_pipeline.training.trainer import Trainer

logger = logging.getLogger(__name__)


def loss_mode_gradients(trainer: Trainer, tasks: list[str]) -> dict[str, torch.Tensor]:
    """Per micro-batch: every task's loss, combined by the weighting, one backward.
    Returns each task's plain loss averaged over the micro-batches (for the logs)."""
    accum = trainer.config.gradient_accumulation_steps
    logged = {t: torch.zeros((), device=trainer.device) for t in tasks}
    for _ in range(accum):
        losses = {}
        for task in tasks:
            losses[task], plain = trainer.task_loss(task, trainer.next_batch(task))
            logged[task] += plain.detach() / accum
        trainer.backward(trainer.weighting.combine_losses(losses, trainer.step) / accum)
    return logged


def gradient_mode_gradients(trainer: Trainer, tasks: list[str]) -> dict[str, torch.Tensor]:
    """Per task: its micro-batches' gradient on the shared parameters (averaged over ranks),
    then the weighting combines the rows; heads keep their own task's gradient."""
    accum = trainer.config.gradient_accumulation_steps
    logged = {t: torch.zeros((), device=trainer.device) for t in tasks}
    rows = []
    for task in tasks:
        for _ in range(accum):
            total, plain = trainer.task_loss(task, trainer.next_batch(task))
            logged[task] += plain.detach() / accum
            trainer.backward(total / accum)
        rows.append(all_reduce_mean_(trainer.shared_gradient(), trainer.dist))
    if trainer.shared_params:  # no shared parameters: every task keeps its own gradient
        detached = {t: logged[t].detach() for t in tasks}
        combined = trainer.weighting.combine_gradients(torch.stack(rows), detached, trainer.step)
        write_shared_grad(trainer, combined)
    return logged


def apply_gradients(trainer: Trainer) -> float:
    """Unscale, clip (returns the norm; NaN without clipping), step, schedule."""
    if trainer.scaler is not None:
        trainer.scaler.unscale_(trainer.optimizer)
    max_norm = trainer.config.max_grad_norm
    norm = (
        torch.nn.utils.clip_grad_norm_(trainer.optimized_params, max_norm).item()
        if max_norm
        else float("nan")
    )
    if trainer.scaler is not None:
        trainer.scaler.step(trainer.optimizer)
        trainer.scaler.update()
    else:
        trainer.optimizer.step()
    trainer.scheduler.step()
    return norm


def take_flat_grad(params: list[torch.nn.Parameter]) -> torch.Tensor:
    """The parameters' gradients (zeros where None) as one flat float32 vector; their
    ``.grad`` are cleared."""
    flat = torch.cat(
        [
            (p.grad if p.grad is not None else torch.zeros_like(p)).reshape(-1).float()
            for p in params
        ]
    )
    for p in params:
        p.grad = None
    return flat


def write_shared_grad(trainer: Trainer, flat: torch.Tensor) -> None:
    """Put a flat float32 gradient back on the shared parameters (rescaled for fp16)."""
    if trainer.scaler is not None:
        flat = flat * trainer.scaler.get_scale()
    offset = 0
    for p in trainer.shared_params:
        p.grad = flat[offset : offset + p.numel()].view_as(p).to(p.dtype)
        offset += p.numel()


def skip_or_stop(trainer: Trainer, tasks: list[str], losses: dict[str, float]) -> dict[str, Any]:
    """A step with a non-finite loss: ``TrainingError`` (``on_nonfinite_loss: stop``), or
    its gradients dropped and the step recorded as skipped."""
    bad = {t: v for t, v in losses.items() if not math.isfinite(v)}
    message = (
        f"non-finite loss at step {trainer.step + 1}: {bad} (tasks in step: {tasks}). "
        "Lower training.learning_rate, check the labels, or set "
        "training.on_nonfinite_loss: skip to skip such steps."
    )
    if trainer.config.on_nonfinite_loss == "stop":
        raise TrainingError(message)
    logger.warning("Skipping step: %s", message)
    trainer.optimizer.zero_grad(set_to_none=True)
    trainer.history["skipped_steps"].append(trainer.step + 1)
    return {"step": trainer.step + 1, "tasks": tasks, "losses": losses, "skipped": True}
