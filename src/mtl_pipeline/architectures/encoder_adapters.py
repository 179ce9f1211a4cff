"""Encoder adapters: running a Hugging Face encoder of any family layer by layer.

Why this exists: cross-stitch and sluice networks run task columns over the top layers,
hierarchical sharing stops at the highest layer any task reads, shared-private runs
private copies of the top layers on the shared states below them. They need the
embedding output, the mask and position information in the exact form the family's own
``forward`` hands its layers, one layer at a time, and the final norm that pre-LN models
apply after the last layer. Each family computes these differently:

* BERT, MiniLM, RoBERTa, XLM-R, ELECTRA: absolute positions in the embeddings, one
  bidirectional mask (``masking_utils.create_bidirectional_mask``; its shape and dtype
  depend on the attention implementation), post-LN layers, no final norm; ELECTRA
  projects small embeddings up to the hidden size first;
* DistilBERT: the same without token type ids;
* DeBERTa-v2/v3: a 4-d 0/1 mask, relative positions and the (optionally normalized)
  relative embeddings passed to every layer, an optional convolution after layer 1;
* ModernBERT: rotary embeddings and alternating global / sliding-window attention, each
  layer picks its mask and rotary table by its ``attention_type``; a final LayerNorm;
* decoder-only language models (Llama, Qwen2/3, Mistral): causal masks (sliding-window
  causal where the config asks), rotary embeddings and ``position_ids``, a final RMSNorm.

An adapter is a small component registered through the ``register_encoder_adapters``
hook (kind ``encoder_adapter``), so a plugin can add a family; it claims the config's
``model_type`` values it handles. Adapters also say where the per-layer projections sit
(for bottleneck adapters and LoRA) and which pooling a sequence head uses by default.

``tests/test_encoder_adapters.py`` checks for every built-in family that running the
layers one by one through the adapter reproduces ``model(**inputs,
output_hidden_states=True)`` at every depth.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, ClassVar

import torch
from torch import nn

from mtl_pipeline.components import Component
from mtl_pipeline.errors import ConfigError


@dataclass
class LayerContext:
    """What every layer of one forward pass needs besides the hidden states.

    ``mask``: the attention mask as the family's layers take it (a tensor, ``None`` when
    nothing is padded under sdpa, or a dict keyed by attention type); ``attention_mask``:
    the batch's ``(B, L)`` 0/1 mask; ``extras``: family-specific tensors (rotary tables,
    relative positions, the embedding output for DeBERTa's convolution...).
    """

    mask: Any
    attention_mask: torch.Tensor
    extras: dict[str, Any] = field(default_factory=dict)


def _resolve(module: nn.Module, path: str) -> Any:
    for attr in path.split("."):
        module = getattr(module, attr, None)
        if module is None:
            return None
    return module


class EncoderAdapter(Component):
    """How to run one family of encoders layer by layer. Subclasses set ``name``,
    ``description``, ``model_types`` and implement ``embed`` and ``call_layer``.

    An instance belongs to one architecture (it carries the gradient-checkpointing
    switch); its methods take the encoder or layer they work on, so the same adapter
    runs deep copies of layers (task columns, private layers) too.
    """

    #: ``config.model_type`` values this adapter handles.
    model_types: ClassVar[tuple[str, ...]] = ()
    #: Dotted path from the model to its ``nn.ModuleList`` of layers.
    layers_path: ClassVar[str] = "encoder.layer"
    #: Pooling of sequence heads whose task does not set ``head.pooling``.
    default_pooling: ClassVar[str] = "mean"
    #: Whether a token attends only to earlier tokens (decoder-only language models).
    causal: ClassVar[bool] = False
    #: Inside one layer: the attention block's and the feed-forward block's output
    #: projections (``nn.Linear``), where bottleneck adapters sit.
    adapter_sites: ClassVar[dict[str, str]] = {
        "attention": "attention.output.dense",
        "ffn": "output.dense",
    }
    #: Module-name suffixes of the query and value projections (LoRA's default targets).
    lora_targets: ClassVar[tuple[str, ...]] = ("query", "value")

    def __init__(self) -> None:
        #: Recompute each layer's activations in the backward pass (``torch.utils.checkpoint``)
        #: for layers that do not checkpoint themselves.
        self.checkpointing = False

    # --- discovery -----------------------------------------------------------------
    @classmethod
    def matches(cls, config: Any) -> bool:
        return getattr(config, "model_type", None) in cls.model_types

    # --- structure -----------------------------------------------------------------
    def layers(self, encoder: nn.Module) -> nn.ModuleList:
        layers = _resolve(encoder, self.layers_path)
        if not isinstance(layers, nn.ModuleList):
            raise ConfigError(
                f"encoder adapter {self.name!r}: {type(encoder).__name__} has no layer list at "
                f"`{self.layers_path}`; expected the {self.name} layout."
            )
        return layers

    def set_layers(self, encoder: nn.Module, layers: nn.ModuleList) -> None:
        """Replace the encoder's layer list (task columns take over the top layers)."""
        parent_path, _, attr = self.layers_path.rpartition(".")
        parent = _resolve(encoder, parent_path) if parent_path else encoder
        setattr(parent, attr, layers)

    def layer_site(self, layer: nn.Module, site: str) -> nn.Linear | None:
        module = _resolve(layer, self.adapter_sites[site])
        return module if isinstance(module, nn.Linear) else None

    def prepare(self, encoder: nn.Module) -> None:
        """Adjust a freshly loaded encoder for training (default: nothing)."""

    # --- layer by layer ----------------------------------------------------------------
    def embed(
        self, encoder: nn.Module, batch: dict[str, torch.Tensor]
    ) -> tuple[torch.Tensor, LayerContext]:
        """(embedding output ``(B, L, H)``, the context every layer call needs)."""
        raise NotImplementedError

    def call_layer(
        self, layer: nn.Module, hidden: torch.Tensor, context: LayerContext, index: int
    ) -> torch.Tensor:
        """Layer ``index`` (0-based position in the full stack) on ``hidden``."""
        raise NotImplementedError

    def finish(self, encoder: nn.Module, hidden: torch.Tensor) -> torch.Tensor:
        """What the model applies after its last layer (pre-LN families: the final norm)."""
        return hidden

    def run_layer(
        self, layer: nn.Module, hidden: torch.Tensor, context: LayerContext, index: int
    ) -> torch.Tensor:
        # Hugging Face layers checkpoint themselves once gradient_checkpointing_enable has
        # flagged them; copies made before that (task columns) and plugin layers do not.
        if (
            self.checkpointing
            and layer.training
            and torch.is_grad_enabled()
            and not getattr(layer, "gradient_checkpointing", False)
        ):
            from torch.utils.checkpoint import checkpoint

            return checkpoint(self.call_layer, layer, hidden, context, index, use_reentrant=False)
        return self.call_layer(layer, hidden, context, index)

    def run_layers(
        self,
        layers: Any,
        hidden: torch.Tensor,
        context: LayerContext,
        start: int = 0,
    ) -> torch.Tensor:
        """``layers`` in order; ``start`` is the first one's index in the full stack."""
        for offset, layer in enumerate(layers):
            hidden = self.run_layer(layer, hidden, context, start + offset)
        return hidden

    def run(self, encoder: nn.Module, batch: dict[str, torch.Tensor]) -> list[torch.Tensor]:
        """Every depth: ``[embeddings, layer 1, ..., layer n]`` (the last not yet finished)."""
        hidden, context = self.embed(encoder, batch)
        states = [hidden]
        for index, layer in enumerate(self.layers(encoder)):
            hidden = self.run_layer(layer, hidden, context, index)
            states.append(hidden)
        return states


def _out(output: Any) -> torch.Tensor:
    """Layers return a tensor in transformers 5.x; a tuple (first item) in others."""
    return output[0] if isinstance(output, tuple) else output


def _bidirectional_mask(config: Any, hidden: torch.Tensor, attention_mask: torch.Tensor) -> Any:
    from transformers.masking_utils import create_bidirectional_mask

    return create_bidirectional_mask(
        config=config, inputs_embeds=hidden, attention_mask=attention_mask
    )


def _attention_mask(batch: dict[str, torch.Tensor]) -> torch.Tensor:
    ids = batch["input_ids"]
    mask = batch.get("attention_mask")
    return mask if mask is not None else torch.ones_like(ids)


class BertAdapter(EncoderAdapter):
    name = "bert"
    description = "BERT and MiniLM: absolute positions, token types, post-LN, no final norm."
    model_types = ("bert",)

    def embed(self, encoder, batch):
        mask = _attention_mask(batch)
        hidden = encoder.embeddings(
            input_ids=batch["input_ids"], token_type_ids=batch.get("token_type_ids")
        )
        project = getattr(encoder, "embeddings_project", None)
        if project is not None:
            hidden = project(hidden)
        return hidden, LayerContext(_bidirectional_mask(encoder.config, hidden, mask), mask)

    def call_layer(self, layer, hidden, context, index):
        return _out(layer(hidden, context.mask))


class RobertaAdapter(BertAdapter):
    name = "roberta"
    description = "RoBERTa, XLM-R, CamemBERT: BERT layers, positions offset past the pad id."
    model_types = ("roberta", "xlm-roberta", "camembert")


class ElectraAdapter(BertAdapter):
    name = "electra"
    description = "ELECTRA discriminators: BERT layers after an embedding up-projection."
    model_types = ("electra",)


class DistilBertAdapter(EncoderAdapter):
    name = "distilbert"
    description = "DistilBERT: no token types, layers under `transformer.layer`."
    model_types = ("distilbert",)
    layers_path = "transformer.layer"
    adapter_sites = {"attention": "attention.out_lin", "ffn": "ffn.lin2"}
    lora_targets = ("q_lin", "v_lin")

    def embed(self, encoder, batch):
        mask = _attention_mask(batch)
        hidden = encoder.embeddings(batch["input_ids"])
        return hidden, LayerContext(_bidirectional_mask(encoder.config, hidden, mask), mask)

    def call_layer(self, layer, hidden, context, index):
        return _out(layer(hidden, context.mask))


class DebertaV2Adapter(EncoderAdapter):
    name = "deberta_v2"
    description = (
        "DeBERTa-v2/v3: disentangled attention with relative positions and relative "
        "embeddings passed to every layer; optional convolution after the first layer."
    )
    model_types = ("deberta-v2",)
    lora_targets = ("query_proj", "value_proj")

    def embed(self, encoder, batch):
        mask = _attention_mask(batch)
        token_types = batch.get("token_type_ids")
        if token_types is None:
            token_types = torch.zeros_like(batch["input_ids"])
        hidden = encoder.embeddings(
            input_ids=batch["input_ids"], token_type_ids=token_types, mask=mask
        )
        stack = encoder.encoder
        extras = {
            "relative_pos": stack.get_rel_pos(hidden),
            "rel_embeddings": stack.get_rel_embedding(),
            "embedding_output": hidden,
            "conv": stack.conv,
        }
        return hidden, LayerContext(stack.get_attention_mask(mask), mask, extras)

    def call_layer(self, layer, hidden, context, index):
        extras = context.extras
        out = _out(
            layer(
                hidden,
                context.mask,
                relative_pos=extras["relative_pos"],
                rel_embeddings=extras["rel_embeddings"],
            )
        )
        if index == 0 and extras["conv"] is not None:
            out = extras["conv"](extras["embedding_output"], out, context.attention_mask)
        return out


class ModernBertAdapter(EncoderAdapter):
    name = "modernbert"
    description = (
        "ModernBERT: rotary positions, alternating global and sliding-window attention "
        "(each layer picks its mask and rotary table), pre-LN with a final LayerNorm."
    )
    model_types = ("modernbert",)
    layers_path = "layers"
    adapter_sites = {"attention": "attn.Wo", "ffn": "mlp.Wo"}
    # The query, key and value projections are one fused linear layer.
    lora_targets = ("Wqkv",)

    def embed(self, encoder, batch):
        from transformers.masking_utils import create_bidirectional_sliding_window_mask

        mask = _attention_mask(batch)
        hidden = encoder.embeddings(input_ids=batch["input_ids"])
        kwargs = {"config": encoder.config, "inputs_embeds": hidden, "attention_mask": mask}
        masks = {
            "full_attention": _bidirectional_mask(encoder.config, hidden, mask),
            "sliding_attention": create_bidirectional_sliding_window_mask(**kwargs),
        }
        positions = torch.arange(hidden.shape[1], device=hidden.device).unsqueeze(0)
        rotary = {
            kind: encoder.rotary_emb(hidden, positions, kind)
            for kind in set(encoder.config.layer_types)
        }
        return hidden, LayerContext(masks, mask, {"rotary": rotary})

    def call_layer(self, layer, hidden, context, index):
        kind = layer.attention_type
        return _out(
            layer(
                hidden,
                attention_mask=context.mask[kind],
                position_embeddings=context.extras["rotary"][kind],
            )
        )

    def finish(self, encoder, hidden):
        return encoder.final_norm(hidden)


class DecoderAdapter(EncoderAdapter):
    name = "decoder"
    description = (
        "Decoder-only language models (Llama, Qwen2/3, Mistral, SmolLM): causal (or "
        "sliding-window causal) masks, rotary positions, final RMSNorm; last-token pooling."
    )
    model_types = ("llama", "qwen2", "qwen3", "mistral")
    layers_path = "layers"
    default_pooling = "last"
    causal = True
    adapter_sites = {"attention": "self_attn.o_proj", "ffn": "mlp.down_proj"}
    lora_targets = ("q_proj", "v_proj")

    def prepare(self, encoder):
        # A key/value cache is for generation; training and scoring never read it.
        encoder.config.use_cache = False

    def layer_type(self, config: Any, index: int) -> str:
        types = getattr(config, "layer_types", None)
        if types:
            return types[index]
        return "sliding_attention" if getattr(config, "sliding_window", None) else "full_attention"

    def embed(self, encoder, batch):
        from transformers.masking_utils import (
            create_causal_mask,
            create_sliding_window_causal_mask,
        )

        mask = _attention_mask(batch)
        hidden = encoder.embed_tokens(batch["input_ids"])
        positions = torch.arange(hidden.shape[1], device=hidden.device).unsqueeze(0)
        kwargs = {
            "config": encoder.config,
            "inputs_embeds": hidden,
            "attention_mask": mask,
            "cache": None,
            "position_ids": positions,
        }
        types = [
            self.layer_type(encoder.config, i) for i in range(encoder.config.num_hidden_layers)
        ]
        masks = {"full_attention": create_causal_mask(**kwargs)}
        if "sliding_attention" in types:
            masks["sliding_attention"] = create_sliding_window_causal_mask(**kwargs)
        extras = {
            "rotary": encoder.rotary_emb(hidden, positions),
            "position_ids": positions,
            "types": types,
        }
        return hidden, LayerContext(masks, mask, extras)

    def call_layer(self, layer, hidden, context, index):
        extras = context.extras
        return _out(
            layer(
                hidden,
                attention_mask=context.mask[extras["types"][index]],
                position_embeddings=extras["rotary"],
                position_ids=extras["position_ids"],
            )
        )

    def finish(self, encoder, hidden):
        return encoder.norm(hidden)


BUILTIN_ENCODER_ADAPTERS: list[type[EncoderAdapter]] = [
    BertAdapter,
    RobertaAdapter,
    ElectraAdapter,
    DistilBertAdapter,
    DebertaV2Adapter,
    ModernBertAdapter,
    DecoderAdapter,
]


def find_encoder_adapter(config: Any) -> type[EncoderAdapter] | None:
    """The registered adapter whose ``matches`` accepts ``config``; None when none does.

    Two adapters claiming the same model type is a plugin conflict and an error naming
    both (the registry already refuses two adapters of the same name).
    """
    from mtl_pipeline.registry import get_registry

    registry = get_registry()
    found = [
        registry.entry("encoder_adapter", name)
        for name in registry.names("encoder_adapter")
        if registry.get("encoder_adapter", name).matches(config)
    ]
    if len(found) > 1:
        claims = ", ".join(f"{e.name} ({e.plugin})" for e in found)
        raise ConfigError(
            f"model.encoder: model_type {getattr(config, 'model_type', None)!r} is claimed by "
            f"several encoder adapters: {claims}; disable one of the plugins."
        )
    return found[0].obj if found else None


def encoder_adapter_for(encoder: Any, architecture: str | None = None) -> EncoderAdapter | None:
    """A fresh adapter instance for ``encoder`` (prepared), or None for an unknown family.

    With ``architecture`` (one that runs the encoder layer by layer), an unknown family is
    a ``ConfigError`` naming the architecture and the model type.
    """
    cls = find_encoder_adapter(encoder.config)
    if cls is None:
        if architecture is None:
            return None
        from mtl_pipeline.registry import get_registry

        known = sorted(
            t
            for name in get_registry().names("encoder_adapter")
            for t in get_registry().get("encoder_adapter", name).model_types
        )
        raise ConfigError(
            f"model.architecture: {architecture!r} runs the encoder layer by layer, and no "
            f"encoder adapter handles model_type {getattr(encoder.config, 'model_type', None)!r} "
            f"({type(encoder).__name__}); adapters exist for: {', '.join(known)}. Use "
            "hard_sharing, mmoe or lora with this encoder, or add an adapter for the family "
            "in a plugin (register_encoder_adapters, docs/encoders.md)."
        )
    adapter = cls()
    adapter.prepare(encoder)
    return adapter
