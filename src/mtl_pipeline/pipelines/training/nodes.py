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

    names = list(task_mixture["task_sizes"])
    grouped = group_per_task(names, task_data)
    trained, history = run_training(model, training, tasks, grouped)
    # The exported directory describes itself (README.md model card, issue 9).
    trained.card = card_facts(history, tasks, {t: d["label_info"] for t, d in grouped.items()})
    return trained, history
