"""A table file whose format follows its extension (``.parquet``, ``.csv``, ``.jsonl``).

The predict pipeline saves ``{file name: frame}`` through a ``PartitionedDataset`` whose
partitions are of this type, so ``predict.output: sst2.csv`` and ``sst2.parquet`` both go
through the catalog without one catalog entry per format.
"""

from __future__ import annotations

import os
from pathlib import Path, PurePosixPath
from typing import Any

import pandas as pd
from kedro.io import AbstractDataset

from mtl_pipeline.errors import DataError

FORMATS = (".parquet", ".csv", ".jsonl", ".conllu")
#: Columns a CoNLL-U output needs: the natural outputs of a ``dependency_parsing`` task.
CONLLU_COLUMNS = ("predicted", "predicted_relations", "predicted_words")


def _suffix(path: str | Path) -> str:
    suffix = Path(path).suffix.lower()
    if suffix not in FORMATS:
        raise DataError(
            f"{path}: unsupported table format {suffix!r}; expected one of {', '.join(FORMATS)}."
        )
    return suffix


def check_table_path(path: str | Path) -> str:
    """The format of ``path`` by its extension; raises before any work when unsupported."""
    return _suffix(path)


def write_table(frame: pd.DataFrame, path: str | Path) -> None:
    """Write ``frame``; in CSV, list cells (tagging tokens/tags) become space-joined text.

    Atomic: written to a hidden file beside ``path`` and renamed over it, so a full disk or
    a kill mid-write leaves any earlier file at ``path`` whole, never a truncated table.
    """
    suffix = _suffix(path)
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_name(f".{target.name}.tmp-{os.getpid()}{suffix}")
    try:
        if suffix == ".parquet":
            frame.to_parquet(tmp, index=False)
        elif suffix == ".jsonl":
            frame.to_json(tmp, orient="records", lines=True, force_ascii=False)
        elif suffix == ".conllu":
            tmp.write_text(conllu_text(frame, target), encoding="utf-8")
        else:
            flat = frame.apply(
                lambda col: col.map(
                    lambda v: " ".join(map(str, v)) if isinstance(v, list | tuple) else v
                )
            )
            flat.to_csv(tmp, index=False)
        with open(tmp, "rb+") as handle:
            os.fsync(handle.fileno())
        os.replace(tmp, target)
    except OSError as exc:
        raise DataError(
            f"{target}: could not write predictions: {exc.strerror or exc}; free disk space or "
            "choose another output path (any earlier file there is unchanged)."
        ) from exc
    finally:
        tmp.unlink(missing_ok=True)


def conllu_text(frame: pd.DataFrame, path: str | Path) -> str:
    """Predicted trees as CoNLL-U (``parsing.conllu_output``): one sentence per row, from
    the heads (``predicted``), relations and words a ``dependency_parsing`` task writes."""
    import json

    from mtl_pipeline.parsing.conllu_output import format_conllu

    missing = [c for c in CONLLU_COLUMNS if c not in frame.columns]
    if missing:
        raise DataError(
            f"{path}: CoNLL-U output holds dependency trees; expected the predictions of a "
            f"dependency_parsing task (columns {', '.join(CONLLU_COLUMNS)}), missing "
            f"{', '.join(missing)}. Write other tasks as .parquet, .csv or .jsonl."
        )

    def lists(column: str) -> list[list]:
        return [json.loads(v) if isinstance(v, str) else list(v) for v in frame[column]]

    ids = [str(r) for r in frame["row"]] if "row" in frame.columns else None
    return format_conllu(
        lists("predicted_words"), lists("predicted"), lists("predicted_relations"), sentence_ids=ids
    )


def read_table(path: str | Path) -> pd.DataFrame:
    suffix = _suffix(path)
    if suffix == ".parquet":
        return pd.read_parquet(path)
    if suffix == ".jsonl":
        return pd.read_json(path, orient="records", lines=True)
    if suffix == ".conllu":
        from mtl_pipeline.readers.conllu import ConlluReader

        return ConlluReader(ConlluReader.parse_options({}, "reader")).read(str(path))
    return pd.read_csv(path)


class TableDataset(AbstractDataset[pd.DataFrame, pd.DataFrame]):
    """Parquet, CSV, JSON Lines or (parser outputs) CoNLL-U by the extension of ``filepath``."""

    def __init__(self, *, filepath: str, metadata: dict[str, Any] | None = None) -> None:
        # No extension check here: PartitionedDataset builds one with an empty path to
        # validate its arguments; load/save check it.
        self._filepath = PurePosixPath(filepath)
        self.metadata = metadata

    def load(self) -> pd.DataFrame:
        return read_table(str(self._filepath))

    def save(self, data: pd.DataFrame) -> None:
        write_table(data, str(self._filepath))

    def _exists(self) -> bool:
        return Path(self._filepath).exists()

    def _describe(self) -> dict[str, Any]:
        return {"filepath": str(self._filepath)}
