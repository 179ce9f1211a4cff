"""The reader interface.

A reader loads one split of one task into a ``pandas.DataFrame`` of raw records: one
column per source field (named as in the source) plus ``_row``, the 1-based line or
record number in the source, which every later error message quotes. Selecting the
task's text/label columns and validating values is done once, by the ingestion code,
so that every reader gets the same checks and the same messages.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from pathlib import Path

import pandas as pd
from pydantic import BaseModel

from mtl_pipeline.components import Component
from mtl_pipeline.errors import DataError

ROW_COLUMN = "_row"


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
    """Decode UTF-8 (a leading BOM is dropped); a bad byte is reported with its line."""
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        raise DataError(
            f"{path}: line {line}: not valid UTF-8 (byte 0x{data[exc.start]:02x} at offset "
            f"{exc.start}); expected a UTF-8 text file. Re-encode it, e.g. "
            f"`iconv -f latin1 -t utf-8`."
        ) from None


def read_bytes(path: str | Path) -> bytes:
    file = Path(path)
    if not file.exists():
        raise DataError(f"{path}: file not found (resolved to {file.resolve()}).")
    if file.is_dir():
        raise DataError(f"{path}: is a directory; expected a file.")
    data = file.read_bytes()
    if not data.strip():
        raise DataError(f"{path}: file is empty; expected a header and data rows.")
    return data
