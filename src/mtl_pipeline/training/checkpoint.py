"""Exact, pickle-free training checkpoints: safetensors for tensors, JSON for the rest.

A checkpoint is ``Trainer.state_dict()`` on disk (``training/state.py`` says what that
holds: everything the next step depends on, so a run killed at any step and resumed
finishes with bit-identical weights on the CPU). This module does the file I/O only:
``model`` and ``best_model`` go to their own safetensors files, every other tensor to
``state.safetensors`` and the rest to JSON.

Writes are atomic: a checkpoint is written to a hidden temporary directory, fsynced and
renamed into place, then ``latest.json`` is replaced atomically. A kill during a write
leaves the previous checkpoint untouched. Resuming is refused (with a warning, starting
fresh) when the run's fingerprint — config, encoder identity and the content of the
tokenized data, labels included — differs from the checkpoint's. A resumed run records
the step it resumed from in ``history["resumed_from"]``.
"""

from __future__ import annotations

import json
import logging
import os
import re
import shutil
import tempfile
from pathlib import Path
from typing import Any

import torch
from safetensors.torch import load_file, save_file

from mtl_pipeline.errors import TrainingError

logger = logging.getLogger(__name__)

LATEST = "latest.json"
STATE = "trainer_state.json"
#: The only checkpoint names ``latest.json`` may point at (no path separators, no ``..``).
CHECKPOINT_NAME = re.compile(r"^step-\d{8}$")


def _fsync_dir(path: Path) -> None:
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def write_json_atomic(path: Path, document: Any) -> None:
    """Write ``path`` through a fresh temporary file in the same directory.

    ``mkstemp`` creates the file exclusively (``O_EXCL``) under an unpredictable name, so
    a link planted at a guessable temporary name cannot redirect the write elsewhere.
    """
    fd, tmp_name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            json.dump(document, handle)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp_name, path)
    except BaseException:
        Path(tmp_name).unlink(missing_ok=True)
        raise


def _tensors_of(state: dict[str, Any], prefix: str, tensors: dict[str, torch.Tensor]) -> Any:
    """Replace tensors in a nested state by placeholders; collect them in ``tensors``."""
    if isinstance(state, torch.Tensor):
        key = prefix
        tensors[key] = state.detach().cpu().contiguous()
        return {"__tensor__": key}
    if isinstance(state, dict):
        return {
            "__dict__": [[k, _tensors_of(v, f"{prefix}/{k}", tensors)] for k, v in state.items()]
        }
    if isinstance(state, list | tuple):
        return [_tensors_of(v, f"{prefix}/{i}", tensors) for i, v in enumerate(state)]
    return state


#: State entries written as their own safetensors file (flat name -> tensor mappings).
_WEIGHT_FILES = {"model": "model.safetensors", "best_model": "best.safetensors"}


def _save_weights(weights: dict[str, torch.Tensor], path: Path) -> None:
    """Like ``safetensors.torch.save_model``: a tensor stored under several names (tied
    weights) is written once; the other names are kept in the file's metadata."""
    kept: dict[str, torch.Tensor] = {}
    aliases: dict[str, str] = {}
    seen: dict[tuple[Any, ...], str] = {}
    for name, tensor in weights.items():
        key = (
            tensor.device,
            tensor.untyped_storage().data_ptr(),
            tensor.storage_offset(),
            tuple(tensor.shape),
            tensor.stride(),
        )
        if key in seen and tensor.numel() > 0:
            aliases[name] = seen[key]
        else:
            seen[key] = name
            kept[name] = tensor.detach().contiguous()
    save_file(kept, str(path), metadata=aliases or None)


def _load_weights(path: Path) -> dict[str, torch.Tensor]:
    from safetensors import safe_open

    weights = load_file(str(path))
    with safe_open(str(path), framework="pt") as handle:
        aliases = handle.metadata() or {}
    for name, kept in aliases.items():
        if kept in weights:
            weights[name] = weights[kept]
    return weights


def _restore(document: Any, tensors: dict[str, torch.Tensor]) -> Any:
    if isinstance(document, dict) and "__tensor__" in document:
        return tensors[document["__tensor__"]]
    if isinstance(document, dict) and "__dict__" in document:
        return {k: _restore(v, tensors) for k, v in document["__dict__"]}
    if isinstance(document, dict):  # a plain JSON object: its values may hold placeholders
        return {k: _restore(v, tensors) for k, v in document.items()}
    if isinstance(document, list):
        return [_restore(v, tensors) for v in document]
    return document


class Checkpointer:
    """Saves every ``every`` steps into ``directory``; resumes from the latest one."""

    def __init__(
        self,
        directory: str | Path,
        every: int,
        keep: int,
        fingerprint: str,
        resume: bool = True,
        keep_final: bool = False,
    ) -> None:
        self.directory = Path(directory)
        self.every = every
        self.keep = keep
        self.fingerprint = fingerprint
        self.resume_enabled = resume
        #: Save a checkpoint after the last step, before the final evaluation, and leave it
        #: for whoever persists the trained model to remove (``remove_checkpoints``): a crash
        #: in that evaluation or a full disk when saving the model then loses no training.
        self.keep_final = keep_final

    def due(self, step: int) -> bool:
        return self.every > 0 and step % self.every == 0

    # --- save -------------------------------------------------------------------------
    def save(self, step: int, state: dict[str, Any]) -> Path:
        """Write ``state`` (a ``Trainer.state_dict()``) as checkpoint ``step-NNNNNNNN``,
        atomically; returns its folder. ``TrainingError`` when it cannot be written (the
        previous checkpoint is kept)."""
        name = f"step-{step:08d}"
        tmp: Path | None = None
        try:
            self.directory.mkdir(parents=True, exist_ok=True)
            tmp = Path(tempfile.mkdtemp(prefix=f".tmp-{name}-", dir=self.directory))
            self._write(state, tmp)
            _fsync_dir(tmp)
            final = self.directory / name
            if final.exists():
                shutil.rmtree(final)
            os.replace(tmp, final)
            _fsync_dir(self.directory)
            write_json_atomic(
                self.directory / LATEST,
                {"checkpoint": name, "step": step, "fingerprint": self.fingerprint},
            )
        except OSError as exc:
            if tmp is not None:
                shutil.rmtree(tmp, ignore_errors=True)
            raise TrainingError(
                f"could not write checkpoint {self.directory / name}: {exc.strerror or exc} "
                f"(errno {exc.errno}). Free disk space or set training.checkpoint_dir to a "
                "writable location; the previous checkpoint was kept."
            ) from exc
        self._prune(keep_name=name)
        return self.directory / name

    def _write(self, state: dict[str, Any], target: Path) -> None:
        rest = {k: v for k, v in state.items() if k not in _WEIGHT_FILES}
        for key, filename in _WEIGHT_FILES.items():
            if state.get(key) is not None:
                _save_weights(state[key], target / filename)
        tensors: dict[str, torch.Tensor] = {}
        document = {"fingerprint": self.fingerprint, **_tensors_of(rest, "state", tensors)}
        save_file(tensors, str(target / "state.safetensors"))
        with open(target / STATE, "w", encoding="utf-8") as handle:
            json.dump(document, handle)
            handle.flush()
            os.fsync(handle.fileno())

    def _prune(self, keep_name: str) -> None:
        checkpoints = sorted(p for p in self.directory.glob("step-*") if p.is_dir())
        for old in checkpoints[: max(0, len(checkpoints) - self.keep)]:
            if old.name != keep_name:
                shutil.rmtree(old, ignore_errors=True)

    # --- resume -----------------------------------------------------------------------
    def latest(self) -> Path | None:
        pointer = self.directory / LATEST
        if not pointer.exists():
            return None
        try:
            info = json.loads(pointer.read_text(encoding="utf-8"))
            name = info["checkpoint"]
        except (ValueError, KeyError, TypeError) as exc:
            raise TrainingError(
                f"{pointer}: not a checkpoint pointer ({type(exc).__name__}: {exc}); expected "
                '{"checkpoint": "step-NNNNNNNN", ...}. Delete it to start afresh.'
            ) from None
        if not isinstance(name, str) or not CHECKPOINT_NAME.match(name):
            raise TrainingError(
                f"{pointer}: checkpoint name {name!r} is not of the form step-NNNNNNNN; "
                "refusing to follow it outside the checkpoint directory. Delete the file to "
                "start afresh."
            )
        path = self.directory / name
        if path.is_symlink() or not (path / STATE).exists():
            return None
        if info.get("fingerprint") != self.fingerprint:
            logger.warning(
                "Not resuming from %s: it was written by a run with a different configuration "
                "or data (fingerprint %s, this run %s). Starting from step 0.",
                path,
                str(info.get("fingerprint"))[:12],
                self.fingerprint[:12],
            )
            return None
        return path

    def load(self) -> tuple[Path, dict[str, Any]] | None:
        """``(folder, state)`` of the latest checkpoint this run may resume, else None."""
        path = self.latest()
        if path is None:
            return None
        document = json.loads((path / STATE).read_text(encoding="utf-8"))
        document.pop("fingerprint", None)
        tensors = load_file(str(path / "state.safetensors"))
        state = _restore(document, tensors)
        for key, filename in _WEIGHT_FILES.items():
            state[key] = _load_weights(path / filename) if (path / filename).exists() else None
        return path, state

    def finished(self) -> None:
        """A completed run needs no checkpoints: a later `kedro run` trains afresh.
        Only this class's own files are removed, whatever else the directory holds."""
        (self.directory / LATEST).unlink(missing_ok=True)
        for path in [*self.directory.glob("step-*"), *self.directory.glob(".tmp-step-*")]:
            shutil.rmtree(path, ignore_errors=True)
        try:
            self.directory.rmdir()
        except OSError:
            pass


def remove_checkpoints(root: str | Path) -> None:
    """Remove the checkpoints a finished run kept (``keep_final``) under ``root`` and its
    per-phase subdirectories, once the trained model is safely saved."""
    root = Path(root)
    if not root.is_dir():
        return
    for directory in [p for p in root.iterdir() if p.is_dir()]:
        if (directory / LATEST).exists() or any(directory.glob("step-*")):
            Checkpointer(directory, every=0, keep=1, fingerprint="").finished()
    Checkpointer(root, every=0, keep=1, fingerprint="").finished()
