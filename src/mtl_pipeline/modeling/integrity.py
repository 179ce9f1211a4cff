"""What a saved model directory must still be when it is loaded: digests and provenance.

``record`` runs at save time over the files just written; ``verify`` recomputes it at load
time. A label list reordered by hand in ``mtl_model.json``, a truncated ``model.safetensors``
or a swapped tokenizer would otherwise load without error and flip predictions silently.
The digest covers the weights, every file of ``encoder/`` and the JSON document itself
(canonically serialised, without the integrity record and the model card's prose facts).
"""

from __future__ import annotations

import hashlib
import json
from importlib import metadata
from pathlib import Path
from typing import Any

from mtl_pipeline.errors import DataError

KEY = "integrity"
WEIGHTS_FILE = "model.safetensors"
ENCODER_DIR = "encoder"
CONFIG_FILE = "mtl_model.json"
#: Parts of the document that do not change what the model computes.
_UNHASHED = {KEY, "card"}
_CHUNK = 1 << 20


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        while chunk := handle.read(_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def document_sha256(document: dict[str, Any]) -> str:
    kept = {k: v for k, v in document.items() if k not in _UNHASHED}
    return hashlib.sha256(json.dumps(kept, sort_keys=True).encode()).hexdigest()


def _encoder_files(directory: Path) -> dict[str, str]:
    root = directory / ENCODER_DIR
    return {
        str(p.relative_to(root)): file_sha256(p) for p in sorted(root.rglob("*")) if p.is_file()
    }


def record(directory: Path, document: dict[str, Any]) -> dict[str, Any]:
    """The integrity record for a directory whose weights and encoder are written."""
    return {
        "algorithm": "sha256",
        "weights": file_sha256(directory / WEIGHTS_FILE),
        "encoder": _encoder_files(directory),
        "document": document_sha256(document),
    }


def verify(directory: Path, document: dict[str, Any]) -> None:
    """Raise ``DataError`` naming the file that differs from what was saved."""
    expected = document.get(KEY)
    if expected is None:
        if document.get("format_version", 0) >= 2:
            raise DataError(
                f"{directory / CONFIG_FILE}: the integrity record is missing; the file was "
                "edited after saving. Re-export the model or restore it from a copy."
            )
        return  # format 1 predates the record
    fix = "Re-export the model (kedro run --pipelines training) or restore it from a copy."
    if document_sha256(document) != expected.get("document"):
        raise DataError(
            f"{directory / CONFIG_FILE}: its content differs from what was saved (tasks, "
            "labels, label order or model settings were edited); predictions would be "
            f"mapped to the wrong labels. {fix}"
        )
    weights = directory / WEIGHTS_FILE
    if not weights.is_file():
        raise DataError(f"{weights}: missing; expected the model's weights. {fix}")
    if file_sha256(weights) != expected.get("weights"):
        raise DataError(
            f"{weights}: differs from the weights saved with this model ({weights.stat().st_size} "
            f"bytes; truncated or replaced). {fix}"
        )
    found = _encoder_files(directory)
    saved = expected.get("encoder", {})
    for name in sorted(set(found) | set(saved)):
        if found.get(name) != saved.get(name):
            state = "missing" if name not in found else "added" if name not in saved else "changed"
            raise DataError(
                f"{directory / ENCODER_DIR / name}: {state} since the model was saved; the "
                f"encoder or tokenizer would not be the one it was trained with. {fix}"
            )


def plugin_distribution(plugin: str) -> tuple[str | None, str | None]:
    """``(package, version)`` of the distribution that registered plugin ``plugin``."""
    from mtl_pipeline.hookspecs import ENTRY_POINT_GROUP

    for entry in metadata.entry_points(group=ENTRY_POINT_GROUP):
        if entry.name == plugin and entry.dist is not None:
            return entry.dist.name, entry.dist.version
    if plugin == "builtins":
        from mtl_pipeline import __version__

        return "mtl_pipeline", __version__
    return None, None
