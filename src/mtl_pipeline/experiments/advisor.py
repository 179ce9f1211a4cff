"""The strategy advisor: Weller, Seppi & Gardner (2022)'s size heuristic, and how often the
grid's measurements agree with it.

The paper's rule ("When to Use Multi-Task Learning vs Intermediate Fine-Tuning for
Pre-Trained Encoder Transfer Learning", ACL 2022): for a target task and one supporting
task, pairwise MTL beats STILTs when the target has *fewer* training instances than the
supporting task, and STILTs beats pairwise MTL when it has more (they report this held in
over 92% of applicable GLUE cases). Equal sizes are where the paper saw the two cross over,
so the rule predicts nothing there; a pair whose measured means are within
``tie_tolerance`` has no winner. Both kinds of tie are reported and left out of the rate.
"""

from __future__ import annotations

from typing import Any

import pandas as pd

RULE = (
    "pairwise MTL if the target has fewer training examples than the supporting task, "
    "STILTs if it has more, no prediction if they are equal (Weller, Seppi & Gardner 2022)"
)


def predict(n_target: int, n_support: int) -> str | None:
    """The size heuristic: ``"pairwise"``, ``"stilts"``, or None when the sizes are equal."""
    if n_target < n_support:
        return "pairwise"
    if n_target > n_support:
        return "stilts"
    return None


def measured_winner(
    pairwise: float, stilts: float, higher_is_better: bool = True, tie_tolerance: float = 0.0
) -> str:
    """``"pairwise"``, ``"stilts"``, or ``"tie"`` (means within ``tie_tolerance``)."""
    if abs(pairwise - stilts) <= tie_tolerance:
        return "tie"
    better_pairwise = pairwise > stilts if higher_is_better else pairwise < stilts
    return "pairwise" if better_pairwise else "stilts"


def advise(
    summary: pd.DataFrame, sizes: dict[str, int], tie_tolerance: float = 0.0
) -> dict[str, Any]:
    """Apply the heuristic to every (target, supporting task) pair with both measurements.

    ``summary``: one row per (target, strategy, support) with ``mean`` and
    ``higher_is_better`` (``tables.summarize``); ``sizes``: training examples per task as
    the grid used them (after the budget's subsetting).
    """
    pairs = []
    rows = summary[summary["strategy"].isin(["pairwise", "stilts"])]
    means = rows.pivot_table(index=["target", "support"], columns="strategy", values="mean")
    direction = summary.groupby("target")["higher_is_better"].first().to_dict()
    if {"pairwise", "stilts"} <= set(means.columns):
        for (target, support), row in means.dropna(subset=["pairwise", "stilts"]).iterrows():
            predicted = predict(sizes[target], sizes[support])
            winner = measured_winner(
                row["pairwise"], row["stilts"], bool(direction[target]), tie_tolerance
            )
            applicable = predicted is not None and winner != "tie"
            pairs.append(
                {
                    "target": target,
                    "support": support,
                    "n_target": int(sizes[target]),
                    "n_support": int(sizes[support]),
                    "predicted": predicted,
                    "pairwise": float(row["pairwise"]),
                    "stilts": float(row["stilts"]),
                    "winner": winner,
                    "agrees": (predicted == winner) if applicable else None,
                }
            )
    applicable = [p for p in pairs if p["agrees"] is not None]
    agreed = sum(p["agrees"] for p in applicable)
    return {
        "rule": RULE,
        "tie_tolerance": tie_tolerance,
        "pairs": pairs,
        "agreement": {
            "agreed": agreed,
            "applicable": len(applicable),
            "rate": agreed / len(applicable) if applicable else None,
        },
        "size_ties": [f"{p['target']}<-{p['support']}" for p in pairs if p["predicted"] is None],
        "result_ties": [f"{p['target']}<-{p['support']}" for p in pairs if p["winner"] == "tie"],
        "mtl_all_vs_pairwise": _mtl_all_vs_pair_methods(summary),
    }


def _mtl_all_vs_pair_methods(summary: pd.DataFrame) -> dict[str, Any]:
    """The paper's second finding: is MTL-ALL below the best pairwise method per target?"""
    out: dict[str, Any] = {}
    for target, group in summary.groupby("target"):
        mtl = group[group["strategy"] == "mtl_all"]["mean"]
        pair = group[group["strategy"].isin(["pairwise", "stilts"])]
        if mtl.empty or pair.empty:
            continue
        higher = bool(group["higher_is_better"].iloc[0])
        best = pair["mean"].max() if higher else pair["mean"].min()
        value = float(mtl.iloc[0])
        out[str(target)] = {
            "mtl_all": value,
            "best_pair_method": float(best),
            "mtl_all_worse": bool(value < best if higher else value > best),
        }
    worse = [v["mtl_all_worse"] for v in out.values()]
    return {"per_target": out, "worse_in": sum(worse), "targets": len(worse)}
