"""The metric interface: a named function of (predictions, references).

Inputs are 1-D numpy arrays. For classification they are label ids, for regression
floats; for tagging, the evaluation code flattens every labelled (first sub-word) token
of every sentence, so a token-level metric sees one entry per word.

A metric also declares which tasks it fits, so that Pearson on class ids (or accuracy on
real-valued scores) is refused when the run starts instead of becoming a task's main
metric and driving model selection with a meaningless number. It declares any of:
``predictions`` (``"classes"``: label ids, ``"values"``: real numbers, as each task type
declares in ``TaskType.predictions``), ``levels`` (``"sequence"``, ``"token"``) and
``task_types`` (task type names, for a metric made for one type). An empty declaration
means "any": a metric that declares nothing fits every task.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

#: The kinds of predictions a task type makes (``TaskType.predictions``).
PREDICTION_KINDS = frozenset({"classes", "values", "spans", "entities", "trees"})
LEVELS = frozenset({"sequence", "token"})


@dataclass(frozen=True)
class Metric:
    name: str
    fn: Callable[[np.ndarray, np.ndarray], float] = field(repr=False)
    description: str = ""
    higher_is_better: bool = True
    #: Kinds of predictions it scores ("classes", "values"); empty: any.
    predictions: frozenset[str] = frozenset()
    #: Task levels it scores ("sequence", "token"); empty: any.
    levels: frozenset[str] = frozenset()
    #: Task type names it scores; empty: any (the two above decide).
    task_types: frozenset[str] = frozenset()

    def __post_init__(self) -> None:
        for key, allowed in (("predictions", PREDICTION_KINDS), ("levels", LEVELS)):
            values = _as_set(getattr(self, key), f"metric {self.name}: {key}")
            unknown = sorted(values - allowed)
            if unknown:
                raise ValueError(
                    f"metric {self.name}: {key} {unknown} not known; expected any of "
                    f"{sorted(allowed)}"
                )
            object.__setattr__(self, key, values)
        object.__setattr__(
            self, "task_types", _as_set(self.task_types, f"metric {self.name}: task_types")
        )

    def fits(self, task_type: Any) -> bool:
        """Whether it can score a task of ``task_type`` (a ``TaskType`` class or instance)."""
        kind = getattr(task_type, "predictions", "classes")
        level = getattr(task_type, "level", "sequence")
        name = getattr(task_type, "name", "")
        return (
            (not self.predictions or kind in self.predictions)
            and (not self.levels or level in self.levels)
            and (not self.task_types or name in self.task_types)
        )

    def fit_description(self) -> str:
        """What it fits, in words, for error messages."""
        parts = []
        if self.task_types:
            parts.append(f"task types {', '.join(sorted(self.task_types))}")
        if self.predictions:
            parts.append(f"{' or '.join(sorted(self.predictions))} predictions")
        if self.levels:
            parts.append(f"{' or '.join(sorted(self.levels))}-level tasks")
        return ", ".join(parts) or "any task"

    def __call__(self, predictions: np.ndarray, references: np.ndarray) -> float:
        if len(predictions) != len(references):
            raise ValueError(
                f"metric {self.name}: {len(predictions)} predictions for {len(references)} references"
            )
        if len(references) == 0:
            return float("nan")
        return float(self.fn(np.asarray(predictions), np.asarray(references)))


def _as_set(values: str | Iterable[str], where: str) -> frozenset[str]:
    if isinstance(values, str):  # ("classes") is a string, not a one-item tuple
        return frozenset({values})
    try:
        return frozenset(values)
    except TypeError:
        raise ValueError(f"{where}: expected a set of names, found {values!r}") from None
