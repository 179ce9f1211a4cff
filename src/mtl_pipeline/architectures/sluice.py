"""Sluice networks (Ruder et al. 2019, "Latent Multi-task Architecture Learning").

A generalization of cross-stitch networks (``cross_stitch.py``, which this class extends):

* each column layer's hidden states are split into ``subspaces`` equal slices, and the
  alpha (cross-stitch) matrix mixes slices rather than whole states, so a network can
  share one subspace between tasks and keep another private;
* beta (layer mixing): the head reads a softmax-weighted sum of the column's states at
  every depth (the shared bottom's output and each mixed column layer) rather than only
  the last one, so a task can also learn *which* depth it needs (ELMo-style scalar mix;
  uniform at initialization);
* optionally, Ruder et al.'s subspace orthogonality penalty ``sum ||A^T B||_F^2`` between
  the two halves of each column layer, pushing subspaces to hold different information
  (``orthogonality_weight``, default 0: off). It is computed on L2-normalized token
  states and divided by the square of the token count, i.e. the squared Frobenius norm of
  the subspaces' cross-correlation matrix (in [0, 1]), because the raw norm grows with
  batch size and with the hidden states' scale and would swamp the task loss.

Initialization keeps the cross-stitch property: alpha mixes only the same subspace of
different tasks at first (cross-subspace weights start at 0), so the untrained network's
column states equal hard sharing's. Cost: as cross-stitch (every column runs every batch).
"""

from __future__ import annotations

from typing import Any

import torch
import torch.nn.functional as F
from pydantic import BaseModel, Field
from torch import nn

from mtl_pipeline.architectures.base import ArchitectureOutput, TaskHeadSpec
from mtl_pipeline.architectures.cross_stitch import CrossStitch, CrossStitchOptions
from mtl_pipeline.errors import ConfigError


class SluiceOptions(CrossStitchOptions):
    subspaces: int = Field(
        default=2, ge=1, description="Slices of each hidden state that alpha mixes separately."
    )
    orthogonality_weight: float = Field(
        default=0.0, ge=0.0, description="Weight of the subspace orthogonality penalty (0: off)."
    )


class Sluice(CrossStitch):
    name = "sluice"
    description = (
        "Cross-stitch over subspaces plus learned layer mixing for each head (Ruder et al. 2019)."
    )
    Options = SluiceOptions
    options: SluiceOptions

    def __init__(self, encoder: Any, tasks: list[TaskHeadSpec], options: SluiceOptions) -> None:
        super().__init__(encoder, tasks, options)
        # beta: one weight per depth the head can read (bottom output + each column layer).
        self.layer_mix = nn.ParameterDict(
            {task: nn.Parameter(torch.zeros(self.top_layers + 1)) for task in self.order}
        )

    def _subspaces(self) -> int:
        return int(self.options.subspaces)

    @classmethod
    def check_options(cls, options: BaseModel, task_names: list[str], encoder_config: Any) -> None:
        super().check_options(options, task_names, encoder_config)
        hidden, subspaces = int(encoder_config.hidden_size), options.subspaces
        if hidden % subspaces:
            raise ConfigError(
                f"model.architecture.subspaces: {subspaces} does not divide the encoder's "
                f"hidden size {hidden}."
            )
        if options.orthogonality_weight and subspaces < 2:
            raise ConfigError("model.architecture.orthogonality_weight: needs subspaces >= 2.")

    def layer_weights(self, task: str) -> torch.Tensor:
        return torch.softmax(self.layer_mix[task], dim=0)

    def forward(self, task: str, batch: dict[str, torch.Tensor]) -> ArchitectureOutput:
        states, raw = self.column_outputs(task, batch)
        weights = self.layer_weights(task).to(states[0].dtype)
        hidden = torch.einsum("d,dblh->blh", weights, torch.stack(states))
        hidden = self.encoder_adapter.finish(self.encoder, hidden)
        logits = self.heads[task](hidden, batch["attention_mask"])
        aux = None
        weight = float(self.options.orthogonality_weight)
        if weight and self.training:
            aux = weight * self._subspace_orthogonality(raw, batch["attention_mask"])
        return ArchitectureOutput(logits=logits, aux_loss=aux, representation=hidden)

    def _subspace_orthogonality(
        self, raw: list[torch.Tensor], attention_mask: torch.Tensor
    ) -> torch.Tensor:
        """Mean over layers and columns of the squared cross-correlation between
        consecutive subspaces of the unmixed column outputs (real tokens only)."""
        keep = attention_mask.bool()
        terms = []
        for outputs in raw:  # (T, B, L, H)
            tokens = outputs[:, keep].float()  # (T, n, H)
            parts = tokens.chunk(self.subspaces, dim=-1)
            for a, b in zip(parts[:-1], parts[1:], strict=True):
                a, b = F.normalize(a, dim=-1), F.normalize(b, dim=-1)
                n = a.shape[1]
                terms.append((a.transpose(1, 2) @ b).pow(2).sum(dim=(1, 2)) / max(n, 1) ** 2)
        return torch.cat([t.reshape(-1) for t in terms]).mean()

    def task_parameters(self, task: str) -> list[nn.Parameter]:
        return [*super().task_parameters(task), self.layer_mix[task]]

    def report(self) -> dict[str, Any]:
        report = super().report()
        report["subspaces"] = self.subspaces
        report["layer_mixing"] = {
            task: [round(v, 4) for v in self.layer_weights(task).detach().float().cpu().tolist()]
            for task in self.order
        }
        return report
