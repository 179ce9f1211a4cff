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
from mtl_pipeline.readers.base import (
    COLUMNS_FROM,
    ROW_COLUMN,
    Reader,
    check_header,
    decode_utf8,
    no_rows_error,
    preview,
    preview_list,
    read_bytes,
)


class GlueTsvOptions(BaseModel):
    model_config = ConfigDict(extra="forbid")

    header: bool = True
    columns: list[str] | None = None
    """Column names, required when ``header`` is false (CoLA); with a header, they rename
    its columns (same count required)."""


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
            if not lines[0].strip():
                raise DataError(
                    f"{path}: line 1: header line is blank; expected tab-separated column "
                    "names (for a file without a header set reader option `header: false` "
                    "and list `columns`)."
                )
            header = [h.strip() for h in lines[0].split("\t")]
            check_header(path, header)
            columns_from = "line 1 (header)"
            if opts.columns and opts.columns != header:
                if len(opts.columns) != len(header):
                    raise DataError(
                        f"{path}: line 1: reader option `columns` names {len(opts.columns)} "
                        f"columns {preview_list(opts.columns, 20)} but the header has "
                        f"{len(header)} {preview_list(header, 20)}; expected the same number."
                    )
                header = opts.columns
                columns_from = "reader option `columns` (renaming the header on line 1)"
            first_data_line = 2
            body = lines[1:]
        else:
            if not opts.columns:
                raise DataError(
                    f"{path}: reader glue_tsv has header: false but no `columns`; "
                    "list the column names in reader options."
                )
            header, body = opts.columns, lines
            check_header(path, header, line=None)
            columns_from = "reader option `columns`"
        width = len(header)
        records: list[list[str]] = []
        rows: list[int] = []
        for offset, line in enumerate(body):
            lineno = first_data_line + offset
            # A blank line (or stray spaces) is a gap, not a record. A line with tabs is a
            # record even if every field is empty, and in a one-column file a line of spaces
            # is one too: both then fail as empty text instead of vanishing.
            if not line or (width > 1 and "\t" not in line and not line.strip()):
                continue
            fields = line.split("\t")
            if len(fields) != width:
                raise DataError(
                    f"{path}: line {lineno}: expected {width} tab-separated fields "
                    f"({', '.join(header)}), found {len(fields)}: {preview(fields)}."
                )
            records.append(fields)
            rows.append(lineno)
        if not records:
            raise no_rows_error(path, "after the header on line 1" if opts.header else "")
        frame = pd.DataFrame(records, columns=header, dtype=object)
        frame[ROW_COLUMN] = rows
        frame.attrs[COLUMNS_FROM] = columns_from
        return frame
