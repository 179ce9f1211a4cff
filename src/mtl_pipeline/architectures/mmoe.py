"""Multi-gate Mixture-of-Experts (Ma et al. 2018, "Modeling Task Relationships in
Multi-task Learning with Multi-gate Mixture-of-Experts").

The shared encoder's token states feed ``num_experts`` experts (token-wise feed-forward
networks ``H -> expert_hidden -> H``). Each task has its own softmax gate over the
experts, computed from the mean-pooled encoder states of the example, and its head reads
the gate-weighted sum of the expert outputs. Tasks that are related learn to use the same
experts, unrelated ones different experts, without the designer deciding which.

``residual`` (default true) adds the mixture to the encoder states instead of replacing
them, and the experts' output projections then start at zero: the pretrained features
reach the heads intact from the first step and the experts learn task-dependent
corrections (with ``residual: false`` the heads see only the randomly initialized
experts' outputs at first, as in the paper's from-scratch setting). Gates start at zero
weights, i.e. uniform over the experts.

Expert utilization: the mean gate weight of every (task, expert) is accumulated in
buffers (``gate_sum``, ``gate_count``) during training and evaluation, saved with the
model, and reported by ``report()``. A gate whose mean weight on one expert exceeds
``collapse_threshold`` has collapsed (the known MoE failure: it has become a single-expert
network) and is flagged in the report and logged as a warning. ``load_balancing_weight``
adds Shazeer et al. (2017)'s importance loss, the squared coefficient of variation of the
batch's mean gate weights (0 when balanced, ``num_experts - 1`` when collapsed), to the
task's loss.
"""

from __future__ import annotations

import logging
from typing import Any

import torch
from pydantic import BaseModel, ConfigDict, Field
from torch import nn

from mtl_pipeline.architectures._bert import sorted_task_names
from mtl_pipeline.architectures.base import Architecture, ArchitectureOutput, TaskHeadSpec
from mtl_pipeline.task_types.heads import masked_mean

logger = logging.getLogger(__name__)


class MMoEOptions(BaseModel):
    model_config = ConfigDict(extra="forbid")

    num_experts: int = Field(default=4, ge=1)
    expert_hidden: int = Field(
        default=256, ge=1, description="Inner size of each expert's feed-forward network."
    )
    dropout: float = Field(default=0.1, ge=0.0, lt=1.0)
    residual: bool = Field(
        default=True, description="Heads read encoder states + mixture (not the mixture alone)."
    )
    load_balancing_weight: float = Field(
        default=0.0, ge=0.0, description="Weight of the importance (CV^2) loss."
    )
    collapse_threshold: float = Field(
        default=0.9,
        gt=0.0,
        le=1.0,
        description="Mean gate weight on one expert above which a gate is flagged.",
    )


class Expert(nn.Module):
    """Token-wise feed-forward expert ``H -> expert_hidden -> H``."""

    def __init__(self, hidden_size: int, inner: int, dropout: float, zero_output: bool) -> None:
        super().__init__()
        self.inner = nn.Linear(hidden_size, inner)
        self.act = nn.GELU()
        self.dropout = nn.Dropout(dropout)
        self.out = nn.Linear(inner, hidden_size)
        if zero_output:
            nn.init.zeros_(self.out.weight)
            nn.init.zeros_(self.out.bias)

    def forward(self, hidden: torch.Tensor) -> torch.Tensor:
        return self.out(self.dropout(self.act(self.inner(hidden))))


class MMoE(Architecture):
    name = "mmoe"
    description = (
        "Shared experts over the encoder states, one softmax gate per task (Ma et al. 2018)."
    )
    Options = MMoEOptions
    options: MMoEOptions

    def __init__(self, encoder: Any, tasks: list[TaskHeadSpec], options: MMoEOptions) -> None:
        super().__init__(encoder, tasks, options)
        self.encoder = encoder
        self.order = sorted_task_names(self.task_specs)
        h = self.hidden_size
        self.experts = nn.ModuleList(
            Expert(h, options.expert_hidden, options.dropout, zero_output=options.residual)
            for _ in range(options.num_experts)
        )
        self.gates = nn.ModuleDict({task: nn.Linear(h, options.num_experts) for task in self.order})
        for gate in self.gates.values():
            nn.init.zeros_(gate.weight)
            nn.init.zeros_(gate.bias)
        count = len(self.order)
        self.register_buffer("gate_sum", torch.zeros(count, options.num_experts))
        self.register_buffer("gate_count", torch.zeros(count))
        self.heads = self.build_heads()

    def gate_weights(
        self, task: str, hidden: torch.Tensor, attention_mask: torch.Tensor
    ) -> torch.Tensor:
        """``(B, num_experts)`` softmax gate of ``task`` for each example (rows sum to 1)."""
        return torch.softmax(self.gates[task](masked_mean(hidden, attention_mask)).float(), dim=-1)

    def forward(self, task: str, batch: dict[str, torch.Tensor]) -> ArchitectureOutput:
        mask = batch["attention_mask"]
        hidden = self.encode(batch)
        gates = self.gate_weights(task, hidden, mask)  # (B, E)
        outputs = torch.stack([expert(hidden) for expert in self.experts], dim=2)  # (B, L, E, H)
        mixture = torch.einsum("bleh,be->blh", outputs, gates.to(outputs.dtype))
        features = hidden + mixture if self.options.residual else mixture
        with torch.no_grad():
            index = self.order.index(task)
            self.gate_sum[index] += gates.detach().sum(0).to(self.gate_sum.dtype)
            self.gate_count[index] += gates.shape[0]
        aux = None
        weight = float(self.options.load_balancing_weight)
        if weight and self.training:
            importance = gates.mean(0)
            aux = weight * (importance.numel() * importance.pow(2).sum() - 1.0)
        logits = self.heads[task](features, mask)
        return ArchitectureOutput(logits=logits, aux_loss=aux, representation=features)

    def task_parameters(self, task: str) -> list[nn.Parameter]:
        return [*self.heads[task].parameters(), *self.gates[task].parameters()]

    def utilization(self) -> dict[str, list[float]]:
        """Mean gate weight per expert for every task seen so far."""
        means = self.gate_sum / self.gate_count.clamp(min=1.0).unsqueeze(1)
        return {
            task: [round(v, 4) for v in means[i].tolist()]
            for i, task in enumerate(self.order)
            if self.gate_count[i] > 0
        }

    def reset_utilization(self) -> None:
        self.gate_sum.zero_()
        self.gate_count.zero_()

    def collapsed_gates(self) -> dict[str, int]:
        """Tasks whose mean gate weight on one expert exceeds ``collapse_threshold``
        (task -> that expert)."""
        if len(self.experts) < 2:
            return {}  # one expert is trivially "collapsed"; nothing to report
        threshold = float(self.options.collapse_threshold)
        return {
            task: int(max(range(len(weights)), key=weights.__getitem__))
            for task, weights in self.utilization().items()
            if max(weights) > threshold
        }

    def report(self) -> dict[str, Any]:
        report = super().report()
        collapsed = self.collapsed_gates()
        utilization = self.utilization()
        for task, expert in collapsed.items():
            logger.warning(
                "mmoe: the gate of task %r has collapsed onto expert %d (mean weight %.3f > "
                "collapse_threshold %.2f); that task uses a single expert. Consider "
                "load_balancing_weight > 0 or fewer experts.",
                task,
                expert,
                utilization[task][expert],
                self.options.collapse_threshold,
            )
        report.update(
            {
                "num_experts": len(self.experts),
                "expert_utilization": utilization,
                "examples_gated": {t: int(self.gate_count[i]) for i, t in enumerate(self.order)},
                "collapsed_gates": collapsed,
            }
        )
        return report
