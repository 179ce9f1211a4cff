"""Reporting: metrics.json, a Markdown summary and plots, all through the catalog."""

from __future__ import annotations

import logging
import os
import shutil
from pathlib import Path
from typing import Any

logger = logging.getLogger(__name__)

#: Where the catalog writes per-task outputs: ``<dir>/<task>/`` ({task}.metrics,
#: {task}.predictions in conf/base/catalog.yml), relative to the project root.
REPORTING_DIR = "data/08_reporting"
MODEL_OUTPUT_DIR = "data/07_model_output"
#: A folder of ``REPORTING_DIR`` holding this file is one task's report.
TASK_REPORT_FILE = "metrics.json"
#: Folders beside the task folders that are not tasks' (other pipelines' outputs).
NOT_TASK_FOLDERS = frozenset({"experiments", "predictions"})
#: Where the outputs of tasks no longer in the run are moved, inside each directory.
REMOVED_TASKS_DIR = ".removed_tasks"


def collect_metrics(**task_metrics: dict[str, float]) -> dict[str, dict[str, float]]:
    """``{task: {metric: value}}`` from each branch's ``<task>.metrics``."""
    return {key.partition("__")[0]: values for key, values in sorted(task_metrics.items())}


def index_tasks(
    metrics: dict[str, dict[str, float]], project_dir: str | None = None
) -> dict[str, Any]:
    """The run's task index (``data/08_reporting/tasks.json``); moves the per-task report
    and prediction folders of tasks this run does not have to ``.removed_tasks/``.

    Folders of a task dropped from the config (or not selected for this run) would
    otherwise sit beside the current ones, with scores of an older model that read like
    this run's. They are moved, not deleted: nothing a user might still want is lost, and
    a later run that removes the same task again replaces the older copy. ``metrics``
    (this run's combined scores) names the current tasks and makes the node run after
    every task's outputs are written.
    """
    root = Path(project_dir) if project_dir else Path.cwd()
    reporting, model_output = root / REPORTING_DIR, root / MODEL_OUTPUT_DIR
    stale = sorted(
        folder.name
        for folder in (reporting.iterdir() if reporting.is_dir() else ())
        if folder.is_dir()
        and not folder.name.startswith(".")
        and folder.name not in metrics
        and folder.name not in NOT_TASK_FOLDERS
        and (folder / TASK_REPORT_FILE).is_file()
    )
    moved: dict[str, list[str]] = {}
    for name in stale:
        for base in (reporting, model_output):
            folder = base / name
            if not folder.is_dir():
                continue
            target = base / REMOVED_TASKS_DIR / name
            if target.exists():
                shutil.rmtree(target)
            target.parent.mkdir(parents=True, exist_ok=True)
            os.replace(folder, target)
            moved.setdefault(name, []).append(str(target.relative_to(root)))
    if moved:
        logger.warning(
            "Outputs of task(s) %s, not part of this run, moved aside so that the reports "
            "list this run's tasks only: %s.",
            ", ".join(moved),
            "; ".join(path for paths in moved.values() for path in paths),
        )
    return {"tasks": sorted(metrics), "moved_aside": moved}


def summarize(
    metrics: dict[str, dict[str, float]],
    training_history: dict[str, Any],
    task_mixture: dict[str, Any],
    reporting: dict[str, Any],
) -> str:
    """A Markdown report: scores, the mixture, how training went."""
    title = reporting.get("title", "mtl_pipeline run")
    lines = [
        f"# {title}",
        "",
        "## Validation scores",
        "",
        "| task | metric | value |",
        "|---|---|---|",
    ]
    for task, values in metrics.items():
        for name, value in values.items():
            lines.append(f"| {task} | {name} | {value:.4f} |")
    main = [next(iter(v.values())) for v in metrics.values() if v]
    if main:
        lines += ["", f"Mean of main metrics: **{sum(main) / len(main):.4f}**"]
    lines += [
        "",
        "## Task mixture",
        "",
        "| task | train examples | initial probability | batches drawn |",
        "|---|---|---|---|",
    ]
    counts: dict[str, int] = {}
    for step in training_history.get("steps", []):
        for task in step["tasks"]:
            counts[task] = counts.get(task, 0) + 1
    for task, size in task_mixture["task_sizes"].items():
        lines.append(
            f"| {task} | {size} | {task_mixture['initial_probabilities'][task]:.3f} | {counts.get(task, 0)} |"
        )
    sampler = task_mixture["sampler"]
    report = training_history.get("architecture_report", {})
    cfg = training_history.get("config", {}).get("training", {})
    lines += [
        "",
        "## Training",
        "",
        f"- architecture: `{report.get('architecture')}`, trainable parameters: {report.get('trainable_parameters', 0):,}",
        f"- loss: `{cfg.get('loss', {}).get('name')}`, sampler: `{sampler['name']}`, tasks per step: {task_mixture['tasks_per_step']}",
        f"- steps: {len(training_history.get('steps', []))}, best step: {training_history.get('best_step')}, "
        f"time: {training_history.get('seconds', 0):.1f} s on {training_history.get('device')} ({training_history.get('precision')})",
        f"- skipped (non-finite) steps: {len(training_history.get('skipped_steps', []))}",
        "",
    ]
    return "\n".join(lines)


def plot_learning_curves(training_history: dict[str, Any]) -> Any:
    """Per-task training loss (smoothed) and validation main metric over steps."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import numpy as np

    fig, (ax_loss, ax_eval) = plt.subplots(1, 2, figsize=(12, 4.5))
    series: dict[str, tuple[list[int], list[float]]] = {}
    for entry in training_history.get("steps", []):
        for task, loss in entry["losses"].items():
            xs, ys = series.setdefault(task, ([], []))
            xs.append(entry["step"])
            ys.append(loss)
    for task, (xs, ys) in sorted(series.items()):
        window = max(1, len(ys) // 25)
        smooth = np.convolve(ys, np.ones(window) / window, mode="valid")
        ax_loss.plot(xs[window - 1 :], smooth, label=task)
    ax_loss.set(title="training loss (moving average)", xlabel="step", ylabel="loss", yscale="log")
    ax_loss.legend(fontsize=8)
    evaluations = training_history.get("evaluations", [])
    tasks = sorted({t for e in evaluations for t in e["metrics"]})
    for task in tasks:
        points = [
            (e["step"], next(iter(e["metrics"][task].values())))
            for e in evaluations
            if task in e["metrics"]
        ]
        ax_eval.plot([p[0] for p in points], [p[1] for p in points], marker="o", label=task)
    ax_eval.set(title="validation main metric", xlabel="step", ylabel="score")
    ax_eval.legend(fontsize=8)
    fig.tight_layout()
    return fig


def plot_task_mixture(training_history: dict[str, Any]) -> Any:
    """Share of each task among the batches drawn so far, over training steps; beside it,
    the sampler's probabilities over steps where the trainer recorded them
    (``history["sampler_probabilities"]``: schedules such as annealed or dynamic show how
    the distribution moved, which the cumulative shares only hint at)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    steps = training_history.get("steps", [])
    recorded = training_history.get("sampler_probabilities") or []
    tasks = sorted(
        {t for s in steps for t in s["tasks"]} | {t for r in recorded for t in r["probabilities"]}
    )
    counts = dict.fromkeys(tasks, 0)
    xs, shares = [], {t: [] for t in tasks}
    total = 0
    for entry in steps:
        for task in entry["tasks"]:
            counts[task] += 1
            total += 1
        xs.append(entry["step"])
        for task in tasks:
            shares[task].append(counts[task] / total)
    if recorded:
        fig, (ax, ax_p) = plt.subplots(1, 2, figsize=(12, 4))
    else:
        fig, ax = plt.subplots(figsize=(7, 4))
    if xs:
        ax.stackplot(xs, [shares[t] for t in tasks], labels=tasks)
    ax.set(
        title="task mixture (cumulative share of batches)",
        xlabel="step",
        ylabel="share",
        ylim=(0, 1),
    )
    ax.legend(loc="upper right", fontsize=8)
    if recorded:
        px = [r["step"] for r in recorded]
        for task in tasks:
            ax_p.step(
                px, [r["probabilities"].get(task, 0.0) for r in recorded], where="post", label=task
            )
        ax_p.set(
            title="sampler probabilities p_t (per draw)",
            xlabel="step",
            ylabel="probability",
            ylim=(0, 1),
        )
        ax_p.legend(loc="upper right", fontsize=8)
    fig.tight_layout()
    return fig


def _placeholder(title: str, note: str) -> Any:
    """An empty figure that says why it is empty (the catalog always gets a PNG)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(7, 3))
    ax.set_axis_off()
    ax.set_title(title)
    ax.text(
        0.5, 0.5, note, ha="center", va="center", wrap=True, fontsize=10, transform=ax.transAxes
    )
    return fig


def plot_gradient_conflicts(training_history: dict[str, Any]) -> Any:
    """Heatmap of each task pair's gradient cosine similarity (rows: pairs, columns: the
    monitored steps; red = conflicting, blue = aligned, grey = undefined), from the
    gradient-conflict monitor's ``history["gradient_conflicts"]``. A placeholder when the
    monitor was off."""
    entries = training_history.get("gradient_conflicts") or []
    if not entries:
        return _placeholder(
            "gradient conflicts",
            "The gradient-conflict monitor was off.\nSet training.conflict_monitor_every: N > 0\n"
            "to record pairwise task-gradient cosines every N steps.",
        )
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import numpy as np

    pairs = list(dict.fromkeys(p for e in entries for p in e["cosine"]))
    steps = [e["step"] for e in entries]
    values = np.full((len(pairs), len(steps)), np.nan)
    for col, entry in enumerate(entries):
        for row, pair in enumerate(pairs):
            value = entry["cosine"].get(pair)
            if value is not None:
                values[row, col] = value
    # Symmetric colour range around 0 (white), stretched to the data: cosines of large
    # models' gradients are usually small, and a fixed [-1, 1] would wash them out.
    finite = np.abs(values[np.isfinite(values)])
    limit = float(min(1.0, max(0.05, finite.max()))) if finite.size else 1.0
    fig, ax = plt.subplots(
        figsize=(max(6.0, min(16.0, 3 + 0.35 * len(steps))), max(3.0, 1.2 + 0.32 * len(pairs)))
    )
    cmap = plt.get_cmap("RdBu").copy()
    cmap.set_bad("lightgrey")  # undefined (a zero gradient) must not look like 0
    image = ax.imshow(
        values, aspect="auto", cmap=cmap, vmin=-limit, vmax=limit, interpolation="nearest"
    )
    ax.set_yticks(range(len(pairs)), [p.replace("|", " / ") for p in pairs], fontsize=8)
    ticks = np.unique(np.linspace(0, len(steps) - 1, num=min(len(steps), 12)).round().astype(int))
    ax.set_xticks(ticks, [str(steps[i]) for i in ticks], fontsize=8)
    ax.set(title="gradient conflicts: cosine of task gradients (shared parameters)", xlabel="step")
    fig.colorbar(image, ax=ax, label="cosine similarity")
    fig.tight_layout()
    return fig


def plot_task_weights(training_history: dict[str, Any]) -> Any:
    """Each task's loss/gradient weight over the steps it was drawn in (``weights`` of every
    step log, recorded whatever the monitor setting). A placeholder when no step has any."""
    series: dict[str, tuple[list[int], list[float]]] = {}
    for entry in training_history.get("steps", []):
        for task, weight in (entry.get("weights") or {}).items():
            xs, ys = series.setdefault(task, ([], []))
            xs.append(entry["step"])
            ys.append(weight)
    if not series:
        return _placeholder("task weights", "No step recorded task weights.")
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(8, 4))
    for task, (xs, ys) in sorted(series.items()):
        ax.plot(xs, ys, marker="." if len(xs) < 200 else None, linewidth=1, label=task)
    loss = training_history.get("config", {}).get("training", {}).get("loss", {}).get("name")
    ax.set(
        title=f"task weights ({loss})" if loss else "task weights", xlabel="step", ylabel="weight"
    )
    ax.legend(loc="best", fontsize=8)
    fig.tight_layout()
    return fig


def report_task_affinity(training_history: dict[str, Any]) -> tuple[dict[str, Any], Any]:
    """The run's lookahead task affinity (``Z`` averaged over the measurements, with the
    steps and number of lookaheads it averages) and its heatmap. An empty record and a
    placeholder when ``training.task_affinity.every`` was 0."""
    from mtl_pipeline.training.task_affinity import average_affinity

    affinity = average_affinity(training_history.get("task_affinity") or [])
    if not affinity["tasks"]:
        return affinity, _placeholder(
            "task affinity",
            "Task affinity was not measured.\nSet training.task_affinity.every: N > 0\n"
            "to take a lookahead step per task every N steps.",
        )
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import numpy as np

    names = affinity["tasks"]
    values = np.array(
        [[np.nan if affinity["matrix"][a][b] is None else affinity["matrix"][a][b] for b in names]
         for a in names]
    )  # fmt: skip
    finite = np.abs(values[np.isfinite(values)])
    limit = float(finite.max()) if finite.size and finite.max() > 0 else 1.0
    fig, ax = plt.subplots(figsize=(2.5 + 0.7 * len(names), 2.0 + 0.6 * len(names)))
    cmap = plt.get_cmap("RdBu").copy()
    cmap.set_bad("lightgrey")
    image = ax.imshow(values, cmap=cmap, vmin=-limit, vmax=limit)
    ax.set_xticks(range(len(names)), names, rotation=45, ha="right")
    ax.set_yticks(range(len(names)), names)
    for i in range(len(names)):
        for j in range(len(names)):
            if np.isfinite(values[i, j]):
                ax.text(j, i, f"{values[i, j]:.2g}", ha="center", va="center", fontsize=7)
    ax.set(
        title=f"task affinity (TAG), {len(affinity['steps'])} measurements",
        xlabel="task whose loss is measured (j)",
        ylabel="task stepped on (i)",
    )
    fig.colorbar(image, ax=ax, label="Z = 1 - L_j(after) / L_j(before)")
    fig.tight_layout()
    return affinity, fig
