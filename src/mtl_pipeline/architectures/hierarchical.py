"""Hierarchical supervision: each task's head reads a chosen encoder layer.

Søgaard & Goldberg (2016, "Deep multi-task learning with low level tasks supervised at
lower layers") and Hashimoto et al. (2017, "A Joint Many-Task Model") found that putting
the loss of a low-level task (POS tagging, chunking) at a lower layer than the high-level
tasks (parsing, inference) helps both: the low task shapes the features the upper layers
build on, and does not have to share the top layer with tasks that want something else.

``task_layers: {task: layer}`` names the layer whose output a head reads: 1 is the first
transformer layer, ``num_hidden_layers`` (or -1) the last, which is the default for every
task not listed. The whole encoder is shared. A forward pass for a task stops at that
task's layer (a POS batch at layer 2 of MiniLM runs 2 of 6 layers); layers above the
highest layer any task reads would never receive a gradient, so they are frozen and
reported as unused rather than counted as trained.
"""

from __future__ import annotations

from typing import Any

import torch
from pydantic import BaseModel, ConfigDict, Field
from torch import nn

from mtl_pipeline.architectures.base import Architecture, ArchitectureOutput, TaskHeadSpec
from mtl_pipeline.errors import ConfigError


class HierarchicalOptions(BaseModel):
    model_config = ConfigDict(extra="forbid")

    task_layers: dict[str, int] = Field(
        default_factory=dict,
        description="Layer each task's head reads (1 = first layer, -1 = last); default last.",
    )


class Hierarchical(Architecture):
    name = "hierarchical"
    description = (
        "Each task head reads its own encoder layer (Søgaard & Goldberg 2016; "
        "Hashimoto et al. 2017)."
    )
    Options = HierarchicalOptions
    options: HierarchicalOptions
    layer_by_layer = True

    def __init__(
        self, encoder: Any, tasks: list[TaskHeadSpec], options: HierarchicalOptions
    ) -> None:
        super().__init__(encoder, tasks, options)
        self.check_options(options, list(self.task_specs), encoder.config)
        self.depth = len(self.encoder_adapter.layers(encoder))
        self.encoder = encoder
        self.task_layer = {
            t: self.resolve_layer(options.task_layers.get(t, -1), self.depth)
            for t in self.task_specs
        }
        self.highest = max(self.task_layer.values())
        for layer in self.layers[self.highest :]:
            layer.requires_grad_(False)
        self.heads = self.build_heads()

    @property
    def layers(self) -> nn.ModuleList:
        # A property, not an attribute: registering the list twice would write every
        # layer's tensors under two names in the checkpoint.
        return self.encoder_adapter.layers(self.encoder)

    @staticmethod
    def resolve_layer(index: int, depth: int) -> int:
        """1-based layer number for ``index`` (negative counts from the top: -1 = ``depth``)."""
        return index + depth + 1 if index < 0 else index

    @classmethod
    def check_options(cls, options: BaseModel, task_names: list[str], encoder_config: Any) -> None:
        depth = int(encoder_config.num_hidden_layers)
        for task, index in options.task_layers.items():
            if task not in task_names:
                raise ConfigError(
                    f"model.architecture.task_layers: unknown task {task!r}; "
                    f"tasks: {', '.join(sorted(task_names))}."
                )
            if not (1 <= index <= depth or -depth <= index <= -1):
                raise ConfigError(
                    f"model.architecture.task_layers.{task}: layer {index} does not exist; "
                    "the encoder has "
                    f"{depth} layers: expected 1..{depth} (or -{depth}..-1 counting from the top)."
                )

    def hidden_states(self, batch: dict[str, torch.Tensor], up_to: int) -> torch.Tensor:
        """Output of layer ``up_to`` (1-based), through the family's final norm (pre-LN
        models apply it after the last layer; a head reading a lower layer gets states of
        the same scale); nothing above it is computed."""
        adapter = self.encoder_adapter
        hidden, context = adapter.embed(self.encoder, batch)
        hidden = adapter.run_layers(self.layers[:up_to], hidden, context)
        return adapter.finish(self.encoder, hidden)

    def forward(self, task: str, batch: dict[str, torch.Tensor]) -> ArchitectureOutput:
        hidden = self.hidden_states(batch, self.task_layer[task])
        return ArchitectureOutput(
            logits=self.heads[task](hidden, batch["attention_mask"]), representation=hidden
        )

    def task_parameters(self, task: str) -> list[nn.Parameter]:
        return list(self.heads[task].parameters())

    def report(self) -> dict[str, Any]:
        report = super().report()
        report["task_layers"] = dict(sorted(self.task_layer.items()))
        report["unused_layers"] = list(range(self.highest + 1, self.depth + 1))
        return report
