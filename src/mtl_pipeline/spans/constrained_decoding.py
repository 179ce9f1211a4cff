"""Viterbi decoding restricted to the transitions a tagging scheme allows.

A per-word argmax can emit ``O I-PER`` or ``B-PER I-LOC``; conlleval would still count
such output, but a user reading predicted entities should never see a malformed one. The
decoder maximises the sum of per-word scores (log-probabilities) over the sequences the
scheme allows, so its output is always well formed:

* IOB2: ``I-X`` only after ``B-X`` or ``I-X`` (so never first).
* BIOES: ``I-X``/``E-X`` only after ``B-X``/``I-X``; after ``B-X``/``I-X`` only
  ``I-X``/``E-X``; a sentence neither starts inside nor ends inside an entity.
* IOB1: ``B-X`` only after ``I-X`` or ``B-X`` of the same type.
* IO: anything.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from mtl_pipeline.spans.schemes import OUTSIDE, Scheme, split_tag


def allowed_transitions(labels: Sequence[str], scheme: Scheme) -> np.ndarray:
    """``allowed[i, j]``: may label ``j`` follow label ``i``."""
    parts = [split_tag(label) for label in labels]
    size = len(labels)
    allowed = np.ones((size, size), dtype=bool)
    for i, (prev_prefix, prev_kind) in enumerate(parts):
        for j, (prefix, kind) in enumerate(parts):
            allowed[i, j] = _may_follow(scheme, prev_prefix, prev_kind, prefix, kind)
    return allowed


def allowed_starts(labels: Sequence[str], scheme: Scheme) -> np.ndarray:
    return np.array(
        [_may_follow(scheme, OUTSIDE, "", *split_tag(label)) for label in labels], dtype=bool
    )


def allowed_ends(labels: Sequence[str], scheme: Scheme) -> np.ndarray:
    if scheme != "bioes":
        return np.ones(len(labels), dtype=bool)
    return np.array([split_tag(label)[0] in {OUTSIDE, "E", "S"} for label in labels], dtype=bool)


def _may_follow(scheme: str, prev_prefix: str, prev_kind: str, prefix: str, kind: str) -> bool:
    inside = prev_prefix in {"B", "I"}
    if scheme == "iob2":
        return prefix != "I" or (inside and prev_kind == kind)
    if scheme == "iob1":
        return prefix != "B" or (inside and prev_kind == kind)
    if scheme == "bioes":
        if inside:
            return prefix in {"I", "E"} and kind == prev_kind
        return prefix in {OUTSIDE, "B", "S"}
    return True


def viterbi(
    scores: np.ndarray,
    allowed: np.ndarray,
    starts: np.ndarray | None = None,
    ends: np.ndarray | None = None,
) -> list[int]:
    """Best label ids for one sentence's ``(words, labels)`` scores under the constraints.

    Transitions carry no score of their own: among allowed sequences the one with the
    highest total per-word score wins (a CRF would add learned transition scores here).
    """
    words, size = scores.shape
    if words == 0:
        return []
    forbidden = np.where(allowed, 0.0, -np.inf)
    best = scores[0] + (0.0 if starts is None else np.where(starts, 0.0, -np.inf))
    back = np.zeros((words, size), dtype=np.int64)
    for word in range(1, words):
        candidates = best[:, None] + forbidden  # (previous, current)
        back[word] = candidates.argmax(axis=0)
        best = candidates.max(axis=0) + scores[word]
    if ends is not None:
        best = best + np.where(ends, 0.0, -np.inf)
    path = [int(best.argmax())]
    for word in range(words - 1, 0, -1):
        path.append(int(back[word, path[-1]]))
    return path[::-1]


def decode(scores: np.ndarray, labels: Sequence[str], scheme: Scheme) -> list[str]:
    """Well-formed tags for one sentence (``scores``: per-word log-probabilities)."""
    ids = viterbi(
        scores,
        allowed_transitions(labels, scheme),
        allowed_starts(labels, scheme),
        allowed_ends(labels, scheme),
    )
    return [labels[i] for i in ids]
