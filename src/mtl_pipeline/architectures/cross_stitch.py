"""Cross-stitch networks (Misra et al. 2016, "Cross-stitch Networks for Multi-task Learning").

The bottom of the encoder (embeddings and all but the top ``top_layers`` layers) is shared.
Each task gets its own column: a deep copy of the pretrained top layers. After every
column layer, a cross-stitch unit replaces each column's hidden states by a learned linear
combination of all columns' states, so the network learns how much to share at each
depth instead of the designer fixing it. Task ``t``'s head reads its column's last state.

Initialization: each row of a mixing matrix keeps ``init_self`` of its own column and
spreads ``1 - init_self`` evenly over the others (Misra et al. found (0.9, 0.1) best for
two tasks). Because all columns start as identical copies fed the same input, rows that
sum to one make the untrained network compute exactly what hard sharing computes (in eval
mode); ``init_self: 1.0`` instead gives fully independent columns.

Cost: a task's column needs the other columns' states at every mixed layer, so every
forward pass runs all ``T`` columns: ``(L - n) + T * n`` layer passes instead of ``L``
(MiniLM, 5 tasks, n = 2: 14 instead of 6, about 2.3x the compute and activation memory
of hard sharing for the encoder), and ``T * n`` copies of a layer's parameters.

The exported Hugging Face encoder (``save_pretrained``) is the shared bottom plus the
column of ``export_task`` (default: the alphabetically first task); the full state, every
column included, is in ``model.safetensors``.
"""

from __future__ import annotations

import copy
from typing import Any

import torch
from pydantic import BaseModel, ConfigDict, Field
from torch import nn

from mtl_pipeline.architectures._bert import sorted_task_names
from mtl_pipeline.architectures.base import Architecture, ArchitectureOutput, TaskHeadSpec
from mtl_pipeline.errors import ConfigError


class CrossStitchOptions(BaseModel):
    model_config = ConfigDict(extra="forbid")

    top_layers: int = Field(
        default=2, ge=1, description="Encoder layers copied into one column per task."
    )
    init_self: float = Field(
        default=0.9,
        gt=0.0,
        le=1.0,
        description="Initial weight of a column on its own states (1.0: no mixing).",
    )
    export_task: str | None = Field(
        default=None,
        description="Whose column is exported as the Hugging Face encoder (default: first task).",
    )


class CrossStitch(Architecture):
    name = "cross_stitch"
    description = (
        "Task columns over the top encoder layers mixed by cross-stitch units (Misra et al. 2016)."
    )
    Options = CrossStitchOptions
    options: CrossStitchOptions
    layer_by_layer = True

    def __init__(
        self, encoder: Any, tasks: list[TaskHeadSpec], options: CrossStitchOptions
    ) -> None:
        super().__init__(encoder, tasks, options)
        self.check_options(options, list(self.task_specs), encoder.config)
        adapter = self.encoder_adapter
        layers = adapter.layers(encoder)
        self.top_layers = options.top_layers
        self.split = len(layers) - options.top_layers
        self.order = sorted_task_names(self.task_specs)
        self.subspaces = self._subspaces()
        top = list(layers[self.split :])
        self.columns = nn.ModuleDict(
            {task: nn.ModuleList(copy.deepcopy(layer) for layer in top) for task in self.order}
        )
        # The originals above the split now live on as the columns; keeping them in the
        # encoder too would hold an unused (and, for gradient methods, "shared") copy.
        adapter.set_layers(encoder, nn.ModuleList(layers[: self.split]))
        self.encoder = encoder
        self.stitch = nn.Parameter(self._initial_stitch().repeat(options.top_layers, 1, 1))
        self.heads = self.build_heads()

    # --- configuration -------------------------------------------------------------
    def _subspaces(self) -> int:
        return 1

    @classmethod
    def check_options(cls, options: BaseModel, task_names: list[str], encoder_config: Any) -> None:
        depth = int(encoder_config.num_hidden_layers)
        top = options.top_layers
        if top > depth:
            raise ConfigError(
                f"model.architecture.top_layers: {top} exceeds the encoder's {depth} layers; "
                f"expected 1..{depth}."
            )
        export = options.export_task
        if export is not None and export not in task_names:
            raise ConfigError(
                f"model.architecture.export_task: unknown task {export!r}; "
                f"tasks: {', '.join(sorted(task_names))}."
            )

    def _initial_stitch(self) -> torch.Tensor:
        """``(U, U)`` over units ``u = task * S + subspace``: ``init_self`` on the diagonal,
        ``(1 - init_self) / (T - 1)`` between the same subspace of different tasks, 0 across
        subspaces. Rows sum to one, so identical columns stay identical until training
        moves the weights (the untrained model equals hard sharing)."""
        count = len(self.order)
        a = float(self.options.init_self)
        if count == 1:
            tasks = torch.ones(1, 1)
        else:
            tasks = torch.full((count, count), (1.0 - a) / (count - 1))
            tasks.fill_diagonal_(a)
        return torch.kron(tasks, torch.eye(self.subspaces))

    # --- forward -------------------------------------------------------------------
    def _mix(self, outputs: torch.Tensor, layer: int, task_index: int | None) -> torch.Tensor:
        """Cross-stitch ``outputs`` ``(T, B, L, H)``; with ``task_index``, only that task's
        row (the last layer needs nothing else). Returns ``(T, B, L, H)`` or ``(B, L, H)``."""
        count, batch, length, hidden = outputs.shape
        s = self.subspaces
        # (T, B, L, H) -> (T, S, B, L, H/S) -> units (T*S, B, L, H/S), u = task * S + subspace
        units = outputs.reshape(count, batch, length, s, hidden // s).movedim(3, 1)
        units = units.reshape(count * s, batch, length, hidden // s)
        weights = self.stitch[layer].to(outputs.dtype)
        if task_index is not None:
            weights = weights[task_index * s : (task_index + 1) * s]
        mixed = torch.einsum("uv,vblh->ublh", weights, units)
        rows = mixed.shape[0] // s
        mixed = (
            mixed.reshape(rows, s, batch, length, hidden // s)
            .movedim(1, 3)
            .reshape(rows, batch, length, hidden)
        )
        return mixed[0] if task_index is not None else mixed

    def column_outputs(
        self, task: str, batch: dict[str, torch.Tensor]
    ) -> tuple[list[torch.Tensor], list[torch.Tensor]]:
        """``task``'s column states ``[shared bottom output, mixed layer 1, ..., mixed layer n]``
        and every layer's unmixed column outputs ``(T, B, L, H)`` (for subspace penalties).
        The states are before the family's final norm (``encoder_adapter.finish``)."""
        adapter = self.encoder_adapter
        hidden, context = adapter.embed(self.encoder, batch)
        hidden = adapter.run_layers(adapter.layers(self.encoder), hidden, context)
        index = self.order.index(task)
        ours = [hidden]
        raw: list[torch.Tensor] = []
        states: list[torch.Tensor] = [hidden] * len(self.order)
        for j in range(self.top_layers):
            outputs = torch.stack(
                [
                    adapter.run_layer(self.columns[t][j], states[i], context, self.split + j)
                    for i, t in enumerate(self.order)
                ]
            )
            raw.append(outputs)
            if j == self.top_layers - 1:
                ours.append(self._mix(outputs, j, index))
            else:
                mixed = self._mix(outputs, j, None)
                states = list(mixed.unbind(0))
                ours.append(states[index])
        return ours, raw

    def forward(self, task: str, batch: dict[str, torch.Tensor]) -> ArchitectureOutput:
        states, _ = self.column_outputs(task, batch)
        hidden = self.encoder_adapter.finish(self.encoder, states[-1])
        return ArchitectureOutput(
            logits=self.heads[task](hidden, batch["attention_mask"]), representation=hidden
        )

    # --- parameters and export -----------------------------------------------------
    def task_parameters(self, task: str) -> list[nn.Parameter]:
        """The head and the task's column. Through the cross-stitch units other tasks'
        losses reach a column too (that is the point); the column is still the task's
        own in the sense that it is the one its head reads."""
        return [*self.heads[task].parameters(), *self.columns[task].parameters()]

    def export_encoder(self) -> Any:
        task = self.options.export_task or self.order[0]
        exported = copy.deepcopy(self.encoder)
        adapter = self.encoder_adapter
        adapter.set_layers(
            exported,
            nn.ModuleList([*adapter.layers(exported), *copy.deepcopy(self.columns[task])]),
        )
        return exported

    def report(self) -> dict[str, Any]:
        report = super().report()
        report.update(
            {
                "top_layers": self.top_layers,
                "task_order": list(self.order),
                "layer_passes_per_forward": self.split + len(self.order) * self.top_layers,
                "cross_stitch": [
                    [[round(v, 4) for v in row] for row in layer.tolist()]
                    for layer in self.stitch.detach().float().cpu()
                ],
            }
        )
        return report
