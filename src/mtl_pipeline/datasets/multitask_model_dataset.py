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
        from mtl_pipeline.errors import TrainingError

        try:
            model.save(str(self._path))
        except OSError as exc:
            raise TrainingError(
                f"{self._path}: could not save the trained model: {exc.strerror or exc}. Any "
                "earlier model there is unchanged, and the trained weights are kept in the final "
                "checkpoint under training.checkpoint_dir: free disk space and run `kedro run` "
                "again with the same configuration; it resumes there and only evaluates and saves."
            ) from exc

    def _exists(self) -> bool:
        return (Path(self._path) / "mtl_model.json").exists()

    def _describe(self) -> dict[str, Any]:
        return {"path": str(self._path)}
