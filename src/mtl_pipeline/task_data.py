"""In-memory task data for ``run_training``, built without Kedro: ingest + tokenize.

Tests, benchmarks and notebooks need ``task_data`` (per task: ``train_features``,
``validation_features``, ``label_info``) without running the ingestion and tokenization
pipelines and their files. ``build_task_data`` is that, through the same functions the
pipeline nodes call (``ingestion.ingest``, ``tokenization.tokenize_dataset`` with the task
type), so the features, their Arrow schema included, are those of ``kedro run``.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

__all__ = ["build_task_data"]


def build_task_data(
    tasks: dict[str, dict[str, Any]],
    tokenizer: Any,
    *,
    max_train: int | None = None,
    max_eval: int | None = None,
    max_length: int = 128,
    seed: int = 0,
    project_dir: str | Path | None = None,
    overlap: str = "warn",
    keep_examples: bool = False,
) -> dict[str, dict[str, Any]]:
    """``run_training``'s ``task_data`` for ``tasks`` (the ``tasks`` config section).

    ``tokenizer``: a tokenizer, or the name/path of one (``encoders.load_tokenizer``).
    ``max_train`` / ``max_eval`` cap each split as ``ingestion.max_train_examples`` /
    ``max_eval_examples`` do (None: all rows), drawn with ``seed``. Relative paths in the
    task configs are read from ``project_dir`` (default: the working directory).
    ``overlap`` is ``ingestion.overlap`` (train/validation rows in common: warn, error or
    allow). ``keep_examples`` adds ``validation_examples``, the ingested validation table
    that the evaluation nodes read (predictions files, per-record scoring).
    """
    from mtl_pipeline.config import TaskConfig
    from mtl_pipeline.encoders import load_tokenizer
    from mtl_pipeline.ingestion import ingest
    from mtl_pipeline.tokenization import task_type_from_info, tokenize_dataset

    if isinstance(tokenizer, str | Path):
        tokenizer = load_tokenizer(str(tokenizer))
    task_data: dict[str, dict[str, Any]] = {}
    with _working_directory(project_dir):
        for name, cfg in tasks.items():
            config = TaskConfig(**cfg)
            train, dev, info = ingest(name, config, max_train, max_eval, seed, overlap=overlap)
            task_type = task_type_from_info(info, name)
            features = {}
            for split, frame in (("train_features", train), ("validation_features", dev)):
                features[split], _ = tokenize_dataset(
                    frame,
                    tokenizer,
                    level=info["level"],
                    vocab=info["labels"],
                    max_length=max_length,
                    task_type=task_type,
                )
            task_data[name] = {**features, "label_info": info}
            if keep_examples:
                task_data[name]["validation_examples"] = dev
    return task_data


@contextmanager
def _working_directory(path: str | Path | None) -> Iterator[None]:
    if path is None:
        yield
        return
    previous = os.getcwd()
    os.chdir(path)
    try:
        yield
    finally:
        os.chdir(previous)
