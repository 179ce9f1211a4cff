"""CoNLL-U (Universal Dependencies): one sentence per block, one token per line.

Multi-word token ranges (``3-4``) and empty nodes (``5.1``) are skipped, as UD's own
evaluation does for UPOS and for parsing. Each sentence becomes one record with list
columns ``tokens``, ``upos``, ``xpos``, ``lemmas``, ``deprel``, ``heads`` (integers, 0 = root;
None for a sentence whose HEAD column is ``_``), ``sent_id`` (the ``# sent_id`` comment, else
``#<n> (no sent_id)``) and ``_row`` = the line of its first token.

The checks are the ones that would otherwise misalign tags silently: every token line has
ten tab-separated fields, word IDs count 1, 2, 3... within a sentence, range and empty-node
IDs are well formed, and the fields that become columns are not blank (CoNLL-U writes
``_`` for "no value"). A HEAD must be an integer word ID of the same sentence (or 0), and
the heads of a sentence must reach the root without a cycle. HEAD errors name the file,
the sentence (its ``sent_id``) and the line.
"""

from __future__ import annotations

import re

import pandas as pd

from mtl_pipeline.errors import DataError
from mtl_pipeline.parsing.tree_decoding import tree_problem
from mtl_pipeline.readers.base import (
    COLUMNS_FROM,
    ROW_COLUMN,
    Reader,
    decode_utf8,
    no_rows_error,
    preview,
    read_bytes,
)

_FIELD_NAMES = ("ID", "FORM", "LEMMA", "UPOS", "XPOS", "FEATS", "HEAD", "DEPREL", "DEPS", "MISC")
_FIELDS = len(_FIELD_NAMES)
_WORD_ID = re.compile(r"[0-9]+")
_RANGE_ID = re.compile(r"([0-9]+)-([0-9]+)")
_EMPTY_NODE_ID = re.compile(r"[0-9]+\.[0-9]+")
_SENT_ID = re.compile(r"#\s*sent_id\s*=\s*(.*\S)\s*$")
#: (field index, column) for the fields a record keeps.
_KEPT = ((1, "tokens"), (2, "lemmas"), (3, "upos"), (4, "xpos"), (7, "deprel"))


class ConlluReader(Reader):
    name = "conllu"
    description = "CoNLL-U sentences: tokens plus UPOS/XPOS/lemma/deprel lists."

    def read(self, path: str) -> pd.DataFrame:
        text = decode_utf8(path, read_bytes(path, "CoNLL-U sentences"))
        sentences: list[dict[str, object]] = []
        current: dict[str, list[str]] | None = None
        start_line = 0
        expected_id = 1
        sent_id: str | None = None

        def close() -> None:
            nonlocal current, sent_id
            if current is not None and current["tokens"]:
                name = sent_id if sent_id is not None else f"#{len(sentences) + 1} (no sent_id)"
                record = {**current, ROW_COLUMN: start_line, "sent_id": name}
                record["heads"] = _sentence_heads(
                    f"{path}: sentence {name}", start_line, current.pop("_heads")
                )
                sentences.append({**current, **record})
            current = None
            sent_id = None

        for lineno, line in enumerate(text.split("\n"), start=1):
            line = line.rstrip("\r")
            if not line.strip():
                close()
                continue
            if line.startswith("#"):
                found = _SENT_ID.match(line)
                if found and current is None:
                    sent_id = found[1]
                continue
            where = f"{path}: line {lineno}"
            fields = line.split("\t")
            if len(fields) != _FIELDS:
                raise DataError(
                    f"{where}: expected {_FIELDS} tab-separated CoNLL-U fields "
                    f"({' '.join(_FIELD_NAMES)}), found {len(fields)}: {preview(line)}."
                )
            token_id = fields[0]
            if _EMPTY_NODE_ID.fullmatch(token_id):
                continue
            multiword = _RANGE_ID.fullmatch(token_id)
            if multiword:
                first, last = int(multiword[1]), int(multiword[2])
                next_id = 1 if current is None else expected_id
                if first != next_id or last <= first:
                    raise DataError(
                        f"{where}: field ID: expected a multi-word range {next_id}-N with "
                        f"N > {next_id} (it precedes its words), found {token_id!r}."
                    )
                continue
            if not _WORD_ID.fullmatch(token_id):
                raise DataError(
                    f"{where}: field ID: expected an integer word ID (or a range like 3-4, "
                    f"or an empty node like 5.1), found {token_id!r}."
                )
            if current is None:
                current = {column: [] for _, column in _KEPT}
                current["_heads"] = []
                start_line, expected_id = lineno, 1
            if int(token_id) != expected_id:
                hint = " (a blank line must separate sentences)" if int(token_id) == 1 else ""
                raise DataError(
                    f"{where}: field ID: expected word {expected_id}, found {token_id}{hint}."
                )
            expected_id += 1
            for index, column in _KEPT:
                if not fields[index].strip():
                    raise DataError(
                        f"{where}: field {_FIELD_NAMES[index]}: empty; expected a value "
                        "(CoNLL-U writes `_` for none)."
                    )
                current[column].append(fields[index])
            current["_heads"].append((lineno, fields[6]))
        close()
        if not sentences:
            raise no_rows_error(path, "(no token lines)")
        frame = pd.DataFrame(sentences)
        frame.attrs[COLUMNS_FROM] = "the CoNLL-U reader (tokens, lemmas, upos, xpos, deprel)"
        return frame


def _sentence_heads(path: str, start_line: int, heads: list[tuple[int, str]]) -> list[int] | None:
    """The sentence's heads as integers, checked; None when the file gives no heads (``_``)."""
    if all(value == "_" for _, value in heads):
        return None
    values = []
    for word, (lineno, value) in enumerate(heads, start=1):
        if not _WORD_ID.fullmatch(value):
            raise DataError(
                f"{path}: line {lineno}: field HEAD: expected an integer word ID (0 for the "
                f"root) for word {word}, found {value!r}."
            )
        head = int(value)
        if head > len(heads):
            raise DataError(
                f"{path}: line {lineno}: field HEAD: word {word} has head {head}, outside its "
                f"sentence of {len(heads)} words (sentence starting at line {start_line}); "
                f"expected 0..{len(heads)}."
            )
        values.append(head)
    problem = tree_problem(values)
    if problem is not None and "cycle" in problem:
        raise DataError(
            f"{path}: line {start_line}: field HEAD: in the sentence starting here, {problem}; "
            "expected a tree (every word reaches the root)."
        )
    return values
