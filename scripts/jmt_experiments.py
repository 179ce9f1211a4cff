#!/usr/bin/env python
"""The measured runs of docs/task_types.md for entities and parsing: each task alone, the
joint hierarchy of conf/jmt (POS at layer 2, NER at 4, parsing at 6) and the same tasks all
read from the top layer, with seeds; WNUT-17 entities alone.

    python scripts/jmt_experiments.py [--steps 800] [--seeds 1 2] [--only deps_single:600 ...]

A run named ``name:N`` in ``--only`` trains N steps instead of ``--steps``.

Every run is one ``kedro run`` in the project root with the parameters of conf/jmt changed
as the run needs (tasks, layers, steps, seed), written to a generated environment under
``data/08_reporting/jmt_runs/<run>/conf``. Models are scored on the TEST splits: each
task's validation source is replaced by its test file, and training evaluates only once,
at the last step (``eval_every = max_steps``), so nothing is selected on test data. UNER
has no train split offline: NER trains on UNER dev and is tested on UNER test.

Each finished run appends ``{run, seed, steps, wall_s, load, metrics}`` to
``data/08_reporting/jmt_runs/results.json``; a rerun skips the (run, seed) pairs already
there, so the script can be stopped and restarted. Needs ../shared/data.
"""

from __future__ import annotations

import argparse
import copy
import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "data" / "08_reporting" / "jmt_runs"
DATA = "../shared/data"
UD_TEST = f"{DATA}/ud_english_ewt/en_ewt-ud-test.conllu"
UNER_TEST = f"{DATA}/uner_english_ewt/en_ewt-ud-test.iob2"
WNUT = {
    "train": f"{DATA}/wnut17/wnut17train.conll",
    "validation": f"{DATA}/wnut17/emerging.test.annotated",
}


def run_params(
    name: str, steps: int, seed: int, max_length: int, batch: int, threads: int
) -> dict[str, Any]:
    """conf/jmt's parameters changed for one run."""
    params = yaml.safe_load((ROOT / "conf" / "jmt" / "parameters.yml").read_text())
    params = copy.deepcopy(params)
    tasks = params["tasks"]
    tasks["upos"]["validation"] = UD_TEST
    tasks["deps"]["validation"] = UD_TEST
    tasks["ner"]["validation"] = UNER_TEST
    arch = params["model"]["architecture"]
    if name == "joint":
        selected = ["upos", "ner", "deps"]
    elif name == "flat":
        selected = ["upos", "ner", "deps"]
        arch["task_layers"] = {}  # every head reads the top layer
    elif name in ("deps_single", "ner_single", "upos_single"):
        selected = [name.split("_")[0]]
        arch["task_layers"] = {}
    elif name == "wnut_single":
        selected = ["wnut"]
        tasks["wnut"] = {
            **tasks["ner"],
            **WNUT,
            "reader": "conll_ner",
        }
        arch["task_layers"] = {}
    else:
        raise SystemExit(f"unknown run {name!r}")
    params["tasks"] = {n: tasks[n] for n in selected}
    params["run"] = {"tasks": selected}
    params["model"]["max_length"] = max_length
    training = params["training"]
    training.update(
        max_steps=steps,
        eval_every=steps,
        eval_max_examples=64,  # the full test sets are scored by the evaluation pipeline
        batch_size=batch,
        seed=seed,
        num_threads=threads,
        progress_bar=False,
        log_every=50,
    )
    return params


def entity_scores_by_type(predictions: Path) -> dict[str, dict[str, float]]:
    """Entity precision/recall/F1 per type (and overall) from an evaluation table of a
    ``ner`` task: gold ``tags`` and the predicted ``tags`` in ``predicted`` (JSON)."""
    import pandas as pd

    from mtl_pipeline.spans.span_f1 import span_scores

    frame = pd.read_parquet(predictions)
    gold = [json.loads(t) if isinstance(t, str) else list(t) for t in frame["tags"]]
    predicted = [json.loads(p)["tags"] for p in frame["predicted"]]
    return {
        kind: {
            "precision": round(s.precision, 4),
            "recall": round(s.recall, 4),
            "f1": round(s.f1, 4),
            "gold": s.gold,
        }
        for kind, s in span_scores(predicted, gold).items()
    }


def markdown_table(results: list[dict[str, Any]]) -> str:
    """One row per finished run: test scores of every task, budget, wall time, load."""

    def score(entry: dict[str, Any], task: str, metric: str) -> str:
        value = entry["metrics"].get(task, {}).get(metric)
        return "" if value is None else f"{value:.3f}"

    lines = [
        "| run | seed | steps | heads read layers | UD POS acc | UNER F1 (P / R) | WNUT-17 F1 "
        "(P / R) | UAS | LAS | wall s | load 1-min before / after |",
        "|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for e in results:
        layers = e.get("task_layers") or {}
        read = ", ".join(f"{t} {layers.get(t, 6)}" for t in e["tasks"])

        def entity(task: str, entry: dict[str, Any] = e) -> str:
            if task not in entry["metrics"]:
                return ""
            return (
                f"{score(entry, task, 'f1')} ({score(entry, task, 'entity_precision')} / "
                f"{score(entry, task, 'entity_recall')})"
            )

        lines.append(
            f"| {e['run']} | {e['seed']} | {e['steps']} | {read} | "
            f"{score(e, 'upos', 'token_accuracy')} | {entity('ner')} | {entity('wnut')} | "
            f"{score(e, 'deps', 'uas')} | {score(e, 'deps', 'las')} | {e['wall_s']:.0f} | "
            f"{e['load_before']} / {e['load_after']} |"
        )
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--steps", type=int, default=800, help="training steps per run")
    parser.add_argument("--seeds", type=int, nargs="+", default=[1])
    parser.add_argument("--max-length", type=int, default=128)
    parser.add_argument("--batch-size", type=int, default=16)
    parser.add_argument(
        "--threads", type=int, default=1, help="torch threads (1 on a shared 2-core machine)"
    )
    parser.add_argument(
        "--only",
        nargs="+",
        default=["deps_single", "ner_single", "joint", "flat", "wnut_single"],
        help="runs, in order: deps_single ner_single upos_single joint flat wnut_single",
    )
    parser.add_argument(
        "--table", action="store_true", help="print results.json as a markdown table and exit"
    )
    args = parser.parse_args()
    OUT.mkdir(parents=True, exist_ok=True)
    results_file = OUT / "results.json"
    if args.table:
        print(markdown_table(json.loads(results_file.read_text())))
        return 0
    results = json.loads(results_file.read_text()) if results_file.exists() else []
    done = {(r["run"], r["seed"], r["steps"]) for r in results}
    for seed in args.seeds:
        for spec in args.only:
            name, _, count = spec.partition(":")
            steps = int(count) if count else args.steps
            if (name, seed, steps) in done:
                print(f"skip {name} seed {seed} ({steps} steps): already in {results_file}")
                continue
            params = run_params(name, steps, seed, args.max_length, args.batch_size, args.threads)
            run_dir = OUT / f"{name}_s{seed}_{steps}"
            conf = run_dir / "conf"
            shutil.rmtree(conf, ignore_errors=True)
            shutil.copytree(ROOT / "conf", conf, ignore=shutil.ignore_patterns("local", "jmt*"))
            (conf / "local").mkdir(exist_ok=True)
            (conf / "run").mkdir()
            (conf / "run" / "parameters.yml").write_text(yaml.safe_dump(params, sort_keys=False))
            load_before = os.getloadavg()[0]
            start = time.time()
            with open(run_dir / "kedro.log", "w") as log:
                proc = subprocess.run(
                    [
                        sys.executable,
                        "-m",
                        "kedro",
                        "run",
                        "--conf-source",
                        str(conf),
                        "--env",
                        "run",
                    ],
                    cwd=ROOT,
                    stdout=log,
                    stderr=subprocess.STDOUT,
                    env={**os.environ, "DO_NOT_TRACK": "1"},
                )
            wall = time.time() - start
            if proc.returncode != 0:
                print(f"{name} seed {seed} failed ({proc.returncode}); see {run_dir / 'kedro.log'}")
                continue
            metrics = json.loads((ROOT / "data" / "08_reporting" / "metrics.json").read_text())
            for file in ("metrics.json",):
                shutil.copy(ROOT / "data" / "08_reporting" / file, run_dir / file)
            per_type = {}
            for task in params["tasks"]:
                predictions = ROOT / "data" / "07_model_output" / task / "predictions.parquet"
                if predictions.exists():
                    shutil.copy(predictions, run_dir / f"{task}_predictions.parquet")
                    if params["tasks"][task]["type"] == "ner":
                        try:
                            per_type[task] = entity_scores_by_type(predictions)
                        except Exception as exc:  # the run's metrics still count
                            per_type[task] = {"error": f"{type(exc).__name__}: {exc}"}
            history = ROOT / "data" / "07_model_output" / "training_history.json"
            if history.exists():
                shutil.copy(history, run_dir / "training_history.json")
            entry = {
                "run": name,
                "seed": seed,
                "steps": steps,
                "batch_size": args.batch_size,
                "max_length": args.max_length,
                "tasks": list(params["tasks"]),
                "task_layers": params["model"]["architecture"].get("task_layers", {}),
                "wall_s": round(wall, 1),
                "load_before": round(load_before, 2),
                "load_after": round(os.getloadavg()[0], 2),
                "cpus": os.cpu_count(),
                "metrics": metrics,
                "entity_scores_by_type": per_type,
            }
            results = json.loads(results_file.read_text()) if results_file.exists() else []
            results.append(entry)
            tmp = results_file.with_suffix(".tmp")
            tmp.write_text(json.dumps(results, indent=2))
            tmp.replace(results_file)
            print(json.dumps(entry))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
