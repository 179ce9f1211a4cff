"""JSON Lines: one JSON object per line."""

from __future__ import annotations

import json

import pandas as pd

from mtl_pipeline.errors import DataError
from mtl_pipeline.readers.base import ROW_COLUMN, Reader, decode_utf8, read_bytes


class JsonLinesReader(Reader):
    name = "jsonl"
    description = "JSON Lines: one object per line; fields by key."

    def read(self, path: str) -> pd.DataFrame:
        records, rows = [], []
        for lineno, line in enumerate(decode_utf8(path, read_bytes(path)).split("\n"), start=1):
            if not line.strip():
                continue
            try:
                obj = json.loads(line)
            except json.JSONDecodeError as exc:
                raise DataError(f"{path}: line {lineno}: invalid JSON: {exc.msg} (column {exc.colno}).") from None
            if not isinstance(obj, dict):
                raise DataError(
                    f"{path}: line {lineno}: expected a JSON object, found {type(obj).__name__}."
                )
            records.append(obj)
            rows.append(lineno)
        frame = pd.DataFrame.from_records(records)
        frame[ROW_COLUMN] = rows
        return frame
