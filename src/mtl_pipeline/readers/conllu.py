"""CoNLL-U (Universal Dependencies): one sentence per block, one token per line.

Multi-word token ranges (``3-4``) and empty nodes (``5.1``) are skipped, as UD's own
evaluation does for UPOS. Each sentence becomes one record with list columns ``tokens``,
``upos``, ``xpos``, ``lemmas``, ``deprel`` and ``_row`` = the line of its first token.
"""

from __future__ import annotations

import pandas as pd

from mtl_pipeline.errors import DataError
from mtl_pipeline.readers.base import ROW_COLUMN, Reader, decode_utf8, read_bytes

_FIELDS = 10


class ConlluReader(Reader):
    name = "conllu"
    description = "CoNLL-U sentences: tokens plus UPOS/XPOS/lemma/deprel lists."

    def read(self, path: str) -> pd.DataFrame:
        text = decode_utf8(path, read_bytes(path))
        sentences: list[dict[str, object]] = []
        current: dict[str, list[str]] | None = None
        start_line = 0
        expected_id = 1

        def close() -> None:
            nonlocal current
            if current is not None and current["tokens"]:
                sentences.append({**current, ROW_COLUMN: start_line})
            current = None

        for lineno, line in enumerate(text.split("\n"), start=1):
            line = line.rstrip("\r")
            if not line.strip():
                close()
                continue
            if line.startswith("#"):
                continue
            fields = line.split("\t")
            if len(fields) != _FIELDS:
                raise DataError(
                    f"{path}: line {lineno}: expected {_FIELDS} tab-separated CoNLL-U fields "
                    f"(ID FORM LEMMA UPOS XPOS FEATS HEAD DEPREL DEPS MISC), found {len(fields)}."
                )
            token_id = fields[0]
            if "-" in token_id or "." in token_id:
                continue
            if not token_id.isdigit():
                raise DataError(f"{path}: line {lineno}: field ID: expected an integer, found {token_id!r}.")
            if current is None:
                current = {"tokens": [], "upos": [], "xpos": [], "lemmas": [], "deprel": []}
                start_line, expected_id = lineno, 1
            if int(token_id) != expected_id:
                raise DataError(
                    f"{path}: line {lineno}: field ID: expected token {expected_id}, found {token_id}."
                )
            expected_id += 1
            if not fields[1]:
                raise DataError(f"{path}: line {lineno}: field FORM is empty.")
            current["tokens"].append(fields[1])
            current["lemmas"].append(fields[2])
            current["upos"].append(fields[3])
            current["xpos"].append(fields[4])
            current["deprel"].append(fields[7])
        close()
        if not sentences:
            raise DataError(f"{path}: no sentences found; expected CoNLL-U token lines.")
        return pd.DataFrame(sentences)
