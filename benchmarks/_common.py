"""Shared set-up for the benchmark scripts: shipped GLUE data, tokenized once."""

from __future__ import annotations

import os
import resource
import sys
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
os.environ.setdefault("DO_NOT_TRACK", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")


def load_task_table(task: str, max_train: int | None = None):
    """(train table, validation table, label_info) of a task in conf/base, read from data/01_raw."""
    import yaml

    from mtl_pipeline.config import TaskConfig
    from mtl_pipeline.ingestion import ingest

    tasks = yaml.safe_load((REPO / "conf/base/parameters_ingestion.yml").read_text())["tasks"]
    cwd = os.getcwd()
    os.chdir(REPO)
    try:
        return ingest(task, TaskConfig(**tasks[task]), max_train, None, 0), tasks[task]
    finally:
        os.chdir(cwd)


def peak_rss_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def markdown_table(header: list[str], rows: list[list[Any]]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(str(c) for c in row) + " |" for row in rows]
    return "\n".join(lines)
