"""Which of the configured tasks a run trains: ``run.tasks``, or the tasks a strategy names.

Kedro environments merge ``tasks`` key by key, so an environment (or ``--params``) can add
a task but never drop one. The selection is applied where the parameters are read (the
project's config loader), so the pipeline shape, validation, the catalog's ``params:tasks``
and the training node all see the same, selected, ``tasks``:

* ``run.tasks: [rte, mrpc]`` (or ``--params run.tasks=rte+mrpc``; Kedro splits
  ``--params`` on commas, so a string lists names separated by ``+`` or spaces);
* otherwise the tasks named by the strategy's task keys (``Strategy.task_keys``: pairwise
  and stilts name ``training.target_task`` and ``training.supporting_task``).

Nothing here raises: a selection naming an unknown task (or an unknown strategy) leaves
``tasks`` as configured, and validation then reports it with the configured names (an
exception at this point would surface as an empty pipeline instead). Free of
torch/transformers.
"""

from __future__ import annotations

from typing import Any

from mtl_pipeline.config import STRATEGY_TRAINING_KEYS, parse_task_list
from mtl_pipeline.registry import registered_strategies


def strategy_task_keys(training: dict[str, Any]) -> tuple[str, ...]:
    """The task keys of ``training.strategy``; none for an unknown strategy (validation
    reports it) or when no strategy key is set (the plugins are then not even loaded)."""
    if not any(training.get(key) is not None for key in STRATEGY_TRAINING_KEYS):
        return ()
    strategy = registered_strategies().get(str(training.get("strategy")))
    return tuple(getattr(strategy, "task_keys", ()))


def selected_task_names(params: dict[str, Any]) -> list[str] | None:
    """The names the run is restricted to, or ``None`` for every configured task."""
    run = params.get("run")
    explicit = parse_task_list(run.get("tasks")) if isinstance(run, dict) else None
    if explicit is not None:
        return explicit
    training = params.get("training")
    if not isinstance(training, dict):
        return None
    named = [training.get(key) for key in strategy_task_keys(training)]
    if named and all(isinstance(name, str) and name for name in named):
        return list(dict.fromkeys(named))
    return None


def apply_task_selection(params: dict[str, Any]) -> dict[str, Any]:
    """``params`` with ``tasks`` reduced to the selection, in the selection's order.

    Left unchanged when there is no selection, when it is empty, or when it names a task
    that is not configured (validation reports those two with the configured names).
    """
    tasks = params.get("tasks")
    selection = selected_task_names(params)
    if selection is None or not selection or not isinstance(tasks, dict):
        return params
    if any(name not in tasks for name in selection):
        return params
    return {**params, "tasks": {name: tasks[name] for name in selection}}
