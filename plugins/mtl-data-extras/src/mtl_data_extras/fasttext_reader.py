"""fastText's supervised text format: ``__label__<label> ... <text>``, one example a line.

Joulin, Grave, Bojanowski, Mikolov. "Bag of Tricks for Efficient Text Classification."
EACL 2017, arXiv:1607.01759; format documented at https://fasttext.cc/docs/en/supervised-tutorial.html.

Each non-blank line starts with one or more labels, each a whitespace-separated token
starting with the label prefix (``__label__`` by default), followed by the text::

    __label__positive a gripping, funny film
    __label__1 __label__sports the match went to extra time

Records have the columns ``label`` (the label, prefix removed), ``labels`` (every label of
the line, a list), ``text`` (the rest of the line, inner spacing kept) and ``_row`` (the
1-based line number). A task config then uses ``text_fields: [text]`` and
``label_field: label``. Unlike fastText's own trainer, a prefixed token *after* the text has
started is kept as text: labels are only the leading tokens.

A line with several labels is an error by default (``multi_label: error``), since a
classification task has one label per example; ``multi_label: first`` keeps the first.
"""

from __future__ import annotations

from typing import Literal

import pandas as pd
from mtl_pipeline.errors import DataError
from mtl_pipeline.readers.base import ROW_COLUMN, Reader, decode_utf8, read_bytes
from pydantic import BaseModel, ConfigDict, Field


class FastTextOptions(BaseModel):
    """Options of ``reader: {name: fasttext, ...}``."""

    model_config = ConfigDict(extra="forbid")

    label_prefix: str = Field(default="__label__", min_length=1, pattern=r"^\S+$")
    multi_label: Literal["error", "first"] = "error"


def _split_labels(line: str, prefix: str) -> tuple[list[str], str]:
    """(leading labels, remaining text) of one line."""
    labels: list[str] = []
    rest = line.lstrip()
    while rest.startswith(prefix):
        token, tail = _first_token(rest)
        labels.append(token[len(prefix) :])
        rest = tail.lstrip()
    return labels, rest.rstrip()


def _first_token(text: str) -> tuple[str, str]:
    """(text up to the first whitespace character, the rest after it)."""
    for i, ch in enumerate(text):
        if ch.isspace():
            return text[:i], text[i + 1 :]
    return text, ""


class FastTextReader(Reader):
    """Reads fastText ``__label__`` files into ``label``/``labels``/``text`` records."""

    name = "fasttext"
    description = "fastText supervised format: '__label__x text' lines (Joulin et al. 2017)."
    Options = FastTextOptions

    def read(self, path: str) -> pd.DataFrame:
        opts: FastTextOptions = self.options  # type: ignore[assignment]
        text = decode_utf8(path, read_bytes(path))
        records: list[dict[str, object]] = []
        for lineno, raw in enumerate(text.split("\n"), start=1):
            line = raw.rstrip("\r")
            if not line.strip():
                continue
            labels, body = _split_labels(line, opts.label_prefix)
            if not labels:
                raise DataError(
                    f"{path}: line {lineno}: no label; expected the line to start with "
                    f"{opts.label_prefix}<label>, found {line[:40]!r}."
                )
            if any(not label for label in labels):
                raise DataError(
                    f"{path}: line {lineno}: empty label (a bare {opts.label_prefix!r}); "
                    f"expected {opts.label_prefix}<label>."
                )
            if len(labels) > 1 and opts.multi_label == "error":
                raise DataError(
                    f"{path}: line {lineno}: {len(labels)} labels {labels}; expected one. Set "
                    "the reader option multi_label: first to keep the first label."
                )
            records.append({"label": labels[0], "labels": labels, "text": body, ROW_COLUMN: lineno})
        if not records:
            raise DataError(
                f"{path}: no examples found; expected '{opts.label_prefix}<label> text' lines."
            )
        return pd.DataFrame.from_records(records, columns=["label", "labels", "text", ROW_COLUMN])
