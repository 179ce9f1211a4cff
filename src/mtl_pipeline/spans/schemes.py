"""Tagging schemes (IOB1, IOB2, BIOES, IO) and the spans they encode.

A span is ``(type, start, end)`` with ``end`` inclusive, over word positions. Chunking
follows the CoNLL evaluation script (``conlleval``) exactly, so that a sequence that is not
well formed in its scheme — an ``I-`` with no ``B-`` before it, a type change inside an
entity — yields the same spans the shared-task scores were computed with: an ``I-X`` after
``O`` or after another type starts a new entity, and ``B-`` always starts one.

Conversion goes through spans: ``tags → spans → tags`` in the target scheme, so any input
scheme can train a model that predicts in another (BIOES gives the decoder explicit ends).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Literal

Scheme = Literal["iob1", "iob2", "bioes", "io"]
SCHEMES: tuple[str, ...] = ("iob1", "iob2", "bioes", "io")
OUTSIDE = "O"
#: Prefixes each scheme may use (besides O).
PREFIXES: dict[str, frozenset[str]] = {
    "iob1": frozenset({"B", "I"}),
    "iob2": frozenset({"B", "I"}),
    "bioes": frozenset({"B", "I", "E", "S"}),
    "io": frozenset({"I"}),
}

Span = tuple[str, int, int]


def split_tag(tag: str) -> tuple[str, str]:
    """``"B-PER"`` → ``("B", "PER")``; ``"O"`` → ``("O", "")``; a bare ``"PER"`` (IO files
    often omit the prefix) → ``("I", "PER")``."""
    if tag == OUTSIDE:
        return OUTSIDE, ""
    prefix, sep, kind = tag.partition("-")
    if sep and len(prefix) == 1 and prefix in "BIES" and kind:
        return prefix, kind
    return "I", tag


def _ends(prev_prefix: str, prefix: str, prev_kind: str, kind: str) -> bool:
    """conlleval's endOfChunk: does the chunk open at the previous word end before this one?"""
    if prev_prefix in {"E", "S"}:
        return True
    if prev_prefix in {"B", "I"} and prefix in {"B", "S", OUTSIDE}:
        return True
    return prev_prefix != OUTSIDE and prev_kind != kind


def _starts(prev_prefix: str, prefix: str, prev_kind: str, kind: str) -> bool:
    """conlleval's startOfChunk: does a chunk start at this word?"""
    if prefix in {"B", "S"}:
        return True
    if prev_prefix in {"E", "S", OUTSIDE} and prefix in {"E", "I"}:
        return True
    return prefix != OUTSIDE and prev_kind != kind


def spans(tags: Sequence[str]) -> list[Span]:
    """The entities in one sentence's tags, chunked exactly as conlleval does.

    Works for every scheme at once (conlleval does not need to be told the scheme).
    """
    found: list[Span] = []
    prev_prefix, prev_kind, start = OUTSIDE, "", -1
    for position, tag in enumerate([*tags, OUTSIDE]):  # a sentence end closes any chunk
        prefix, kind = split_tag(tag)
        if start >= 0 and _ends(prev_prefix, prefix, prev_kind, kind):
            found.append((prev_kind, start, position - 1))
            start = -1
        if _starts(prev_prefix, prefix, prev_kind, kind):
            start = position
        prev_prefix, prev_kind = prefix, kind
    return found


def tags_from_spans(length: int, entities: Iterable[Span], scheme: Scheme) -> list[str]:
    """Tags in ``scheme`` for non-overlapping ``entities`` in a sentence of ``length`` words.

    IO cannot mark the boundary between two adjacent entities of one type; they merge, as
    they would in any IO-tagged file.
    """
    tags = [OUTSIDE] * length
    ordered = sorted(entities, key=lambda span: span[1])
    previous: Span | None = None
    for kind, start, end in ordered:
        if not 0 <= start <= end < length:
            raise ValueError(f"span {(kind, start, end)} outside a sentence of {length} words")
        if any(tag != OUTSIDE for tag in tags[start : end + 1]):
            raise ValueError(f"span {(kind, start, end)} overlaps another entity")
        if scheme == "io":
            tags[start : end + 1] = [f"I-{kind}"] * (end - start + 1)
        elif scheme == "iob2":
            tags[start : end + 1] = [f"B-{kind}"] + [f"I-{kind}"] * (end - start)
        elif scheme == "iob1":
            # B- only where an entity directly follows one of the same type.
            adjacent = previous is not None and previous[2] == start - 1 and previous[0] == kind
            first = "B" if adjacent else "I"
            tags[start : end + 1] = [f"{first}-{kind}"] + [f"I-{kind}"] * (end - start)
        elif scheme == "bioes":
            if start == end:
                tags[start] = f"S-{kind}"
            else:
                tags[start : end + 1] = (
                    [f"B-{kind}"] + [f"I-{kind}"] * (end - start - 1) + [f"E-{kind}"]
                )
        else:
            raise ValueError(f"unknown tagging scheme {scheme!r}; expected one of {SCHEMES}")
        previous = (kind, start, end)
    return tags


def convert(tags: Sequence[str], scheme: Scheme) -> list[str]:
    """Re-tag one sentence in ``scheme`` (through its conlleval spans)."""
    return tags_from_spans(len(tags), spans(tags), scheme)


def entity_types(tag_sets: Iterable[Iterable[str]]) -> list[str]:
    """The sorted entity types used by some tags."""
    return sorted({split_tag(t)[1] for tags in tag_sets for t in tags if t != OUTSIDE})


def label_set(types: Iterable[str], scheme: Scheme) -> list[str]:
    """Every tag of ``scheme`` over ``types``, ``O`` first, then by type and prefix."""
    order = {"B": 0, "I": 1, "E": 2, "S": 3}
    prefixes = sorted(PREFIXES[scheme], key=order.__getitem__)
    return [OUTSIDE] + [f"{p}-{t}" for t in sorted(set(types)) for p in prefixes]


def check_tag(tag: str, scheme: Scheme) -> str | None:
    """Why ``tag`` cannot occur in ``scheme`` (None when it can)."""
    if tag == OUTSIDE:
        return None
    prefix, sep, kind = tag.partition("-")
    if not sep or not kind or prefix not in PREFIXES[scheme]:
        allowed = "/".join(sorted(PREFIXES[scheme]))
        return f"expected O or a {allowed}-<TYPE> tag of the {scheme.upper()} scheme"
    return None
