"""Column-per-token entity files (CoNLL 2003, WNUT-17, Universal NER's ``.iob2``).

One token per line, a blank line between sentences, ``#`` comment lines allowed before a
sentence (Universal NER writes ``# sent_id = ...`` and ``# text = ...``); a ``#`` line
with a tab is a token (WNUT-17 tweets start with hashtags), and CoNLL 2003's
``-DOCSTART-`` lines are skipped. Each sentence
becomes one record with list columns ``tokens`` and ``tags``, ``sent_id`` (the
``# sent_id`` comment, else ``"<n>"``, the sentence's ordinal in the file) and ``_row``,
the line of its first token.

Which columns hold the token and its tag: ``layout: auto`` (default) reads Universal
NER's ``index<TAB>token<TAB>tag<TAB>...`` when the first field of a line is the word's
index 1, 2, 3..., and otherwise the first field as the token and the last as the tag
(CoNLL 2003 with its POS/chunk columns, WNUT-17's ``token<TAB>tag``); ``token_column`` /
``tag_column`` (0-based, negative from the end) pin them instead.

Errors name the file, the sentence (its ``sent_id``) and the line: a line with fewer
fields than the layout needs, a blank token or tag, a word index out of sequence.
Whether a tag fits the task's scheme is the task type's check (``ner``), since the reader
does not know the scheme.
"""

from __future__ import annotations

import re
from typing import Literal

import pandas as pd
from pydantic import BaseModel, ConfigDict

from mtl_pipeline.errors import DataError
from mtl_pipeline.readers.base import (
    COLUMNS_FROM,
    ROW_COLUMN,
    Reader,
    decode_utf8,
    no_rows_error,
    preview,
    read_bytes,
)

_INDEX = re.compile(r"[0-9]+")
_SENT_ID = re.compile(r"#\s*sent_id\s*=\s*(.*\S)\s*$")
_DOCSTART = "-DOCSTART-"


class ConllNerOptions(BaseModel):
    model_config = ConfigDict(extra="forbid")

    layout: Literal["auto", "indexed", "plain"] = "auto"
    """``indexed``: ``index token tag ...`` (Universal NER); ``plain``: token first, tag
    last (CoNLL 2003, WNUT-17); ``auto``: ``indexed`` when a sentence's first field is 1."""
    token_column: int | None = None
    """0-based field of the token (negative: from the end); overrides the layout."""
    tag_column: int | None = None
    """0-based field of the tag (negative: from the end); overrides the layout."""
    separator: Literal["tab", "whitespace"] = "tab"
    """Field separator: a tab (WNUT-17, Universal NER) or any run of spaces/tabs (CoNLL
    2003's space-separated files; tokens then cannot contain spaces)."""


class ConllNerReader(Reader):
    name = "conll_ner"
    description = "Token-per-line entity files (CoNLL 2003, WNUT-17, Universal NER .iob2)."
    Options = ConllNerOptions
    options: ConllNerOptions

    def _split(self, line: str) -> list[str]:
        return line.split("\t") if self.options.separator == "tab" else line.split()

    def read(self, path: str) -> pd.DataFrame:
        text = decode_utf8(path, read_bytes(path, "token-per-line entity sentences"))
        opts = self.options
        records: list[dict[str, object]] = []
        tokens: list[str] = []
        tags: list[str] = []
        start_line = 0
        sent_id: str | None = None
        indexed = False
        ordinal = 0

        def close() -> None:
            nonlocal tokens, tags, sent_id
            if tokens == [_DOCSTART]:  # CoNLL 2003's document separators are no sentences
                tokens = []
            if tokens:
                records.append(
                    {
                        "tokens": tokens,
                        "tags": tags,
                        "sent_id": sent_id if sent_id is not None else str(ordinal),
                        ROW_COLUMN: start_line,
                    }
                )
            tokens, tags, sent_id = [], [], None

        for lineno, raw_line in enumerate(text.split("\n"), start=1):
            line = raw_line.rstrip("\r")
            if not line.strip():
                close()
                continue
            fields = self._split(line)
            if line.startswith("#") and not tokens and _is_comment(line, fields, opts.separator):
                found = _SENT_ID.match(line)
                if found:
                    sent_id = found[1]
                continue
            if not tokens:
                ordinal += 1
                start_line = lineno
                indexed = opts.layout == "indexed" or (
                    opts.layout == "auto" and len(fields) >= 3 and fields[0] == "1"
                )
            name = sent_id if sent_id is not None else f"#{ordinal} (no sent_id)"
            where = f"{path}: sentence {name}: line {lineno}"
            token, tag = self._token_and_tag(fields, line, where, indexed, len(tokens) + 1)
            tokens.append(token)
            tags.append(tag)
        close()
        if not records:
            raise no_rows_error(path, "(no token lines)")
        frame = pd.DataFrame(records)
        frame.attrs[COLUMNS_FROM] = "the conll_ner reader (tokens, tags, sent_id)"
        return frame

    def _token_and_tag(
        self, fields: list[str], line: str, where: str, indexed: bool, position: int
    ) -> tuple[str, str]:
        """The word and tag of one token line (``position``: its expected word index)."""
        opts = self.options
        token_at = opts.token_column if opts.token_column is not None else (1 if indexed else 0)
        tag_at = opts.tag_column if opts.tag_column is not None else (2 if indexed else -1)
        needed = max(_width(token_at), _width(tag_at), 3 if indexed else 2)
        if len(fields) < needed:
            layout = "index, token, tag" if indexed else "token ... tag"
            raise DataError(
                f"{where}: expected at least {needed} "
                f"{'tab' if opts.separator == 'tab' else 'whitespace'}-separated fields "
                f"({layout}), found {len(fields)}: {preview(line)}."
            )
        if indexed and opts.token_column is None:
            if not _INDEX.fullmatch(fields[0]) or int(fields[0]) != position:
                raise DataError(
                    f"{where}: field 1 (word index): expected {position}, found "
                    f"{fields[0]!r} (a blank line must separate sentences)."
                )
        token, tag = fields[token_at].strip(), fields[tag_at].strip()
        if not token:
            raise DataError(f"{where}: the token field is empty; expected a word.")
        if not tag:
            raise DataError(f"{where}: the tag field is empty; expected O or B-/I-<TYPE>.")
        return token, tag


def _is_comment(line: str, fields: list[str], separator: str) -> bool:
    """``# sent_id = ...`` is a comment; ``#hashtag<TAB>O`` (WNUT-17 tweets) is a token.
    With tab separators a comment is a ``#`` line without a tab; with whitespace ones, a
    line starting ``# `` or a lone ``#word``."""
    if separator == "tab":
        return "\t" not in line
    return line.startswith("# ") or len(fields) < 2


def _width(index: int) -> int:
    """Fields a line needs for column ``index`` to exist."""
    return index + 1 if index >= 0 else -index
