"""SQuAD JSON (v1.1 and v2.0): ``{"data": [{"title", "paragraphs": [{"context", "qas"}]}]}``.

One record per question: ``id``, ``title``, ``context``, ``question``, ``answers`` (a list
of ``{"text", "answer_start"}``; empty for an unanswerable v2.0 question), ``article``
(0-based index, for splitting by article) and ``_row`` (the question's 1-based position in
the file). ``_where`` locates the question for messages (article, paragraph, question
id), since a JSON file has no useful line numbers.

Articles can be selected, so one file splits deterministically by article (the only
SQuAD split available offline is dev v1.1): ``dev-v1.1.json#0:38`` keeps articles 0-37
and ``dev-v1.1.json#38:`` the rest (a slice after ``#``, as ``path#split`` names a split
for the Hugging Face readers), or the option ``articles: "0:38"`` for every split.
"""

from __future__ import annotations

import json
import re
from typing import Any

import pandas as pd
from pydantic import BaseModel, ConfigDict, field_validator

from mtl_pipeline.errors import DataError
from mtl_pipeline.readers.base import ROW_COLUMN, Reader, decode_utf8, preview, read_bytes

WHERE_COLUMN = "_where"
_SLICE = re.compile(r"^(\d*):(\d*)$")


class SquadJsonOptions(BaseModel):
    model_config = ConfigDict(extra="forbid")

    articles: str | None = None
    """Python-style slice of the articles to keep, in file order (``"0:38"``, ``"38:"``);
    null: all."""

    @field_validator("articles")
    @classmethod
    def _slice(cls, value: str | None) -> str | None:
        if value is not None and not _SLICE.match(value.strip()):
            raise ValueError(f"expected a slice such as '0:38' or '38:', found {value!r}")
        return value


def _article_range(spec: str | None, count: int) -> range:
    if spec is None:
        return range(count)
    start, stop = _SLICE.match(spec.strip()).groups()  # type: ignore[union-attr]
    return range(count)[slice(int(start) if start else None, int(stop) if stop else None)]


def _field(obj: Any, key: str, kind: type | tuple[type, ...], where: str, expected: str) -> Any:
    if not isinstance(obj, dict):
        raise DataError(
            f"{where}: expected a JSON object, found {type(obj).__name__} {preview(obj)}."
        )
    if key not in obj:
        raise DataError(f"{where}: field {key!r} is missing; expected {expected}.")
    value = obj[key]
    if not isinstance(value, kind) or isinstance(value, bool):
        raise DataError(
            f"{where}: field {key!r}: expected {expected}, found {type(value).__name__} "
            f"{preview(value)}."
        )
    return value


class SquadJsonReader(Reader):
    name = "squad_json"
    description = "SQuAD v1.1/v2.0 JSON (articles > paragraphs > questions); one row per question."
    Options = SquadJsonOptions

    def read(self, path: str) -> pd.DataFrame:
        source, _, fragment = path.partition("#")
        selection = self.options.articles  # type: ignore[attr-defined]
        if fragment:
            if not _SLICE.match(fragment.strip()):
                raise DataError(
                    f"{path}: expected an article slice after '#', such as '#0:38' or '#38:', "
                    f"found {fragment!r}."
                )
            if selection is not None:
                raise DataError(
                    f"{path}: articles are selected twice (the '#{fragment}' of the path and "
                    f"the reader option articles: {selection!r}); keep one."
                )
            selection = fragment
        records = self._records(path, source, selection)
        return pd.DataFrame.from_records(
            records,
            columns=[
                ROW_COLUMN,
                WHERE_COLUMN,
                "id",
                "title",
                "article",
                "context",
                "question",
                "answers",
            ],
        )

    def _records(self, path: str, source: str, selection: str | None) -> list[dict[str, Any]]:
        text = decode_utf8(source, read_bytes(source, "a SQuAD JSON object with a 'data' list"))
        try:
            document = json.loads(text)
        except json.JSONDecodeError as exc:
            raise DataError(
                f"{path}: line {exc.lineno}: not valid JSON ({exc.msg}, column {exc.colno}); "
                "expected a SQuAD JSON object."
            ) from None
        articles = _field(document, "data", list, f"{path}", "a list of articles")
        records: list[dict[str, Any]] = []
        number = 0
        for a in _article_range(selection, len(articles)):
            article = articles[a]
            where_a = f"{path}: article {a}"
            title = _field(article, "title", str, where_a, "the article title (a string)")
            where_a = f"{path}: article {a} ({title!r})"
            paragraphs = _field(article, "paragraphs", list, where_a, "a list of paragraphs")
            for p, paragraph in enumerate(paragraphs):
                where_p = f"{where_a}: paragraph {p}"
                context = _field(paragraph, "context", str, where_p, "the paragraph text")
                if not context.strip():
                    raise DataError(f"{where_p}: field 'context' is empty; expected text.")
                qas = _field(paragraph, "qas", list, where_p, "a list of questions")
                for q, qa in enumerate(qas):
                    number += 1
                    where_q = f"{where_p}: question {q}"
                    qid = _field(qa, "id", (str, int), where_q, "the question id")
                    where_q = f"{where_p}: question {qid!r}"
                    question = _field(qa, "question", str, where_q, "the question text")
                    answers = _field(qa, "answers", list, where_q, "a list of answers")
                    impossible = qa.get("is_impossible", False)
                    if not answers and not impossible:
                        raise DataError(
                            f"{where_q}: field 'answers' is empty; expected at least one answer "
                            "(or 'is_impossible': true for an unanswerable SQuAD 2.0 question)."
                        )
                    clean = []
                    for k, answer in enumerate(answers if not impossible else []):
                        where_k = f"{where_q}: answers[{k}]"
                        answer_text = _field(answer, "text", str, where_k, "the answer text")
                        start = _field(answer, "answer_start", int, where_k, "a character offset")
                        clean.append({"text": answer_text, "answer_start": start})
                    records.append(
                        {
                            ROW_COLUMN: number,
                            WHERE_COLUMN: where_q,
                            "id": str(qid),
                            "title": title,
                            "article": a,
                            "context": context,
                            "question": question,
                            "answers": clean,
                        }
                    )
        return records
