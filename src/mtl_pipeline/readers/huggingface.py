"""Hugging Face ``datasets``: saved to disk (``hf_disk``) or by hub name (``hf_hub``).

A split is chosen with ``path#split`` (``data/01_raw/my_ds#train``, ``nyu-mll/glue#train``).
The hub reader is the real code path for online use; offline it fails with a message
saying so rather than a socket traceback. Records are numbered from 1 and errors say
"row N" (a dataset has no lines); ``binary`` features holding text are decoded as UTF-8.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd
from pydantic import BaseModel, ConfigDict

from mtl_pipeline.errors import DataError
from mtl_pipeline.readers.base import (
    COLUMNS_FROM,
    ROW_COLUMN,
    ROW_UNIT,
    Reader,
    decode_binary_columns,
    no_rows_error,
)


def _split(path: str) -> tuple[str, str | None]:
    base, _, split = path.partition("#")
    return base, split or None


def _to_frame(dataset: object, path: str) -> pd.DataFrame:
    frame = dataset.to_pandas()  # type: ignore[attr-defined]
    frame = frame.reset_index(drop=True)
    if frame.empty:
        raise no_rows_error(path, "(the dataset split is empty)")
    for column in frame.columns:  # list features come back as numpy arrays
        if hasattr(frame[column].iloc[0], "tolist") and frame[column].dtype == object:
            frame[column] = frame[column].map(lambda v: v.tolist() if hasattr(v, "tolist") else v)
    if ROW_COLUMN in frame.columns:
        raise DataError(
            f"{path}: feature {ROW_COLUMN!r} is reserved for the row number; expected other "
            "feature names."
        )
    frame[ROW_COLUMN] = range(1, len(frame) + 1)
    frame.attrs[COLUMNS_FROM] = "the dataset's features"
    frame.attrs[ROW_UNIT] = "row"
    return decode_binary_columns(frame, path)


class HfDiskReader(Reader):
    name = "hf_disk"
    description = "A Hugging Face Dataset/DatasetDict saved with save_to_disk (path#split)."

    def read(self, path: str) -> pd.DataFrame:
        from datasets import DatasetDict, load_from_disk

        base, split = _split(path)
        if not Path(base).exists():
            raise DataError(f"{base}: directory not found (resolved to {Path(base).resolve()}).")
        try:
            data = load_from_disk(base)
        except Exception as exc:
            reason = str(exc).rstrip(".")
            raise DataError(
                f"{base}: not a dataset saved with save_to_disk ({type(exc).__name__}: "
                f"{reason}); expected a Dataset or DatasetDict folder."
            ) from None
        if isinstance(data, DatasetDict):
            available = ", ".join(data) or "none"
            if split is None:
                raise DataError(
                    f"{path}: a DatasetDict needs a split as `{base}#<split>`; "
                    f"available splits: {available}."
                )
            if split not in data:
                raise DataError(f"{path}: split {split!r} not found; expected one of: {available}.")
            data = data[split]
        elif split is not None:
            # Silently ignoring `#validation` would evaluate on the training data.
            raise DataError(
                f"{path}: asks for split {split!r}, but {base} is a single Dataset without "
                f"splits; expected `{base}` alone, or a DatasetDict."
            )
        return _to_frame(data, path)


class HfHubOptions(BaseModel):
    model_config = ConfigDict(extra="forbid")

    config: str | None = None
    revision: str | None = None


class HfHubReader(Reader):
    name = "hf_hub"
    description = "datasets.load_dataset by hub name (path#split); needs network access."
    Options = HfHubOptions

    def read(self, path: str) -> pd.DataFrame:
        import datasets

        opts: HfHubOptions = self.options  # type: ignore[assignment]
        base, split = _split(path)
        try:
            data = datasets.load_dataset(
                base, opts.config, split=split or "train", revision=opts.revision
            )
        except Exception as exc:
            offline = any(
                word in f"{type(exc).__name__} {exc}".lower()
                for word in (
                    "offline",
                    "connection",
                    "resolve",
                    "network",
                    "couldn't reach",
                    "timed out",
                )
            )
            hint = (
                " The hub could not be reached (offline?). Save the dataset with "
                "`save_to_disk` on a machine with access and use reader hf_disk."
                if offline
                else ""
            )
            reason = str(exc).rstrip(".")
            raise DataError(
                f"{path}: datasets.load_dataset failed: {type(exc).__name__}: {reason}.{hint}"
            ) from None
        return _to_frame(data, path)
