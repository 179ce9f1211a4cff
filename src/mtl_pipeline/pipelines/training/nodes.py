"""Training: build the model from config and run the multi-task loop."""

from __future__ import annotations

from typing import Any


def train_model(
    task_mixture: dict[str, Any],
    model: dict[str, Any],
    training: dict[str, Any],
    tasks: dict[str, Any],
    **task_data: Any,
) -> tuple[Any, dict[str, Any]]:
    """The trained ``MultiTaskModel`` (best evaluation step) and the training history."""
    from mtl_pipeline.modeling.model_card import card_facts
    from mtl_pipeline.pipelines._namespacing import group_per_task
    from mtl_pipeline.training.run import run_training

    check_mixture_matches(task_mixture, list(task_data_tasks(task_data)), task_data)
    names = list(task_mixture["task_sizes"])
    grouped = group_per_task(names, task_data)
    # The last step's checkpoint stays until the model is saved (hooks.py removes it then).
    trained, history = run_training(model, training, tasks, grouped, keep_final_checkpoint=True)
    # The exported directory describes itself (README.md model card).
    trained.card = card_facts(history, tasks, {t: d["label_info"] for t, d in grouped.items()})
    return trained, history


#: Where the catalog keeps the mixture (conf/base/catalog.yml), for messages.
MIXTURE_FILE = "data/05_model_input/task_mixture.json"


def task_data_tasks(task_data: dict[str, Any]) -> dict[str, None]:
    """The task names of ``<task>__<dataset>`` keyword inputs, in order."""
    return dict.fromkeys(key.partition("__")[0] for key in task_data)


def check_mixture_matches(
    task_mixture: dict[str, Any], names: list[str], task_data: dict[str, Any]
) -> None:
    """A mixture made by an earlier run (``--pipelines training`` or ``--from-nodes`` after
    the task list or data changed) must not be trained on: say so instead of a KeyError."""
    from mtl_pipeline.errors import ConfigError

    sizes = task_mixture.get("task_sizes") if isinstance(task_mixture, dict) else None
    if not isinstance(sizes, dict):
        raise ConfigError(
            f"{MIXTURE_FILE}: has no task_sizes; it is not a task mixture written by the mixing "
            "stage. Re-run it: kedro run (or --pipelines mixing,training,evaluation,reporting)."
        )
    if set(sizes) != set(names):
        missing = sorted(set(names) - set(sizes))
        extra = sorted(set(sizes) - set(names))
        raise ConfigError(
            f"{MIXTURE_FILE}: is stale: it was made for tasks {', '.join(sizes)}, but this run "
            f"trains {', '.join(names)}"
            + (f" (not in the mixture: {', '.join(missing)}" if missing else " (")
            + (f"; no longer configured: {', '.join(extra)})" if extra else ")")
            + ". Re-run the mixing stage with this configuration: kedro run, or "
            "--pipelines mixing,training,evaluation,reporting."
        )
    for name in names:
        info = task_data.get(f"{name}__label_info") or {}
        rows = info.get("train_rows")
        if rows is not None and int(rows) != int(sizes[name]):
            raise ConfigError(
                f"{MIXTURE_FILE}: is stale: it records {sizes[name]} training rows for {name}, "
                f"the ingested data has {rows}. Re-run the mixing stage: kedro run, or "
                "--pipelines mixing,training,evaluation,reporting."
            )
