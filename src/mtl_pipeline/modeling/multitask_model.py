"""``MultiTaskModel``: architecture + tokenizer + task metadata, saved without pickle.

On disk (one directory, written to a temporary sibling and renamed into place):

* ``mtl_model.json`` — format version, encoder and architecture config, every task's
  type, label set and metrics (the model card's facts), the plugin package that provided
  each component, and an integrity record (SHA-256 of the weights, the encoder folder and
  the rest of this document) that ``load`` verifies;
* ``model.safetensors`` — the full architecture state (encoder, heads, mixing weights);
* ``encoder/`` — the shared encoder and tokenizer via ``save_pretrained``, loadable with
  ``transformers.AutoModel.from_pretrained(<dir>/encoder)``.

``MultiTaskModel.load(path).predict(task, texts)`` is the one documented inference call.

Loading never runs code from the model directory: ``trust_remote_code`` comes only from
the caller (default off), and a directory that asks for remote code (in ``mtl_model.json``
or through an ``auto_map`` in ``encoder/``) is refused unless the caller opted in.
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
from mtl_pipeline.modeling import integrity

FORMAT_VERSION = 2
#: Earlier formats this version still reads (format 1 has no integrity record).
READABLE_FORMATS = {1, 2}
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
    #: How many text fields each input has (1 or 2) for sentence tasks; None if unknown.
    text_fields: int | None = None

    def as_dict(self) -> dict[str, Any]:
        return {
            "type": self.type,
            "level": self.level,
            "labels": self.labels,
            "metrics": self.metrics,
            "head": self.head,
            "text_fields": self.text_fields,
        }


def build_architecture(
    arch_name: str,
    arch_options: dict[str, Any],
    encoder: Any,
    tasks: dict[str, TaskMeta],
    providers: dict[str, Any] | None = None,
):
    """Instantiate a registered architecture with task heads built by each task type.

    ``providers``: the saved model's record of which package provided each component, so
    a model loaded without its plugin says which package to install.
    """
    from mtl_pipeline.architectures.base import TaskHeadSpec
    from mtl_pipeline.registry import get_registry
    from mtl_pipeline.task_types.base import SHARE_WITH, type_options

    registry = get_registry()
    specs = []
    for name, meta in tasks.items():
        type_cls = _component(registry, "task_type", meta.type, f"tasks.{name}.type", providers)
        task_type = type_cls(type_cls.parse_options(type_options(meta.head), f"tasks.{name}.head"))
        share_with = (meta.head or {}).get(SHARE_WITH)
        if share_with is not None:
            check_head_sharing(name, str(share_with), tasks)
        specs.append(TaskHeadSpec(name, task_type, task_type.num_outputs(meta.labels), share_with))
    where = "model.architecture"
    cls = _component(registry, "architecture", arch_name, where, providers)
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


def _component(
    registry: Any, kind: str, name: str, where: str, providers: dict[str, Any] | None
) -> Any:
    from mtl_pipeline.errors import UnknownComponentError

    try:
        return registry.get(kind, name, where)
    except UnknownComponentError as exc:
        provider = (providers or {}).get(f"{kind}:{name}")
        if not provider or not provider.get("package"):
            raise
        raise DataError(
            f"this model uses {kind} {name!r}, provided when it was saved by package "
            f"{provider['package']} {provider.get('version', '')} (plugin "
            f"{provider.get('plugin')!r}), which is not installed here. Install it "
            f"(pip install {provider['package']}) to load this model. ({exc})"
        ) from None


def component_providers(arch_name: str, tasks: dict[str, TaskMeta]) -> dict[str, Any]:
    """Which plugin package and version provided each component this model needs."""
    from mtl_pipeline.registry import get_registry

    registry = get_registry()
    wanted = [("architecture", arch_name)]
    wanted += sorted({("task_type", meta.type) for meta in tasks.values()})
    providers: dict[str, Any] = {}
    for kind, name in wanted:
        plugin = registry.entry(kind, name).plugin
        package, version = integrity.plugin_distribution(plugin)
        providers[f"{kind}:{name}"] = {"plugin": plugin, "package": package, "version": version}
    return providers


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
                "components": component_providers(self.config["architecture"]["name"], self.tasks),
                **(extra or {}),
            }
            facts = {**self.card, **(card or {})}
            if facts:
                document["card"] = facts
            document[integrity.KEY] = integrity.record(tmp, document)
            (tmp / CONFIG_FILE).write_text(
                json.dumps(document, indent=2, sort_keys=True), encoding="utf-8"
            )
            write_model_card(tmp, document)
            _replace_dir(tmp, target)
        except BaseException:
            shutil.rmtree(tmp, ignore_errors=True)
            raise

    @classmethod
    def load(
        cls,
        path: str | os.PathLike[str],
        device: str = "cpu",
        *,
        trust_remote_code: bool = False,
    ) -> MultiTaskModel:
        """Load a saved model directory, verifying it first.

        ``trust_remote_code`` is the caller's decision alone (default off): a directory
        that asks for remote code is refused unless the caller opts in, since running it
        means running whatever Python the directory ships.
        """
        source = Path(path)
        document = read_model_document(source)
        refuse_remote_code(source, document, trust_remote_code)
        integrity.verify(source, document)
        tasks = {
            name: TaskMeta(
                name=name, **{k: v for k, v in meta.items() if k in TaskMeta.__dataclass_fields__}
            )
            for name, meta in document["tasks"].items()
        }
        model_cfg = document["model"]
        encoder, tokenizer = _load_encoder_dir(source / ENCODER_DIR, trust_remote_code)
        arch_cfg = dict(model_cfg["architecture"])
        architecture = build_architecture(
            arch_cfg.pop("name"), arch_cfg, encoder, tasks, document.get("components")
        )
        _load_weights(architecture, source / WEIGHTS_FILE)
        architecture.to(_available_device(device)).eval()
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
            _check_text_fields(task, meta, inputs)
            pairs = [x if isinstance(x, list | tuple) else (x, None) for x in inputs]
            frame = pd.DataFrame(
                {
                    "row": range(len(inputs)),
                    "text_a": [p[0] for p in pairs],
                    "text_b": [p[1] if len(p) > 1 else None for p in pairs],
                    "label": [meta.labels[0] if meta.labels else 0.0] * len(inputs),
                }
            )
        preds, refs = predict_split(
            self.architecture,
            task,
            self._tokenized(task, frame),
            batch_size=batch_size,
            device=next(self.architecture.parameters()).device,
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
        from mtl_pipeline.training.evaluate import predict_split

        meta = self.tasks[task]
        details, _ = predict_split(
            self.architecture,
            task,
            self._tokenized(task, frame, task_type),
            batch_size=batch_size,
            device=next(self.architecture.parameters()).device,
            precision="fp32",
            pad_id=self.tokenizer.pad_token_id,
            details=True,
        )
        return [task_type.natural_prediction(d, meta.labels) for d in details]

    def _tokenized(self, task: str, frame: Any, task_type: Any = None) -> Any:
        """``frame`` (the standard table of ``task``) tokenized as at training time; a task
        type that decodes whole records brings its own columns and Arrow schema."""
        from mtl_pipeline.tokenization import tokenize_frame
        from mtl_pipeline.training.batching import TokenizedSplit

        meta = self.tasks[task]
        columns, _ = tokenize_frame(
            frame,
            self.tokenizer,
            level=meta.level,
            vocab=meta.labels,
            max_length=int(self.config["max_length"]),
            task_type=task_type,
        )
        schema = task_type.arrow_schema(columns, meta.labels) if task_type is not None else None
        return TokenizedSplit.from_columns(columns, schema)


def read_model_document(source: Path) -> dict[str, Any]:
    """``mtl_model.json`` parsed and version-checked, with errors that name the file."""
    config_file = source / CONFIG_FILE
    if not config_file.exists():
        raise DataError(
            f"{source}: no {CONFIG_FILE}; expected a directory saved by MultiTaskModel.save."
        )
    try:
        document = json.loads(config_file.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise DataError(
            f"{config_file}: not valid JSON ({exc}); the file is damaged. Re-export the model "
            "(kedro run --pipelines training) or restore the directory from a copy."
        ) from None
    if not isinstance(document, dict):
        raise DataError(f"{config_file}: expected a JSON object, found {type(document).__name__}.")
    if document.get("format_version") not in READABLE_FORMATS:
        raise DataError(
            f"{config_file}: format_version {document.get('format_version')!r}; this "
            f"mtl_pipeline reads versions {sorted(READABLE_FORMATS)}."
        )
    for key in ("model", "tasks"):
        if not isinstance(document.get(key), dict):
            raise DataError(f"{config_file}: field {key!r} is missing or not an object.")
    return document


def refuse_remote_code(source: Path, document: dict[str, Any], trust_remote_code: bool) -> None:
    """Refuse a directory that would run its own code unless the caller opted in."""
    if trust_remote_code:
        return
    reasons = []
    if document["model"].get("trust_remote_code"):
        reasons.append(f"{CONFIG_FILE} sets trust_remote_code: true")
    encoder_dir = source / ENCODER_DIR
    for name in ("config.json", "tokenizer_config.json", "preprocessor_config.json"):
        candidate = encoder_dir / name
        if not candidate.is_file():
            continue
        try:
            loaded = json.loads(candidate.read_text(encoding="utf-8"))
        except (UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise DataError(f"{candidate}: not valid JSON ({exc}).") from None
        if isinstance(loaded, dict) and "auto_map" in loaded:
            reasons.append(f"{ENCODER_DIR}/{name} maps classes to code in the directory (auto_map)")
    if reasons:
        raise DataError(
            f"{source}: refused to load: the model asks to run its own code ("
            + "; ".join(reasons)
            + "). No code from a model directory runs unless you ask for it: pass "
            "trust_remote_code=True to MultiTaskModel.load (kedro mtl predict "
            "--trust-remote-code) only if you have read that code and trust it."
        )


def _load_encoder_dir(encoder_dir: Path, trust_remote_code: bool) -> tuple[Any, Any]:
    from transformers import AutoModel, AutoTokenizer

    try:
        encoder = AutoModel.from_pretrained(
            encoder_dir, trust_remote_code=trust_remote_code, use_safetensors=True
        )
        tokenizer = AutoTokenizer.from_pretrained(encoder_dir, trust_remote_code=trust_remote_code)
    except (OSError, ValueError) as exc:
        raise DataError(
            f"{encoder_dir}: could not load the saved encoder or tokenizer: "
            f"{type(exc).__name__}: {exc}"
        ) from None
    return encoder, tokenizer


def _load_weights(architecture: Any, weights: Path) -> None:
    from safetensors import SafetensorError
    from safetensors.torch import load_model

    try:
        load_model(architecture, str(weights), strict=True)
    except (SafetensorError, OSError) as exc:
        raise DataError(
            f"{weights}: not a readable safetensors file ({exc}); it may be truncated. "
            "Re-export the model or restore it from a copy."
        ) from None
    except RuntimeError as exc:
        raise DataError(
            f"{weights}: the weights do not fit this model's architecture ({exc})."
        ) from None


def _available_device(device: str) -> Any:
    import torch

    if str(device).startswith("cuda") and not torch.cuda.is_available():
        raise DataError(
            f"device {device!r} requested but CUDA is not available on this machine; use cpu."
        )
    return torch.device(device)


def _check_text_fields(task: str, meta: TaskMeta, inputs: list[Any]) -> None:
    """A pair task fed single texts (or the reverse) would silently read half the input."""
    if meta.text_fields is None:
        return
    for index, item in enumerate(inputs):
        found = len(item) if isinstance(item, list | tuple) else 1
        if found != meta.text_fields:
            expected = "(text_a, text_b) pairs" if meta.text_fields == 2 else "single strings"
            raise DataError(
                f"predict({task!r}): input {index} has {found} text field(s), but task "
                f"{task!r} was trained on {meta.text_fields}; expected {expected}."
            )


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
