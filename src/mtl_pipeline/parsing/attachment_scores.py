"""Unlabelled and labelled attachment scores (UAS, LAS) over words.

UAS: share of words whose predicted head is the gold head; LAS: head and relation both
right. Relations compare by their universal part (``nmod:poss`` counts as ``nmod``), as the
CoNLL 2018 shared task's evaluation does. Punctuation counts by default, as UD's official
evaluation does; ``exclude_punct`` drops words whose gold UPOS is ``PUNCT`` (the older
CoNLL-X convention), for comparison with papers that report it that way.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass


@dataclass(frozen=True)
class AttachmentScores:
    uas: float
    las: float
    words: int


def attachment_scores(
    predicted_heads: Sequence[Sequence[int]],
    predicted_relations: Sequence[Sequence[str]],
    gold_heads: Sequence[Sequence[int]],
    gold_relations: Sequence[Sequence[str]],
    upos: Sequence[Sequence[str]] | None = None,
    *,
    exclude_punct: bool = False,
) -> AttachmentScores:
    if exclude_punct and upos is None:
        raise ValueError("exclude_punct needs the gold UPOS tags")
    words = heads_right = both_right = 0
    for index, (p_heads, p_rels, g_heads, g_rels) in enumerate(
        zip(predicted_heads, predicted_relations, gold_heads, gold_relations, strict=True)
    ):
        if not len(p_heads) == len(p_rels) == len(g_heads) == len(g_rels):
            raise ValueError(f"sentence {index}: heads and relations differ in length")
        tags = upos[index] if upos is not None else [""] * len(g_heads)
        for p_head, p_rel, g_head, g_rel, tag in zip(
            p_heads, p_rels, g_heads, g_rels, tags, strict=True
        ):
            if exclude_punct and tag == "PUNCT":
                continue
            words += 1
            if p_head == g_head:
                heads_right += 1
                if universal(p_rel) == universal(g_rel):
                    both_right += 1
    if words == 0:
        return AttachmentScores(float("nan"), float("nan"), 0)
    return AttachmentScores(heads_right / words, both_right / words, words)


def universal(relation: str) -> str:
    """``"nmod:poss"`` → ``"nmod"``."""
    return relation.split(":", 1)[0]
