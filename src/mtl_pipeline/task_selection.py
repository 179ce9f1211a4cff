"""Which of the configured tasks a run trains: ``run.tasks``, or the tasks a strategy names.

Kedro environments merge ``tasks`` key by key, so an environment (or ``--params``) can add
a task but never drop one. The selection is applied where the parameters are read (the
project's config loader), so the pipeline shape, validation, the catalog's ``params:tasks``
and the training node all see the same, selected, ``tasks``:

* ``run.tasks: [rte, mrpc]`` (or ``--params run.tasks=rte+mrpc``; Kedro splits
  ``--params`` on commas, so a string lists names separated by ``+`` or spaces);
* otherwise ``training.strategy`` pairwise / stilts select ``training.target_task`` and
  ``training.supporting_task``.

Nothing here raises: a selection naming an unknown task leaves ``tasks`` as configured,
and ``RunConfig`` validation then reports it with the configured names (an exception at
this point would surface as an empty pipeline instead). Free of torch/transformers.
"""

from __future__ import annotations

import re
from typing import Any

#: Strategies that train exactly their target and supporting task.
PAIR_STRATEGIES = ("pairwise", "stilts")
_SEPARATORS = re.compile(r"[+\s;]+")


def parse_task_list(value: Any) -> list[str] | None:
    """``run.tasks`` as a list of names: a YAML list, or one string of ``+``/space-separated
    names (the form ``--params`` can carry). ``None`` means "no selection"."""
    if value is None:
        return None
    if isinstance(value, str):
        return [part for part in _SEPARATORS.split(value.strip()) if part]
    if isinstance(value, list | tuple):
        return [str(item) for item in value]
    return None


def selected_task_names(params: dict[str, Any]) -> list[str] | None:
    """The names the run is restricted to, or ``None`` for every configured task."""
    run = params.get("run")
    explicit = parse_task_list(run.get("tasks")) if isinstance(run, dict) else None
    if explicit is not None:
        return explicit
    training = params.get("training")
    if isinstance(training, dict) and training.get("strategy") in PAIR_STRATEGIES:
        pair = [training.get("target_task"), training.get("supporting_task")]
        if all(isinstance(name, str) and name for name in pair):
            return list(dict.fromkeys(pair))
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
