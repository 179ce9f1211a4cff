"""Why does STILTs from one task into another score far below the target's single-task run?

Trains, with the experiments grid's own code (``strategies.grid``) at the grid's budget:

1. the target alone (the grid's baseline cell);
2. the intermediate task alone (STILTs' phase 1);
3. STILTs: the target from phase 1's encoder (phase 2), and the same phase 2 run for
   ``--long`` times the steps (does the encoder recover with more target steps?).

and prints, for each: the target's main metric at every evaluation, the phase's training
loss (first and last 10 steps), its learning rate at the first and last step, and what
phase 2 carried over. Two checks of the encoder itself, with no head at all: the
Pearson correlation of the cosine similarity between the mean-pooled embeddings of the
target's two sentences with the gold score (a sentence-transformer encoder such as
MiniLM is trained for exactly this, so it measures how much of that skill phase 1 kept),
and the fraction of the intermediate task's validation rows predicted as its majority
label (a collapsed phase-1 model predicts one class).

Reads the tokenized features of ``kedro run --pipelines ingestion,tokenization``::

    python scripts/stilts_diagnosis.py --intermediate mrpc --target stsb --steps 50
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--intermediate", default="mrpc")
    parser.add_argument("--target", default="stsb")
    parser.add_argument("--steps", type=int, default=50, help="steps per phase (grid budget)")
    parser.add_argument("--long", type=int, default=0, help="phase 2 again with this x steps")
    parser.add_argument(
        "--single", action="store_true", help="also train the target alone (the baseline)"
    )
    parser.add_argument("--skip-phase2", action="store_true", help="only the variants")
    parser.add_argument("--max-eval", type=int, default=500)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--params", default="", help="extra k=v,k=v training overrides")
    parser.add_argument("--out", default="", help="write the findings as JSON here")
    parser.add_argument(
        "--phase1-state",
        default="",
        help="phase 1's state dict: loaded from here if the file exists, else saved here",
    )
    parser.add_argument(
        "--variants",
        default="",
        help="extra phase 2 runs, 'name:key=value|key=value;name2:...' (training keys, or "
        "head_bias=mean: the target head's bias starts at the mean training label)",
    )
    return parser.parse_args(argv)


def load_project(tasks: list[str]) -> tuple[dict[str, Any], dict[str, dict[str, Any]]]:
    """Kedro parameters and the tokenized features of ``tasks`` (``conf/base``)."""
    from kedro.framework.session import KedroSession
    from kedro.framework.startup import bootstrap_project

    bootstrap_project(REPO)
    with KedroSession.create(project_path=REPO) as session:
        context = session.load_context()
        params = context.params
        catalog = context.catalog
        data = {
            t: {
                k: catalog.load(f"{t}__{k}")
                for k in ("train_features", "validation_features", "label_info")
            }
            for t in tasks
        }
    return params, data


def cosine_pearson(encoder: Any, features: Any, limit: int = 200) -> float:
    """Pearson(cos(mean-pool(s1), mean-pool(s2)), gold) on a pair task's validation rows.

    Each pair is tokenized as one sequence; its two segments (split by token type ids,
    without [CLS]/[SEP]) are encoded separately, bi-encoder style, as MiniLM was trained.
    """
    import numpy as np
    import torch

    from mtl_pipeline.task_types.heads import masked_mean

    rows = features.select(range(min(limit, len(features))))
    left, right, gold = [], [], []
    for ids, types, label in zip(
        rows["input_ids"], rows["token_type_ids"], rows["labels"], strict=True
    ):
        first = [i for i, t in zip(ids, types, strict=True) if t == 0][1:-1]
        second = [i for i, t in zip(ids, types, strict=True) if t == 1][:-1]
        if first and second:
            left.append(first)
            right.append(second)
            gold.append(float(label))

    def embed(seqs: list[list[int]]) -> torch.Tensor:
        out = []
        for start in range(0, len(seqs), 64):
            chunk = seqs[start : start + 64]
            width = max(len(s) for s in chunk)
            ids = torch.tensor([s + [0] * (width - len(s)) for s in chunk])
            mask = torch.tensor([[1] * len(s) + [0] * (width - len(s)) for s in chunk])
            hidden = encoder(input_ids=ids, attention_mask=mask).last_hidden_state
            out.append(masked_mean(hidden, mask))
        return torch.cat(out)

    encoder.eval()
    with torch.no_grad():
        sims = torch.nn.functional.cosine_similarity(embed(left), embed(right)).tolist()
    return float(np.corrcoef(sims, gold)[0, 1])


def cpu_predictions(architecture: Any, task: str, features: Any, limit: int) -> tuple:
    """``(predictions, references)`` of ``task`` on the first ``limit`` validation rows, in
    fp32 on the CPU (the evaluation path of training)."""
    import torch

    from mtl_pipeline.training.batching import TokenizedSplit
    from mtl_pipeline.training.evaluate import predict_split

    split = TokenizedSplit.from_dataset(features.select(range(min(limit, len(features)))))
    return predict_split(
        architecture,
        task,
        split,
        batch_size=64,
        device=torch.device("cpu"),
        precision="fp32",
        pad_id=0,
    )


def majority_fraction(architecture: Any, task: str, features: Any, limit: int = 500) -> float:
    """Fraction of ``task``'s validation rows predicted as the most frequent prediction."""
    import collections

    preds, _ = cpu_predictions(architecture, task, features, limit)
    counts = collections.Counter(int(p) for p in preds)
    return max(counts.values()) / sum(counts.values())


def summary(phase: Any, task: str, metric: str) -> dict[str, Any]:
    steps = phase.history.get("steps") or []
    losses = [s["losses"][task] for s in steps if task in s.get("losses", {})]
    return {
        "phase": phase.name,
        "evaluations": {
            int(e["step"]): round(float(e["metrics"][task][metric]), 4)
            for e in phase.history.get("evaluations", [])
        },
        "loss_first10": round(sum(losses[:10]) / max(1, len(losses[:10])), 4),
        "loss_last10": round(sum(losses[-10:]) / max(1, len(losses[-10:])), 4),
        "lr_first_last": [steps[0]["lr"], steps[-1]["lr"]] if steps else None,
        "transfer": phase.transfer,
        "seconds": round(float(phase.history.get("seconds") or 0.0), 1),
    }


def _value(text: str) -> Any:
    return json.loads(text) if text[:1] in "0123456789-[{tfn" else text


def build(ctx: Any, tasks: list[str]) -> Any:
    """A fresh architecture for ``tasks``, built as ``train_phase`` builds it (same seed)."""
    from mtl_pipeline.encoders import load_encoder, set_encoder_dropout
    from mtl_pipeline.modeling.multitask_model import build_architecture
    from mtl_pipeline.training.run import seed_everything, task_meta

    seed_everything(ctx.train_cfg.seed)
    encoder = load_encoder(ctx.model_cfg.encoder)
    if ctx.model_cfg.dropout is not None:
        set_encoder_dropout(encoder, ctx.model_cfg.dropout)
    metas = {t: task_meta(t, ctx.task_cfgs[t], ctx.task_data[t]["label_info"]) for t in tasks}
    arch = ctx.model_cfg.architecture
    return build_architecture(arch.name, arch.options, encoder, metas)


def head_outputs(architecture: Any, task: str, features: Any, limit: int = 300) -> dict:
    """Mean and std of the head's raw output (the scaled label space) and its Pearson with
    the gold labels, before any training of the head."""
    import numpy as np

    preds, refs = cpu_predictions(architecture, task, features, limit)
    spec = architecture.task_specs[task].task_type
    offset, width = spec._scale()
    raw = (np.asarray(preds, dtype=float) - offset) / width
    gold = (np.asarray(refs, dtype=float) - offset) / width
    return {
        "mean": round(float(raw.mean()), 4),
        "std": round(float(raw.std()), 4),
        "pearson": round(float(np.corrcoef(raw, gold)[0, 1]), 4),
        "gold_mean": round(float(gold.mean()), 4),
        "mse": round(float(((raw - gold) ** 2).mean()), 4),
    }


def label_mean(architecture: Any, ctx: Any, task: str) -> float:
    """The mean training label in the head's (scaled) output space."""
    offset, width = architecture.task_specs[task].task_type._scale()
    labels = ctx.task_data[task]["train_features"]["labels"]
    return (sum(float(v) for v in labels) / len(labels) - offset) / width


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    os.chdir(REPO)
    os.environ.setdefault("DO_NOT_TRACK", "1")
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    from mtl_pipeline.encoders import load_encoder
    from mtl_pipeline.strategies.grid import _main_metric, grid_context
    from mtl_pipeline.strategies.single_task import SingleTask
    from mtl_pipeline.strategies.stilts import Stilts

    mid, target = args.intermediate, args.target
    params, data = load_project([mid, target])
    experiments = {
        **params["experiments"],
        "targets": [target],
        "supports": [mid],
        "seeds": [args.seed],
        "budget": {
            **params["experiments"]["budget"],
            "steps": args.steps,
            "max_eval_examples": args.max_eval,
        },
    }
    training = dict(params["training"])
    for item in filter(None, args.params.split(",")):
        key, value = item.split("=", 1)
        training[key] = json.loads(value) if value[:1] in "0123456789-[{tfn" else value
    grid_params = {
        "model": params["model"],
        "training": training,
        "tasks": params["tasks"],
        "experiments": experiments,
    }
    ctx, grid = grid_context(**grid_params, task_data=data, seed=args.seed)
    metric, _ = _main_metric(ctx, target)
    mid_metric, _ = _main_metric(ctx, mid)
    started = time.perf_counter()
    found: dict[str, Any] = {"args": vars(args)}

    pretrained = load_encoder(params["model"]["encoder"])
    found["cosine_pearson_pretrained"] = cosine_pearson(
        pretrained, data[target]["validation_features"]
    )
    print("pretrained encoder, cosine Pearson:", found["cosine_pearson_pretrained"], flush=True)

    if args.single:
        single = SingleTask.train(ctx, target, steps=grid.steps())
        found["single_task"] = summary(single, target, metric)
        print("single-task", found["single_task"], flush=True)

    import torch

    from mtl_pipeline.strategies.base import Phase

    state = Path(args.phase1_state) if args.phase1_state else None
    if state is not None and state.exists():
        saved = torch.load(state)
        arch = build(ctx, [mid])
        arch.load_state_dict(saved["state"])
        model = type("Loaded", (), {"architecture": arch, "tokenizer": None})()
        phase1 = Phase(f"single_task:{mid}", [mid], [mid], model, saved["history"])
        found["phase1"] = saved["summary"]
    else:
        phase1 = SingleTask.train(ctx, mid, steps=grid.steps())
        found["phase1"] = summary(phase1, mid, mid_metric)
        if state is not None:
            torch.save(
                {
                    "state": phase1.model.architecture.state_dict(),
                    "history": {k: phase1.history[k] for k in ("best_step", "best_score")},
                    "summary": found["phase1"],
                },
                state,
            )
    found["phase1_majority_fraction"] = majority_fraction(
        phase1.model.architecture, mid, data[mid]["validation_features"]
    )
    found["cosine_pearson_after_phase1"] = cosine_pearson(
        phase1.model.architecture.encoder, data[target]["validation_features"]
    )
    print("phase 1", found["phase1"], flush=True)
    print(
        "phase 1 majority fraction",
        found["phase1_majority_fraction"],
        "cosine Pearson",
        found["cosine_pearson_after_phase1"],
        flush=True,
    )

    from mtl_pipeline.strategies.transfer import carry_over

    fresh = build(ctx, [target])
    found["head_at_start_pretrained"] = head_outputs(
        fresh, target, data[target]["validation_features"]
    )
    carry_over(phase1.model.architecture, fresh)
    found["head_at_start_after_phase1"] = head_outputs(
        fresh, target, data[target]["validation_features"]
    )
    print(
        "fresh head at step 0: pretrained encoder",
        found["head_at_start_pretrained"],
        "phase-1 encoder",
        found["head_at_start_after_phase1"],
        flush=True,
    )

    if not args.skip_phase2:
        phase2 = Stilts.transfer(ctx, phase1, target, steps=grid.steps())
        found["phase2"] = summary(phase2, target, metric)
        print("phase 2", found["phase2"], flush=True)
    for spec in filter(None, args.variants.split(";")):
        name, _, items = spec.partition(":")
        overrides = dict(item.split("=", 1) for item in filter(None, items.split("|")))
        bias = overrides.pop("head_bias", None)
        vctx = ctx
        if overrides:
            update = {k: _value(v) for k, v in overrides.items()}
            vctx = type(ctx)(
                **{**ctx.__dict__, "train_cfg": ctx.train_cfg.model_copy(update=update)}
            )
        source = phase1.model.architecture
        start = label_mean(fresh, ctx, target) if bias == "mean" else None

        def init(architecture: Any, source: Any = source, start: float | None = start) -> Any:
            report = carry_over(source, architecture)
            if start is not None:
                with torch.no_grad():
                    architecture.heads[target].out.bias.fill_(start)
            return report

        start_arch = build(vctx, [target])
        init(start_arch)
        at_start = head_outputs(start_arch, target, data[target]["validation_features"])
        variant = vctx.phase(
            f"stilts:{mid}>{target}:{name}", [target], steps=grid.steps(), init=init, source=phase1
        )
        found[f"variant_{name}"] = {
            "overrides": spec,
            "head_at_start": at_start,
            **summary(variant, target, metric),
        }
        print("variant", name, found[f"variant_{name}"], flush=True)
    if args.long > 1:
        longer = Stilts.transfer(ctx, phase1, target, steps=grid.steps() * args.long)
        found["phase2_long"] = summary(longer, target, metric)
        print(f"phase 2 x{args.long}", found["phase2_long"], flush=True)
    found["seconds"] = round(time.perf_counter() - started, 1)
    found["load_average"] = os.getloadavg()
    text = json.dumps(found, indent=2, default=str)
    print(text)
    if args.out:
        Path(args.out).write_text(text)


if __name__ == "__main__":
    sys.exit(main())
