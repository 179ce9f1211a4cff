"""Running a BERT-like Hugging Face encoder piece by piece.

Why this exists: several architectures need more than ``encoder(**inputs)``. Cross-stitch
and sluice networks run task columns over the top layers, hierarchical sharing stops at
the highest layer any task reads, shared-private runs private copies of the top layers on
the shared states below them. They all need the embedding output, the attention mask in
the form the installed ``BertModel`` hands its layers, and one layer at a time.

transformers 5.x builds that mask with ``masking_utils.create_bidirectional_mask`` (its
shape and dtype depend on the attention implementation: eager wants an additive float
bias, sdpa a boolean mask or ``None`` when nothing is padded), and a ``BertLayer`` returns
a tensor rather than a tuple. Both are handled here, once, so that the architectures read
like the papers and stay correct if the installed version changes its internals again
(``tests/test_architectures.py`` checks that running the layers one by one reproduces
``encoder(**inputs).last_hidden_state``).
"""

from __future__ import annotations

from typing import Any

import torch
from torch import nn

from mtl_pipeline.architectures.base import encoder_inputs
from mtl_pipeline.errors import ConfigError


def encoder_layers(encoder: Any, architecture: str) -> nn.ModuleList:
    """The encoder's transformer layers (``encoder.encoder.layer``: BERT, RoBERTa, MiniLM...).

    Raises a ``ConfigError`` naming the architecture for encoders without that layout, so
    that the failure says which architecture needs a BERT-like encoder instead of an
    ``AttributeError`` deep inside a forward pass.
    """
    layers = getattr(getattr(encoder, "encoder", None), "layer", None)
    if not isinstance(layers, nn.ModuleList) or not hasattr(encoder, "embeddings"):
        raise ConfigError(
            f"model.architecture: {architecture!r} needs a BERT-like encoder (with "
            f"`embeddings` and `encoder.layer`); {type(encoder).__name__} has another layout. "
            "Use hard_sharing with this encoder."
        )
    if getattr(encoder.config, "is_decoder", False):
        raise ConfigError(
            f"model.architecture: {architecture!r} needs a bidirectional encoder, not a decoder."
        )
    return layers


def attention_bias(encoder: Any, attention_mask: torch.Tensor | None, hidden: torch.Tensor) -> Any:
    """The attention mask exactly as the installed ``BertModel.forward`` passes it to its layers."""
    try:
        from transformers.masking_utils import create_bidirectional_mask
    except ImportError:  # transformers 4.x: the additive (B, 1, 1, L) bias
        if attention_mask is None:
            return None
        return encoder.get_extended_attention_mask(attention_mask, attention_mask.shape)
    return create_bidirectional_mask(
        config=encoder.config, inputs_embeds=hidden, attention_mask=attention_mask
    )


def embed(encoder: Any, batch: dict[str, torch.Tensor]) -> tuple[torch.Tensor, Any]:
    """(embedding output ``(B, L, H)``, the layers' attention mask) for ``batch``."""
    inputs = encoder_inputs(batch)
    hidden = encoder.embeddings(
        input_ids=inputs["input_ids"], token_type_ids=inputs.get("token_type_ids")
    )
    return hidden, attention_bias(encoder, inputs.get("attention_mask"), hidden)


def run_layer(layer: nn.Module, hidden: torch.Tensor, mask: Any) -> torch.Tensor:
    """One transformer layer (5.x returns a tensor, 4.x a tuple whose first item it is)."""
    out = layer(hidden, mask)
    return out[0] if isinstance(out, tuple) else out


def run_layers(layers: Any, hidden: torch.Tensor, mask: Any) -> torch.Tensor:
    for layer in layers:
        hidden = run_layer(layer, hidden, mask)
    return hidden


def sorted_task_names(task_names: Any) -> list[str]:
    """Task order for index-based tensors (mixing matrices, gate buffers, discriminator classes).

    Why sorted: a saved model lists its tasks alphabetically (``mtl_model.json`` is written
    with ``sort_keys``), while training sees them in config order; rows of a tensor must
    mean the same task in both, or a loaded model silently mixes up tasks.
    """
    return sorted(task_names)
