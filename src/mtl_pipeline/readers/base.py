"""The reader interface.

A reader loads one split of one task into a ``pandas.DataFrame`` of raw records: one
column per source field (named as in the source) plus ``_row``, the 1-based line or
record number in the source, which every later error message quotes. Selecting the
task's text/label columns and validating values is done once, by the ingestion code,
so that every reader gets the same checks and the same messages.

Readers may set ``frame.attrs[COLUMNS_FROM]`` to say where the column names came from
("line 1 (header)", "reader option `columns`"), so that a missing-column error can point
at the right place instead of only listing what was found, and ``frame.attrs[ROW_UNIT]``
to say what ``_row`` counts (``"line"``, the default, or ``"row"`` for record-based
formats such as Parquet, where there are no lines to look up).
"""

from __future__ import annotations

import bz2
import gzip
import lzma
import re
import zlib
from abc import ABC, abstractmethod
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pandas as pd
from pydantic import BaseModel

from mtl_pipeline.components import Component
from mtl_pipeline.errors import DataError

ROW_COLUMN = "_row"
#: ``DataFrame.attrs`` key: where the column names came from, quoted in error messages.
COLUMNS_FROM = "columns_from"
#: ``DataFrame.attrs`` key: what ``_row`` counts, ``"line"`` (default) or ``"row"``.
ROW_UNIT = "row_unit"

_UTF16_BOMS = (b"\xff\xfe", b"\xfe\xff")
_SURROGATE = re.compile("[\ud800-\udfff]")

#: Compressed formats read transparently: (magic bytes, name, decompress, error types).
_COMPRESSED = (
    (b"\x1f\x8b", "gzip", gzip.decompress, (OSError, EOFError, zlib.error)),
    (b"BZh", "bzip2", bz2.decompress, (OSError, EOFError, ValueError)),
    (b"\xfd7zXZ\x00", "xz", lzma.decompress, (lzma.LZMAError, EOFError)),
)
#: Binary formats that are not text, by their magic bytes, named in the error.
_BINARY_SIGNATURES = (
    (b"PK\x03\x04", "a zip archive (unzip it first; a .xlsx/.docx file is one too)"),
    (b"PAR1", "a Parquet file (use reader `parquet`)"),
    (b"\x28\xb5\x2f\xfd", "a zstd-compressed file (decompress it first, `zstd -d`)"),
    (b"ARROW1", "an Arrow file (use reader `hf_disk` for a saved dataset)"),
    (b"\x89PNG", "a PNG image"),
    (b"%PDF", "a PDF document"),
    (b"SQLite format 3\x00", "an SQLite database"),
)


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
    if "\r" in text and "\n" not in text:
        # Classic Mac OS line endings (CR only): with no LF anywhere, each CR ends a line.
        # (In a file that has LFs, a lone CR is data and is kept.)
        text = text.replace("\r", "\n")
    return text


def read_bytes(path: str | Path, expected: str = "a header and data rows") -> bytes:
    """The file's bytes, decompressed; raises ``DataError`` for a missing, directory,
    blank, corrupt-compressed or known-binary file.

    gzip, bzip2 and xz files are recognised by their first bytes (not by the name) and
    decompressed transparently, so ``train.tsv.gz`` works with every text reader. Other
    binary formats (zip, Parquet, images...) are named in the error instead of surfacing
    later as a baffling encoding error. ``expected`` completes "expected ..." in the
    empty-file message, so each format can say what a valid file of its kind holds.
    """
    file = Path(path)
    if not file.exists():
        raise DataError(f"{path}: file not found (resolved to {file.resolve()}).")
    if file.is_dir():
        raise DataError(f"{path}: is a directory; expected a file.")
    data = file.read_bytes()
    for magic, kind, decompress, errors in _COMPRESSED:
        if data.startswith(magic):
            try:
                data = decompress(data)
            except errors as exc:
                raise DataError(
                    f"{path}: starts like a {kind} file but does not decompress ({exc}); "
                    f"expected a complete {kind} file of text, or plain text."
                ) from None
            break
    for magic, kind in _BINARY_SIGNATURES:
        # A NUL byte near the start confirms binary (a text line may begin with "PAR1").
        if data.startswith(magic) and b"\x00" in data[:65536]:
            raise DataError(f"{path}: is {kind}; expected a text file ({expected}).")
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
                f"name for every column, found {preview_list(header, 20)}."
            )
    seen: dict[str, int] = {}
    for position, name in enumerate(header, start=1):
        if name in seen:
            raise DataError(
                f"{where}: duplicate column name {name!r} (columns {seen[name]} and "
                f"{position}); expected unique names, found {preview_list(header, 20)}."
            )
        seen[name] = position


def no_rows_error(path: str | Path, detail: str = "") -> DataError:
    """The error for a source that parsed but holds no records."""
    extra = f" {detail}" if detail else ""
    return DataError(f"{path}: no data rows{extra}; expected at least one example.")


def check_columns(
    frame: Any,
    path: str | Path,
    needed: Sequence[str],
    expected: str,
    hidden: Sequence[str] = (ROW_COLUMN,),
) -> None:
    """Raise ``DataError`` naming the columns of ``needed`` that ``frame`` lacks, what the
    task expected (``expected``, in words) and the columns found (capped; ``hidden``
    bookkeeping columns left out). The reader's ``COLUMNS_FROM`` note says where the
    names came from."""
    missing = [f for f in needed if f not in frame.columns]
    if not missing:
        return
    found = [c for c in frame.columns if c not in hidden]
    source = frame.attrs.get(COLUMNS_FROM)
    where = f"{path}: {source}" if source else str(path)
    raise DataError(
        f"{where}: missing column(s) {', '.join(map(repr, missing))}; expected {expected}; "
        f"columns found: {preview_list(found, 20)[1:-1]}."
    )


def preview(value: object, limit: int = 80) -> str:
    """``repr`` of a value, shortened so one bad row cannot flood the terminal."""
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def preview_list(values: Sequence[Any], limit: int = 10) -> str:
    """``[a, b, ...]`` of at most ``limit`` items, then "... and N more (M in all)".

    A label set read from an id column has one label per row; printing it whole would
    bury the message (and the terminal).
    """
    values = list(values)
    if len(values) <= limit:
        return repr(values)
    shown = ", ".join(preview(v, 40) for v in values[:limit])
    return f"[{shown}, ... and {len(values) - limit} more ({len(values)} in all)]"


def row_unit(frame: Any) -> str:
    """What a reader's ``_row`` counts: ``"line"`` unless the reader set ``ROW_UNIT``."""
    return str(getattr(frame, "attrs", {}).get(ROW_UNIT, "line"))


def decode_binary(value: Any, where: str) -> Any:
    """``value`` with UTF-8 ``bytes`` (also inside a list) decoded to ``str``.

    Parquet and Arrow may store text as a *binary* column; ``str(b"...")`` would turn
    every text into ``"b'...'"`` and train on that without a word of warning.
    """
    if isinstance(value, bytes | bytearray | memoryview):
        data = bytes(value)
        try:
            return data.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise DataError(
                f"{where}: binary value is not UTF-8 text (byte 0x{data[exc.start]:02x} at "
                f"offset {exc.start}, found {preview(data)}); expected a string or UTF-8 bytes."
            ) from None
    if _holds_bytes(value):
        return [decode_binary(v, f"{where}: item {i}") for i, v in enumerate(value, start=1)]
    return value


def _holds_bytes(value: Any) -> bool:
    """A list-like value (list, tuple, numpy array) with a ``bytes`` item."""
    if isinstance(value, str | bytes) or not hasattr(value, "__len__"):
        return False
    if not isinstance(value, list | tuple) and not hasattr(value, "tolist"):
        return False
    return any(isinstance(v, bytes | bytearray | memoryview) for v in value)


def decode_binary_columns(frame: pd.DataFrame, path: str | Path) -> pd.DataFrame:
    """Decode every binary cell of ``frame`` in place (see ``decode_binary``); an invalid
    one is a ``DataError`` naming the file, the row (``ROW_COLUMN``) and the column."""
    unit = row_unit(frame)
    for column in frame.columns:
        if column == ROW_COLUMN or frame[column].dtype != object:
            continue
        values = frame[column].tolist()
        if not any(
            isinstance(v, bytes | bytearray | memoryview) or _holds_bytes(v) for v in values
        ):
            continue
        frame[column] = [
            decode_binary(v, f"{path}: {unit} {row}: field {column}")
            for v, row in zip(values, frame[ROW_COLUMN].tolist(), strict=True)
        ]
    return frame


def check_unicode(text: str, where: str) -> str:
    """``text`` unless it holds a lone UTF-16 surrogate, which no file can store as UTF-8.

    JSON allows the escape ``"\\ud800"`` without its partner; Python keeps it as a lone
    surrogate that fails much later, in the tokenizer or the Parquet writer, far from
    the line that holds it.
    """
    if text.isascii():
        return text
    found = _SURROGATE.search(text)
    if found:
        raise DataError(
            f"{where}: contains a lone UTF-16 surrogate U+{ord(found.group()):04X} at character "
            f"{found.start() + 1}; expected valid Unicode text (in JSON, a \\ud800-\\udbff "
            "escape must be followed by a \\udc00-\\udfff one)."
        )
    return text
