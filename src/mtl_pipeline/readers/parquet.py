"""Apache Parquet files."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from mtl_pipeline.errors import DataError
from mtl_pipeline.readers.base import COLUMNS_FROM, ROW_COLUMN, Reader, no_rows_error


class ParquetReader(Reader):
    name = "parquet"
    description = "Apache Parquet; fields by column name, rows numbered from 1."

    def read(self, path: str) -> pd.DataFrame:
        file = Path(path)
        if not file.exists():
            raise DataError(f"{path}: file not found (resolved to {file.resolve()}).")
        if file.is_file() and file.stat().st_size == 0:
            raise DataError(f"{path}: file is empty; expected a Parquet file.")
        try:
            frame = pd.read_parquet(path)
        except Exception as exc:  # pyarrow raises several unrelated types for bad files
            reason = str(exc).rstrip(".")
            raise DataError(
                f"{path}: not a readable Parquet file ({type(exc).__name__}: {reason}); "
                "expected a file written by pandas.to_parquet / pyarrow."
            ) from None
        if frame.empty:
            raise no_rows_error(path)
        frame = frame.reset_index(drop=True)
        frame[ROW_COLUMN] = range(1, len(frame) + 1)
        frame.attrs[COLUMNS_FROM] = "the Parquet schema"
        return frame
