"""Comma (or other delimiter) separated files with a header line, RFC 4180 quoting."""

from __future__ import annotations

import csv
import io

import pandas as pd
from pydantic import BaseModel, ConfigDict, Field

from mtl_pipeline.errors import DataError
from mtl_pipeline.readers.base import ROW_COLUMN, Reader, decode_utf8, read_bytes


class CsvOptions(BaseModel):
    model_config = ConfigDict(extra="forbid")

    delimiter: str = Field(default=",", min_length=1, max_length=1)
    quotechar: str = Field(default='"', min_length=1, max_length=1)


class CsvReader(Reader):
    name = "csv"
    description = "CSV with a header row (RFC 4180 quoting; delimiter option)."
    Options = CsvOptions

    def read(self, path: str) -> pd.DataFrame:
        opts: CsvOptions = self.options  # type: ignore[assignment]
        text = decode_utf8(path, read_bytes(path))
        reader = csv.reader(
            io.StringIO(text, newline=""), delimiter=opts.delimiter, quotechar=opts.quotechar, strict=True
        )
        try:
            header = next(reader)
            records, rows = [], []
            for fields in reader:
                if not fields or (len(fields) == 1 and not fields[0].strip()):
                    continue
                if len(fields) != len(header):
                    raise DataError(
                        f"{path}: line {reader.line_num}: expected {len(header)} fields "
                        f"({', '.join(header)}), found {len(fields)}."
                    )
                records.append(fields)
                rows.append(reader.line_num)
        except csv.Error as exc:
            raise DataError(f"{path}: line {reader.line_num}: malformed CSV: {exc}.") from None
        if not records:
            raise DataError(f"{path}: has a header but no data rows.")
        frame = pd.DataFrame(records, columns=header, dtype=object)
        frame[ROW_COLUMN] = rows
        return frame
