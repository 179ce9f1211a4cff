"""The model card (``README.md``) written next to an exported ``MultiTaskModel``.

A model directory travels on its own (copied to a share, logged to MLflow, pushed to a
hub), so it carries its own description: which tasks and label sets it predicts, how well
it did during the run that made it, the configuration that trained it, where the data came
from, and how to load it. The facts come from ``mtl_model.json`` (the same document the
loader reads), so the card cannot drift from what ``MultiTaskModel.load`` sees.

Kept free of torch/transformers imports: rendering a card is string formatting.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

CARD_FILE = "README.md"


def card_facts(
    history: dict[str, Any],
    tasks: dict[str, Any],
    label_infos: dict[str, dict[str, Any]],
) -> dict[str, Any]:
    """The facts a card needs that the model object does not know by itself.

    ``history``: the trainer's history (``evaluations``, ``best_step``, ``config``);
    ``tasks``: ``params:tasks`` (text/label fields); ``label_infos``: each task's
    ``label_info`` (sources and row counts from ingestion). JSON-serialisable, stored under
    ``card`` in ``mtl_model.json`` so a reloaded-and-resaved model keeps its card.
    """
    best_step = history.get("best_step")
    evaluations = history.get("evaluations") or []
    best = next((e for e in evaluations if e.get("step") == best_step), None)
    training = (history.get("config") or {}).get("training", {})
    data = {}
    for name, info in label_infos.items():
        cfg = tasks.get(name) or {}
        reader = cfg.get("reader", "glue_tsv")
        data[name] = {
            "sources": info.get("sources", {}),
            "reader_options": reader if isinstance(reader, dict) else {"name": reader},
            "text_fields": list(cfg.get("text_fields") or []),
            "label_field": cfg.get("label_field"),
            "train_rows": info.get("train_rows"),
            "validation_rows": info.get("validation_rows"),
        }
    return {
        "metrics": (
            {
                "step": best_step,
                "steps": len(history.get("steps") or []),
                "eval_max_examples": training.get("eval_max_examples"),
                "values": best["metrics"],
            }
            if best
            else {}
        ),
        "training": history.get("config") or {},
        "data": data,
        "run": {k: history.get(k) for k in ("device", "precision", "seconds")},
    }


def _fmt(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.4f}"
    return "" if value is None else str(value)


def render_model_card(document: dict[str, Any]) -> str:
    """Markdown for the ``mtl_model.json`` document (with its optional ``card`` facts)."""
    model = document.get("model", {})
    tasks: dict[str, Any] = document.get("tasks", {})
    card: dict[str, Any] = document.get("card") or {}
    arch = dict(model.get("architecture") or {})
    arch_name = arch.pop("name", "?")
    names = ", ".join(tasks) or "none"
    lines = [
        "---",
        "library_name: transformers",
        "tags: [multi-task-learning, mtl_pipeline, kedro]",
        "---",
        "",
        f"# Multi-task model: {names}",
        "",
        f"A shared `{model.get('encoder')}` encoder with one head per task (architecture "
        f"`{arch_name}`{', options ' + json.dumps(arch) if arch else ''}), trained by "
        f"mtl_pipeline {document.get('mtl_pipeline_version', '')}, a Kedro project "
        f"(format version {document.get('format_version')}). Inputs are truncated to "
        f"{model.get('max_length')} tokens.",
        "",
        "## Tasks",
        "",
        "| task | type | level | labels | metrics (first = main) |",
        "|---|---|---|---|---|",
    ]
    for name, meta in tasks.items():
        labels = ", ".join(f"`{x}`" for x in meta.get("labels") or []) or _NO_LABELS.get(
            str(meta.get("type")), "(regression: a number)"
        )
        if meta.get("type") == "multiple_choice":
            labels = f"{len(meta.get('labels') or [])} choices (index of the right one)"
        metrics = ", ".join(meta.get("metrics") or [])
        lines.append(
            f"| {name} | {meta.get('type')} | {meta.get('level')} | {labels} | {metrics} |"
        )

    lines += ["", "## Validation metrics", ""]
    scores = card.get("metrics") or {}
    if scores.get("values"):
        limit = scores.get("eval_max_examples")
        subset = f"up to {limit} validation examples per task" if limit else "the validation sets"
        lines += [
            f"From the run's periodic evaluation on {subset}, at the kept (best) step "
            f"{scores.get('step')} of {scores.get('steps')}. The full validation scores of the "
            "run are in `data/08_reporting/metrics.json`.",
            "",
            "| task | metric | value |",
            "|---|---|---|",
        ]
        for task, values in scores["values"].items():
            for metric, value in values.items():
                lines.append(f"| {task} | {metric} | {_fmt(value)} |")
    else:
        lines.append("Not recorded (the model was saved outside a training run).")

    data: dict[str, Any] = card.get("data") or {}
    lines += ["", "## Data", ""]
    if data:
        lines += [
            "| task | train | validation | reader | text fields | label field | rows (train / validation) |",
            "|---|---|---|---|---|---|---|",
        ]
        for task, facts in data.items():
            src = facts.get("sources", {})
            reader = facts.get("reader_options") or {"name": src.get("reader")}
            fields = ", ".join(f"`{f}`" for f in facts.get("text_fields") or [])
            lines.append(
                f"| {task} | `{src.get('train')}` | `{src.get('validation')}` | "
                f"`{json.dumps(reader)}` | {fields} | `{facts.get('label_field')}` | "
                f"{_fmt(facts.get('train_rows'))} / {_fmt(facts.get('validation_rows'))} |"
            )
        if any("01_raw/glue/" in str(f.get("sources", {}).get("train")) for f in data.values()):
            lines += [
                "",
                "Provenance and licences of the shipped GLUE subsets: "
                "`data/01_raw/glue/SOURCES.md` in the mtl_pipeline repository.",
            ]
    else:
        lines.append("Not recorded.")

    training = card.get("training") or {}
    run = card.get("run") or {}
    lines += ["", "## Training configuration", ""]
    if training:
        if run.get("device"):
            lines += [
                f"Trained on `{run.get('device')}` ({run.get('precision')}) in "
                f"{float(run.get('seconds') or 0):.1f} s.",
                "",
            ]
        lines += ["```json", json.dumps(training, indent=2, sort_keys=True, default=str), "```"]
    else:
        lines.append("Not recorded.")

    first = next(iter(tasks), "TASK")
    example = (
        '[("first sentence", "second sentence")]' if _is_pair(data.get(first)) else '["some text"]'
    )
    lines += [
        "",
        "## How to load",
        "",
        "```python",
        "from mtl_pipeline.modeling.multitask_model import MultiTaskModel",
        "",
        'model = MultiTaskModel.load("path/to/this/directory")',
        f'model.predict("{first}", {example})',
        "```",
        "",
        "The shared encoder alone is a plain Hugging Face model:",
        "",
        "```python",
        "from transformers import AutoModel, AutoTokenizer",
        "",
        'encoder = AutoModel.from_pretrained("path/to/this/directory/encoder")',
        'tokenizer = AutoTokenizer.from_pretrained("path/to/this/directory/encoder")',
        "```",
        "",
        "From a shell, inside an mtl_pipeline project:",
        "",
        "```bash",
        f"kedro mtl predict --model path/to/this/directory --task {first} --input in.csv --output out.csv",
        "```",
        "",
        "## Files",
        "",
        "- `mtl_model.json`: format version, encoder/architecture config, tasks, label sets "
        "and the facts of this card",
        "- `model.safetensors`: every weight (encoder, task heads, mixing weights)",
        "- `encoder/`: the shared encoder and tokenizer (`save_pretrained`)",
        "",
    ]
    return "\n".join(lines)


def _is_pair(facts: dict[str, Any] | None) -> bool:
    return bool(facts) and len(facts.get("text_fields") or []) == 2


#: The labels cell of task types without a label set.
_NO_LABELS = {"span_extraction": "(an answer span of the context)"}


def write_model_card(directory: str | Path, document: dict[str, Any]) -> Path:
    """Write ``README.md`` into ``directory`` and return its path."""
    path = Path(directory) / CARD_FILE
    path.write_text(render_model_card(document), encoding="utf-8")
    return path
