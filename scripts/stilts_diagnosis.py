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
    parser.add_argument("--max-eval", type=int, default=500)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--params", default="", help="extra k=v,k=v training overrides")
    parser.add_argument("--out", default="", help="write the findings as JSON here")
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
            t: {k: catalog.load(f"{t}__{k}") for k in ("train_features", "validation_features", "label_info")}
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
    for ids, types, label in zip(rows["input_ids"], rows["token_type_ids"], rows["labels"], strict=True):
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


def majority_fraction(model: Any, task: str, features: Any, limit: int = 500) -> float:
    """Fraction of ``task``'s validation rows predicted as the most frequent prediction."""
    import collections

    from mtl_pipeline.training.batching import TokenizedSplit
    from mtl_pipeline.training.evaluate import predict_split

    import torch

    split = TokenizedSplit.from_dataset(features.select(range(min(limit, len(features)))))
    preds, _ = predict_split(
        model.architecture,
        task,
        split,
        batch_size=128,
        device=torch.device("cpu"),
        precision="fp32",
        pad_id=model.tokenizer.pad_token_id,
    )
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
    found["cosine_pearson_pretrained"] = cosine_pearson(pretrained, data[target]["validation_features"])
    print("pretrained encoder, cosine Pearson:", found["cosine_pearson_pretrained"], flush=True)

    if args.single:
        single = SingleTask.train(ctx, target, steps=grid.steps())
        found["single_task"] = summary(single, target, metric)
        print("single-task", found["single_task"], flush=True)

    phase1 = SingleTask.train(ctx, mid, steps=grid.steps())
    found["phase1"] = summary(phase1, mid, mid_metric)
    found["phase1_majority_fraction"] = majority_fraction(
        phase1.model, mid, data[mid]["validation_features"]
    )
    found["cosine_pearson_after_phase1"] = cosine_pearson(
        phase1.model.architecture.encoder, data[target]["validation_features"]
    )
    print("phase 1", found["phase1"], flush=True)
    print(
        "phase 1 majority fraction", found["phase1_majority_fraction"],
        "cosine Pearson", found["cosine_pearson_after_phase1"], flush=True,
    )

    phase2 = Stilts.transfer(ctx, phase1, target, steps=grid.steps())
    found["phase2"] = summary(phase2, target, metric)
    print("phase 2", found["phase2"], flush=True)
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
