"""The size heuristic's agreement with the experiments grid, with a confidence interval.

Weller, Seppi & Gardner (2022): pairwise MTL when the target has fewer training examples
than the supporting task, STILTs when it has more. The experiments pipeline's advisor
reports one agreement rate on the seed-mean scores; this script adds how far to trust it:

* ``per_seed``: the rate computed on each seed alone, mean ± std over seeds;
* ``ci``: a 95% percentile bootstrap of the seed-mean rate, resampling the applicable
  (target, support) pairs and, within each pair, its seeds (two-level; with one seed only
  the pairs are resampled);
* ``wilson``: the Wilson score interval of ``agreed / applicable``, treating pairs as
  independent trials (they are not quite: pairs share targets and baselines);
* ``always_pairwise``: the rate of the rule "always pairwise" on the same pairs (one minus
  it is "always STILTs"), the base rate a size-based rule has to beat, and
  ``versus_always_pairwise``: the heuristic's rate minus it, with a bootstrap interval
  from the same resamples;
* ``stable``: the pairs whose measured winner is the same on every seed (at least two),
  and how many of those the heuristic gets right: the part of the rate that is not a
  coin flip between seeds;
* ``detail``: per pair, the prediction, the winner on each seed, and the seed-mean
  advantage of pairwise over STILTs (positive: pairwise better, in the metric's sense).

Pairs whose sizes are equal (no prediction) or whose pairwise and STILTs scores tie are
not applicable, as in the advisor.

Input: the grid's ``data/08_reporting/experiments/scores.csv`` (one row per cell and seed;
several such files, one per seed run, are joined) or a wide CSV
``target,support,n_train_target,n_train_support,pairwise,stilts`` (one seed, as
``benchmarks/results/grid_seed0_50steps.csv``)::

    python benchmarks/size_heuristic.py data/08_reporting/experiments/scores.csv
    python benchmarks/size_heuristic.py benchmarks/results/grid_seeds/seed*.csv
"""

from __future__ import annotations

import argparse
import json
import math
import sys
from pathlib import Path
from typing import Any

import numpy as np


def _read_scores(paths: list[str | Path]):
    """One frame from one or more grid CSVs; each (cell, strategy, seed) must occur once.

    Seeds may be run one ``kedro run`` at a time (``--params "experiments.seeds=[1]"``),
    each run's scores.csv kept under its own name; this joins them.
    """
    import pandas as pd

    frames = [pd.read_csv(p).assign(_file=str(p)) for p in paths]
    if len(frames) == 1:
        return frames[0]
    if not all("strategy" in f.columns for f in frames):
        raise SystemExit(
            "several files: each must be the experiments pipeline's scores.csv (one row per "
            "cell, strategy and seed), not the wide one-seed layout"
        )
    frame = pd.concat(frames, ignore_index=True)
    key = ["target", "support", "strategy", "seed"]
    twice = frame[frame.duplicated(key, keep=False)].sort_values(key)
    if len(twice):
        first = twice.iloc[0]
        files = sorted(set(twice[(twice[key] == first[key]).all(axis=1)]["_file"]))
        raise SystemExit(
            f"{' and '.join(files)}: both hold {first['strategy']} {first['target']} <- "
            f"{first['support']} at seed {first['seed']} ({len(twice)} duplicated rows in "
            "all); expected each seed in one file only"
        )
    return frame


def load_cells(*paths: str | Path) -> dict[tuple[str, str], dict[str, Any]]:
    """``{(target, support): {"n": (n_t, n_s), "higher": bool, "seeds": {seed: (pw, st)}}}``."""
    frame = _read_scores(list(paths))
    cells: dict[tuple[str, str], dict[str, Any]] = {}
    if "strategy" in frame.columns:
        rows = frame[frame["strategy"].isin(["pairwise", "stilts"])]
        for _, r in rows.iterrows():
            cell = cells.setdefault(
                (r["target"], r["support"]),
                {
                    "n": (int(r["n_train_target"]), int(r["n_train_support"])),
                    "higher": bool(r["higher_is_better"]),
                    "seeds": {},
                },
            )
            cell["seeds"].setdefault(int(r["seed"]), {})[r["strategy"]] = float(r["score"])
        for cell in cells.values():
            cell["seeds"] = {
                s: (v["pairwise"], v["stilts"])
                for s, v in cell["seeds"].items()
                if {"pairwise", "stilts"} <= set(v)
            }
    else:
        for _, r in frame.iterrows():
            cells[(r["target"], r["support"])] = {
                "n": (int(r["n_train_target"]), int(r["n_train_support"])),
                "higher": bool(r.get("higher_is_better", True)),
                "seeds": {0: (float(r["pairwise"]), float(r["stilts"]))},
            }
    return {k: v for k, v in cells.items() if v["seeds"]}


def _outcome(cell: dict[str, Any], pw: float, st: float) -> bool | None:
    """Agrees (True/False), or None: no prediction (equal sizes) or a measured tie."""
    from mtl_pipeline.experiments.advisor import measured_winner, predict

    predicted = predict(*cell["n"])
    winner = measured_winner(pw, st, cell["higher"])
    if predicted is None or winner == "tie":
        return None
    return predicted == winner


def _pairwise_won(cell: dict[str, Any], outcome: bool | None) -> bool | None:
    """Whether pairwise won, read off the heuristic's outcome: it agrees exactly when the
    winner is the predicted strategy. None where the heuristic is not judged."""
    from mtl_pipeline.experiments.advisor import predict

    return None if outcome is None else outcome == (predict(*cell["n"]) == "pairwise")


def _rate(outcomes: list[bool | None]) -> float:
    applicable = [o for o in outcomes if o is not None]
    return sum(applicable) / len(applicable) if applicable else math.nan


def _mean_outcome(cell: dict[str, Any], seeds: list[int]) -> bool | None:
    pw = float(np.mean([cell["seeds"][s][0] for s in seeds]))
    st = float(np.mean([cell["seeds"][s][1] for s in seeds]))
    return _outcome(cell, pw, st)


def _detail(key: tuple[str, str], cell: dict[str, Any]) -> dict[str, Any]:
    from mtl_pipeline.experiments.advisor import measured_winner, predict

    sign = 1.0 if cell["higher"] else -1.0
    seeds = sorted(cell["seeds"])
    gaps = [sign * (cell["seeds"][s][0] - cell["seeds"][s][1]) for s in seeds]
    return {
        "pair": f"{key[0]}<-{key[1]}",
        "n_train": list(cell["n"]),
        "predicted": predict(*cell["n"]),
        "winners": [measured_winner(*cell["seeds"][s], cell["higher"]) for s in seeds],
        "gap_mean": float(np.mean(gaps)),
        "gap_std": float(np.std(gaps, ddof=1)) if len(gaps) > 1 else None,
        "agrees": _mean_outcome(cell, seeds),
    }


def wilson(agreed: int, n: int, z: float = 1.96) -> list[float]:
    if n == 0:
        return [math.nan, math.nan]
    p = agreed / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    return [centre - half, centre + half]


def analyse(
    cells: dict[tuple[str, str], dict[str, Any]], boot: int = 10000, seed: int = 0
) -> dict[str, Any]:
    keys = sorted(cells)
    seeds = sorted({s for c in cells.values() for s in c["seeds"]})
    means = {k: _mean_outcome(cells[k], sorted(cells[k]["seeds"])) for k in keys}
    applicable = [k for k in keys if means[k] is not None]
    agreed = sum(bool(means[k]) for k in applicable)
    per_seed = {
        s: _rate(
            [_outcome(cells[k], *cells[k]["seeds"][s]) for k in keys if s in cells[k]["seeds"]]
        )
        for s in seeds
    }
    always_pairwise = _rate([_pairwise_won(cells[k], means[k]) for k in keys])
    rng = np.random.default_rng(seed)
    rates, margins = [], []
    for _ in range(boot):
        outcomes, pairwise_won = [], []
        for i in rng.integers(0, len(keys), len(keys)):
            cell = cells[keys[i]]
            own = sorted(cell["seeds"])
            drawn = [own[j] for j in rng.integers(0, len(own), len(own))]
            outcomes.append(_mean_outcome(cell, drawn))
            pairwise_won.append(_pairwise_won(cell, outcomes[-1]))
        rates.append(_rate(outcomes))
        margins.append(rates[-1] - _rate(pairwise_won))
    finite = [r for r in rates if math.isfinite(r)]
    finite_margins = [m for m in margins if math.isfinite(m)]
    detail = [_detail(k, cells[k]) for k in keys]
    stable = [
        d
        for d in detail
        if d["predicted"] is not None
        and len(d["winners"]) > 1
        and len(set(d["winners"])) == 1
        and d["winners"][0] != "tie"
    ]
    seed_rates = [r for r in per_seed.values() if math.isfinite(r)]
    return {
        "seeds": seeds,
        "pairs": len(keys),
        "applicable": len(applicable),
        "agreed": agreed,
        "rate": agreed / len(applicable) if applicable else None,
        "per_seed": per_seed,
        "per_seed_mean": float(np.mean(seed_rates)) if seed_rates else None,
        "per_seed_std": float(np.std(seed_rates, ddof=1)) if len(seed_rates) > 1 else None,
        "ci": [float(np.percentile(finite, 2.5)), float(np.percentile(finite, 97.5))]
        if finite
        else None,
        "wilson": wilson(agreed, len(applicable)),
        "always_pairwise": always_pairwise,
        "versus_always_pairwise": {
            "difference": (agreed / len(applicable) - always_pairwise) if applicable else None,
            "ci": [
                float(np.percentile(finite_margins, 2.5)),
                float(np.percentile(finite_margins, 97.5)),
            ]
            if finite_margins
            else None,
        },
        "stable": {
            "pairs": len(stable),
            "agreed": sum(d["winners"][0] == d["predicted"] for d in stable),
        },
        "detail": detail,
        "size_ties": [
            f"{t}<-{s}" for t, s in keys if cells[(t, s)]["n"][0] == cells[(t, s)]["n"][1]
        ],
    }


def markdown(result: dict[str, Any]) -> str:
    """The per-pair detail as a Markdown table, the form docs/results.md shows it in."""

    def agrees(value: bool | None) -> str:
        return "n/a" if value is None else ("yes" if value else "no")

    lines = [
        "| target <- support | n_train | predicted | winner per seed | pairwise − STILTs "
        "(mean ± std) | agrees |",
        "|---|---|---|---|---|---|",
    ]
    for d in result["detail"]:
        spread = "" if d["gap_std"] is None else f" ± {d['gap_std']:.3f}"
        lines.append(
            f"| {d['pair'].replace('<-', ' <- ')} | {d['n_train'][0]:,} / {d['n_train'][1]:,} "
            f"| {d['predicted'] or 'none (tie)'} | {', '.join(d['winners'])} "
            f"| {d['gap_mean']:+.3f}{spread} | {agrees(d['agrees'])} |"
        )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "scores",
        nargs="+",
        help="scores.csv of the experiments pipeline (several: one per seed run), or a wide CSV",
    )
    parser.add_argument("--boot", type=int, default=10000)
    parser.add_argument("--out", default="")
    parser.add_argument(
        "--markdown", action="store_true", help="print the per-pair table instead of JSON"
    )
    args = parser.parse_args(argv)
    result = analyse(load_cells(*args.scores), args.boot)
    text = json.dumps(result, indent=2)
    print(markdown(result) if args.markdown else text)
    if args.out:
        Path(args.out).write_text(text + "\n")


if __name__ == "__main__":
    sys.exit(main())
