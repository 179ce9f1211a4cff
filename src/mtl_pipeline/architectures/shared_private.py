"""Adversarial shared-private model (Liu, Qiu & Huang 2017, "Adversarial Multi-task
Learning for Text Classification").

Hard sharing lets task-specific features leak into the shared space and shared features
be relearned per task. Here every task has a private feature space next to the shared one:

* shared features ``S``: the whole encoder, shared by all tasks;
* private features ``P_t``: task ``t``'s own copies of the top ``private_layers`` encoder
  layers, run on the shared states below them (so the bottom is computed once);
* the head reads ``[S; P_t]`` (``combine: concat``, as in the paper; the head is then
  built on ``2H``) or ``S + P_t`` (``combine: sum``);
* adversarial loss: a task discriminator (one linear layer and softmax, as in the paper)
  classifies which task an example comes from given its mean-pooled ``S``; a gradient
  reversal layer (Ganin & Lempitsky 2015) passes its gradient to the encoder with the
  sign flipped (times ``reversal_scale``), so the discriminator learns to tell tasks
  apart while the encoder learns to make ``S`` task-invariant;
* orthogonality loss: ``||S^T P_t||_F^2`` pushes the private space to hold what the
  shared one does not. It is taken over the batch's real tokens with each feature vector
  L2-normalized and divided by the squared token count, i.e. the squared Frobenius norm
  of the cross-correlation of the two spaces, in [0, 1]: the raw norm grows with batch
  size times length and with the states' scale (BERT states have norms around 10-20),
  which makes any fixed weight meaningless.

Both terms, weighted by ``adversarial_weight`` (paper: 0.05) and ``orthogonality_weight``
(paper: 0.01), are returned as the task's ``aux_loss`` during training. The discriminator
belongs to no task: its parameters are shared.

At initialization each ``P_t`` is a copy of the top layers fed the same input as the
shared top, so ``P_t = S`` (in eval mode): the orthogonality term starts at its largest
and is what drives the spaces apart.
"""

from __future__ import annotations

import copy
from typing import Any, Literal

import torch
import torch.nn.functional as F
from pydantic import BaseModel, ConfigDict, Field
from torch import nn

from mtl_pipeline.architectures._bert import sorted_task_names
from mtl_pipeline.architectures.base import Architecture, ArchitectureOutput, TaskHeadSpec
from mtl_pipeline.errors import ConfigError
from mtl_pipeline.task_types.heads import masked_mean


class _GradientReversal(torch.autograd.Function):
    """Identity forward; gradient multiplied by ``-scale`` backward."""

    @staticmethod
    def forward(ctx: Any, x: torch.Tensor, scale: float) -> torch.Tensor:
        ctx.scale = scale
        return x.view_as(x)

    @staticmethod
    def backward(ctx: Any, grad: torch.Tensor) -> tuple[torch.Tensor, None]:
        return -ctx.scale * grad, None


def reverse_gradient(x: torch.Tensor, scale: float = 1.0) -> torch.Tensor:
    return _GradientReversal.apply(x, scale)


class SharedPrivateOptions(BaseModel):
    model_config = ConfigDict(extra="forbid")

    private_layers: int = Field(
        default=1, ge=1, description="Top encoder layers copied as each task's private space."
    )
    combine: Literal["concat", "sum"] = Field(
        default="concat", description="How the head sees shared and private."
    )
    adversarial_weight: float = Field(
        default=0.05, ge=0.0, description="Weight of the task discriminator's loss."
    )
    orthogonality_weight: float = Field(
        default=0.01, ge=0.0, description="Weight of the ||S^T P||_F^2 penalty."
    )
    reversal_scale: float = Field(
        default=1.0, ge=0.0, description="Gradient reversal factor into the encoder."
    )


class SharedPrivate(Architecture):
    name = "shared_private"
    description = (
        "Shared encoder + private top layers per task, adversarial and orthogonality "
        "losses (Liu et al. 2017)."
    )
    Options = SharedPrivateOptions
    options: SharedPrivateOptions
    layer_by_layer = True

    def __init__(
        self, encoder: Any, tasks: list[TaskHeadSpec], options: SharedPrivateOptions
    ) -> None:
        super().__init__(encoder, tasks, options)
        self.check_options(options, list(self.task_specs), encoder.config)
        layers = self.encoder_adapter.layers(encoder)
        self.split = len(layers) - options.private_layers
        self.order = sorted_task_names(self.task_specs)
        self.encoder = encoder
        self.private = nn.ModuleDict(
            {
                task: nn.ModuleList(copy.deepcopy(layer) for layer in layers[self.split :])
                for task in self.order
            }
        )
        self.discriminator = nn.Linear(self.hidden_size, len(self.order))
        width = 2 * self.hidden_size if options.combine == "concat" else self.hidden_size
        self.heads = self.build_heads(width)

    @classmethod
    def check_options(cls, options: BaseModel, task_names: list[str], encoder_config: Any) -> None:
        depth = int(encoder_config.num_hidden_layers)
        if options.private_layers > depth:
            raise ConfigError(
                f"model.architecture.private_layers: {options.private_layers} exceeds the "
                f"encoder's {depth} layers; expected 1..{depth}."
            )

    def features(
        self, task: str, batch: dict[str, torch.Tensor]
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """(shared ``S``, private ``P_task``), both ``(B, L, H)``."""
        adapter = self.encoder_adapter
        layers = adapter.layers(self.encoder)
        hidden, context = adapter.embed(self.encoder, batch)
        below = adapter.run_layers(layers[: self.split], hidden, context)
        shared = adapter.run_layers(layers[self.split :], below, context, start=self.split)
        private = adapter.run_layers(self.private[task], below, context, start=self.split)
        return adapter.finish(self.encoder, shared), adapter.finish(self.encoder, private)

    def adversarial_loss(
        self, task: str, shared: torch.Tensor, attention_mask: torch.Tensor, reverse: bool = True
    ) -> torch.Tensor:
        """Cross-entropy of the discriminator predicting ``task`` from pooled ``S``
        (through the gradient reversal layer unless ``reverse`` is false)."""
        pooled = masked_mean(shared, attention_mask)
        if reverse:
            pooled = reverse_gradient(pooled, float(self.options.reversal_scale))
        logits = self.discriminator(pooled).float()
        target = torch.full(
            (logits.shape[0],), self.order.index(task), dtype=torch.long, device=logits.device
        )
        return F.cross_entropy(logits, target)

    @staticmethod
    def orthogonality_loss(
        shared: torch.Tensor, private: torch.Tensor, attention_mask: torch.Tensor
    ) -> torch.Tensor:
        """``||S^T P||_F^2 / n^2`` over the ``n`` real tokens, rows L2-normalized."""
        keep = attention_mask.bool()
        s = F.normalize(shared[keep].float(), dim=-1)
        p = F.normalize(private[keep].float(), dim=-1)
        n = max(s.shape[0], 1)
        return (s.transpose(0, 1) @ p).pow(2).sum() / n**2

    def forward(self, task: str, batch: dict[str, torch.Tensor]) -> ArchitectureOutput:
        mask = batch["attention_mask"]
        shared, private = self.features(task, batch)
        combined = (
            torch.cat([shared, private], dim=-1)
            if self.options.combine == "concat"
            else shared + private
        )
        logits = self.heads[task](combined, mask)
        aux = None
        adv_w = float(self.options.adversarial_weight)
        orth_w = float(self.options.orthogonality_weight)
        if self.training and (adv_w or orth_w):
            aux = torch.zeros((), device=logits.device)
            if adv_w:
                aux = aux + adv_w * self.adversarial_loss(task, shared, mask)
            if orth_w:
                aux = aux + orth_w * self.orthogonality_loss(shared, private, mask)
        return ArchitectureOutput(logits=logits, aux_loss=aux, representation=shared)

    def task_parameters(self, task: str) -> list[nn.Parameter]:
        return [*self.heads[task].parameters(), *self.private[task].parameters()]

    def report(self) -> dict[str, Any]:
        report = super().report()
        report.update(
            {
                "private_layers": len(self.encoder_adapter.layers(self.encoder)) - self.split,
                "combine": self.options.combine,
                "discriminator_classes": list(self.order),
            }
        )
        return report
