"""Gradient-conflict monitor: how aligned are the tasks' shared-parameter gradients?

Every ``training.conflict_monitor_every`` optimizer steps (0 = off), after the step, it
computes each task's gradient on the shared parameters and records, in
``history["gradient_conflicts"]``::

    {"step": 300, "tasks": [...], "cosine": {"a|b": 0.12, ...},
     "grad_norms": {"a": 1.3, ...}, "weights": {...the step's task weights...}}

Why it measures on its own batches, for every weighting mode: the step's per-task
gradients only exist for gradient-mode weightings, and only for the ``k`` tasks of that
step; measuring all tasks every time makes every pair comparable over time. So it runs
one extra forward/backward per task (one ``batch_size`` batch from the task's training
split, without gradient accumulation), on the plain task loss (no architecture auxiliary
loss), through the trainer's own ``task_loss`` and ``shared_gradient``, so under the run's
autocast precision and flattened to float32 exactly as in a training step.

Why it does not disturb training (a run with the monitor on reproduces the same losses as
one with it off):

* the batches are drawn *statelessly*: indices from a numpy generator seeded by
  ``(training.seed, task index, step)``, never from the trainer's batch streams, so those
  streams (and a checkpoint's record of them) are untouched and resumed runs measure the
  same batches;
* torch's RNG (dropout) is forked and restored around the extra passes (CPU, and the CUDA
  device when training on one);
* the optimizer, scheduler, weighting and sampler are not called; every parameter's
  ``.grad`` is put back as it was.

Cost: ``K`` forward/backward passes and a ``(K, P)`` float32 matrix (``K`` tasks, ``P``
shared parameters) every ``N`` steps.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np
import torch

if TYPE_CHECKING:
    from mtl_pipeline.training.trainer import Trainer

#: Salt so the monitor's batch choice never coincides with a training stream's.
_SALT = 0x6D6F6E69


class GradientConflictMonitor:
    """Measures pairwise cosine similarity of task gradients for a ``Trainer``."""

    def __init__(self, trainer: Trainer, every: int) -> None:
        self.trainer = trainer
        self.every = int(every)

    def due(self, step: int) -> bool:
        """Whether to measure after optimizer step ``step`` (1-based)."""
        return self.every > 0 and step > 0 and step % self.every == 0

    def _indices(self, task_pos: int, size: int, step: int) -> np.ndarray:
        seed = self.trainer.config.seed & 0xFFFFFFFF
        rng = np.random.Generator(np.random.PCG64([_SALT, seed, task_pos, step]))
        count = min(self.trainer.config.batch_size, size)
        return np.sort(rng.choice(size, size=count, replace=False))

    def task_gradients(self, step: int) -> tuple[list[str], torch.Tensor]:
        """(task names, ``(K, P)`` float32 shared gradients), leaving no trace."""
        tr = self.trainer
        params = [p for p in tr.architecture.parameters()] + [p for p in tr.weighting.parameters()]
        saved = [p.grad for p in params]
        for p in params:
            p.grad = None
        names, rows = list(tr.tasks), []
        cuda = tr.device.type == "cuda"
        devices = (
            [tr.device.index if tr.device.index is not None else torch.cuda.current_device()]
            if cuda
            else []
        )
        try:
            with torch.random.fork_rng(devices=devices, device_type="cuda"):
                for pos, name in enumerate(names):
                    split = tr.tasks[name].train
                    batch = split.collate(self._indices(pos, len(split), step), tr.pad_id)
                    batch = {k: v.to(tr.device, non_blocking=True) for k, v in batch.items()}
                    _, plain = tr.task_loss(name, batch)  # the plain loss: no auxiliary term
                    rows.append(tr.shared_gradient(plain))  # also clears the shared grads
        finally:
            for p, grad in zip(params, saved, strict=True):
                p.grad = grad
        return names, torch.stack(rows)

    def measure(self, logs: dict[str, Any]) -> dict[str, Any]:
        """One ``history["gradient_conflicts"]`` entry for the step just taken."""
        step = self.trainer.step
        names, grads = self.task_gradients(step)
        return {
            "step": step,
            "tasks": names,
            **conflict_summary(names, grads),
            "weights": {t: float(w) for t, w in (logs.get("weights") or {}).items()},
        }


def conflict_summary(names: list[str], grads: torch.Tensor) -> dict[str, Any]:
    """Pairwise cosine similarities (``"a|b"``, ``a`` before ``b`` in ``names``; None when a
    gradient is zero) and each task's gradient norm, from one ``(K, P)`` Gram product."""
    gram = (grads @ grads.T).double().cpu()
    norms = gram.diagonal().clamp_min(0).sqrt()
    cosine: dict[str, float | None] = {}
    for i in range(len(names)):
        for j in range(i + 1, len(names)):
            denom = float(norms[i] * norms[j])
            cosine[f"{names[i]}|{names[j]}"] = float(gram[i, j]) / denom if denom > 0 else None
    return {"cosine": cosine, "grad_norms": dict(zip(names, norms.tolist(), strict=True))}
