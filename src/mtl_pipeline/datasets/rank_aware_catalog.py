"""A ``DataCatalog`` under which only rank 0 of a ``torchrun`` job writes outputs.

Every rank runs the whole pipeline (all ranks need the tokenized data and must take
part in training); on ranks other than 0, saved outputs stay in this process's memory
and later nodes read them from there. Outside torchrun (``RANK`` unset) it is the plain
catalog.
"""

from __future__ import annotations

from typing import Any

from kedro.io import DataCatalog

from mtl_pipeline.training.distributed_env import env_rank


class RankAwareDataCatalog(DataCatalog):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._rank_local: dict[str, Any] = {}

    def save(self, ds_name: str, data: Any) -> None:
        if env_rank() == 0:
            super().save(ds_name, data)
        else:
            self._rank_local[ds_name] = data

    def load(self, ds_name: str, version: str | None = None) -> Any:
        if ds_name in self._rank_local:
            return self._rank_local[ds_name]
        return super().load(ds_name, version)
