"""``MultiTaskModel``: architecture + tokenizer + task metadata, saved without pickle.

On disk (one directory, written to a temporary sibling and renamed into place):

* ``mtl_model.json`` — format version, encoder and architecture config, every task's
  type, label set and metrics (the model card's facts);
* ``model.safetensors`` — the full architecture state (encoder, heads, mixing weights);
* ``encoder/`` — the shared encoder and tokenizer via ``save_pretrained``, loadable with
  ``transformers.AutoModel.from_pretrained(<dir>/encoder)``.

``MultiTaskModel.load(path).predict(task, texts)`` is the one documented inference call.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from mtl_pipeline.errors import DataError

FORMAT_VERSION = 1
CONFIG_FILE = "mtl_model.json"
WEIGHTS_FILE = "model.safetensors"
ENCODER_DIR = "encoder"


@dataclass
class TaskMeta:
    """What a saved model knows about one task."""

    name: str
    type: str
    level: str
    labels: list[str]
    metrics: list[str]
    head: dict[str, Any] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return {
            "type": self.type,
            "level": self.level,
            "labels": self.labels,
            "metrics": self.metrics,
            "head": self.head,
        }


def build_architecture(
    arch_name: str, arch_options: dict[str, Any], encoder: Any, tasks: dict[str, TaskMeta]
):
    """Instantiate a registered architecture with task heads built by each task type."""
    from mtl_pipeline.architectures.base import TaskHeadSpec
    from mtl_pipeline.registry import get_registry
    from mtl_pipeline.task_types.base import SHARE_WITH, type_options

    registry = get_registry()
    specs = []
    for name, meta in tasks.items():
        type_cls = registry.get("task_type", meta.type, f"tasks.{name}.type")
        task_type = type_cls(type_cls.parse_options(type_options(meta.head), f"tasks.{name}.head"))
        share_with = (meta.head or {}).get(SHARE_WITH)
        if share_with is not None:
            check_head_sharing(name, str(share_with), tasks)
        specs.append(TaskHeadSpec(name, task_type, task_type.num_outputs(meta.labels), share_with))
    where = "model.architecture"
    cls = registry.get("architecture", arch_name, where)
    check = getattr(cls, "check_task_types", None)
    if callable(check):
        check(specs)
    return cls(encoder, specs, cls.parse_options(arch_options, where))


def check_head_sharing(name: str, target: str, tasks: dict[str, TaskMeta]) -> None:
    """``head.share_with``: another task of the same type and label set, not itself shared."""
    from mtl_pipeline.errors import ConfigError
    from mtl_pipeline.task_types.base import SHARE_WITH, type_options

    where = f"tasks.{name}.head.{SHARE_WITH}"
    if target not in tasks or target == name:
        raise ConfigError(
            f"{where}: {target!r} is not another task of this run; expected one of "
            f"{', '.join(t for t in tasks if t != name)}."
        )
    own, other = tasks[name], tasks[target]
    if (other.head or {}).get(SHARE_WITH) is not None:
        raise ConfigError(
            f"{where}: {target!r} itself shares {other.head[SHARE_WITH]!r}'s head; name the task "
            "that owns the head."
        )
    if own.type != other.type or list(own.labels) != list(other.labels):
        raise ConfigError(
            f"{where}: task {name!r} ({own.type}, labels {own.labels}) cannot share the head of "
            f"{target!r} ({other.type}, labels {other.labels}); expected the same task type and "
            "the same labels in the same order."
        )
    if type_options(own.head) != type_options(other.head):
        raise ConfigError(
            f"{where}: the head options of {name!r} ({type_options(own.head)}) differ from "
            f"{target!r}'s ({type_options(other.head)}); a shared head has one set of options."
        )


class MultiTaskModel:
    def __init__(
        self, architecture: Any, tokenizer: Any, tasks: dict[str, TaskMeta], config: dict[str, Any]
    ) -> None:
        self.architecture = architecture
        self.tokenizer = tokenizer
        self.tasks = tasks
        self.config = config  # {"encoder", "max_length", "architecture": {"name", ...options}}
        #: Model-card facts (metrics, training config, data provenance), see model_card.py;
        #: set by the training node, kept through load/save.
        self.card: dict[str, Any] = {}

    # --- persistence ----------------------------------------------------------------
    def save(
        self,
        path: str | os.PathLike[str],
        extra: dict[str, Any] | None = None,
        card: dict[str, Any] | None = None,
    ) -> None:
        """Write the model directory, with its model card ``README.md``.

        ``card``: model-card facts (``model_card.card_facts``) merged over ``self.card``;
        they are stored under ``card`` in ``mtl_model.json`` and rendered into README.md.
        """
        from safetensors.torch import save_model

        from mtl_pipeline.modeling.model_card import write_model_card

        target = Path(path)
        target.parent.mkdir(parents=True, exist_ok=True)
        tmp = Path(tempfile.mkdtemp(prefix=f".{target.name}.", dir=target.parent))
        tmp.chmod(0o755)  # mkdtemp's 0700 would survive the rename
        try:
            save_model(self.architecture, str(tmp / WEIGHTS_FILE))
            encoder = self.architecture.export_encoder()
            encoder.save_pretrained(tmp / ENCODER_DIR)
            self.tokenizer.save_pretrained(tmp / ENCODER_DIR)
            from mtl_pipeline import __version__

            document = {
                "format_version": FORMAT_VERSION,
                "mtl_pipeline_version": __version__,
                "model": self.config,
                "tasks": {name: meta.as_dict() for name, meta in self.tasks.items()},
                **(extra or {}),
            }
            facts = {**self.card, **(card or {})}
            if facts:
                document["card"] = facts
            (tmp / CONFIG_FILE).write_text(
                json.dumps(document, indent=2, sort_keys=True), encoding="utf-8"
            )
            write_model_card(tmp, document)
            _replace_dir(tmp, target)
        except BaseException:
            shutil.rmtree(tmp, ignore_errors=True)
            raise

    @classmethod
    def load(cls, path: str | os.PathLike[str], device: str = "cpu") -> MultiTaskModel:
        from safetensors.torch import load_model
        from transformers import AutoModel, AutoTokenizer

        source = Path(path)
        config_file = source / CONFIG_FILE
        if not config_file.exists():
            raise DataError(
                f"{source}: no {CONFIG_FILE}; expected a directory saved by MultiTaskModel.save."
            )
        document = json.loads(config_file.read_text(encoding="utf-8"))
        if document.get("format_version") != FORMAT_VERSION:
            raise DataError(
                f"{config_file}: format_version {document.get('format_version')!r}; this mtl_pipeline "
                f"reads version {FORMAT_VERSION}."
            )
        tasks = {
            name: TaskMeta(
                name=name, **{k: v for k, v in meta.items() if k in TaskMeta.__dataclass_fields__}
            )
            for name, meta in document["tasks"].items()
        }
        model_cfg = document["model"]
        trust = bool(model_cfg.get("trust_remote_code", False))
        encoder = AutoModel.from_pretrained(source / ENCODER_DIR, trust_remote_code=trust)
        tokenizer = AutoTokenizer.from_pretrained(source / ENCODER_DIR, trust_remote_code=trust)
        arch_cfg = dict(model_cfg["architecture"])
        architecture = build_architecture(arch_cfg.pop("name"), arch_cfg, encoder, tasks)
        missing, unexpected = load_model(architecture, str(source / WEIGHTS_FILE), strict=True)
        architecture.to(device).eval()
        model = cls(architecture, tokenizer, tasks, model_cfg)
        model.metadata = document  # type: ignore[attr-defined]
        model.card = dict(document.get("card") or {})
        return model

    # --- inference -----------------------------------------------------------------
    def predict(self, task: str, inputs: list[Any], batch_size: int = 64) -> list[Any]:
        """Predict ``task`` for new inputs.

        ``inputs``: strings (single-sentence tasks), ``(text_a, text_b)`` pairs (pair tasks),
        or lists of words (tagging). Returns label names, floats, or per-word tag lists.
        """
        import pandas as pd

        from mtl_pipeline.tokenization import tokenize_frame
        from mtl_pipeline.training.batching import TokenizedSplit
        from mtl_pipeline.training.evaluate import predict_split

        if task not in self.tasks:
            raise KeyError(f"unknown task {task!r}; this model has: {', '.join(self.tasks)}")
        meta = self.tasks[task]
        task_type = self.architecture.task_specs[task].task_type
        custom = task_type.prediction_frame(inputs, meta.labels)
        if custom is not None:
            return self._predict_records(task, task_type, custom, batch_size)
        if meta.level == "token":
            frame = pd.DataFrame({"row": range(len(inputs)), "tokens": [list(x) for x in inputs]})
            frame["tags"] = [[meta.labels[0]] * len(x) for x in inputs]
        else:
            pairs = [x if isinstance(x, list | tuple) else (x, None) for x in inputs]
            frame = pd.DataFrame(
                {
                    "row": range(len(inputs)),
                    "text_a": [p[0] for p in pairs],
                    "text_b": [p[1] if len(p) > 1 else None for p in pairs],
                    "label": [meta.labels[0] if meta.labels else 0.0] * len(inputs),
                }
            )
        columns, _ = tokenize_frame(
            frame,
            self.tokenizer,
            level=meta.level,
            vocab=meta.labels,
            max_length=int(self.config["max_length"]),
        )
        split = TokenizedSplit.from_columns(columns)
        device = next(self.architecture.parameters()).device
        preds, refs = predict_split(
            self.architecture,
            task,
            split,
            batch_size=batch_size,
            device=device,
            precision="fp32",
            pad_id=self.tokenizer.pad_token_id,
            flatten_tokens=False,
        )
        if meta.level == "token":
            return [
                [meta.labels[int(p)] for p, r in zip(ps, rs, strict=True) if r != -100]
                for ps, rs in zip(preds, refs, strict=True)
            ]
        if not meta.labels:
            return [float(v) for v in preds]
        return [meta.labels[int(v)] for v in preds]

    def _predict_records(self, task: str, task_type: Any, frame: Any, batch_size: int) -> list[Any]:
        """Natural outputs of a task type that decodes whole records (answers with their
        character spans and scores, the chosen choice with its probabilities, label sets
        with each label's probability)."""
        from mtl_pipeline.tokenization import tokenize_frame
        from mtl_pipeline.training.batching import TokenizedSplit
        from mtl_pipeline.training.evaluate import predict_split

        meta = self.tasks[task]
        columns, _ = tokenize_frame(
            frame,
            self.tokenizer,
            level=meta.level,
            vocab=meta.labels,
            max_length=int(self.config["max_length"]),
            task_type=task_type,
        )
        split = TokenizedSplit.from_columns(columns, task_type.arrow_schema(columns, meta.labels))
        details, _ = predict_split(
            self.architecture,
            task,
            split,
            batch_size=batch_size,
            device=next(self.architecture.parameters()).device,
            precision="fp32",
            pad_id=self.tokenizer.pad_token_id,
            details=True,
        )
        return [task_type.natural_prediction(d, meta.labels) for d in details]


def _replace_dir(tmp: Path, target: Path) -> None:
    """Swap ``tmp`` into ``target``; the old directory is removed only after the swap."""
    if target.exists():
        old = target.with_name(f".{target.name}.old")
        if old.exists():
            shutil.rmtree(old)
        os.replace(target, old)
        os.replace(tmp, target)
        shutil.rmtree(old, ignore_errors=True)
    else:
        os.replace(tmp, target)
