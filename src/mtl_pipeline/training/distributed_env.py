"""Rank lookup without importing torch (the Kedro catalog uses it at start-up)."""

from __future__ import annotations

import os


def env_rank() -> int:
    """This process's global rank as ``torchrun`` sets it (0 when not launched by it)."""
    return int(os.environ.get("RANK", "0"))
