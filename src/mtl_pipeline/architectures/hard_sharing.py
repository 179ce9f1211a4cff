"""Hard parameter sharing (Caruana 1997): one encoder, one head per task.

The reference architecture: every encoder parameter is shared, each task adds only its
head (a linear layer on the pooled or token states).
"""

from __future__ import annotations

import torch
from torch import nn

from mtl_pipeline.architectures.base import Architecture, ArchitectureOutput, TaskHeadSpec


class HardSharing(Architecture):
    name = "hard_sharing"
    description = "One shared encoder, one head per task (Caruana 1997)."

    def __init__(self, encoder, tasks: list[TaskHeadSpec], options) -> None:
        super().__init__(encoder, tasks, options)
        self.encoder = encoder
        self.heads = self.build_heads()

    def forward(self, task: str, batch: dict[str, torch.Tensor]) -> ArchitectureOutput:
        hidden = self.encode(batch)
        logits = self.heads[task](hidden, batch["attention_mask"])
        return ArchitectureOutput(logits=logits, representation=hidden)

    def task_parameters(self, task: str) -> list[nn.Parameter]:
        return list(self.heads[task].parameters())
