"""Apache Parquet files."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from mtl_pipeline.errors import DataError
from mtl_pipeline.readers.base import ROW_COLUMN, Reader


class ParquetReader(Reader):
    name = "parquet"
    description = "Apache Parquet; fields by column name, rows numbered from 1."

    def read(self, path: str) -> pd.DataFrame:
        if not Path(path).exists():
            raise DataError(f"{path}: file not found (resolved to {Path(path).resolve()}).")
        try:
            frame = pd.read_parquet(path)
        except Exception as exc:  # pyarrow raises several unrelated types for bad files
            raise DataError(f"{path}: not a readable Parquet file: {exc}.") from None
        frame = frame.reset_index(drop=True)
        frame[ROW_COLUMN] = range(1, len(frame) + 1)
        return frame
