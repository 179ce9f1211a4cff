"""LoRA: per-task low-rank adapters on a shared, frozen encoder (Hu et al. 2021).

Hu, Shen, Wallis, Allen-Zhu, Li, Wang, Wang, Chen. "LoRA: Low-Rank Adaptation of Large
Language Models." ICLR 2022, arXiv:2106.09685.

A targeted linear layer ``h = W x`` becomes ``h = W x + (alpha / r) * B A x`` with
``A: (r, in)`` and ``B: (out, r)``. ``A`` starts Kaiming-uniform and ``B`` at zero, so the
adapted model is exactly the pretrained one before the first step. Here every task gets its
own ``(A, B)`` pair on each targeted projection (by default the attention ``query`` and
``value`` projections, the paper's choice), and its own head; the pretrained encoder is
shared and frozen (the encoder family's adapter names them in other families: ``q_proj`` and
``v_proj`` in Llama-style decoders, LoRA's usual setting for them). Each task then trains ``2 * r * (in + out)`` parameters per targeted
layer instead of a full encoder copy, and tasks cannot overwrite each other's weights.

Optionally ``shared_rank > 0`` adds one more adapter that every task uses and trains: the
only parameters the tasks then share (and the ones a gradient-mode loss such as PCGrad
combines). With ``shared_rank: 0`` and a frozen encoder the tasks share no trainable
parameter at all, so use a loss-mode weighting (``equal``, ``famo``...) in that setting.

The adapters are applied with forward hooks on the encoder's ``nn.Linear`` modules instead
of replacing the modules: the encoder's parameter names stay those of the pretrained
model, so ``export_encoder()`` still writes a checkpoint ``AutoModel`` can load (the
pretrained weights; the adapters live in the architecture's own ``model.safetensors``).
"""

from __future__ import annotations

import math
from typing import Any

import torch
import torch.nn.functional as F
from mtl_pipeline.architectures.base import Architecture, ArchitectureOutput, TaskHeadSpec
from mtl_pipeline.errors import ConfigError
from pydantic import BaseModel, ConfigDict, Field
from torch import nn


class LoraOptions(BaseModel):
    """Options of ``model.architecture: {name: lora, ...}``."""

    model_config = ConfigDict(extra="forbid")

    rank: int = Field(default=8, ge=1, description="r: rank of each task's adapter.")
    alpha: float = Field(default=16.0, gt=0.0, description="Scale: the update is (alpha/r) B A.")
    dropout: float = Field(default=0.0, ge=0.0, lt=1.0, description="Dropout on adapter inputs.")
    target_modules: list[str] | None = Field(
        default=None,
        min_length=1,
        description=(
            "Linear layers to adapt, matched as a suffix of the module name; null: the "
            "encoder family's query and value projections (BERT query/value, Llama "
            "q_proj/v_proj, DeBERTa query_proj/value_proj, ModernBERT's fused Wqkv)."
        ),
    )
    shared_rank: int = Field(default=0, ge=0, description="Rank of an adapter all tasks share.")
    train_encoder: bool = Field(default=False, description="Also fine-tune the encoder.")


class LowRankAdapter(nn.Module):
    """``x -> B (A x)``: the low-rank update ``Delta W = B A`` applied to ``x``."""

    def __init__(self, in_features: int, out_features: int, rank: int) -> None:
        super().__init__()
        self.lora_A = nn.Parameter(torch.empty(rank, in_features))
        self.lora_B = nn.Parameter(torch.zeros(out_features, rank))
        # The reference implementation's initialization (loralib): A like nn.Linear, B = 0.
        nn.init.kaiming_uniform_(self.lora_A, a=math.sqrt(5))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """``x``: ``(..., in)`` -> ``(..., out)``."""
        return F.linear(F.linear(x, self.lora_A), self.lora_B)


def default_targets(family: Any) -> list[str]:
    """The family's query and value projections (the paper's choice); BERT's names when
    no encoder adapter knows the family."""
    return list(family.lora_targets) if family is not None else ["query", "value"]


def _matches(module_name: str, targets: list[str]) -> bool:
    return any(module_name == t or module_name.endswith("." + t) for t in targets)


class LoraArchitecture(Architecture):
    """Frozen shared encoder; each task adds low-rank adapters and a head."""

    name = "lora"
    description = "Frozen shared encoder + per-task LoRA adapters on query/value (Hu et al. 2021)."
    Options = LoraOptions

    def __init__(self, encoder: Any, tasks: list[TaskHeadSpec], options: BaseModel) -> None:
        super().__init__(encoder, tasks, options)
        opts: LoraOptions = options  # type: ignore[assignment]
        self.encoder = encoder
        self.heads = self.build_heads()
        wanted = opts.target_modules or default_targets(self.encoder_adapter)
        linears = {n: m for n, m in encoder.named_modules() if isinstance(m, nn.Linear)}
        targets = {n: m for n, m in linears.items() if _matches(n, wanted)}
        if not targets:
            suffixes = sorted({n.rsplit(".", 1)[-1] for n in linears})
            raise ConfigError(
                f"model.architecture: lora target_modules {wanted} match no "
                f"nn.Linear of the encoder; its linear layers end in: {', '.join(suffixes)}."
            )
        # ModuleDict keys may not contain dots.
        self._targets = {name.replace(".", "__"): module for name, module in targets.items()}
        self.scaling = opts.alpha / opts.rank
        self.shared_scaling = opts.alpha / opts.shared_rank if opts.shared_rank else 0.0
        self.adapters = nn.ModuleDict(
            {
                task: nn.ModuleDict(
                    {
                        key: LowRankAdapter(m.in_features, m.out_features, opts.rank)
                        for key, m in self._targets.items()
                    }
                )
                for task in self.task_specs
            }
        )
        self.shared_adapters = (
            nn.ModuleDict(
                {
                    key: LowRankAdapter(m.in_features, m.out_features, opts.shared_rank)
                    for key, m in self._targets.items()
                }
            )
            if opts.shared_rank
            else None
        )
        self.adapter_dropout = nn.Dropout(opts.dropout)
        for param in encoder.parameters():
            param.requires_grad_(opts.train_encoder)
        self._active_task: str | None = None
        self._hook_handles = [
            module.register_forward_hook(self._adapter_hook(key))
            for key, module in self._targets.items()
        ]

    def _adapter_hook(self, key: str) -> Any:
        def hook(module: nn.Module, args: tuple[Any, ...], output: torch.Tensor) -> torch.Tensor:
            task = self._active_task
            if task is None:  # the encoder used outside forward(): the pretrained model
                return output
            x = self.adapter_dropout(args[0])
            delta = self.adapters[task][key](x) * self.scaling
            if self.shared_adapters is not None:
                delta = delta + self.shared_adapters[key](x) * self.shared_scaling
            return output + delta.to(output.dtype)

        return hook

    def forward(self, task: str, batch: dict[str, torch.Tensor]) -> ArchitectureOutput:
        self._active_task = task
        try:
            hidden = self.encode(batch)
        finally:
            self._active_task = None
        logits = self.heads[task](hidden, batch["attention_mask"])
        return ArchitectureOutput(logits=logits, representation=hidden)

    def task_parameters(self, task: str) -> list[nn.Parameter]:
        """The task's head and its own adapters (the shared adapter is not its own)."""
        return [*self.heads[task].parameters(), *self.adapters[task].parameters()]

    def export_encoder(self) -> Any:
        """The pretrained (shared) encoder; task adapters are in ``model.safetensors``."""
        return self.encoder

    def report(self) -> dict[str, Any]:
        report = super().report()
        first = next(iter(self.adapters.values()))
        report["lora"] = {
            "rank": self.options.rank,  # type: ignore[attr-defined]
            "alpha": self.options.alpha,  # type: ignore[attr-defined]
            "shared_rank": self.options.shared_rank,  # type: ignore[attr-defined]
            "adapted_modules": [key.replace("__", ".") for key in self._targets],
            "adapter_parameters_per_task": sum(p.numel() for p in first.parameters()),
        }
        return report
