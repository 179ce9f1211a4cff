"""Entity-level precision, recall and F1, computed the CoNLL (``conlleval``) way.

An entity counts as correct only when a predicted span has exactly the gold span's start,
end and type. Counts are summed over every sentence (micro average); per type, the same
counts restricted to that type. Spans are chunked by ``schemes.spans``, conlleval's rules.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass

from mtl_pipeline.spans.schemes import spans


@dataclass(frozen=True)
class SpanScores:
    precision: float
    recall: float
    f1: float
    predicted: int
    gold: int
    correct: int

    @classmethod
    def from_counts(cls, correct: int, predicted: int, gold: int) -> SpanScores:
        precision = correct / predicted if predicted else 0.0
        recall = correct / gold if gold else 0.0
        f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
        return cls(precision, recall, f1, predicted, gold, correct)


def span_scores(
    predicted: Sequence[Sequence[str]], gold: Sequence[Sequence[str]]
) -> dict[str, SpanScores]:
    """``{"overall": ..., "<TYPE>": ...}`` over sentences of tags (one list per sentence)."""
    if len(predicted) != len(gold):
        raise ValueError(f"{len(predicted)} predicted sentences for {len(gold)} gold sentences")
    counts: dict[str, Counter[str]] = {
        "correct": Counter(),
        "predicted": Counter(),
        "gold": Counter(),
    }
    for index, (pred_tags, gold_tags) in enumerate(zip(predicted, gold, strict=True)):
        if len(pred_tags) != len(gold_tags):
            raise ValueError(
                f"sentence {index}: {len(pred_tags)} predicted tags for {len(gold_tags)} words"
            )
        pred_spans, gold_spans = set(spans(pred_tags)), set(spans(gold_tags))
        for kind, *_ in pred_spans:
            counts["predicted"][kind] += 1
        for kind, *_ in gold_spans:
            counts["gold"][kind] += 1
        for kind, *_ in pred_spans & gold_spans:
            counts["correct"][kind] += 1
    types = sorted(set(counts["predicted"]) | set(counts["gold"]))
    result = {
        "overall": SpanScores.from_counts(
            sum(counts["correct"].values()),
            sum(counts["predicted"].values()),
            sum(counts["gold"].values()),
        )
    }
    for kind in types:
        result[kind] = SpanScores.from_counts(
            counts["correct"][kind], counts["predicted"][kind], counts["gold"][kind]
        )
    return result


class TagSequence(tuple):
    """One sentence's tags as the ``ner`` task type hands them to metrics: a tuple marked
    as tags, so that metric functions told only ``(predictions, references)`` score entity
    spans rather than reading the lists as answer texts or label sets."""

    __slots__ = ()


def is_tag_sequences(references: object) -> bool:
    """Whether ``references`` are sentences of entity tags (an object array of
    :class:`TagSequence`)."""
    return len(references) > 0 and isinstance(references[0], TagSequence)  # type: ignore[arg-type]


def entity_scores(predicted: Sequence[Sequence[str]], gold: Sequence[Sequence[str]]) -> SpanScores:
    """The overall (micro) entity scores of :func:`span_scores`."""
    return span_scores(predicted, gold)["overall"]
