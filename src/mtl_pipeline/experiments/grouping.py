"""Task grouping: split the tasks into ``g`` groups that maximise within-group affinity.

``affinity[i][j]`` says how much training on task ``i`` helps task ``j`` (TAG's lookahead
``Z``, or the experiments grid's gain of target ``j`` when trained with supporting task
``i``). A grouping's score is the sum of ``affinity[i][j]`` over ordered pairs ``i != j``
inside each group; a task alone in its group contributes nothing. The search is exhaustive
over every partition into exactly ``g`` non-empty groups, as in the TAG paper for up to ten
tasks (Stirling numbers: 10 tasks into 3 groups is 9,330 partitions), so the answer is the
best one, not a greedy approximation. Missing pairs (None/NaN) count as 0.
"""

from __future__ import annotations

import csv
import json
import math
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from mtl_pipeline.errors import DataError

MAX_EXHAUSTIVE_TASKS = 12

Affinity = Mapping[str, Mapping[str, float | None]]


@dataclass(frozen=True)
class Grouping:
    score: float
    groups: tuple[tuple[str, ...], ...]


def set_partitions(items: Sequence[str], groups: int) -> Iterator[list[list[str]]]:
    """Every partition of ``items`` into exactly ``groups`` non-empty, unordered blocks."""
    if groups < 1 or groups > len(items):
        return
    if groups == 1:
        yield [list(items)]
        return
    if groups == len(items):
        yield [[item] for item in items]
        return
    first, rest = items[0], items[1:]
    for partition in set_partitions(rest, groups - 1):  # first alone
        yield [[first], *partition]
    for partition in set_partitions(rest, groups):  # first joins a block
        for index in range(len(partition)):
            yield [[first, *block] if k == index else block for k, block in enumerate(partition)]


def _value(affinity: Affinity, a: str, b: str) -> float:
    value = affinity.get(a, {}).get(b)
    return (
        0.0 if value is None or (isinstance(value, float) and math.isnan(value)) else float(value)
    )


def grouping_score(groups: Sequence[Sequence[str]], affinity: Affinity) -> float:
    return sum(_value(affinity, a, b) for group in groups for a in group for b in group if a != b)


def best_groupings(affinity: Affinity, groups: int, top: int = 5) -> list[Grouping]:
    """The ``top`` groupings into ``groups`` groups, best first (ties: alphabetical)."""
    tasks = sorted(affinity)
    if not 1 <= groups <= len(tasks):
        raise ValueError(f"groups: expected 1..{len(tasks)} for {len(tasks)} tasks, got {groups}")
    if len(tasks) > MAX_EXHAUSTIVE_TASKS:
        raise ValueError(
            f"{len(tasks)} tasks: the exhaustive search is limited to {MAX_EXHAUSTIVE_TASKS}"
        )
    ranked = sorted(
        (
            Grouping(
                grouping_score(partition, affinity),
                tuple(sorted(tuple(sorted(g)) for g in partition)),
            )
            for partition in set_partitions(tasks, groups)
        ),
        key=lambda g: (-g.score, g.groups),
    )
    return ranked[:top]


def load_affinity(path: str | Path) -> Affinity:
    """Read ``task_affinity.json`` (the reporting output) or the experiments pipeline's
    ``affinity.csv`` (``strategy, target, <support>...``; the ``pairwise`` rows are used,
    turned round so that ``affinity[support][target]`` is the target's gain)."""
    source = Path(path)
    if not source.is_file():
        raise DataError(f"{source}: file not found; expected task_affinity.json or affinity.csv.")
    if source.suffix == ".json":
        try:
            document = json.loads(source.read_text(encoding="utf-8"))
        except json.JSONDecodeError as exc:
            raise DataError(f"{source}: not valid JSON ({exc}).") from None
        matrix = document.get("matrix") if isinstance(document, dict) else None
        if not matrix:
            raise DataError(
                f"{source}: no 'matrix' (task affinity was not measured: set "
                "training.task_affinity.every: N > 0)."
            )
        return matrix
    if source.suffix == ".csv":
        affinity: dict[str, dict[str, float | None]] = {}
        with open(source, encoding="utf-8", newline="") as handle:
            for row in csv.DictReader(handle):
                if row.get("strategy") != "pairwise":
                    continue
                target = row["target"]
                affinity.setdefault(target, {})
                for support, value in row.items():
                    if support in ("strategy", "target") or support == target:
                        continue
                    affinity.setdefault(support, {})[target] = float(value) if value else None
        if not affinity:
            raise DataError(f"{source}: no 'pairwise' rows; expected the experiments grid's CSV.")
        return affinity
    raise DataError(f"{source}: expected a .json (task_affinity) or .csv (experiments) file.")


def format_groupings(rankings: Sequence[Grouping]) -> str:
    """A Markdown table of the ranked groupings."""
    lines = ["| rank | score | groups |", "|---|---|---|"]
    for rank, grouping in enumerate(rankings, start=1):
        groups = " · ".join("{" + ", ".join(g) + "}" for g in grouping.groups)
        lines.append(f"| {rank} | {grouping.score:.4g} | {groups} |")
    return "\n".join(lines)


def recommended_runs(grouping: Grouping) -> list[str]:
    """One ``kedro run`` per group of the best grouping (tasks chosen with ``run.tasks``)."""
    return [f"kedro run --params 'run.tasks=[{','.join(group)}]'" for group in grouping.groups]


def summary(affinity: Affinity, groups: int, top: int = 5) -> dict[str, Any]:
    rankings = best_groupings(affinity, groups, top)
    return {
        "groups": groups,
        "rankings": [{"score": g.score, "groups": [list(x) for x in g.groups]} for g in rankings],
        "recommended_runs": recommended_runs(rankings[0]),
    }
