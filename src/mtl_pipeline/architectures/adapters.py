"""Per-task bottleneck adapters (Houlsby et al. 2019, "Parameter-Efficient Transfer
Learning for NLP").

Every transformer layer gets, for every task, two small bottleneck modules: one on the
attention block's output projection and one on the feed-forward block's output
projection, each ``x + up(act(down(x)))`` placed before the residual connection and
LayerNorm of its sub-layer, as in the paper. With ``freeze_encoder`` (the default) the
pretrained encoder is not trained at all: each task trains only its adapters and its head
(a few percent of the encoder's size each), tasks cannot interfere through shared weights,
and the one encoder is reused unchanged by every task.

How adapters are wired in: forward hooks on the two output projections (in BERT
``attention.output.dense`` and ``output.dense``; each encoder family's adapter names its
own, e.g. ``self_attn.o_proj`` and ``mlp.down_proj`` in Llama) rewrite their
output through the adapter of the task being run. Hooks rather than replacement modules
keep the encoder's module tree, so ``save_pretrained`` exports the plain encoder and
loading finds the same parameter names; the adapters themselves live in
``self.adapters`` and in ``model.safetensors``. The task is routed by ``forward`` setting
the current task for the duration of the call (outside it the hooks pass states through).

Initialization: both projections drawn from a normal with std ``init_std`` (1e-2,
truncated at two std, as in the paper), biases zero, so every adapter starts close to the
identity and the untrained model is close to the pretrained encoder. ``init_std: 0``
gives the exact identity instead (up-projection zero, down-projection at PyTorch's default).

Not implemented from the paper: training the encoder's LayerNorms per task (that would
need per-task LayerNorm copies); with ``freeze_encoder`` they stay at their pretrained
values.
"""

from __future__ import annotations

from functools import partial
from typing import Any, Literal

import torch
from pydantic import BaseModel, ConfigDict, Field
from torch import nn

from mtl_pipeline.architectures.base import Architecture, ArchitectureOutput, TaskHeadSpec
from mtl_pipeline.errors import ConfigError

_ACTIVATIONS = {"gelu": nn.GELU, "relu": nn.ReLU, "tanh": nn.Tanh}
#: Where the adapters sit: the attention block's and the feed-forward block's output
#: projections (each encoder family's adapter names them: ``adapter_sites``).
_SITES = ("attention", "ffn")


class AdaptersOptions(BaseModel):
    model_config = ConfigDict(extra="forbid")

    freeze_encoder: bool = Field(default=True, description="Train only adapters and heads.")
    reduction_factor: int = Field(
        default=16, ge=1, description="Bottleneck = hidden size / reduction_factor."
    )
    bottleneck: int | None = Field(
        default=None, ge=1, description="Bottleneck size; overrides reduction_factor."
    )
    activation: Literal["gelu", "relu", "tanh"] = "gelu"
    init_std: float = Field(
        default=1e-2,
        ge=0.0,
        description="Std of the near-identity initialization (0: exact identity, up-projection 0).",
    )


class Adapter(nn.Module):
    """``x + up(act(down(x)))``: a residual bottleneck, near the identity at initialization."""

    def __init__(self, hidden_size: int, bottleneck: int, activation: str, init_std: float) -> None:
        super().__init__()
        self.down = nn.Linear(hidden_size, bottleneck)
        self.act = _ACTIVATIONS[activation]()
        self.up = nn.Linear(bottleneck, hidden_size)
        if init_std > 0:
            for linear in (self.down, self.up):
                nn.init.trunc_normal_(linear.weight, std=init_std, a=-2 * init_std, b=2 * init_std)
        else:
            # Exactly the identity: up-projection zero, down-projection at PyTorch's default
            # init (zeroing both would leave every adapter gradient at zero forever).
            nn.init.zeros_(self.up.weight)
        nn.init.zeros_(self.down.bias)
        nn.init.zeros_(self.up.bias)

    def forward(self, hidden: torch.Tensor) -> torch.Tensor:
        return hidden + self.up(self.act(self.down(hidden)))


class Adapters(Architecture):
    name = "adapters"
    description = (
        "Per-task bottleneck adapters in every layer, encoder frozen by default "
        "(Houlsby et al. 2019)."
    )
    Options = AdaptersOptions
    options: AdaptersOptions
    layer_by_layer = True

    def __init__(self, encoder: Any, tasks: list[TaskHeadSpec], options: AdaptersOptions) -> None:
        super().__init__(encoder, tasks, options)
        self.check_options(options, list(self.task_specs), encoder.config)
        family = self.encoder_adapter
        layers = family.layers(encoder)
        self.encoder = encoder
        if options.freeze_encoder:
            encoder.requires_grad_(False)
        self.bottleneck = options.bottleneck or max(1, self.hidden_size // options.reduction_factor)
        self.adapters = nn.ModuleDict(
            {
                task: nn.ModuleList(
                    nn.ModuleDict(
                        {
                            site: Adapter(
                                self.hidden_size,
                                self.bottleneck,
                                options.activation,
                                options.init_std,
                            )
                            for site in _SITES
                        }
                    )
                    for _ in layers
                )
                for task in sorted(self.task_specs)
            }
        )
        self._active_task: str | None = None
        self._hook_handles = []
        for index, layer in enumerate(layers):
            for site in _SITES:
                module = family.layer_site(layer, site)
                if module is None:
                    raise ConfigError(
                        f"model.architecture: adapters needs a linear `{family.adapter_sites[site]}` "
                        f"in every {family.name} layer; {type(layer).__name__} has none."
                    )
                self._hook_handles.append(
                    module.register_forward_hook(partial(self._adapt, index, site))
                )
        self.heads = self.build_heads()

    def _adapt(
        self, index: int, site: str, module: nn.Module, args: Any, output: torch.Tensor
    ) -> Any:
        """Forward hook: the current task's adapter on a projection's output."""
        if self._active_task is None:
            return None  # the encoder used on its own (export, other code): untouched
        return self.adapters[self._active_task][index][site](output)

    def forward(self, task: str, batch: dict[str, torch.Tensor]) -> ArchitectureOutput:
        if task not in self.task_specs:
            raise KeyError(f"unknown task {task!r}")
        self._active_task = task
        try:
            hidden = self.encode(batch)
        finally:
            self._active_task = None
        return ArchitectureOutput(
            logits=self.heads[task](hidden, batch["attention_mask"]), representation=hidden
        )

    def task_parameters(self, task: str) -> list[nn.Parameter]:
        return [*self.heads[task].parameters(), *self.adapters[task].parameters()]

    def report(self) -> dict[str, Any]:
        report = super().report()
        encoder_total = sum(p.numel() for p in self.encoder.parameters())
        adapter = {
            t: sum(p.numel() for p in self.adapters[t].parameters())
            for t in sorted(self.task_specs)
        }
        report.update(
            {
                "freeze_encoder": bool(self.options.freeze_encoder),
                "bottleneck": self.bottleneck,
                "adapter_parameters_per_task": adapter,
                "task_trainable_fraction_of_encoder": {
                    t: round(n / encoder_total, 5)
                    for t, n in report["task_trainable_parameters"].items()
                },
            }
        )
        return report
