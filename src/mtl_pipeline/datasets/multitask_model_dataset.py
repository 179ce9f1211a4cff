"""Kedro dataset for a ``MultiTaskModel`` directory (safetensors + JSON, never pickle)."""

from __future__ import annotations

from pathlib import Path, PurePosixPath
from typing import Any

from kedro.io import AbstractDataset


class MultiTaskModelDataset(AbstractDataset):
    """Saves with ``MultiTaskModel.save`` (atomic directory swap), loads with ``.load``."""

    def __init__(
        self,
        *,
        path: str,
        load_args: dict[str, Any] | None = None,
        metadata: dict[str, Any] | None = None,
    ) -> None:
        self._path = PurePosixPath(path)
        self._load_args = dict(load_args or {})
        self.metadata = metadata

    def load(self) -> Any:
        from mtl_pipeline.modeling.multitask_model import MultiTaskModel

        return MultiTaskModel.load(str(self._path), **self._load_args)

    def save(self, model: Any) -> None:
        model.save(str(self._path))

    def _exists(self) -> bool:
        return (Path(self._path) / "mtl_model.json").exists()

    def _describe(self) -> dict[str, Any]:
        return {"path": str(self._path)}
