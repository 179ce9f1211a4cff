"""Does one run's TAG affinity predict the experiments grid's measured pairwise gains?

TAG (``training.task_affinity``) gives ``Z[i][j]``: how much a lookahead step on task
``i`` lowers task ``j``'s loss, inside one multi-task run. The experiments grid measures
``gain[target][support]``: the target's main metric when trained with the supporting task
(pairwise MTL) minus its single-task score. ``Z[support][target]`` is TAG's prediction of
``gain[target][support]``; this script reports the Spearman rank correlation of the two:

* ``ordered``: the k(k-1) ordered pairs (the grid's cells);
* ``symmetric``: the k(k-1)/2 unordered pairs, ``(Z_ij + Z_ji) / 2`` against
  ``(gain_ij + gain_ji) / 2`` (what the grouping advisor maximizes);
* ``within target``: for each target, Spearman over its supporting tasks, averaged (the
  gains of different targets are in different metrics: MCC, F1, accuracy, Pearson).

Confidence intervals: percentile bootstrap (``--boot`` resamples) of two kinds.
``pairs``: the pairs are resampled with replacement (how much the correlation depends on
which pairs there are); ``lookaheads``: TAG's individual lookahead matrices (from the
run's ``training_history.json``) are resampled and averaged again, the grid held fixed
(how much it depends on TAG's own measurement noise). Neither covers the grid's own seed
noise, which at one seed is as large as most gains (docs/results.md).

Usage::

    python benchmarks/tag_vs_grid.py --history data/07_model_output/training_history.json \\
        --grid benchmarks/results/grid_seed0_50steps.csv
"""

from __future__ import annotations

import argparse
import json
import math
import sys
from itertools import permutations
from pathlib import Path
from typing import Any

import numpy as np


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--tag", default="", help="task_affinity.json of one run (default: averaged from --history)"
    )
    parser.add_argument("--history", default="", help="its training_history.json (lookaheads)")
    parser.add_argument(
        "--grid",
        required=True,
        help="the grid's gains: experiments affinity.csv (strategy,target,<supports>) or a "
        "CSV with target,support,single_task,pairwise columns",
    )
    parser.add_argument("--strategy", default="pairwise", help="which grid strategy's gains")
    parser.add_argument("--boot", type=int, default=10000)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", default="", help="write the result as JSON here")
    return parser.parse_args(argv)


def load_grid_gains(path: str | Path, strategy: str = "pairwise") -> dict[tuple[str, str], float]:
    """``{(target, support): gain}`` from either CSV layout."""
    import pandas as pd

    frame = pd.read_csv(path)
    gains: dict[tuple[str, str], float] = {}
    if "strategy" in frame.columns:
        part = frame[frame["strategy"] == strategy]
        for _, row in part.iterrows():
            for support in frame.columns:
                if support in ("strategy", "target") or support == row["target"]:
                    continue
                value = row[support]
                if isinstance(value, int | float) and math.isfinite(value):
                    gains[(row["target"], support)] = float(value)
    else:
        missing = {"target", "support", "single_task", strategy} - set(frame.columns)
        if missing:
            raise SystemExit(f"{path}: expected columns {sorted(missing)} (see --help)")
        for _, row in frame.iterrows():
            gains[(row["target"], row["support"])] = float(row[strategy] - row["single_task"])
    if not gains:
        raise SystemExit(f"{path}: no {strategy} gains found")
    return gains


def spearman(x: np.ndarray, y: np.ndarray) -> float:
    """Spearman's rho (average ranks for ties); NaN when either side is constant."""
    from scipy.stats import spearmanr

    if len(x) < 3 or np.ptp(x) == 0 or np.ptp(y) == 0:
        return math.nan
    return float(spearmanr(x, y).statistic)


def correlations(z: dict[str, dict[str, float]], gains: dict[tuple[str, str], float]) -> dict:
    """The three correlations for one TAG matrix ``z`` (``z[i][j]``: i stepped, j measured)."""
    pairs = [(t, s) for (t, s) in gains if s in z and t in z[s] and z[s][t] is not None]
    ordered = spearman(
        np.array([z[s][t] for t, s in pairs]), np.array([gains[(t, s)] for t, s in pairs])
    )
    unordered = sorted({tuple(sorted(p)) for p in pairs if (p[1], p[0]) in gains})
    symmetric = spearman(
        np.array([(z[a][b] + z[b][a]) / 2 for a, b in unordered]),
        np.array([(gains[(a, b)] + gains[(b, a)]) / 2 for a, b in unordered]),
    )
    per_target = []
    for target in sorted({t for t, _ in pairs}):
        mine = [(t, s) for t, s in pairs if t == target]
        per_target.append(
            spearman(
                np.array([z[s][t] for t, s in mine]), np.array([gains[(t, s)] for t, s in mine])
            )
        )
    finite = [r for r in per_target if math.isfinite(r)]
    return {
        "ordered": ordered,
        "symmetric": symmetric,
        "within_target": float(np.mean(finite)) if finite else math.nan,
        "n_ordered": len(pairs),
        "n_symmetric": len(unordered),
    }


def _ci(values: list[float]) -> list[float]:
    finite = np.array([v for v in values if math.isfinite(v)])
    if len(finite) == 0:
        return [math.nan, math.nan]
    return [float(np.percentile(finite, 2.5)), float(np.percentile(finite, 97.5))]


def bootstrap_pairs(
    z: dict[str, dict[str, float]],
    gains: dict[tuple[str, str], float],
    boot: int,
    rng: np.random.Generator,
) -> dict[str, list[float]]:
    """95% CIs with the (ordered, and unordered) pairs resampled with replacement."""
    pairs = [(t, s) for (t, s) in gains if s in z and t in z[s]]
    x = np.array([z[s][t] for t, s in pairs])
    y = np.array([gains[(t, s)] for t, s in pairs])
    unordered = sorted({tuple(sorted(p)) for p in pairs if (p[1], p[0]) in gains})
    xs = np.array([(z[a][b] + z[b][a]) / 2 for a, b in unordered])
    ys = np.array([(gains[(a, b)] + gains[(b, a)]) / 2 for a, b in unordered])
    ordered, symmetric = [], []
    for _ in range(boot):
        idx = rng.integers(0, len(x), len(x))
        ordered.append(spearman(x[idx], y[idx]))
        idx = rng.integers(0, len(xs), len(xs))
        symmetric.append(spearman(xs[idx], ys[idx]))
    return {"ordered": _ci(ordered), "symmetric": _ci(symmetric)}


def bootstrap_lookaheads(
    entries: list[dict[str, Any]],
    gains: dict[tuple[str, str], float],
    boot: int,
    rng: np.random.Generator,
) -> dict[str, list[float]]:
    """95% CIs with TAG's lookahead matrices resampled (the grid held fixed)."""
    mats = [e["matrix"] for e in entries if e.get("matrix")]
    tasks = list(mats[0])
    stack = np.array([[[m[i][j] for j in tasks] for i in tasks] for m in mats], dtype=float)
    out: dict[str, list[float]] = {"ordered": [], "symmetric": [], "within_target": []}
    for _ in range(boot):
        mean = np.nanmean(stack[rng.integers(0, len(stack), len(stack))], axis=0)
        z = {a: {b: float(mean[i, j]) for j, b in enumerate(tasks)} for i, a in enumerate(tasks)}
        result = correlations(z, gains)
        for key in out:
            out[key].append(result[key])
    return {key: _ci(values) for key, values in out.items()}


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    if args.tag:
        tag = json.loads(Path(args.tag).read_text())
    elif args.history:
        from mtl_pipeline.training.task_affinity import average_affinity

        entries = json.loads(Path(args.history).read_text()).get("task_affinity") or []
        tag = average_affinity(entries)
        if not tag.get("matrix"):
            raise SystemExit(f"{args.history}: no task_affinity measurements in this history")
    else:
        raise SystemExit("pass --tag (task_affinity.json) or --history (training_history.json)")
    z = tag["matrix"]
    gains = load_grid_gains(args.grid, args.strategy)
    rng = np.random.default_rng(args.seed)
    result: dict[str, Any] = {
        "tag": args.tag or args.history,
        "grid": args.grid,
        "strategy": args.strategy,
        "lookaheads": tag.get("lookaheads"),
        "steps": tag.get("steps"),
        **correlations(z, gains),
        "ci_pairs": bootstrap_pairs(z, gains, args.boot, rng),
    }
    if args.history:
        entries = json.loads(Path(args.history).read_text()).get("task_affinity") or []
        if len([e for e in entries if e.get("matrix")]) > 1:
            result["ci_lookaheads"] = bootstrap_lookaheads(entries, gains, args.boot, rng)
    tasks = list(z)
    result["pairs"] = [
        {"target": t, "support": s, "z_support_target": z[s][t], "gain": gains[(t, s)]}
        for t, s in permutations(tasks, 2)
        if (t, s) in gains
    ]
    text = json.dumps(result, indent=2)
    print(text)
    if args.out:
        Path(args.out).write_text(text + "\n")


if __name__ == "__main__":
    sys.exit(main())
