"""The tokenized features under ``data/04_feature``: Kedro's ``huggingface.ArrowDataset``
with a load error that names the folder and the fix.

These folders are derived data, rewritten by every run of the tokenization pipeline; a
file truncated by a full disk or a killed copy otherwise surfaces as pyarrow's "Expected
to be able to read N bytes for message body" with no hint that deleting the folder and
re-tokenizing is all it takes.
"""

from __future__ import annotations

from typing import Any

from kedro_datasets.huggingface.arrow_dataset import ArrowDataset

from mtl_pipeline.errors import DataError


class TokenizedFeaturesDataset(ArrowDataset):
    """``huggingface.ArrowDataset`` whose unreadable folder is a ``DataError`` with the fix."""

    def _load_dataset(self, load_path: str) -> Any:
        try:
            return super()._load_dataset(load_path)
        except Exception as exc:
            reason = str(exc).strip().rstrip(".") or type(exc).__name__
            raise DataError(
                f"{load_path}: the tokenized dataset cannot be read ({type(exc).__name__}: "
                f"{reason}); it is truncated or corrupt (a full disk or an interrupted copy). "
                f"Delete {load_path} and re-run tokenization: `kedro run --pipelines "
                "ingestion,tokenization` (or a full `kedro run`), which writes it again."
            ) from None
