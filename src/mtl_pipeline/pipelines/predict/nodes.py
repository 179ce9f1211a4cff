"""Batch prediction: read a file with a registered reader, predict one task, keep the rows.

Shared by the ``predict`` pipeline and ``kedro mtl predict``, so the command and the
pipeline read, check and write inputs the same way. torch/transformers are only imported
when a model is loaded (kedro viz imports this module).
"""

from __future__ import annotations

import logging
import math
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pandas as pd

from mtl_pipeline.errors import ConfigError, DataError

logger = logging.getLogger(__name__)

#: Reader used when ``predict.reader`` is null, by input file extension.
READER_BY_SUFFIX = {
    ".csv": "csv",
    ".tsv": "glue_tsv",
    ".jsonl": "jsonl",
    ".parquet": "parquet",
    ".conllu": "conllu",
}
#: Compression suffixes skipped when choosing the reader (``new.csv.gz`` is read as CSV).
COMPRESSED_SUFFIXES = (".gz", ".bz2", ".xz")
PREDICTION_COLUMN = "predicted"
ROW_OUTPUT_COLUMN = "row"


def build_input_reader(path: str, spec: Any = None) -> Any:
    """The reader for ``path``: ``spec`` (a name or ``{name, **options}``) or by extension.

    A directory is read with ``hf_disk`` (a dataset saved with ``save_to_disk``).
    """
    from mtl_pipeline.config import ComponentSpec
    from mtl_pipeline.registry import get_registry

    where = "predict.reader"
    if spec is None:
        base = path.partition("#")[0]
        suffixes = [s.lower() for s in Path(base).suffixes]
        if suffixes and suffixes[-1] in COMPRESSED_SUFFIXES:  # readers decompress these
            suffixes.pop()
        suffix = suffixes[-1] if suffixes else ""
        if suffix in READER_BY_SUFFIX:
            spec = READER_BY_SUFFIX[suffix]
        elif Path(base).is_dir():
            spec = "hf_disk"
        else:
            known = ", ".join(f"{s} ({r})" for s, r in READER_BY_SUFFIX.items())
            raise ConfigError(
                f"{where}: cannot tell the reader of {path!r} from its extension ({known}); "
                "name one, e.g. predict.reader=csv or --reader csv."
            )
    component = spec if isinstance(spec, ComponentSpec) else ComponentSpec.model_validate(spec)
    cls = get_registry().get("reader", component.name, where)
    return cls(cls.parse_options(component.options, where))


def read_input(path: str, spec: Any = None) -> pd.DataFrame:
    """The raw records of ``path`` (reader columns plus ``_row``, the source line)."""
    return build_input_reader(path, spec).read(path)


def resolve_text_fields(
    task: str,
    explicit: list[str] | None,
    card: dict[str, Any] | None,
    tasks: dict[str, Any] | Callable[[], dict[str, Any]] | None,
) -> list[str]:
    """Which input columns hold the text: explicit, else as at training time.

    "As at training time" is the model card (the model knows what it was trained on),
    then the project's ``tasks`` config (models exported before the card existed; a
    callable is only called when needed, so the command reads conf only then).
    """
    if explicit:
        return list(explicit)
    from_card = ((card or {}).get("data") or {}).get(task, {}).get("text_fields")
    if from_card:
        return list(from_card)
    if callable(tasks):
        tasks = tasks()
    from_conf = ((tasks or {}).get(task) or {}).get("text_fields")
    if from_conf:
        return list(from_conf)
    raise ConfigError(
        f"predict.text_fields: not set, and neither the model nor tasks.{task} records which "
        "input columns hold the text; set predict.text_fields (or --text-fields a,b)."
    )


def _is_missing(value: Any) -> bool:
    return value is None or (isinstance(value, float) and math.isnan(value))


def model_inputs(frame: pd.DataFrame, text_fields: list[str], level: str, source: str) -> list[Any]:
    """``MultiTaskModel.predict`` inputs from the frame: texts, pairs or word lists.

    Every value is checked here so that a blank cell is reported with its file line (or
    row, for record formats), not as a tokenizer error about batch item 3172.
    """
    missing = [f for f in text_fields if f not in frame.columns]
    if missing:
        found = [c for c in frame.columns if c != "_row"]
        raise DataError(
            f"{source}: missing column(s) {', '.join(map(repr, missing))}; expected the text "
            f"fields {text_fields}; columns found: {', '.join(map(repr, found))}."
        )
    if frame.empty:
        raise DataError(f"{source}: no data rows; expected at least one example.")
    rows = frame["_row"].tolist() if "_row" in frame.columns else list(range(1, len(frame) + 1))
    from mtl_pipeline.readers.base import row_unit

    unit = row_unit(frame)  # "row" for Parquet and HF datasets, which have no lines
    inputs: list[Any] = []
    if level == "token":
        field = text_fields[0]
        for row, value in zip(rows, frame[field].tolist(), strict=True):
            if hasattr(value, "tolist"):
                value = value.tolist()
            words = value.split() if isinstance(value, str) else value
            if _is_missing(words) or not isinstance(words, list) or not words:
                raise DataError(
                    f"{source}: {unit} {row}: field {field!r} holds no words; expected a list of "
                    "words or whitespace-separated text."
                )
            inputs.append([str(w) for w in words])
        return inputs
    columns = [frame[f].tolist() for f in text_fields]
    for i, row in enumerate(rows):
        texts: list[Any] = []
        for field, values in zip(text_fields, columns, strict=True):
            texts.append(_cell_text(values[i], f"{source}: {unit} {row}: field {field!r}"))
        inputs.append(texts[0] if len(texts) == 1 else tuple(texts))
    return inputs


def _cell_text(value: Any, where: str) -> str | list[str]:
    """One input cell as text, or as a list of texts for a list column (the answer choices
    of a multiple-choice record, as JSON Lines and Parquet hold them)."""
    if hasattr(value, "tolist"):
        value = value.tolist()
    if isinstance(value, list | tuple):
        if not value:
            raise DataError(f"{where} is an empty list; expected a list of texts.")
        for position, item in enumerate(value, start=1):
            if _is_missing(item) or not str(item).strip():
                raise DataError(f"{where}: item {position} is empty; expected text.")
        return [str(item) for item in value]
    if _is_missing(value) or not str(value).strip():
        raise DataError(f"{where} is empty; expected text.")
    return str(value)


def check_task(model: Any, task: str) -> None:
    """An unknown task is named with the model's tasks, before anything else is asked."""
    if task not in model.tasks:
        raise ConfigError(
            f"predict.task: unknown task {task!r}; this model has: {', '.join(model.tasks)}."
        )


def predict_frame(
    model: Any,
    task: str,
    frame: pd.DataFrame,
    text_fields: list[str],
    batch_size: int = 64,
    source: str = "input",
) -> pd.DataFrame:
    """The input rows (``row`` = source line, then every input column) plus ``predicted``."""
    check_task(model, task)
    if PREDICTION_COLUMN in frame.columns:
        raise DataError(f"{source}: already has a column {PREDICTION_COLUMN!r}; rename it first.")
    level = model.tasks[task].level
    # Task types that read more columns than the texts (answer choices) say which.
    specs = getattr(getattr(model, "architecture", None), "task_specs", {})
    fields = specs[task].task_type.input_fields(text_fields) if task in specs else text_fields
    inputs = model_inputs(frame, fields, level, source)
    predicted = model.predict(task, inputs, batch_size=batch_size)
    out = frame.drop(columns=["_row"], errors="ignore").reset_index(drop=True)
    if ROW_OUTPUT_COLUMN not in out.columns and "_row" in frame.columns:
        out.insert(0, ROW_OUTPUT_COLUMN, frame["_row"].tolist())
    if predicted and isinstance(predicted[0], dict):
        add_natural_columns(out, predicted)
    else:
        out[PREDICTION_COLUMN] = predicted
    logger.info("Predicted %s for %d rows of %s.", task, len(out), source)
    return out


def add_natural_columns(out: pd.DataFrame, predicted: list[dict[str, Any]]) -> None:
    """Structured predictions as columns: the first key's value in ``predicted`` (answer
    text, chosen choice, label list as JSON), every other key in ``predicted_<key>``
    (lists and mappings as JSON text, so CSV and Parquet hold the same)."""
    import json

    keys = list(predicted[0])
    for i, key in enumerate(keys):
        column = PREDICTION_COLUMN if i == 0 else f"{PREDICTION_COLUMN}_{key}"
        if column in out.columns:
            raise DataError(f"input already has a column {column!r}; rename it first.")
        values = [p.get(key) for p in predicted]
        if any(isinstance(v, list | dict) for v in values):
            values = [json.dumps(v, ensure_ascii=False) for v in values]
        out[column] = values


# --- Kedro nodes ----------------------------------------------------------------------
def _required(predict: dict[str, Any], key: str) -> str:
    value = predict.get(key)
    if not value:
        raise ConfigError(
            f"predict.{key}: required to run the predict pipeline; e.g. kedro run --pipelines "
            "predict --params predict.task=sst2,predict.input=data/01_raw/new.csv"
        )
    return str(value)


#: Where the ``batch_predictions`` catalog entry writes (conf/base/catalog.yml), relative to
#: the project root Kedro runs in; used only to refuse an output that is the input.
PREDICTIONS_DIR = Path("data/07_model_output/predictions")


def load_prediction_input(predict: dict[str, Any]) -> pd.DataFrame:
    """Read ``predict.input`` with ``predict.reader`` (or the reader its extension implies).

    Refused first: an output (``predict.output`` under ``PREDICTIONS_DIR``) that is the
    input file, which the save after predicting would replace.
    """
    from mtl_pipeline.config import PredictConfig, parse_section

    cfg = parse_section(PredictConfig, predict, "predict")
    task = _required(predict, "task")
    source = Path(_required(predict, "input"))
    target = PREDICTIONS_DIR / (cfg.output or f"{task}.parquet")
    if source.resolve() == target.resolve() or (
        source.exists() and target.exists() and source.samefile(target)
    ):
        raise ConfigError(
            f"predict.output: {target} is the input file {source}; predictions never replace "
            "the input. Set predict.output to another file name."
        )
    return read_input(str(source), cfg.reader)


def predict_batch(
    trained_model: Any,
    prediction_input: pd.DataFrame,
    predict: dict[str, Any],
    tasks: dict[str, Any],
) -> dict[str, pd.DataFrame]:
    """``{output file name: predictions}`` for the ``batch_predictions`` partitioned dataset."""
    from mtl_pipeline.config import PredictConfig, parse_section

    cfg = parse_section(PredictConfig, predict, "predict")
    task = _required(predict, "task")
    check_task(trained_model, task)
    fields = resolve_text_fields(task, cfg.text_fields, getattr(trained_model, "card", {}), tasks)
    frame = predict_frame(
        trained_model, task, prediction_input, fields, cfg.batch_size, source=str(cfg.input)
    )
    return {cfg.output or f"{task}.parquet": frame}
