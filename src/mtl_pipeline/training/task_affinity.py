"""Inter-task affinity from lookahead steps inside one run (TAG; Fifty et al., 2021).

Every ``training.task_affinity.every`` optimizer steps, for each task ``i``: take a
lookahead step on the *shared* parameters with ``i``'s gradient alone,
``θ' = θ - lr · ∇_θ L_i``, and measure how every task's loss on the same batch moved::

    Z[i, j] = 1 - L_j(θ') / L_j(θ)

``Z[i, j] > 0``: a step for ``i`` lowers ``j``'s loss (``i`` helps ``j``); ``< 0``: it hurts.
The matrix is averaged over the run; ``experiments.grouping`` turns it into task groups.

It runs on the same side path as the gradient-conflict monitor and disturbs nothing:
batches are drawn statelessly (seeded by seed, task and step), torch's RNG is forked, the
architecture is put in eval mode (no dropout noise between the before/after losses) and
back, every shared parameter is restored from a copy (not by adding the step back, which
would not round-trip in floating point), and every ``.grad`` is put back.

Cost per measurement with ``K`` tasks: ``K`` forward+backward passes for the gradients,
``K`` forward passes for the losses before, and ``K`` forward passes after each of the
``K`` lookaheads (``K²``), plus one copy of the shared parameters.

``lr``: the optimizer's current learning rate by default (the step the run would take
with plain SGD); ``training.task_affinity.lr`` sets one. With AdamW's small rates the
changes are small, but the ranking and sign of ``Z`` are what the grouping uses.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np
import torch

if TYPE_CHECKING:
    from mtl_pipeline.training.trainer import Trainer

#: Salt so the batches never coincide with a training stream's or the conflict monitor's.
_SALT = 0x74616731


def lookahead_affinity(
    names: Sequence[str],
    grads: torch.Tensor,
    params: Sequence[torch.Tensor],
    lr: float,
    evaluate: Callable[[], dict[str, float]],
) -> np.ndarray:
    """``Z`` (``K x K``) for task gradients ``grads`` (``K x P``, flattened over ``params``).

    ``evaluate()`` returns each task's loss at the parameters' current values. The
    parameters are restored exactly, whatever happens.
    """
    base = evaluate()
    saved = [p.detach().clone() for p in params]
    size = len(names)
    matrix = np.full((size, size), np.nan)
    try:
        for i in range(size):
            with torch.no_grad():
                offset = 0
                for p in params:
                    n = p.numel()
                    p.sub_((lr * grads[i, offset : offset + n]).view_as(p).to(p.dtype))
                    offset += n
            after = evaluate()
            for j, name in enumerate(names):
                if base[name] > 0:
                    matrix[i, j] = 1.0 - after[name] / base[name]
            with torch.no_grad():
                for p, copy in zip(params, saved, strict=True):
                    p.copy_(copy)
    finally:
        with torch.no_grad():
            for p, copy in zip(params, saved, strict=True):
                p.copy_(copy)
    return matrix


class TaskAffinityMonitor:
    """Measures ``Z`` for a ``Trainer`` every ``every`` steps and keeps the running sum."""

    def __init__(self, trainer: Trainer, every: int, lr: float | None = None) -> None:
        self.trainer = trainer
        self.every = int(every)
        self.lr = lr

    def due(self, step: int) -> bool:
        return self.every > 0 and step > 0 and step % self.every == 0

    def _batch(self, pos: int, name: str, step: int) -> dict[str, torch.Tensor]:
        tr = self.trainer
        split = tr.tasks[name].train
        seed = tr.config.seed & 0xFFFFFFFF
        rng = np.random.Generator(np.random.PCG64([_SALT, seed, pos, step]))
        count = min(tr.config.batch_size, len(split))
        indices = np.sort(rng.choice(len(split), size=count, replace=False))
        batch = split.collate(indices, tr.pad_id)
        return {k: v.to(tr.device, non_blocking=True) for k, v in batch.items()}

    def _loss(self, name: str, batch: dict[str, torch.Tensor]) -> torch.Tensor:
        """The plain task loss (no auxiliary term), as the trainer computes it."""
        return self.trainer.task_loss(name, batch)[1].float()

    def measure(self) -> dict[str, Any]:
        """One ``history["task_affinity"]`` entry for the step just taken."""
        tr = self.trainer
        step = tr.step
        names = list(tr.tasks)
        params = tr.shared_params
        if not params:
            return {"step": step, "tasks": names, "matrix": None, "lr": None}
        lr = self.lr if self.lr is not None else float(tr.scheduler.get_last_lr()[0])
        if lr <= 0.0:
            # The schedule's last step (or a warmup's first) has no step size: a lookahead
            # would move nothing and add a row of zeros to the average. Recorded, not used.
            return {"step": step, "tasks": names, "matrix": None, "lr": lr}
        batches = {name: self._batch(pos, name, step) for pos, name in enumerate(names)}
        everything = [*tr.architecture.parameters(), *tr.weighting.parameters()]
        saved_grads = [p.grad for p in everything]
        was_training = tr.architecture.training
        cuda = tr.device.type == "cuda"
        devices = (
            [tr.device.index if tr.device.index is not None else torch.cuda.current_device()]
            if cuda
            else []
        )

        def evaluate() -> dict[str, float]:
            with torch.no_grad():
                return {n: float(self._loss(n, batches[n])) for n in names}

        try:
            with torch.random.fork_rng(devices=devices, device_type="cuda"):
                tr.architecture.eval()
                rows = []
                for name in names:
                    for p in everything:
                        p.grad = None
                    loss = self._loss(name, batches[name])
                    rows.append(tr.shared_gradient(loss, scaled=False))
                matrix = lookahead_affinity(names, torch.stack(rows), params, lr, evaluate)
        finally:
            tr.architecture.train(was_training)
            for p, grad in zip(everything, saved_grads, strict=True):
                p.grad = grad
        return {"step": step, "tasks": names, "matrix": _nested(names, matrix), "lr": lr}


def _nested(names: Sequence[str], matrix: np.ndarray) -> dict[str, dict[str, float | None]]:
    return {
        a: {
            b: (None if np.isnan(matrix[i, j]) else float(matrix[i, j]))
            for j, b in enumerate(names)
        }
        for i, a in enumerate(names)
    }


def average_affinity(entries: Sequence[dict[str, Any]]) -> dict[str, Any]:
    """The run's affinity: ``Z`` averaged over every measurement (NaNs skipped)."""
    measured = [e for e in entries if e.get("matrix")]
    if not measured:
        return {"tasks": [], "matrix": {}, "steps": [], "lookaheads": 0}
    names = measured[0]["tasks"]
    stack = np.array(
        [
            [
                [np.nan if e["matrix"][a][b] is None else e["matrix"][a][b] for b in names]
                for a in names
            ]
            for e in measured
        ]
    )
    with np.errstate(all="ignore"):
        mean = np.nanmean(stack, axis=0) if len(stack) else stack
    return {
        "tasks": names,
        "matrix": _nested(names, mean),
        "steps": [e["step"] for e in measured],
        "lookaheads": len(measured) * len(names),
        "lr": [e["lr"] for e in measured],
        "definition": "Z[i][j] = 1 - L_j(after a lookahead step on task i) / L_j(before); "
        "rows: the task stepped on, columns: the task whose loss is measured",
    }
