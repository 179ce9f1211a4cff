"""Ingestion: read one task's files with its reader into the standard table."""

from __future__ import annotations

from typing import Any

import pandas as pd


def ingest_task(
    task: dict[str, Any], ingestion: dict[str, Any], task_name: str
) -> tuple[pd.DataFrame, pd.DataFrame, dict[str, Any]]:
    """Validated train/validation tables and the label vocabulary of ``task_name``."""
    from mtl_pipeline.config import IngestionConfig, TaskConfig, parse_section
    from mtl_pipeline.ingestion import ingest

    cfg = parse_section(TaskConfig, task, f"tasks.{task_name}")
    ing = parse_section(IngestionConfig, ingestion, "ingestion")
    return ingest(
        task_name,
        cfg,
        ing.max_train_examples,
        ing.max_eval_examples,
        ing.seed,
        overlap=ing.overlap,
    )
