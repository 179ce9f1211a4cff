"""What the trainer works on (``TrainTask``), returns (``TrainResult``) and must carry
across a resume (``trainer_state``): model, best-so-far weights, optimizer moments, LR
schedule, grad scaler, weighting state, sampler RNG, each task's batch-stream position,
the torch/numpy/python RNG states, the best evaluation, the callbacks' state and the
history. A run killed at any step and resumed from it finishes with bit-identical weights
on the CPU. ``checkpoint.Checkpointer`` only writes and reads this mapping.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np
import torch

from mtl_pipeline.metrics.base import Metric
from mtl_pipeline.training.batching import TokenizedSplit

if TYPE_CHECKING:
    from mtl_pipeline.training.trainer import Trainer


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


def trainer_state(trainer: Trainer) -> dict[str, Any]:
    """``Trainer.state_dict()``: ``model`` and ``best_model`` are flat tensor mappings, the
    rest nested plain data and tensors."""
    state = {
        "step": trainer.step,
        "model": trainer.architecture.state_dict(),
        "best_model": trainer.best_state,
        "optimizer": trainer.optimizer.state_dict(),
        "weighting": trainer.weighting.state_dict(),
        "weighting_extra": trainer.weighting.extra_state(),
        "scheduler": trainer.scheduler.state_dict(),
        "scaler": trainer.scaler.state_dict() if trainer.scaler is not None else None,
        "sampler": trainer.sampler.state_dict(),
        "streams": {name: stream.state_dict() for name, stream in trainer.streams.items()},
        "rng": {
            "torch": torch.get_rng_state(),
            "cuda": torch.cuda.get_rng_state_all() if torch.cuda.is_available() else None,
            "numpy": _numpy_rng_state(),
            "python": _python_rng_state(),
        },
        "best": {
            "score": trainer.best_score,
            "step": trainer.best_step,
            "metrics": trainer.best_metrics,
        },
        "history": trainer.history,
    }
    for callback in trainer.callbacks:
        if callback.state_key is not None:
            state[callback.state_key] = callback.state_dict()
    return state


def load_trainer_state(trainer: Trainer, state: dict[str, Any]) -> None:
    """``Trainer.load_state_dict``: the inverse of ``trainer_state``, in the same order."""
    trainer.architecture.load_state_dict(state["model"], strict=True)
    if state.get("best_model") is not None:
        trainer.best_state = state["best_model"]
    trainer.optimizer.load_state_dict(state["optimizer"])
    trainer.weighting.load_state_dict(state["weighting"])
    trainer.weighting.load_extra_state(state["weighting_extra"])
    trainer.scheduler.load_state_dict(state["scheduler"])
    if trainer.scaler is not None and state["scaler"] is not None:
        trainer.scaler.load_state_dict(state["scaler"])
    trainer.sampler.load_state_dict(state["sampler"])
    for name, stream_state in state["streams"].items():
        trainer.streams[name].load_state_dict(stream_state)
    rng = state["rng"]
    torch.set_rng_state(rng["torch"])
    if rng["cuda"] is not None and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(rng["cuda"])
    name, keys, pos, has_gauss, cached = rng["numpy"]
    np.random.set_state((name, np.array(keys, dtype=np.uint32), pos, has_gauss, cached))
    version, internal, gauss = rng["python"]
    random.setstate((version, tuple(internal), gauss))
    trainer.step = int(state["step"])
    best = state["best"]
    trainer.best_score = float(best["score"]) if best["score"] is not None else -float("inf")
    trainer.best_step, trainer.best_metrics = int(best["step"]), best["metrics"]
    for callback in trainer.callbacks:
        if callback.state_key is not None and callback.state_key in state:
            callback.load_state_dict(state[callback.state_key])
    trainer.history = state["history"]


def _python_rng_state() -> list[Any]:
    version, internal, gauss = random.getstate()
    return [version, list(internal), gauss]


def _numpy_rng_state() -> list[Any]:
    name, keys, pos, has_gauss, cached = np.random.get_state()
    return [name, keys.tolist(), int(pos), int(has_gauss), float(cached)]
