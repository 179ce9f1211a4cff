"""GLUE's tab-separated files, read exactly as GLUE writes them.

Quoting is off (MRPC and SST-2 texts contain bare ``"``), a UTF-8 BOM is dropped (MRPC's
header starts with one), and CoLA has no header, so column names come from ``columns``.
Every line must have the header's number of fields: a shifted column is an error with
its line number, never a silently misaligned label.
"""

from __future__ import annotations

import pandas as pd
from pydantic import BaseModel, ConfigDict

from mtl_pipeline.errors import DataError
from mtl_pipeline.readers.base import ROW_COLUMN, Reader, decode_utf8, read_bytes


class GlueTsvOptions(BaseModel):
    model_config = ConfigDict(extra="forbid")

    header: bool = True
    columns: list[str] | None = None
    """Column names, required when ``header`` is false (CoLA)."""


class GlueTsvReader(Reader):
    name = "glue_tsv"
    description = "GLUE-style TSV: quoting off, BOM-tolerant, with or without header."
    Options = GlueTsvOptions

    def read(self, path: str) -> pd.DataFrame:
        opts: GlueTsvOptions = self.options  # type: ignore[assignment]
        lines = decode_utf8(path, read_bytes(path)).split("\n")
        if lines and lines[-1] == "":
            lines.pop()
        lines = [line[:-1] if line.endswith("\r") else line for line in lines]
        first_data_line = 1
        if opts.header:
            header = [h.strip() for h in lines[0].split("\t")]
            if opts.columns and opts.columns != header:
                header = opts.columns
            first_data_line = 2
            body = lines[1:]
        else:
            if not opts.columns:
                raise DataError(
                    f"{path}: reader glue_tsv has header: false but no `columns`; "
                    "list the column names in reader options."
                )
            header, body = opts.columns, lines
        if len(set(header)) != len(header):
            raise DataError(f"{path}: line 1: duplicate column names in header {header}.")
        if not body:
            raise DataError(f"{path}: has a header but no data rows.")
        width = len(header)
        records: list[list[str]] = []
        rows: list[int] = []
        for offset, line in enumerate(body):
            lineno = first_data_line + offset
            if not line.strip():
                continue
            fields = line.split("\t")
            if len(fields) != width:
                raise DataError(
                    f"{path}: line {lineno}: expected {width} tab-separated fields "
                    f"({', '.join(header)}), found {len(fields)}."
                )
            records.append(fields)
            rows.append(lineno)
        frame = pd.DataFrame(records, columns=header, dtype=object)
        frame[ROW_COLUMN] = rows
        return frame
