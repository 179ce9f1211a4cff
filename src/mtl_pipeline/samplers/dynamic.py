"""Dynamic sampling (Gottumukkala et al. 2020, "Dynamic Sampling Strategies for Multi-Task
Reading Comprehension", ACL): sample each task in proportion to how far the multi-task
model lags behind a target score on it.

After every periodic evaluation (``observe``, every ``training.eval_every`` steps and at
the end) the sampler recomputes, per task,

    gap_t = max(0, target_t − score_t)          (``gap: absolute``, the paper's rule)
    gap_t = max(0, target_t − score_t) / |target_t|   (``gap: relative``, as in Sharma
            et al. 2017's A5C, so metrics on different scales compare)
    p_t = (1 − smoothing) · gap_t / Σ gap + smoothing · base_t

``target_t`` is ``targets[t]`` where given (the paper uses the single-task model's dev
score), else the best score seen so far for ``t`` (so a task that regresses, i.e. is being
forgotten, regains probability). ``base`` is uniform, or temperature sampling with ``T``;
it is also the distribution before the first evaluation and whenever no task lags
(Σ gap = 0), or, with ``smoothing = 0``, when fewer than ``tasks_per_step`` tasks lag.
``smoothing = 0`` is the paper's rule exactly; the default 0.1 keeps every task in
training between two evaluations, which matters when they are hundreds of steps apart.

Scores are the tasks' main metrics. Tasks listed in ``lower_is_better`` are negated (with
their targets) first. A non-finite score (e.g. Pearson of constant predictions) is
ignored; a task with no finite score yet gets the largest gap of the others.

State (latest scores, best scores, current probabilities) is plain JSON in
``extra_state``, so a resumed run continues with the identical distribution.
"""

from __future__ import annotations

import math
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from mtl_pipeline.errors import ConfigError
from mtl_pipeline.samplers.base import TaskSampler, normalize


class DynamicOptions(BaseModel):
    model_config = ConfigDict(extra="forbid")

    #: Per-task target score in the metric's own units (e.g. single-task dev scores);
    #: tasks left out use the best score seen so far.
    targets: dict[str, float] | None = None
    gap: Literal["absolute", "relative"] = "absolute"
    #: Weight of the base distribution mixed into the gap-based one.
    smoothing: float = Field(default=0.1, ge=0.0, le=1.0)
    #: Base distribution: ``None`` uniform, else temperature sampling p ∝ n^(1/T).
    T: float | None = Field(default=None, gt=0.0)
    #: Tasks whose main metric is better when lower (the trainer passes raw values).
    lower_is_better: list[str] = Field(default_factory=list)


class DynamicSampler(TaskSampler):
    name = "dynamic"
    description = (
        "p ∝ gap between a per-task target and the current dev score, updated at each "
        "evaluation (Gottumukkala et al. 2020)."
    )
    Options = DynamicOptions

    def __init__(self, task_sizes: dict[str, int], **kwargs: Any) -> None:
        super().__init__(task_sizes, **kwargs)
        opts: DynamicOptions = self.options  # type: ignore[assignment]
        for key, named in (
            ("targets", list(opts.targets or {})),
            ("lower_is_better", opts.lower_is_better),
        ):
            unknown = [t for t in named if t not in self.task_sizes]
            if unknown:
                raise ConfigError(
                    f"training.sampler.{key}: unknown task(s) {', '.join(map(repr, unknown))}; "
                    f"the tasks are {', '.join(self.task_names)}."
                )
        bad = {t: v for t, v in (opts.targets or {}).items() if not math.isfinite(v)}
        if bad:
            raise ConfigError(f"training.sampler.targets: non-finite target(s) {bad}.")
        self._sign = {t: -1.0 if t in opts.lower_is_better else 1.0 for t in self.task_names}
        if opts.T is None:
            self._base = dict.fromkeys(self.task_names, 1.0 / len(self.task_names))
        else:
            self._base = normalize({t: n ** (1.0 / opts.T) for t, n in self.task_sizes.items()})
        # Oriented (higher is better) values; None until a finite score is seen.
        self._scores: dict[str, float | None] = dict.fromkeys(self.task_names)
        self._best: dict[str, float | None] = dict.fromkeys(self.task_names)
        self._probs: dict[str, float] | None = None
        self._observations = 0

    # --- the rule -------------------------------------------------------------------
    def gaps(self) -> dict[str, float]:
        """Current non-negative gap of each task (before normalization)."""
        opts: DynamicOptions = self.options  # type: ignore[assignment]
        targets = opts.targets or {}
        known: dict[str, float] = {}
        for t in self.task_names:
            score = self._scores[t]
            if score is None:
                continue
            target = self._sign[t] * targets[t] if t in targets else self._best[t]
            assert target is not None  # a task with a score has a best score
            gap = max(0.0, target - score)
            if opts.gap == "relative":
                gap = gap / abs(target) if target != 0 else gap
            known[t] = gap
        fill = max(known.values(), default=0.0)
        return {t: known.get(t, fill) for t in self.task_names}

    def _recompute(self) -> dict[str, float]:
        opts: DynamicOptions = self.options  # type: ignore[assignment]
        gaps = self.gaps()
        total = sum(gaps.values())
        lagging = sum(1 for g in gaps.values() if g > 0)
        if total <= 0 or (opts.smoothing == 0 and lagging < self.tasks_per_step):
            return dict(self._base)
        lam = opts.smoothing
        return {t: (1 - lam) * gaps[t] / total + lam * self._base[t] for t in self.task_names}

    # --- TaskSampler ----------------------------------------------------------------
    def probabilities(self, step: int) -> dict[str, float]:
        return dict(self._probs) if self._probs is not None else dict(self._base)

    def observe(self, step: int, scores: dict[str, float]) -> None:
        for t, value in scores.items():
            if t not in self._scores or value is None or not math.isfinite(float(value)):
                continue
            oriented = self._sign[t] * float(value)
            self._scores[t] = oriented
            best = self._best[t]
            self._best[t] = oriented if best is None else max(best, oriented)
        self._observations += 1
        self._probs = self._recompute()

    def extra_state(self) -> dict[str, Any]:
        return {
            "scores": dict(self._scores),
            "best": dict(self._best),
            "probabilities": None if self._probs is None else dict(self._probs),
            "observations": self._observations,
        }

    def load_extra_state(self, state: dict[str, Any]) -> None:
        if not state:
            return
        self._scores = {t: state["scores"].get(t) for t in self.task_names}
        self._best = {t: state["best"].get(t) for t in self.task_names}
        probs = state.get("probabilities")
        self._probs = None if probs is None else {t: float(probs[t]) for t in self.task_names}
        self._observations = int(state.get("observations", 0))
