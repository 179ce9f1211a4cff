"""The reader interface.

A reader loads one split of one task into a ``pandas.DataFrame`` of raw records: one
column per source field (named as in the source) plus ``_row``, the 1-based line or
record number in the source, which every later error message quotes. Selecting the
task's text/label columns and validating values is done once, by the ingestion code,
so that every reader gets the same checks and the same messages.

Readers may set ``frame.attrs[COLUMNS_FROM]`` to say where the column names came from
("line 1 (header)", "reader option `columns`"), so that a missing-column error can point
at the right place instead of only listing what was found.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Sequence
from pathlib import Path

import pandas as pd
from pydantic import BaseModel

from mtl_pipeline.components import Component
from mtl_pipeline.errors import DataError

ROW_COLUMN = "_row"
#: ``DataFrame.attrs`` key: where the column names came from, quoted in error messages.
COLUMNS_FROM = "columns_from"

_UTF16_BOMS = (b"\xff\xfe", b"\xfe\xff")


class Reader(Component, ABC):
    """Loads one data split. Subclasses set ``name``, ``description`` and ``Options``."""

    def __init__(self, options: BaseModel) -> None:
        self.options = options

    @abstractmethod
    def read(self, path: str) -> pd.DataFrame:
        """Return the records at ``path`` with a ``_row`` column (1-based source position).

        Raise ``DataError`` naming ``path`` and the line for anything malformed.
        """


def decode_utf8(path: str | Path, data: bytes) -> str:
    """Decode UTF-8 (a leading BOM is dropped); a bad byte is reported with its line.

    A NUL character is refused too: it never occurs in text, and a UTF-16 file without a
    byte-order mark decodes as "valid" UTF-8 with a NUL between every letter, which would
    otherwise surface much later as a baffling column-count error.
    """
    if data.startswith(_UTF16_BOMS):
        raise DataError(
            f"{path}: line 1: file starts with a UTF-16 byte-order mark; expected UTF-8 text. "
            f"Re-encode it, e.g. `iconv -f utf-16 -t utf-8`."
        )
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        raise DataError(
            f"{path}: line {line}: not valid UTF-8 (byte 0x{data[exc.start]:02x} at offset "
            f"{exc.start}); expected a UTF-8 text file. Re-encode it, e.g. "
            f"`iconv -f latin1 -t utf-8`."
        ) from None
    nul = text.find("\x00")
    if nul >= 0:
        line = text.count("\n", 0, nul) + 1
        raise DataError(
            f"{path}: line {line}: contains a NUL character (\\x00); expected text. The file "
            "may be UTF-16 without a byte-order mark, or binary."
        )
    return text


def read_bytes(path: str | Path, expected: str = "a header and data rows") -> bytes:
    """The file's bytes; a missing, directory or blank file is a ``DataError``.

    ``expected`` completes "expected ..." in the empty-file message, so each format can
    say what a valid file of its kind holds.
    """
    file = Path(path)
    if not file.exists():
        raise DataError(f"{path}: file not found (resolved to {file.resolve()}).")
    if file.is_dir():
        raise DataError(f"{path}: is a directory; expected a file.")
    data = file.read_bytes()
    if not data.removeprefix(b"\xef\xbb\xbf").strip():  # a lone BOM is empty too
        raise DataError(f"{path}: file is empty; expected {expected}.")
    return data


def check_header(path: str | Path, header: Sequence[str], line: int | None = 1) -> None:
    """Column names must be non-empty and unique.

    pandas would silently drop all but one of two same-named columns, so a duplicated
    header could make the task read the wrong column without any error.
    """
    where = f"{path}: line {line}" if line is not None else f"{path}"
    for position, name in enumerate(header, start=1):
        if not str(name).strip():
            raise DataError(
                f"{where}: column {position} of the header has an empty name; expected a "
                f"name for every column, found {list(header)!r}."
            )
    seen: dict[str, int] = {}
    for position, name in enumerate(header, start=1):
        if name in seen:
            raise DataError(
                f"{where}: duplicate column name {name!r} (columns {seen[name]} and "
                f"{position}); expected unique names, found {list(header)!r}."
            )
        seen[name] = position


def no_rows_error(path: str | Path, detail: str = "") -> DataError:
    """The error for a source that parsed but holds no records."""
    extra = f" {detail}" if detail else ""
    return DataError(f"{path}: no data rows{extra}; expected at least one example.")


def preview(value: object, limit: int = 80) -> str:
    """``repr`` of a value, shortened so one bad row cannot flood the terminal."""
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."
