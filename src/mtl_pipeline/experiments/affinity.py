"""Task affinity: each supporting task's gain on each target over the target's single-task
score, per pair strategy (rows: targets, columns: supporting tasks)."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd


def affinity_matrix(summary: pd.DataFrame) -> pd.DataFrame:
    """``strategy, target, <support 1>, <support 2>, ...`` with ``gain_vs_single`` values
    (positive = the supporting task helped); NaN where a pair was not run."""
    pairs = summary[summary["strategy"].isin(["pairwise", "stilts"])]
    if pairs.empty:
        return pd.DataFrame(columns=["strategy", "target"])
    tasks = sorted(set(summary["target"]) | set(pairs["support"]))
    matrix = pairs.pivot_table(
        index=["strategy", "target"], columns="support", values="gain_vs_single", dropna=False
    )
    matrix = matrix.reindex(columns=[t for t in tasks if t in matrix.columns])
    matrix.columns.name = None
    return matrix.reset_index()


def plot_affinity(matrix: pd.DataFrame) -> Any:
    """One heatmap per pair strategy, diverging around 0 (blue: the support helped)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    strategies = list(dict.fromkeys(matrix["strategy"])) if len(matrix) else []
    if not strategies:
        fig, ax = plt.subplots(figsize=(6, 2.5))
        ax.set_axis_off()
        ax.text(0.5, 0.5, "no pairwise or STILTs cells in this grid", ha="center", va="center")
        return fig
    supports = [c for c in matrix.columns if c not in ("strategy", "target")]
    values = matrix[supports].to_numpy(dtype=float)
    limit = float(np.nanmax(np.abs(values))) if np.isfinite(values).any() else 1.0
    limit = limit or 1.0
    n_targets = len(matrix) // len(strategies)
    width, height = 0.9 + 0.6 * len(supports), 1.9 + 0.6 * n_targets
    fig, axes = plt.subplots(
        1,
        len(strategies),
        figsize=(width * len(strategies) + 1.2, height),
        squeeze=False,
        layout="constrained",
    )
    cmap = matplotlib.colormaps["RdBu"].with_extremes(bad="#eeeeee")  # grey: not run
    image = None
    for k, (ax, strategy) in enumerate(zip(axes[0], strategies, strict=True)):
        part = matrix[matrix["strategy"] == strategy]
        data = part[supports].to_numpy(dtype=float)
        image = ax.imshow(data, cmap=cmap, vmin=-limit, vmax=limit)
        ax.set_xticks(range(len(supports)), supports, rotation=45, ha="right")
        ax.set_yticks(range(len(part)), list(part["target"]) if k == 0 else [])
        ax.set(title=strategy, xlabel="supporting task", ylabel="target" if k == 0 else "")
        for i in range(data.shape[0]):
            for j in range(data.shape[1]):
                if np.isfinite(data[i, j]):
                    dark = abs(data[i, j]) > 0.6 * limit
                    color = "white" if dark else "black"
                    ax.text(
                        j,
                        i,
                        f"{data[i, j]:+.3f}",
                        ha="center",
                        va="center",
                        fontsize=8,
                        color=color,
                    )
    fig.suptitle("gain of the supporting task over single-task (target's main metric)")
    fig.colorbar(image, ax=list(axes[0]), shrink=0.85)
    return fig
