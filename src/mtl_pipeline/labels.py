"""One spelling per class label, shared by the data (ingestion) and the config (``labels``).

A class label is a name. Readers hand labels over as strings, ints, floats or numpy
scalars depending on the format (``1`` in JSON, ``"1"`` in a TSV, ``1.0`` in a Parquet
float column, ``"1.0"`` from a spreadsheet export), and YAML turns ``labels: [0, 1]`` into
ints. If each became its own string, ``"1"`` and ``"1.0"`` would be two classes that
split one class's examples. So every label goes through ``label_text``: surrounding
whitespace is dropped and a whole number, however spelt, is written as an integer
(``1``, ``1.0``, ``"1.00"``, ``"1e0"``: ``"1"``); a non-integral float value is written
in its shortest form (``0.5``).

A non-integral number written as text is kept as written: ``"1.10"`` and ``"1.1"`` are
one number but may be two codes (sections, versions), and merging them silently would be
worse than asking. Such pairs, and spellings that differ only in case or inner
whitespace, share a ``spelling_key``; ingestion and the config refuse two labels with
one key, since which spelling is right is not ours to guess.

The config validation uses this module, so it imports nothing heavy.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable
from decimal import Decimal, InvalidOperation
from typing import Any

from mtl_pipeline.readers.base import preview

_NUMBER = re.compile(r"[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?")
#: Exponents beyond this are kept as written (``1e999999`` would build a huge integer).
_MAX_EXPONENT = 30


class LabelValueError(ValueError):
    """A value that cannot be a class label; the message says what was found."""


def _number_text(number: Decimal) -> str:
    if number == number.to_integral_value():
        return str(int(number))
    return format(number.normalize(), "f")


def label_text(value: Any) -> str:
    """The canonical text of one class label; ``LabelValueError`` if it cannot be one.

    Booleans become ``"1"``/``"0"`` (a JSON ``true`` label); the config refuses them
    before calling this, because there a boolean is YAML's reading of ``yes``/``no``.
    """
    if type(value).__module__ == "numpy" and getattr(value, "ndim", None) == 0:
        value = value.item()  # numpy scalars: np.float32(1.0) must read as 1, not "1.0"
    if value is None or (isinstance(value, float) and math.isnan(value)):
        raise LabelValueError("label is missing; expected a class label")
    if isinstance(value, bool):
        return str(int(value))
    if isinstance(value, dict | list | tuple | set) or hasattr(value, "tolist"):
        raise LabelValueError(
            f"expected a class label (a string or a number), found {type(value).__name__} "
            f"{preview(value)}"
        )
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if not math.isfinite(value):
            raise LabelValueError(f"expected a class label, found the number {value}")
        return _number_text(Decimal(repr(value)))
    text = str(value).strip()
    if not text:
        raise LabelValueError("label is empty; expected a class label")
    number = _as_number(text)
    if number is not None and number == number.to_integral_value():
        return str(int(number))
    return text


def _as_number(text: str) -> Decimal | None:
    """``text`` as an exact number, or None when it is not one (or absurdly large)."""
    if not _NUMBER.fullmatch(text):
        return None
    try:
        number = Decimal(text)
    except InvalidOperation:  # pragma: no cover - the pattern only admits numbers
        return None
    return number if abs(number.adjusted()) <= _MAX_EXPONENT else None


def spelling_key(label: str) -> str:
    """Labels with the same key differ only in letter case, inner whitespace or the
    writing of one number (``"0.5"`` / ``"0.50"``)."""
    number = _as_number(label.strip())
    if number is not None:
        return _number_text(number)
    return " ".join(label.split()).casefold()


def variant_spellings(labels: Iterable[str]) -> list[list[str]]:
    """Groups (of two or more) of distinct labels that share a ``spelling_key``."""
    groups: dict[str, list[str]] = {}
    for label in labels:
        group = groups.setdefault(spelling_key(label), [])
        if label not in group:
            group.append(label)
    return [group for group in groups.values() if len(group) > 1]
