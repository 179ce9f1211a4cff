"""The architecture interface (after LibMTL's ``AbsArchitecture``).

An architecture is an ``nn.Module`` that owns the pretrained encoder (or copies/parts of
it) and one head per task, and maps ``(task, batch)`` to that task's logits. The trainer
only needs three more things from it: which parameters are *shared* (gradient-based
losses combine per-task gradients on exactly these), which belong to one task, and an
optional auxiliary loss (adversarial, orthogonality, load balancing) to add to the task
loss. Everything it holds must be a tensor in ``state_dict()`` so that a checkpoint is a
plain safetensors file.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ClassVar

import torch
from pydantic import BaseModel
from torch import nn

from mtl_pipeline.components import Component

if TYPE_CHECKING:
    from transformers import PreTrainedModel

    from mtl_pipeline.task_types.base import TaskType

#: Keys of a batch that an encoder consumes (labels stay with the trainer).
ENCODER_INPUTS = ("input_ids", "attention_mask", "token_type_ids")


@dataclass(frozen=True)
class TaskHeadSpec:
    """What an architecture needs to know about one task to build its head."""

    name: str
    task_type: TaskType
    num_outputs: int
    #: Another task whose head this task uses (``head.share_with``); None: its own head.
    share_with: str | None = None


@dataclass
class ArchitectureOutput:
    """Result of one forward pass for one task.

    ``logits``: ``(B, C)`` for sequence tasks, ``(B, L, C)`` for token tasks.
    ``aux_loss``: scalar added to this task's loss (None when the architecture has none).
    ``representation``: the shared features the head read, ``(B, L, H)``.
    """

    logits: torch.Tensor
    aux_loss: torch.Tensor | None = None
    representation: torch.Tensor | None = None


class Architecture(nn.Module, Component, ABC):
    """Base class of every architecture. Subclasses set ``name``, ``description``, ``Options``.

    Constructor contract: ``(encoder, tasks, options)``; ``encoder`` is a loaded Hugging
    Face ``PreTrainedModel`` of any family (``encoder(**inputs).last_hidden_state``), which
    the architecture may keep, wrap or copy. It must register its heads in ``self.heads``
    (an ``nn.ModuleDict`` keyed by task name).

    ``self.encoder_adapter`` (``encoder_adapters.py``) runs the encoder's family layer by
    layer; architectures that need that set ``layer_by_layer = True``, and an encoder of a
    family no adapter handles is then refused when the architecture is built, with a
    message naming both. Whole-model architectures work on any encoder; for them the
    adapter (when there is one) only picks the pooling default and the accepted inputs.
    """

    #: Whether the architecture runs the encoder one layer at a time (needs an adapter).
    layer_by_layer: ClassVar[bool] = False

    def __init__(
        self, encoder: PreTrainedModel, tasks: list[TaskHeadSpec], options: BaseModel
    ) -> None:
        from mtl_pipeline.architectures.encoder_adapters import encoder_adapter_for

        super().__init__()
        self.options = options
        self.task_specs = {spec.name: spec for spec in tasks}
        self.hidden_size = int(encoder.config.hidden_size)
        # A plain attribute (not a module): it holds no tensors, only how to run the family.
        self.encoder_adapter = encoder_adapter_for(
            encoder, self.name if self.layer_by_layer else None
        )
        self.default_pooling = (
            self.encoder_adapter.default_pooling if self.encoder_adapter is not None else "mean"
        )

    def encode(self, batch: dict[str, torch.Tensor], encoder: Any = None) -> torch.Tensor:
        """``encoder(**inputs).last_hidden_state`` with only the inputs its ``forward``
        accepts (``encoder`` defaults to ``self.encoder``)."""
        encoder = self.encoder if encoder is None else encoder  # type: ignore[attr-defined]
        return encoder(**encoder_inputs(batch, encoder)).last_hidden_state

    def enable_gradient_checkpointing(self) -> None:
        """Recompute activations in the backward pass instead of storing them.

        Every Hugging Face model inside (the encoder, per-task copies) gets
        ``activation_checkpointing_enable`` (non-reentrant, so frozen encoders work too); the
        layers the encoder adapters run outside those models (task columns, private
        layers) are wrapped in ``torch.utils.checkpoint`` by the adapter.
        """
        from transformers import PreTrainedModel

        for module in self.modules():
            if isinstance(module, PreTrainedModel) and module.supports_gradient_checkpointing:
                kwargs = {"use_reentrant": False}
                if hasattr(module, "activation_checkpointing_enable"):  # transformers >= 5.x
                    module.activation_checkpointing_enable(activation_checkpointing_kwargs=kwargs)
                else:
                    module.gradient_checkpointing_enable(gradient_checkpointing_kwargs=kwargs)
            adapter = getattr(module, "encoder_adapter", None)
            if adapter is not None:
                adapter.checkpointing = True

    @classmethod
    def check_options(cls, options: BaseModel, task_names: list[str], encoder_config: Any) -> None:
        """Cross-check options against the run's tasks and encoder config (task names,
        layer indices, divisibility); raise ``ConfigError`` naming the option.

        Why separate from ``Options``: a pydantic model sees one option at a time, not the
        tasks or the encoder's depth. Architectures call it from their constructor; config
        validation can call it too (with ``encoders.load_encoder_config``) to fail before
        any data is read. Default: nothing to check.
        """

    @classmethod
    def check_task_types(cls, tasks: list[TaskHeadSpec]) -> None:
        """Refuse, at configuration time, tasks this architecture cannot run (a task type,
        or head sharing), with a ``ConfigError`` naming the architecture and the task type.
        Default: every task type works (heads get ``(hidden, mask)`` of any batch)."""

    def build_heads(self, hidden_size: int | None = None) -> nn.ModuleDict:
        """One head per task; a task with ``share_with`` gets the very module of that task
        (one set of weights, trained by both tasks' losses). A sequence head without a
        configured pooling gets the encoder family's default (mean for encoders, last token
        for decoder-only)."""
        size = hidden_size or self.hidden_size
        heads = {
            name: spec.task_type.build_head(size, spec.num_outputs)
            for name, spec in self.task_specs.items()
            if spec.share_with is None
        }
        for head in heads.values():
            if hasattr(head, "pooling") and head.pooling is None:
                head.pooling = self.default_pooling
        for name, spec in self.task_specs.items():
            if spec.share_with is not None:
                heads[name] = heads[spec.share_with]
        return nn.ModuleDict({name: heads[name] for name in self.task_specs})

    @abstractmethod
    def forward(self, task: str, batch: dict[str, torch.Tensor]) -> ArchitectureOutput:
        """Logits of ``task`` for ``batch`` (``input_ids``, ``attention_mask``,
        optional ``token_type_ids``; all ``(B, L)``)."""

    def task_parameters(self, task: str) -> list[nn.Parameter]:
        """Parameters only ``task``'s loss reaches (default: its head)."""
        return list(self.heads[task].parameters())  # type: ignore[index]

    def shared_parameters(self) -> list[nn.Parameter]:
        """Trainable parameters that are not any single task's: the ones whose per-task
        gradients a gradient-based loss combines."""
        own = {id(p) for task in self.task_specs for p in self.task_parameters(task)}
        return [p for p in self.parameters() if p.requires_grad and id(p) not in own]

    def export_encoder(self) -> PreTrainedModel:
        """The Hugging Face model written by ``save_pretrained`` on export."""
        return self.encoder  # type: ignore[return-value]

    def report(self) -> dict[str, Any]:
        """Facts for the run report: parameter counts, plus anything architecture-specific
        (expert utilization, mixing weights...)."""
        shared = sum(p.numel() for p in self.shared_parameters())
        per_task = {
            t: sum(p.numel() for p in self.task_parameters(t) if p.requires_grad)
            for t in self.task_specs
        }
        return {
            "architecture": self.name,
            "trainable_parameters": sum(p.numel() for p in self.parameters() if p.requires_grad),
            "total_parameters": sum(p.numel() for p in self.parameters()),
            "shared_trainable_parameters": shared,
            "task_trainable_parameters": per_task,
        }


def encoder_inputs(batch: dict[str, torch.Tensor], encoder: Any = None) -> dict[str, torch.Tensor]:
    """The batch's encoder inputs; with ``encoder``, only those its ``forward`` accepts
    (DistilBERT, ModernBERT and decoder-only models take no ``token_type_ids``, which a
    WordPiece tokenizer makes)."""
    inputs = {k: v for k, v in batch.items() if k in ENCODER_INPUTS}
    if encoder is not None:
        import inspect

        accepted = inspect.signature(type(encoder).forward).parameters
        inputs = {k: v for k, v in inputs.items() if k in accepted}
    return inputs
