"""A JSON Lines training log written from the observer hooks.

One object per line, each with ``event`` (``train_start``, ``step``, ``evaluation``,
``train_end``), ``run`` (an id shared by the lines of one training run) and ``time``
(Unix seconds). The file is opened in append mode for every line, so several runs (or a
resumed run) add to one log, and a crash loses nothing already written. Non-finite floats
(a ``grad_norm`` of NaN without clipping) are written as ``null``: strict JSON.

The path comes from the environment variable ``MTL_JSONL_LOG``, read at each
``on_train_start``; unset or empty, nothing is written.
"""

from __future__ import annotations

import json
import math
import os
import time
import uuid
from pathlib import Path
from typing import Any

ENV_VAR = "MTL_JSONL_LOG"


def _strict(value: Any) -> Any:
    """Replace NaN/inf by None, recursively (json.dumps would write bare NaN)."""
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {str(k): _strict(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_strict(v) for v in value]
    return value


class TrainingLog:
    """Appends events to the file ``MTL_JSONL_LOG`` named when training started."""

    def __init__(self) -> None:
        self.path: Path | None = None
        self.run: str | None = None

    def train_start(self, run_info: dict[str, Any]) -> None:
        target = os.environ.get(ENV_VAR, "").strip()
        self.path = Path(target) if target else None
        self.run = uuid.uuid4().hex
        if self.path is not None:
            self.path.parent.mkdir(parents=True, exist_ok=True)
        self.write({"event": "train_start", **run_info})

    def write(self, record: dict[str, Any]) -> None:
        if self.path is None:
            return
        line = {"run": self.run, "time": time.time(), **record}
        text = json.dumps(_strict(line), default=str, allow_nan=False)
        with self.path.open("a", encoding="utf-8") as handle:
            handle.write(text + "\n")
