"""Generate docs/config_reference.md from the typed configuration (src/mtl_pipeline/config/).

Every key of ``RunConfig`` is listed with its type, its schema default (used when the key
is absent), the value ``conf/base`` sets, and its meaning. A meaning comes from, in order:
the field's ``Field(description=...)``, a ``#:`` comment on the line(s) above the field in
config.py, or ``FALLBACK_MEANINGS`` below (for fields written before this script). A key
with none of these fails ``--check``, so a new key cannot land undocumented.

    python scripts/gen_config_reference.py          # rewrite the doc
    python scripts/gen_config_reference.py --check  # exit 1 if the doc is stale (tests use it)
"""

from __future__ import annotations

import argparse
import inspect
import json
import re
import sys
import types
import typing
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel
from pydantic_core import PydanticUndefined

REPO = Path(__file__).resolve().parents[1]
DOC = REPO / "docs" / "config_reference.md"

#: Meanings of fields that carry neither a description nor a ``#:`` comment.
FALLBACK_MEANINGS: dict[str, str] = {
    "tasks.<name>.reader": "Reader: glue_tsv, csv, jsonl, parquet, conllu, hf_disk, hf_hub (or a plugin's); a name or `{name, **options}` (docs/own_data.md).",
    "tasks.<name>.train": "Training split: a file path, or `folder#split` / `hub_id#split` for the Hugging Face readers.",
    "tasks.<name>.validation": "Validation split, as `train`.",
    "tasks.<name>.text_fields": "One field (single text, or the tokens of a tagging task) or two (sentence pairs).",
    "tasks.<name>.label_field": "Field holding the label (a class, a number, or the tag list of a tagging task).",
    "tasks.<name>.labels": "Fixes the label set and its order; null: the labels found in the training split, sorted.",
    "tasks.<name>.metrics": "Metrics to compute; the first is the task's main metric (model selection, sampler feedback).",
    "tasks.<name>.head": "Options of the task type's head (e.g. `pooling: cls`).",
    "tasks.<name>.max_train_examples": "Cap on this task's training rows (seeded random subset).",
    "tasks.<name>.max_eval_examples": "Cap on this task's validation rows.",
    "ingestion.max_train_examples": "Global cap on every task's training rows (after the task's own cap).",
    "ingestion.max_eval_examples": "Global cap on every task's validation rows.",
    "ingestion.seed": "Seed of the row subsets.",
    "model.encoder": "Shared encoder: a local `save_pretrained` folder, an installed model package (entry-point group `mtl_pipeline.encoders`), or `hf:<hub id>` for an explicit hub download (needs network). No name is ever imported.",
    "model.tokenizer": "Tokenizer; null: the encoder's own.",
    "model.max_length": "Truncation length in tokens (truncations are counted in `tokenization_stats.json`).",
    "model.architecture": "Architecture and its options, `{name, **options}` (docs/architectures.md).",
    "model.trust_remote_code": "Allow the encoder's own Python code (auto_map) to run when it is loaded; never on unless set.",
    "tokenization.batch_size": "Rows per tokenizer call.",
    "tokenization.num_proc": "Worker processes for tokenization; null: one.",
    "tokenization.cache_dir": "Cache of tokenized Arrow files (a re-run with unchanged inputs and tokenizer reuses them); null: no cache.",
    "training.max_steps": "Optimizer steps.",
    "training.batch_size": "Examples per task per step.",
    "training.eval_batch_size": "Examples per forward pass in periodic evaluation.",
    "training.learning_rate": "AdamW learning rate (linear warm-up, then linear decay).",
    "training.head_learning_rate": "Learning rate of the task heads; null: `learning_rate`.",
    "training.weight_decay": "AdamW weight decay.",
    "training.warmup_ratio": "Share of `max_steps` spent warming up the learning rate.",
    "training.max_grad_norm": "Gradient clipping norm; null: no clipping.",
    "training.gradient_accumulation_steps": "Micro-batches per task per step.",
    "training.tasks_per_step": "Tasks in one optimizer step (k).",
    "training.eval_every": "Steps between periodic evaluations (0: only at the end); the best step by the mean of main metrics is kept.",
    "training.eval_max_examples": "Validation rows per task in periodic evaluation; null: all.",
    "training.log_every": "Steps between progress-bar updates and sampler-probability records.",
    "training.seed": "Seed; the same seed and device reproduce the metrics.",
    "training.device": "auto (CUDA if present), cpu, cuda, cuda:N, mps.",
    "training.precision": "auto (bf16 where supported, else fp32), bf16, fp16 (CUDA, with grad scaler), fp32.",
    "training.length_grouping": "Batch examples of similar length (less padding).",
    "training.max_tokens_per_batch": "Cap on tokens per batch (padded length x rows); null: no cap (docs/scaling.md).",
    "training.compile": "`torch.compile` the model (docs/scaling.md).",
    "training.loss": "Task weighting / gradient combination, `{name, **options}` (docs/losses.md).",
    "training.sampler": "Task sampler, `{name, **options}` (docs/samplers.md).",
    "training.on_nonfinite_loss": "stop the run, or skip the step, on a NaN/inf loss.",
    "training.checkpoint_every": "Steps between checkpoints (0: none).",
    "training.checkpoint_dir": "Where checkpoints are written.",
    "training.keep_checkpoints": "Checkpoints kept (oldest removed first).",
    "training.resume": "Resume from the latest matching checkpoint (same config and data).",
    "training.progress_bar": "tqdm progress bar on stderr.",
    "training.num_threads": "torch CPU threads; null: torch's default.",
    "evaluation.batch_size": "Examples per forward pass in the evaluation stage.",
    "evaluation.precision": "Precision of the evaluation stage, as `training.precision`.",
    "reporting.title": "Title of `data/08_reporting/summary.md`.",
    "experiments.seeds": "Seeds; every grid cell is trained once per seed.",
}


def _config_module() -> types.ModuleType:
    sys.path.insert(0, str(REPO / "src"))
    import mtl_pipeline.config as config

    return config


def _comment_meanings(model: type[BaseModel]) -> dict[str, str]:
    """``#:`` comments directly above a field (Sphinx attribute-doc style)."""
    try:
        lines = inspect.getsource(model).splitlines()
    except OSError:
        return {}
    meanings, pending = {}, []
    for line in lines:
        stripped = line.strip()
        if stripped.startswith("#:"):
            pending.append(stripped[2:].strip())
            continue
        match = re.match(r"(\w+)\s*:", stripped)
        if match and pending:
            meanings[match.group(1)] = " ".join(pending)
        if not stripped.startswith("#"):
            pending = []
    return meanings


def _type_name(annotation: Any) -> str:
    origin = typing.get_origin(annotation)
    args = typing.get_args(annotation)
    if origin is typing.Literal:
        return " \\| ".join(json.dumps(a) for a in args)
    if origin in (typing.Union, types.UnionType):
        return " \\| ".join(_type_name(a) for a in args)
    if origin is typing.Annotated:
        return _type_name(args[0])
    if origin in (list, dict):
        return f"{origin.__name__}[{', '.join(_type_name(a) for a in args)}]"
    if annotation is type(None):
        return "null"
    name = getattr(annotation, "__name__", str(annotation))
    return {"ComponentSpec": "{name, **options}", "str": "string"}.get(name, name)


def _value(value: Any) -> str:
    if value is PydanticUndefined:
        return "*required*"
    if isinstance(value, BaseModel):
        value = value.model_dump(mode="json")
    text = json.dumps(value, default=str)
    return f"`{text}`"


def _nested_model(annotation: Any) -> tuple[type[BaseModel] | None, bool]:
    """(model class, is a dict of them) for fields that are sections, else (None, False)."""
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return (None, False) if annotation.__name__ == "ComponentSpec" else (annotation, False)
    if typing.get_origin(annotation) is dict:
        value = typing.get_args(annotation)[-1]
        if isinstance(value, type) and issubclass(value, BaseModel):
            return value, True
    return None, False


def _lookup(tree: Any, key: str) -> Any:
    for part in key.split("."):
        if not isinstance(tree, dict) or part not in tree:
            return PydanticUndefined
        tree = tree[part]
    return tree


def base_parameters() -> dict[str, Any]:
    """conf/base/parameters*.yml merged (each file owns its top-level keys)."""
    merged: dict[str, Any] = {}
    for path in sorted((REPO / "conf" / "base").glob("parameters*.yml")):
        merged.update(yaml.safe_load(path.read_text(encoding="utf-8")) or {})
    return merged


def rows(model: type[BaseModel], prefix: str = "") -> list[tuple[str, str, str, str, str | None]]:
    """(key, type, schema default, conf/base value, meaning or None), depth first."""
    base = base_parameters()
    comments = _comment_meanings(model)
    out = []
    for name, field in model.model_fields.items():
        key = f"{prefix}{name}"
        nested, is_dict = _nested_model(field.annotation)
        if nested is not None:
            out.extend(rows(nested, f"{key}.<name>." if is_dict else f"{key}."))
            continue
        default = field.default
        if default is PydanticUndefined and field.default_factory is not None:
            default = field.default_factory()
        meaning = field.description or comments.get(name) or FALLBACK_MEANINGS.get(key)
        in_base = "" if "<name>" in key else _value(_lookup(base, key)).replace("*required*", "")
        out.append((key, _type_name(field.annotation), _value(default), in_base, meaning))
    return out


def render() -> tuple[str, list[str]]:
    """The Markdown document and the keys that have no meaning anywhere."""
    config = _config_module()
    table = rows(config.RunConfig)
    undocumented = [key for key, *_, meaning in table if not meaning]
    lines = [
        "# Configuration reference",
        "",
        "<!-- Generated by scripts/gen_config_reference.py from src/mtl_pipeline/config/;",
        "     do not edit by hand (tests/test_config_reference.py checks it is current). -->",
        "",
        "Every parameter key the pipeline accepts. Parameters live in",
        "`conf/base/parameters_<pipeline>.yml`; override them per run with",
        "`kedro run --params training.max_steps=200,training.loss.name=equal`, or per",
        "environment in `conf/<env>/parameters.yml` (merged key by key into `base`). Unknown",
        "keys and bad values fail before the first node runs, naming the key.",
        "",
        "*schema default*: the value used when a key is absent; *conf/base*: the value the",
        "shipped configuration sets (empty: not set there). `tasks.<name>` keys repeat for",
        "every task; component keys (`{name, **options}`) take the component's options next",
        "to `name` (`kedro mtl plugins` lists every component).",
        "",
    ]
    section = None
    for key, type_name, default, in_base, meaning in table:
        top = key.split(".")[0]
        if top != section:
            section = top
            lines += [
                "",
                f"## `{top}`",
                "",
                "| key | type | schema default | conf/base | meaning |",
                "|---|---|---|---|---|",
            ]
        cell = (meaning or "**undocumented**").replace("|", "\\|")
        lines.append(f"| `{key}` | {type_name} | {default} | {in_base} | {cell} |")
    return "\n".join(lines) + "\n", undocumented


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="fail if the doc is not current")
    args = parser.parse_args()
    text, undocumented = render()
    if undocumented:
        print(
            "Keys without a meaning (add Field(description=...), a `#:` comment above the "
            f"field, or a FALLBACK_MEANINGS entry): {', '.join(undocumented)}",
            file=sys.stderr,
        )
    if args.check:
        current = DOC.read_text(encoding="utf-8") if DOC.exists() else ""
        if current != text:
            print(
                f"{DOC.relative_to(REPO)} is out of date: run python scripts/gen_config_reference.py",
                file=sys.stderr,
            )
            return 1
        return 1 if undocumented else 0
    DOC.parent.mkdir(parents=True, exist_ok=True)
    DOC.write_text(text, encoding="utf-8")
    print(f"wrote {DOC.relative_to(REPO)} ({text.count(chr(10))} lines)")
    return 1 if undocumented else 0


if __name__ == "__main__":
    sys.exit(main())
