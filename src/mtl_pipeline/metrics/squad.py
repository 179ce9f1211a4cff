"""SQuAD exact match and token F1, as the official evaluation scripts define them.

Normalization (``normalize_answer`` of evaluate-v1.1.py / v2.0): lowercase; remove every
character in ``string.punctuation``; remove the words ``a``, ``an``, ``the``; collapse
whitespace. Exact match: normalized strings equal. F1: over the multiset of normalized
tokens (whitespace-split), precision and recall of the common tokens. Each question
scores the maximum over its gold answers; the metric is the mean over questions.

An unanswerable question (no gold answers) counts as gold ``[""]`` (the v2.0 script):
an empty prediction scores 1, anything else 0, and an empty prediction against a
non-empty gold scores 0 for both metrics.
"""

from __future__ import annotations

import re
import string
from collections import Counter
from collections.abc import Sequence

import numpy as np

_ARTICLES = re.compile(r"\b(a|an|the)\b", re.UNICODE)
_PUNCTUATION = set(string.punctuation)


def normalize_answer(text: str) -> str:
    """Lower text and remove punctuation, articles and extra whitespace."""
    text = text.lower()
    text = "".join(ch for ch in text if ch not in _PUNCTUATION)
    text = _ARTICLES.sub(" ", text)
    return " ".join(text.split())


def exact_match_score(prediction: str, gold: str) -> float:
    return float(normalize_answer(prediction) == normalize_answer(gold))


def f1_score(prediction: str, gold: str) -> float:
    pred_tokens = normalize_answer(prediction).split()
    gold_tokens = normalize_answer(gold).split()
    if not pred_tokens or not gold_tokens:
        # v2.0 script: no-answer on either side scores 1 only if both are empty.
        return float(pred_tokens == gold_tokens)
    common = Counter(pred_tokens) & Counter(gold_tokens)
    same = sum(common.values())
    if same == 0:
        return 0.0
    precision = same / len(pred_tokens)
    recall = same / len(gold_tokens)
    return 2 * precision * recall / (precision + recall)


def max_over_gold(fn, prediction: str, golds: Sequence[str]) -> float:
    return max(fn(prediction, gold) for gold in (list(golds) or [""]))


def squad_exact_match(predictions: np.ndarray, references: np.ndarray) -> float:
    """Mean over questions of the best exact match against each question's gold answers."""
    scores = [
        max_over_gold(exact_match_score, str(p), r)
        for p, r in zip(predictions, references, strict=True)
    ]
    return float(np.mean(scores)) if scores else float("nan")


def squad_f1(predictions: np.ndarray, references: np.ndarray) -> float:
    """Mean over questions of the best token F1 against each question's gold answers."""
    scores = [
        max_over_gold(f1_score, str(p), r) for p, r in zip(predictions, references, strict=True)
    ]
    return float(np.mean(scores)) if scores else float("nan")


def is_answer_text(references: np.ndarray) -> bool:
    """Whether references are per-question gold answer lists (span extraction)."""
    return (
        references.dtype == object
        and len(references) > 0
        and isinstance(references[0], list | tuple)
    )
