"""``results.md``: the grid's comparison table, affinity heatmap and advisor verdict."""

from __future__ import annotations

from typing import Any

import pandas as pd

from mtl_pipeline.experiments.tables import comparison_markdown, fmt


def results_markdown(
    comparison: pd.DataFrame,
    advice: dict[str, Any],
    grid: dict[str, Any],
    model: dict[str, Any],
    training: dict[str, Any],
    seconds: float,
    heatmap: str = "affinity.png",
) -> str:
    """The report, self-describing: what ran (grid, budget, encoder), then the findings."""
    agreement = advice["agreement"]
    rate = agreement["rate"]
    budget = grid["budget"]
    lines = [
        "# Transfer strategies: single-task vs pairwise vs STILTs vs MTL-ALL",
        "",
        f"- encoder: `{model.get('encoder')}`, max length {model.get('max_length')}, "
        f"architecture `{_name(model.get('architecture'))}`",
        f"- training: learning rate {training.get('learning_rate')}, batch size "
        f"{training.get('batch_size')}, loss `{_name(training.get('loss'))}`, "
        f"sampler `{_name(training.get('sampler'))}`, device {training.get('device')}",
        f"- targets: {', '.join(grid['targets'])}; supporting tasks: {', '.join(grid['supports'])}",
        f"- strategies: single_task (baseline), {', '.join(grid['strategies'])}; "
        f"seeds: {', '.join(str(s) for s in grid['seeds'])}",
        f"- budget: {budget['steps']} steps per task and phase "
        f"(joint runs x their task count: {budget['joint_steps_per_task']}), "
        f"{budget['evaluations']} evaluations per phase, training subset "
        f"{budget['max_train_examples'] or 'all'}, evaluation subset "
        f"{budget['max_eval_examples'] or 'all'}",
        f"- training time of all cells: {seconds / 60:.1f} min",
        "- command: `kedro run --pipelines ingestion,tokenization,experiments` with these "
        "parameters (conf/base/parameters_experiments.yml and any --env/--params on top)",
        "",
        "Scores are each target's main validation metric at the evaluation step best for that "
        "target, mean ± sample std over seeds. *best* picks the supporting task on the same "
        "validation scores (optimistic); *avg* averages over supporting tasks.",
        "",
        "## Comparison",
        "",
        comparison_markdown(comparison),
        "",
        "## Task affinity",
        "",
        "Gain of each supporting task (columns) on each target (rows) over the target's "
        "single-task score; blue helps, red hurts.",
        "",
        f"![task affinity]({heatmap})",
        "",
        "## Strategy advisor",
        "",
        f"Rule: {advice['rule']}.",
        "",
        f"**Agreement: {agreement['agreed']} of {agreement['applicable']} applicable pairs"
        + (f" ({rate:.0%})**" if rate is not None else " (no applicable pair)**")
        + " (the paper: over 92% on GLUE). Pairs of equal size (no prediction): "
        + (", ".join(advice["size_ties"]) or "none")
        + "; measured ties: "
        + (", ".join(advice["result_ties"]) or "none")
        + ".",
        "",
        "| target ← support | n target | n support | predicted | pairwise | STILTs | winner | agrees |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for p in advice["pairs"]:
        agrees = {True: "yes", False: "no", None: "–"}[p["agrees"]]
        lines.append(
            f"| {p['target']} ← {p['support']} | {p['n_target']} | {p['n_support']} | "
            f"{p['predicted'] or '– (equal)'} | {fmt(p['pairwise'])} | {fmt(p['stilts'])} | "
            f"{p['winner']} | {agrees} |"
        )
    mtl = advice.get("mtl_all_vs_pairwise") or {}
    if mtl.get("targets"):
        lines += [
            "",
            f"MTL-ALL is below the best pairwise method (pairwise or STILTs, best supporting task) "
            f"on {mtl['worse_in']} of {mtl['targets']} targets.",
        ]
    return "\n".join(lines) + "\n"


def _name(spec: Any) -> Any:
    """A component's name from ``{name: ..., **options}`` or its string shorthand."""
    return spec.get("name") if isinstance(spec, dict) else spec
