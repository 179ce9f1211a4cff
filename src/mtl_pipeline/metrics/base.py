"""The metric interface: a named function of (predictions, references).

Inputs are 1-D numpy arrays. For classification they are label ids, for regression
floats; for tagging, the evaluation code flattens every labelled (first sub-word) token
of every sentence, so a token-level metric sees one entry per word.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np


@dataclass(frozen=True)
class Metric:
    name: str
    fn: Callable[[np.ndarray, np.ndarray], float] = field(repr=False)
    description: str = ""
    higher_is_better: bool = True

    def __call__(self, predictions: np.ndarray, references: np.ndarray) -> float:
        if len(predictions) != len(references):
            raise ValueError(
                f"metric {self.name}: {len(predictions)} predictions for {len(references)} references"
            )
        if len(references) == 0:
            return float("nan")
        return float(self.fn(np.asarray(predictions), np.asarray(references)))
