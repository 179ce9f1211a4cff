"""The measured run of docs/task_types.md: the passage-level tasks on the staged data,
each alone and all three in one multi-task run, at the CPU budget of conf/passage_tasks_cpu.

    python scripts/passage_runs.py                 # run what is missing, then print the table
    python scripts/passage_runs.py --table-only    # print the table of the finished runs
    python scripts/passage_runs.py --scale 2       # every budget twice as long (new folder)

Each finished run leaves ``<out>/<run>/{metrics.json,run.json}``; a rerun skips the runs
whose ``run.json`` exists, so a long sequence can be completed across several sittings
(an interrupted run is simply started again). Needs ../shared/data beside the project.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
ENV = "passage_tasks,passage_tasks_cpu"
#: Steps per task at batch 16; the mix runs their sum and samples in these proportions.
BUDGET = {"squad": 300, "goemotions": 500, "xcopa": 150}
XCOPA_SEEDS = (42, 43, 44)


def planned_runs(scale: float) -> dict[str, str]:
    """Run name -> kedro ``--params`` string."""
    steps = {task: max(1, round(n * scale)) for task, n in BUDGET.items()}
    runs = {}
    for task in ("squad", "goemotions"):
        runs[f"{task}_single"] = f"run.tasks={task},training.max_steps={steps[task]}"
    for seed in XCOPA_SEEDS:
        runs[f"xcopa_single_seed{seed}"] = (
            f"run.tasks=xcopa,training.max_steps={steps['xcopa']},training.seed={seed}"
        )
    mix = ",".join(f"training.sampler.probabilities.{t}={n}" for t, n in steps.items())
    runs["mix"] = f"training.max_steps={sum(steps.values())},training.sampler.name=specified,{mix}"
    return runs


def run_one(name: str, params: str, out: Path) -> None:
    """One ``kedro run``; its metrics and wall time are kept only if it finishes."""
    target = out / name
    env = {**os.environ, "DO_NOT_TRACK": "1"}
    cmd = [sys.executable, "-m", "kedro", "run", "--env", ENV, "--params", params]
    print(f"[{name}] {' '.join(cmd)}", flush=True)
    start = time.time()
    load_before = os.getloadavg()[0]
    log = out / f"{name}.log"
    with log.open("w") as handle:
        code = subprocess.call(cmd, cwd=REPO, env=env, stdout=handle, stderr=subprocess.STDOUT)
    if code != 0:
        raise SystemExit(f"[{name}] kedro run failed with exit code {code}; see {log}")
    target.mkdir(parents=True, exist_ok=True)
    shutil.copy(REPO / "data/08_reporting/metrics.json", target / "metrics.json")
    record = {
        "params": params,
        "wall_s": round(time.time() - start, 1),
        "load_average_start": round(load_before, 2),
        "load_average_end": round(os.getloadavg()[0], 2),
        "cpus": os.cpu_count(),
    }
    (target / "run.json").write_text(json.dumps(record, indent=2) + "\n")
    print(f"[{name}] done in {record['wall_s']} s", flush=True)


def task_scores(metrics: dict, task: str) -> dict[str, float]:
    scores = metrics.get("tasks", metrics).get(task, {})
    return {k: v for k, v in scores.items() if isinstance(v, (int, float))}


def table(out: Path) -> str:
    rows = ["| run | task | metric | score | wall (s) | load avg |", "|---|---|---|---|---|---|"]
    for name in planned_runs(1.0):
        run_file = out / name / "run.json"
        if not run_file.exists():
            rows.append(f"| {name} | - | - | not run | - | - |")
            continue
        record = json.loads(run_file.read_text())
        metrics = json.loads((out / name / "metrics.json").read_text())
        for task in BUDGET:
            for metric, value in task_scores(metrics, task).items():
                load = f"{record['load_average_start']}-{record['load_average_end']}"
                rows.append(
                    f"| {name} | {task} | {metric} | {value:.4f} | {record['wall_s']} | {load} |"
                )
    return "\n".join(rows)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--scale", type=float, default=1.0, help="multiply every budget")
    parser.add_argument("--out", type=Path, default=None)
    parser.add_argument("--only", nargs="*", default=None, help="run names to run")
    parser.add_argument("--table-only", action="store_true")
    args = parser.parse_args()
    out = args.out or REPO / f"data/08_reporting/passage_runs/scale-{args.scale:g}"
    out.mkdir(parents=True, exist_ok=True)
    if not args.table_only:
        for name, params in planned_runs(args.scale).items():
            if args.only is not None and name not in args.only:
                continue
            if (out / name / "run.json").exists():
                print(f"[{name}] finished earlier, skipped", flush=True)
                continue
            run_one(name, params, out)
    print(table(out))


if __name__ == "__main__":
    main()
