"""``per_task``: no sharing at all, one copy of a base architecture (and encoder) per task.

Why it exists: single-task training, STILTs and MT-DNN's fine-tuning end with a different
model per task, but the pipeline saves, evaluates and serves *one* ``MultiTaskModel``.
Registered as an ordinary architecture, the bundle saves and loads like any other model
(``model.safetensors`` holds every copy; ``encoder/`` holds the first task's encoder) and
``MultiTaskModel.predict(task, ...)`` routes to that task's copy. Trained directly
(``model.architecture: per_task``) it is the independent single-task baseline in one run.
"""

from __future__ import annotations

import copy
from typing import Any

import torch
from pydantic import BaseModel, ConfigDict, Field
from torch import nn

from mtl_pipeline.architectures.base import Architecture, ArchitectureOutput, TaskHeadSpec
from mtl_pipeline.errors import ConfigError

WHERE = "model.architecture.base"


class PerTaskOptions(BaseModel):
    model_config = ConfigDict(extra="forbid")

    base: dict[str, Any] = Field(
        default_factory=lambda: {"name": "hard_sharing"},
        description="The architecture copied per task: {name: <architecture>, **options}.",
    )


class PerTask(Architecture):
    name = "per_task"
    description = "No sharing: a separate copy of a base architecture and encoder per task."
    Options = PerTaskOptions

    @classmethod
    def check_task_types(cls, tasks: list[TaskHeadSpec]) -> None:
        shared = [spec for spec in tasks if spec.share_with is not None]
        if shared:
            spec = shared[0]
            raise ConfigError(
                f"tasks.{spec.name}.head.share_with: architecture {cls.name!r} gives every task "
                f"its own model, so task {spec.name!r} ({spec.task_type.name}) cannot share "
                f"{spec.share_with!r}'s head; remove share_with or use another architecture."
            )

    @classmethod
    def base_architecture(cls, options: PerTaskOptions) -> tuple[type[Architecture], Any]:
        """The registered base architecture class and its parsed options; ``ConfigError``
        (naming ``model.architecture.base``) for a missing, self-referencing or unknown name
        or invalid options."""
        from mtl_pipeline.registry import get_registry

        base = dict(options.base)
        base_name = base.pop("name", None)
        if not isinstance(base_name, str) or base_name == cls.name:
            raise ConfigError(
                f"{WHERE}: expected {{name: <architecture>}} naming another architecture, "
                f"got {options.base!r}"
            )
        base_cls = get_registry().get("architecture", base_name, WHERE)
        return base_cls, base_cls.parse_options(base, WHERE)

    @classmethod
    def check_options(cls, options: BaseModel, task_names: list[str], encoder_config: Any) -> None:
        """At configuration time, before any data is read: the base architecture exists, its
        options parse, and its own checks pass for a model of one task (what each copy is)."""
        assert isinstance(options, PerTaskOptions)
        base_cls, base_options = cls.base_architecture(options)
        for task in task_names:
            base_cls.check_options(base_options, [task], encoder_config)

    def __init__(self, encoder: Any, tasks: list[TaskHeadSpec], options: PerTaskOptions) -> None:
        super().__init__(encoder, tasks, options)
        cls, base_options = self.base_architecture(options)
        # Copy before any copy is wrapped: an architecture may hook into its encoder.
        encoders = [encoder] + [copy.deepcopy(encoder) for _ in tasks[1:]]
        self.models = nn.ModuleDict(
            {
                spec.name: cls(enc, [spec], base_options)
                for spec, enc in zip(tasks, encoders, strict=True)
            }
        )

    @property
    def heads(self) -> nn.ModuleDict:
        """Each task's output head, looked up in its copy (an unregistered view, so the
        state dict keeps one name per tensor); the trainer gives these head_learning_rate."""
        return nn.ModuleDict({t: m.heads[t] for t, m in self.models.items()})

    def forward(self, task: str, batch: dict[str, torch.Tensor]) -> ArchitectureOutput:
        return self.models[task](task, batch)

    def task_parameters(self, task: str) -> list[nn.Parameter]:
        return list(self.models[task].parameters())

    def export_encoder(self) -> Any:
        return next(iter(self.models.values())).export_encoder()

    def report(self) -> dict[str, Any]:
        report = super().report()
        report["base_architecture"] = dict(self.options.base)
        return report
