"""Scores of the grid's cells as tables: one row per run, per cell (mean ± std over seeds),
and per target (single-task vs pairwise vs STILTs vs MTL-ALL)."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

#: Columns of the per-run table (``experiments.scores``).
SCORE_COLUMNS = [
    "target", "strategy", "support", "seed", "metric", "higher_is_better", "score",
    "best_step", "steps", "seconds", "n_train_target", "n_train_support",
]  # fmt: skip
#: Column order of the per-target comparison (strategies not run are left out).
STRATEGY_ORDER = ["single_task", "mtl_all", "pairwise", "stilts", "mtl_then_finetune"]


def scores_frame(records: list[dict[str, Any]]) -> pd.DataFrame:
    """One row per trained cell and seed; ``support`` is "" for strategies without one."""
    frame = pd.DataFrame.from_records(records, columns=SCORE_COLUMNS)
    frame["support"] = frame["support"].fillna("").astype(str)
    return frame.sort_values(["target", "strategy", "support", "seed"], ignore_index=True)


def summarize(scores: pd.DataFrame) -> pd.DataFrame:
    """Mean and sample std over seeds per (target, strategy, support), with the gain over the
    target's single-task mean (positive = better, whatever the metric's direction)."""
    scores = scores.assign(support=scores["support"].fillna("").astype(str))
    grouped = scores.groupby(["target", "strategy", "support"], sort=True)
    summary = grouped.agg(
        metric=("metric", "first"),
        higher_is_better=("higher_is_better", "first"),
        n_seeds=("score", "size"),
        mean=("score", "mean"),
        std=("score", lambda s: float(np.std(s, ddof=1)) if len(s) > 1 else float("nan")),
        n_train_target=("n_train_target", "first"),
        n_train_support=("n_train_support", "first"),
    ).reset_index()
    single = summary[summary["strategy"] == "single_task"].set_index("target")["mean"]
    sign = np.where(summary["higher_is_better"].astype(bool), 1.0, -1.0)
    summary["gain_vs_single"] = sign * (summary["mean"] - summary["target"].map(single))
    return summary


def sizes_from(scores: pd.DataFrame) -> dict[str, int]:
    """Training examples per task as the grid used them (from the single-task rows)."""
    single = scores[scores["strategy"] == "single_task"]
    return {str(t): int(n) for t, n in single.groupby("target")["n_train_target"].first().items()}


def comparison(summary: pd.DataFrame) -> pd.DataFrame:
    """Per target: each strategy's score; pair strategies as the average over supporting
    tasks and the best supporting task (chosen on the same dev scores: an optimistic view)."""
    rows = []
    for target, group in summary.groupby("target", sort=True):
        higher = bool(group["higher_is_better"].iloc[0])
        row: dict[str, Any] = {
            "target": target,
            "metric": group["metric"].iloc[0],
            "n_train": group["n_train_target"].iloc[0],
        }
        for strategy in STRATEGY_ORDER:
            part = group[group["strategy"] == strategy]
            if part.empty:
                continue
            if strategy in ("pairwise", "stilts"):
                best = part.loc[part["mean"].idxmax() if higher else part["mean"].idxmin()]
                row[f"{strategy}_avg"] = part["mean"].mean()
                row[f"{strategy}_best"] = best["mean"]
                row[f"{strategy}_best_std"] = best["std"]
                row[f"{strategy}_best_support"] = best["support"]
            else:
                row[strategy] = part["mean"].iloc[0]
                row[f"{strategy}_std"] = part["std"].iloc[0]
        rows.append(row)
    return pd.DataFrame(rows)


def fmt(mean: float, std: float | None = None, digits: int = 3) -> str:
    """``0.812 ± 0.004`` (std shown only when there were several seeds)."""
    if mean is None or (isinstance(mean, float) and np.isnan(mean)):
        return "–"
    if std is None or (isinstance(std, float) and np.isnan(std)):
        return f"{mean:.{digits}f}"
    return f"{mean:.{digits}f} ± {std:.{digits}f}"


def comparison_markdown(table: pd.DataFrame) -> str:
    """The per-target comparison as a Markdown table (best per row in bold)."""
    columns = [("single_task", "single-task"), ("mtl_all", "MTL-ALL")]
    columns += [("pairwise", "pairwise"), ("stilts", "STILTs"), ("mtl_then_finetune", "MTL+FT")]
    present = [(k, title) for k, title in columns if k in table or f"{k}_best" in table]
    header = ["target (metric, n)"]
    for key, title in present:
        header += [f"{title} avg", f"{title} best"] if key in ("pairwise", "stilts") else [title]
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    for _, row in table.iterrows():
        cells = [f"{row['target']} ({row['metric']}, {int(row['n_train'])})"]
        for key, _ in present:
            if key in ("pairwise", "stilts"):
                cells.append(fmt(row.get(f"{key}_avg")))
                cells.append(
                    f"{fmt(row.get(f'{key}_best'), row.get(f'{key}_best_std'))} "
                    f"({row.get(f'{key}_best_support')})"
                    if isinstance(row.get(f"{key}_best_support"), str)
                    else "–"
                )
            else:
                cells.append(fmt(row.get(key), row.get(f"{key}_std")))
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)
