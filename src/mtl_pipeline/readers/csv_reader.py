"""Comma (or other delimiter) separated files with a header line, RFC 4180 quoting.

``strict`` parsing is on, so a quote left open does not silently swallow the rest of the
file into one field; the error then points at the line where the quoted field *started*,
which is where the stray quote is, not at the end of the file where parsing gave up.
``_row`` is also the line a record starts on (a quoted field may span lines).
"""

from __future__ import annotations

import csv
import io

import pandas as pd
from pydantic import BaseModel, ConfigDict, Field

from mtl_pipeline.errors import DataError
from mtl_pipeline.readers.base import (
    COLUMNS_FROM,
    ROW_COLUMN,
    Reader,
    check_header,
    decode_utf8,
    no_rows_error,
    preview,
    read_bytes,
)

#: Python's default limit (128 KiB per field) is lower than some real documents; raising
#: it is process-wide but only ever allows more.
_FIELD_LIMIT = 2**27
csv.field_size_limit(max(csv.field_size_limit(), _FIELD_LIMIT))


class CsvOptions(BaseModel):
    model_config = ConfigDict(extra="forbid")

    delimiter: str = Field(default=",", min_length=1, max_length=1)
    quotechar: str = Field(default='"', min_length=1, max_length=1)


def _csv_problem(exc: csv.Error, opts: CsvOptions, start: int, line: int) -> tuple[int, str]:
    """(line to report, explanation) for one of the csv module's terse messages."""
    q, d = opts.quotechar, opts.delimiter
    message = str(exc)
    if "unexpected end of data" in message:
        return start, (
            f"a quoted field opens on this line but its closing {q} never comes (parsing "
            f"reached the end of the file at line {line}); expected a closing {q}. Inside a "
            f"quoted field write a literal quote as {q}{q}"
        )
    if "expected after" in message:
        return line, (
            f"stray {q} after the closing quote of a quoted field; expected the delimiter "
            f"{d!r} or the end of the line right after a closing quote. Inside a quoted field "
            f"write a literal quote as {q}{q}"
        )
    if "field larger than field limit" in message:
        return start, f"a field is longer than {_FIELD_LIMIT} characters; expected shorter fields"
    return line, f"malformed CSV ({message})"


class CsvReader(Reader):
    name = "csv"
    description = "CSV with a header row (RFC 4180 quoting; delimiter option)."
    Options = CsvOptions

    def read(self, path: str) -> pd.DataFrame:
        opts: CsvOptions = self.options  # type: ignore[assignment]
        text = decode_utf8(path, read_bytes(path))
        reader = csv.reader(
            io.StringIO(text, newline=""),
            delimiter=opts.delimiter,
            quotechar=opts.quotechar,
            strict=True,
        )
        records: list[list[str]] = []
        rows: list[int] = []
        start = 1
        try:
            header = next(reader)
            check_header(path, header)
            width = len(header)
            while True:
                start = reader.line_num + 1
                fields = next(reader, None)
                if fields is None:
                    break
                # A blank line is a gap, not a record; in a one-column file a line of spaces
                # is kept, so that it fails as empty text instead of vanishing.
                if not fields or (width > 1 and len(fields) == 1 and not fields[0].strip()):
                    continue
                if len(fields) != width:
                    raise DataError(
                        f"{path}: line {start}: expected {width} fields "
                        f"({', '.join(header)}) separated by {opts.delimiter!r}, found "
                        f"{len(fields)}: {preview(fields)}. A field that contains the "
                        f"delimiter must be quoted with {opts.quotechar}."
                    )
                records.append(fields)
                rows.append(start)
        except csv.Error as exc:
            line, problem = _csv_problem(exc, opts, start, reader.line_num)
            raise DataError(f"{path}: line {line}: {problem}.") from None
        if not records:
            raise no_rows_error(path, "after the header on line 1")
        frame = pd.DataFrame(records, columns=header, dtype=object)
        frame[ROW_COLUMN] = rows
        frame.attrs[COLUMNS_FROM] = "line 1 (header)"
        return frame
