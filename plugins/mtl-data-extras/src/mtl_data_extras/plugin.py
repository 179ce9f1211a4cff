"""The plugin module named by this package's ``mtl_pipeline`` entry point.

Registration hooks add a reader and two metrics; the four observer hooks append a JSON
Lines training log when ``MTL_JSONL_LOG`` names a file (and do nothing otherwise, so
installing the plugin never writes files behind anyone's back).
"""

from __future__ import annotations

from typing import Any

from mtl_pipeline.hookspecs import hookimpl

from mtl_data_extras.jsonl_log import TrainingLog

#: The plugin API this plugin was written against; the registry refuses a mismatch.
MTL_PIPELINE_API_VERSION = 1

_log = TrainingLog()


@hookimpl
def register_readers() -> list[type]:
    from mtl_data_extras.fasttext_reader import FastTextReader

    return [FastTextReader]


@hookimpl
def register_metrics() -> list[Any]:
    from mtl_data_extras.metrics import METRICS

    return list(METRICS)


@hookimpl
def on_train_start(run_info: dict[str, Any]) -> None:
    _log.train_start(run_info)


@hookimpl
def on_step_end(step: int, logs: dict[str, Any]) -> None:
    _log.write({"event": "step", **logs, "step": step})


@hookimpl
def on_evaluation(step: int, metrics: dict[str, dict[str, float]]) -> None:
    _log.write({"event": "evaluation", "step": step, "metrics": metrics})


@hookimpl
def on_train_end(summary: dict[str, Any]) -> None:
    _log.write({"event": "train_end", **summary})
