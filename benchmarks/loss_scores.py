"""The weighting methods' dev scores over seeds, resumable: ``benchmarks/losses.py --scores``.

Every finished run, one (method, seed) multi-task run or one (task, seed) single-task
baseline at the same budget, is appended to a JSON file as soon as it ends (written to a
temporary file and renamed, so a kill never leaves half a file). A rerun with the same
file trains only what is missing, so a budget too long for one sitting is completed
across several. The file records its budget; a rerun with another budget is refused
rather than mixing the two.

Order: seed by seed, the single-task baselines first, then every method. A run that is
stopped part-way therefore leaves whole seeds (every method and its baselines) rather
than every seed of a few methods.

Scores: each run is evaluated three times (at 1/3, 2/3 and the end); a multi-task run
keeps the evaluation best for the mean of the main metrics (the model ``kedro run`` would
keep), a baseline the evaluation best for its task. The table reports, per method, the
mean ± sample std over seeds of each task's main metric and of their mean, and Δm
against the baselines as LibMTL reports it (Lin & Zhang 2023; Maninis et al. 2019)::

    Δm = 100 / T · Σ_t (-1)^{l_t} (M_t - B_t) / B_t      (l_t = 1 if lower is better)

with ``B_t`` the baselines' mean over seeds; ``Δm`` is computed per seed and averaged.
A difference is flagged as larger than the seed spread when it exceeds the sum of the two
sides' standard deviations (so their mean ± std intervals do not overlap): each method's
task metrics against ``equal``'s, and its Δm against the baselines' own spread in Δm.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import statistics
import sys
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
#: Data subsets are drawn with this seed whatever the training seed: every seed sees the
#: same rows, so the spread is the training's (initialization of the heads, batch order).
DATA_SEED = 0

Record = dict[str, Any]
TrainFn = Callable[[str, str, int], Record]


def method_options(steps: int) -> dict[str, dict[str, Any]]:
    """Options of the methods whose defaults assume a longer run than ``steps``.

    DWA keeps every weight at 1 until two of its windows are complete; at its default
    window (100 steps) a run shorter than 200 steps would score ``equal`` under DWA's name.
    The window is a sixth of the run, so the weights adapt from a third of it on, as the
    default does at 600 steps (the default ``--score-steps``).
    """
    return {"dwa": {"window": max(1, steps // 6)}}


def budget_of(args: argparse.Namespace) -> dict[str, Any]:
    """Everything that changes a score; a score file holds runs of one budget only."""
    return {
        "encoder": args.encoder,
        "tasks": list(args.score_tasks),
        "steps": args.score_steps,
        "batch_size": args.batch_size,
        "tasks_per_step": len(args.score_tasks),
        "learning_rate": args.lr,
        "max_length": args.max_length,
        "max_train": args.score_max_train,
        "max_eval": args.score_max_eval,
        "evaluations": 3,
        "precision": args.precision,
        "method_options": method_options(args.score_steps),
    }


class ScoreBook:
    """The JSON file of finished runs: ``{"budget": {...}, "runs": [record, ...]}``."""

    def __init__(self, path: Path, budget: dict[str, Any]) -> None:
        self.path = Path(path)
        self.budget = budget
        self.runs: list[Record] = []
        if self.path.exists():
            try:
                stored = json.loads(self.path.read_text())
                stored_budget, runs = stored["budget"], stored["runs"]
            except (ValueError, KeyError, TypeError) as exc:
                raise SystemExit(
                    f"{self.path}: not a score file of benchmarks/losses.py --scores "
                    f"(expected {{'budget': ..., 'runs': [...]}}): {exc}. Move it away or "
                    "pass another --scores-file."
                ) from None
            if stored_budget != budget:
                diff = {
                    k: (stored_budget.get(k), budget.get(k))
                    for k in sorted(set(stored_budget) | set(budget))
                    if stored_budget.get(k) != budget.get(k)
                }
                raise SystemExit(
                    f"{self.path}: its runs were trained with another budget "
                    f"(stored, requested): {diff}. Rerun with the stored budget to resume, "
                    "or pass another --scores-file."
                )
            self.runs = list(runs)

    def done(self, kind: str, name: str, seed: int) -> bool:
        return any(r["kind"] == kind and r["name"] == name and r["seed"] == seed for r in self.runs)

    def append(self, record: Record) -> None:
        """Add one finished run and rewrite the file atomically."""
        self.runs.append(record)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.path.with_name(self.path.name + ".tmp")
        tmp.write_text(json.dumps({"budget": self.budget, "runs": self.runs}, indent=1))
        os.replace(tmp, self.path)


def plan(tasks: list[str], methods: list[str], seeds: list[int]) -> list[tuple[str, str, int]]:
    """``(kind, name, seed)`` in training order: seed by seed, baselines then methods."""
    order: list[tuple[str, str, int]] = []
    for seed in seeds:
        order += [("single_task", task, seed) for task in tasks]
        order += [("method", method, seed) for method in methods]
    return order


def run_missing(
    book: ScoreBook,
    tasks: list[str],
    methods: list[str],
    seeds: list[int],
    train: TrainFn,
    log: Callable[[str], None] = lambda line: print(line, file=sys.stderr, flush=True),
) -> int:
    """Train every planned run the book does not hold yet; returns how many were trained."""
    todo = [item for item in plan(tasks, methods, seeds) if not book.done(*item)]
    log(f"{len(todo)} of {len(plan(tasks, methods, seeds))} runs to train ({book.path})")
    for n, (kind, name, seed) in enumerate(todo, 1):
        record = train(kind, name, seed)
        book.append(record)
        log(
            f"  [{n}/{len(todo)}] {kind} {name} seed {seed}: "
            + " ".join(f"{t}={v:.4f}" for t, v in record["scores"].items())
            + f" ({record['seconds']:.0f} s wall, {record['cpu_seconds']:.0f} s CPU)"
        )
    return len(todo)


def trainer(
    args: argparse.Namespace,
    training_params: Callable[..., dict[str, Any]],
    load_task_data: Callable[..., tuple[dict, dict]],
) -> TrainFn:
    """The real ``train`` for ``run_missing``: ``run_training``, the Kedro node's code path
    (``training_params`` and ``load_task_data`` are ``benchmarks/losses.py``'s)."""
    from mtl_pipeline.registry import get_registry
    from mtl_pipeline.training.run import run_training

    loaded: dict[str, Any] = {}

    def prepare() -> tuple[dict, dict, dict]:
        """Ingest and tokenize once, on the first run to train (a finished file needs none)."""
        if not loaded:
            all_tasks, all_data = load_task_data(
                args.encoder, args.score_max_train, None, args.max_length, DATA_SEED
            )
            registry = get_registry()
            loaded["tasks"] = {t: all_tasks[t] for t in args.score_tasks}
            loaded["data"] = {t: all_data[t] for t in args.score_tasks}
            loaded["main"] = {
                t: (cfg["metrics"][0], registry.get("metric", cfg["metrics"][0]).higher_is_better)
                for t, cfg in loaded["tasks"].items()
            }
        return loaded["tasks"], loaded["data"], loaded["main"]

    model = {"encoder": args.encoder, "max_length": args.max_length}

    def train(kind: str, name: str, seed: int) -> Record:
        tasks, data, main = prepare()
        run_tasks = [name] if kind == "single_task" else list(tasks)
        method = "equal" if kind == "single_task" else name
        seed_args = argparse.Namespace(**{**vars(args), "seed": seed})
        params = training_params(
            seed_args,
            method,
            loss={"name": method, **method_options(args.score_steps).get(method, {})},
            max_steps=args.score_steps,
            tasks_per_step=len(run_tasks),
            eval_every=max(1, math.ceil(args.score_steps / 3)),
            eval_max_examples=args.score_max_eval,
            checkpoint_every=0,
            checkpoint_dir=str(REPO / "data" / "06_models" / "loss_scores_checkpoints"),
            resume=False,
        )
        wall, cpu = time.perf_counter(), time.process_time()
        _, history = run_training(
            model, params, {t: tasks[t] for t in run_tasks}, {t: data[t] for t in run_tasks}
        )
        best = max(history["evaluations"], key=lambda e: e["score"])
        return {
            "kind": kind,
            "name": name,
            "seed": seed,
            "scores": {t: float(best["metrics"][t][main[t][0]]) for t in run_tasks},
            "metrics": {t: main[t][0] for t in run_tasks},
            "higher_is_better": {t: bool(main[t][1]) for t in run_tasks},
            "best_step": int(best["step"]),
            "seconds": round(time.perf_counter() - wall, 1),
            "cpu_seconds": round(time.process_time() - cpu, 1),
            "load_average": [round(x, 2) for x in os.getloadavg()],
            "finished": datetime.now(UTC).isoformat(timespec="seconds"),
        }

    return train


# --- the table -------------------------------------------------------------------------


def _mean_std(values: list[float]) -> tuple[float, float]:
    if not values:
        return math.nan, math.nan
    return statistics.fmean(values), statistics.stdev(values) if len(values) > 1 else math.nan


def delta_m(scores: dict[str, float], baseline: dict[str, float], higher: dict[str, bool]) -> float:
    """LibMTL's Δm in percent: mean relative improvement over ``baseline``, sign-flipped for
    lower-is-better metrics."""
    terms = []
    for task, base in baseline.items():
        sign = 1.0 if higher[task] else -1.0
        terms.append(sign * (scores[task] - base) / base)
    return 100.0 * statistics.fmean(terms)


def _beyond(a: tuple[float, float], b: tuple[float, float]) -> bool:
    """``|mean_a - mean_b|`` larger than ``std_a + std_b`` (False while a std is unknown)."""
    if any(math.isnan(x) for x in (*a, *b)):
        return False
    return abs(a[0] - b[0]) > a[1] + b[1]


def summarize(runs: list[Record], tasks: list[str], methods: list[str]) -> dict[str, Any]:
    """Per method: mean ± std per task and of the mean, Δm ± std, and the flags."""
    base_runs = [r for r in runs if r["kind"] == "single_task"]
    higher: dict[str, bool] = {}
    for r in runs:
        higher.update(r["higher_is_better"])
    baseline_by_seed: dict[int, dict[str, float]] = {}
    for r in base_runs:
        baseline_by_seed.setdefault(r["seed"], {}).update(r["scores"])
    base_stats = {
        t: _mean_std([r["scores"][t] for r in base_runs if r["name"] == t]) for t in tasks
    }
    have_baselines = all(not math.isnan(base_stats[t][0]) for t in tasks)
    base_means = {t: base_stats[t][0] for t in tasks}

    def mean_of(scores: dict[str, float]) -> float:
        return statistics.fmean(scores[t] if higher[t] else -scores[t] for t in tasks)

    rows: dict[str, Any] = {}
    complete_baselines = [s for s in baseline_by_seed.values() if set(s) >= set(tasks)]
    base_dm = (
        _mean_std([delta_m(s, base_means, higher) for s in complete_baselines])
        if have_baselines
        else (math.nan, math.nan)
    )
    rows["single_task"] = {
        "seeds": sorted({r["seed"] for r in base_runs}),
        "tasks": base_stats,
        "mean": _mean_std([mean_of(s) for s in complete_baselines]),
        "delta_m": base_dm,
    }
    for method in methods:
        mine = [r for r in runs if r["kind"] == "method" and r["name"] == method]
        rows[method] = {
            "seeds": sorted(r["seed"] for r in mine),
            "tasks": {t: _mean_std([r["scores"][t] for r in mine]) for t in tasks},
            "mean": _mean_std([mean_of(r["scores"]) for r in mine]),
            "delta_m": _mean_std([delta_m(r["scores"], base_means, higher) for r in mine])
            if have_baselines
            else (math.nan, math.nan),
        }
    reference = rows.get("equal")
    for method in methods:
        row = rows[method]
        row["beyond"] = {
            t: reference is not None
            and method != "equal"
            and _beyond(row["tasks"][t], reference["tasks"][t])
            for t in tasks
        }
        row["beyond"]["mean"] = (
            reference is not None and method != "equal" and _beyond(row["mean"], reference["mean"])
        )
        row["beyond"]["delta_m"] = _beyond(row["delta_m"], (0.0, base_dm[1]))
    return {"rows": rows, "higher": higher}


def _cell(stat: tuple[float, float], flag: bool = False, digits: int = 3) -> str:
    mean, std = stat
    if math.isnan(mean):
        return "–"
    text = f"{mean:.{digits}f}" + ("" if math.isnan(std) else f" ± {std:.{digits}f}")
    return f"**{text}**" if flag else text


def table(book: ScoreBook, methods: list[str]) -> str:
    """The markdown table of everything the book holds."""
    tasks = list(book.budget["tasks"])
    summary = summarize(book.runs, tasks, methods)
    metric_of: dict[str, str] = {}
    for r in book.runs:
        metric_of.update(r["metrics"])
    header = (
        ["method", "seeds"]
        + [f"{t} ({metric_of.get(t, '?')})" for t in tasks]
        + ["mean", "Δm % vs single-task"]
    )
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    for name, row in summary["rows"].items():
        flags = row.get("beyond", {})
        cells = [name, ",".join(str(s) for s in row["seeds"]) or "–"]
        cells += [_cell(row["tasks"][t], flags.get(t, False)) for t in tasks]
        cells.append(_cell(row["mean"], flags.get("mean", False)))
        cells.append(_cell(row["delta_m"], flags.get("delta_m", False), digits=2))
        lines.append("| " + " | ".join(cells) + " |")
    budget = book.budget
    seconds = [r["seconds"] for r in book.runs]
    cpu = [r["cpu_seconds"] for r in book.runs]
    loads = [r["load_average"][0] for r in book.runs]
    lines += [
        "",
        f"Budget: {budget['encoder']}, tasks {', '.join(tasks)}, {budget['steps']} steps, batch "
        f"{budget['batch_size']} per task, {budget['tasks_per_step']} tasks per step (baselines: "
        f"1), lr {budget['learning_rate']}, max length {budget['max_length']}, train rows "
        f"{budget['max_train'] or 'all'}, dev rows {budget['max_eval']}, 3 evaluations"
        + "".join(
            f"; {method} " + ", ".join(f"{k} {v}" for k, v in options.items())
            for method, options in budget.get("method_options", {}).items()
        )
        + ".",
        f"Runs: {len(book.runs)}; wall {sum(seconds) / 60:.1f} min "
        f"(median {statistics.median(seconds) if seconds else math.nan:.0f} s per run), CPU "
        f"{sum(cpu) / 60:.1f} min; 1-min load average at the runs' ends "
        f"{min(loads) if loads else math.nan:.1f}–{max(loads) if loads else math.nan:.1f}.",
        "Bold: the difference exceeds the sum of the two seed standard deviations (task "
        "metrics and mean against `equal`; Δm against the single-task baselines' own spread).",
    ]
    return "\n".join(lines)
