"""JSON Lines: one JSON object per line.

Only ``\\n`` ends a record (``str.splitlines`` would also split on U+2028 and other
separators that are legal, unescaped, inside a JSON string). Keys may differ between
lines; a key absent from a line reads as missing, which ingestion reports for that line.
"""

from __future__ import annotations

import json

import pandas as pd

from mtl_pipeline.errors import DataError
from mtl_pipeline.readers.base import (
    COLUMNS_FROM,
    ROW_COLUMN,
    Reader,
    check_unicode,
    decode_utf8,
    no_rows_error,
    preview,
    read_bytes,
)


class _DuplicateKey(ValueError):
    def __init__(self, key: str) -> None:
        super().__init__(key)
        self.key = key


def _no_duplicates(pairs: list[tuple[str, object]]) -> dict[str, object]:
    """``json.loads`` keeps the last of two equal keys; a record saying both is ambiguous."""
    obj: dict[str, object] = {}
    for key, value in pairs:
        if key in obj:
            raise _DuplicateKey(key)
        obj[key] = value
    return obj


def _check_strings(value: object, where: str) -> None:
    """Every string in ``value`` (nested lists and objects too) is valid Unicode."""
    if isinstance(value, str):
        check_unicode(value, where)
    elif isinstance(value, list):
        for position, item in enumerate(value, start=1):
            _check_strings(item, f"{where}: item {position}")
    elif isinstance(value, dict):
        for key, item in value.items():
            _check_strings(key, where)
            _check_strings(item, f"{where}.{key}")


class JsonLinesReader(Reader):
    name = "jsonl"
    description = "JSON Lines: one object per line; fields by key."

    def read(self, path: str) -> pd.DataFrame:
        records, rows = [], []
        text = decode_utf8(path, read_bytes(path, "one JSON object per line"))
        for lineno, line in enumerate(text.split("\n"), start=1):
            if not line.strip():
                continue
            try:
                obj = json.loads(line, object_pairs_hook=_no_duplicates)
            except json.JSONDecodeError as exc:
                raise DataError(
                    f"{path}: line {lineno}: invalid JSON: {exc.msg} (column {exc.colno}); "
                    f"expected one JSON object per line, found {preview(line)}."
                ) from None
            except _DuplicateKey as exc:
                raise DataError(
                    f"{path}: line {lineno}: field {exc.key}: key appears twice in one object; "
                    "expected each key once."
                ) from None
            except RecursionError:
                raise DataError(
                    f"{path}: line {lineno}: JSON nested too deeply; expected a flat object."
                ) from None
            if not isinstance(obj, dict):
                raise DataError(
                    f"{path}: line {lineno}: expected a JSON object, found "
                    f"{type(obj).__name__} {preview(obj)}."
                )
            if "\\u" in line:  # a surrogate can only come from an escape
                for key, value in obj.items():
                    _check_strings(key, f"{path}: line {lineno}: key")
                    _check_strings(value, f"{path}: line {lineno}: field {key}")
            records.append(obj)
            rows.append(lineno)
        if not records:
            raise no_rows_error(path)
        frame = pd.DataFrame.from_records(records)
        if ROW_COLUMN in frame.columns:
            line = next(r for r, obj in zip(rows, records, strict=True) if ROW_COLUMN in obj)
            raise DataError(
                f"{path}: line {line}: key {ROW_COLUMN!r} is reserved for the line number; "
                "expected other key names."
            )
        frame[ROW_COLUMN] = rows
        frame.attrs[COLUMNS_FROM] = "the objects' keys"
        return frame
