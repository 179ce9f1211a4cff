"""Apache Parquet files.

Records are numbered from 1 and errors say "row N" (``ROW_UNIT``): a Parquet file has
no lines. Text stored in a *binary* column is decoded as UTF-8 (an undecodable value is
an error naming its row and column), and a gzip-compressed file is read transparently,
as the text readers do.
"""

from __future__ import annotations

import gzip
import io
import zlib
from pathlib import Path

import pandas as pd

from mtl_pipeline.errors import DataError
from mtl_pipeline.readers.base import (
    COLUMNS_FROM,
    ROW_COLUMN,
    ROW_UNIT,
    Reader,
    decode_binary_columns,
    no_rows_error,
)


class ParquetReader(Reader):
    name = "parquet"
    description = "Apache Parquet; fields by column name, rows numbered from 1."

    def read(self, path: str) -> pd.DataFrame:
        file = Path(path)
        if not file.exists():
            raise DataError(f"{path}: file not found (resolved to {file.resolve()}).")
        if file.is_file() and file.stat().st_size == 0:
            raise DataError(f"{path}: file is empty; expected a Parquet file.")
        source: str | io.BytesIO = path
        if file.is_file():
            with file.open("rb") as handle:
                compressed = handle.read(2) == b"\x1f\x8b"
            if compressed:
                try:
                    source = io.BytesIO(gzip.decompress(file.read_bytes()))
                except (OSError, EOFError, zlib.error) as exc:
                    raise DataError(
                        f"{path}: starts like a gzip file but does not decompress ({exc}); "
                        "expected a complete gzip file, or a plain Parquet file."
                    ) from None
        try:
            frame = pd.read_parquet(source)
        except Exception as exc:  # pyarrow raises several unrelated types for bad files
            reason = str(exc).rstrip(".")
            raise DataError(
                f"{path}: not a readable Parquet file ({type(exc).__name__}: {reason}); "
                "expected a file written by pandas.to_parquet / pyarrow."
            ) from None
        if frame.empty:
            raise no_rows_error(path)
        if ROW_COLUMN in frame.columns:
            raise DataError(
                f"{path}: column {ROW_COLUMN!r} is reserved for the row number; expected "
                "other column names."
            )
        frame = frame.reset_index(drop=True)
        frame[ROW_COLUMN] = range(1, len(frame) + 1)
        frame.attrs[COLUMNS_FROM] = "the Parquet schema"
        frame.attrs[ROW_UNIT] = "row"
        return decode_binary_columns(frame, path)
