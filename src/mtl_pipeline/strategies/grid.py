"""Training the experiments grid's cells with the strategy classes (the torch side).

Each function trains the cells one Kedro node owns and returns plain score records
(``experiments.tables.SCORE_COLUMNS``). Budget rules (docs/strategies.md): every phase on
one task runs ``budget.steps`` steps; joint runs run ``steps`` x their task count (unless
``joint_steps_per_task: false``); each phase is evaluated ``budget.evaluations`` times on
the validation set and a cell's score is the target's main metric at the evaluation best
for the target. STILTs reuses the supporting task's single-task model of the same seed as
its intermediate model (STILTs' phase 1 *is* that run), which saves a quarter of the grid.
"""

from __future__ import annotations

import time
from typing import Any

import numpy as np

from mtl_pipeline.config import ModelConfig, TaskConfig, TrainingConfig, parse_section
from mtl_pipeline.experiments.grid import Grid, resolve_grid
from mtl_pipeline.strategies.base import Phase, StrategyContext
from mtl_pipeline.strategies.transfer import check_transferable

#: Subsets are drawn with this seed whatever the training seed, so all seeds see the same data.
SUBSET_SEED = 0


def grid_context(
    model: dict[str, Any],
    training: dict[str, Any],
    tasks: dict[str, Any],
    experiments: dict[str, Any],
    task_data: dict[str, dict[str, Any]],
    seed: int,
) -> tuple[StrategyContext, Grid]:
    """Parsed configs for one seed of the grid, the budget applied (steps, subsets)."""
    grid = resolve_grid(experiments, list(tasks))
    overrides = (experiments or {}).get("training") or {}
    train_cfg = parse_section(TrainingConfig, {**training, **overrides}, "training").model_copy(
        update={
            "strategy": "mtl_all",
            "target_task": None,
            "supporting_task": None,
            "finetune_steps": None,
            "seed": seed,
            "eval_max_examples": grid.budget.max_eval_examples,
            # The node is the unit of resumption; hundreds of phase checkpoints would not pay.
            "checkpoint_every": 0,
        }
    )
    data = {name: _subset(name, value, grid.train_cap(name)) for name, value in task_data.items()}
    ctx = StrategyContext(
        model_cfg=parse_section(ModelConfig, model, "model"),
        train_cfg=train_cfg,
        task_cfgs={t: parse_section(TaskConfig, tasks[t], f"tasks.{t}") for t in task_data},
        task_data=data,
        evaluations=grid.budget.evaluations,
    )
    return ctx, grid


def _subset(task: str, data: dict[str, Any], cap: int | None) -> dict[str, Any]:
    features = data["train_features"]
    if cap is None or len(features) <= cap:
        return data
    rng = np.random.default_rng(SUBSET_SEED)
    keep = np.sort(rng.choice(len(features), size=cap, replace=False))
    return {**data, "train_features": features.select(keep.tolist())}


def _main_metric(ctx: StrategyContext, task: str) -> tuple[str, bool]:
    from mtl_pipeline.registry import get_registry

    name = ctx.task_cfgs[task].metrics[0]
    return name, bool(get_registry().get("metric", name, f"tasks.{task}.metrics").higher_is_better)


def record(
    ctx: StrategyContext, phase: Phase, target: str, strategy: str, support: str | None, seed: int
) -> dict[str, Any]:
    """One row of ``experiments.scores``: the target's score in ``phase``."""
    metric, higher = _main_metric(ctx, target)
    step, metrics = phase.best_for(target, higher, metric)
    return {
        "target": target,
        "strategy": strategy,
        "support": support,
        "seed": seed,
        "metric": metric,
        "higher_is_better": higher,
        "score": float(metrics[metric]),
        "best_step": step,
        "steps": len(phase.history.get("steps") or []),
        "seconds": float(phase.history.get("seconds") or 0.0),
        "n_train_target": len(ctx.task_data[target]["train_features"]),
        "n_train_support": len(ctx.task_data[support]["train_features"]) if support else None,
    }


def _scores(records: list[dict[str, Any]], started: float) -> dict[str, Any]:
    return {"records": records, "seconds": time.perf_counter() - started}


def run_single_task_cells(
    task: str, params: dict[str, Any], task_data: dict[str, dict[str, Any]]
) -> tuple[dict[str, Any], dict[int, Phase]]:
    """The baseline of ``task`` for every seed; its phases are kept (in memory) when STILTs
    needs them as intermediate models."""
    from mtl_pipeline.strategies.single_task import SingleTask

    started, records, phases = time.perf_counter(), [], {}
    grid = resolve_grid(params["experiments"], list(params["tasks"]))
    if task not in grid.tasks:
        return _scores([], started), {}
    keep = "stilts" in grid.strategies and task in grid.supports
    for seed in grid.seeds:
        ctx, grid = grid_context(**params, task_data=task_data, seed=seed)
        if keep and seed == grid.seeds[0]:  # STILTs will start from this model: can it?
            check_transferable(ctx, [task], [task])
        phase = SingleTask.train(ctx, task, steps=grid.steps())
        if task in grid.targets:
            records.append(record(ctx, phase, task, "single_task", None, seed))
        if keep:
            phase.history = {k: phase.history[k] for k in ("best_step", "best_score")}
            phases[seed] = phase
    return _scores(records, started), phases


def run_transfer_cells(
    target: str,
    params: dict[str, Any],
    task_data: dict[str, dict[str, Any]],
    intermediates: dict[str, dict[int, Phase]],
) -> dict[str, Any]:
    """Pairwise and STILTs cells of ``target`` with each supporting task, every seed."""
    from mtl_pipeline.strategies.pairwise import Pairwise
    from mtl_pipeline.strategies.stilts import Stilts

    started, records = time.perf_counter(), []
    grid = resolve_grid(params["experiments"], list(params["tasks"]))
    if target not in grid.targets or not grid.needs_pairs:
        return _scores([], started)
    task_data = {t: task_data[t] for t in [target, *grid.supports_for(target)]}
    for seed in grid.seeds:
        ctx, grid = grid_context(**params, task_data=task_data, seed=seed)
        for support in grid.supports_for(target):
            if "pairwise" in grid.strategies:
                phase = Pairwise.train(ctx, target, support, steps=grid.steps(2))
                records.append(record(ctx, phase, target, "pairwise", support, seed))
            if "stilts" in grid.strategies:
                phase = Stilts.transfer(
                    ctx, intermediates[support][seed], target, steps=grid.steps()
                )
                records.append(record(ctx, phase, target, "stilts", support, seed))
    return _scores(records, started)


def run_mtl_cells(
    params: dict[str, Any], task_data: dict[str, dict[str, Any]]
) -> tuple[dict[str, Any], dict[int, Phase]]:
    """One MTL-ALL run per seed over every grid task, scored per target; the models are kept
    when ``mtl_then_finetune`` fine-tunes them."""
    from mtl_pipeline.strategies.mtl_all import MtlAll

    started, records, phases = time.perf_counter(), [], {}
    grid = resolve_grid(params["experiments"], list(params["tasks"]))
    if not grid.needs_mtl:
        return _scores([], started), {}
    task_data = {t: task_data[t] for t in grid.tasks}
    for seed in grid.seeds:
        ctx, grid = grid_context(**params, task_data=task_data, seed=seed)
        if "mtl_then_finetune" in grid.strategies and seed == grid.seeds[0]:
            check_transferable(ctx, ctx.tasks, ctx.tasks[:1], keep_tasks=ctx.tasks[:1])
        phase = MtlAll.train(ctx, steps=grid.steps(len(ctx.tasks)))
        if "mtl_all" in grid.strategies:
            records += [record(ctx, phase, t, "mtl_all", None, seed) for t in grid.targets]
        if "mtl_then_finetune" in grid.strategies:
            phase.history = {k: phase.history[k] for k in ("best_step", "best_score")}
            phases[seed] = phase
    return _scores(records, started), phases


def run_finetune_cells(
    params: dict[str, Any], task_data: dict[str, dict[str, Any]], mtl_phases: dict[int, Phase]
) -> dict[str, Any]:
    """MT-DNN's second stage: each target fine-tuned from the seed's MTL model."""
    from mtl_pipeline.strategies.mtl_then_finetune import MtlThenFinetune

    started, records = time.perf_counter(), []
    grid = resolve_grid(params["experiments"], list(params["tasks"]))
    if "mtl_then_finetune" not in grid.strategies:
        return _scores([], started)
    task_data = {t: task_data[t] for t in grid.targets}
    for seed in grid.seeds:
        ctx, grid = grid_context(**params, task_data=task_data, seed=seed)
        for target in grid.targets:
            phase = MtlThenFinetune.finetune(ctx, mtl_phases[seed], target, steps=grid.steps())
            records.append(record(ctx, phase, target, "mtl_then_finetune", None, seed))
    return _scores(records, started)
