"""Cut the small default data subsets shipped under ``data/01_raw`` from ``../shared/data``.

Why a script: the shipped files must be reproducible byte for byte from the full public
files, so anyone can check what was kept. Rows are sampled with a fixed seed (not the
first N rows, which in SST-2 are sorted phrases and would bias the subset); the header
line, BOM and original formatting of every kept line are preserved untouched.
"""

from __future__ import annotations

import argparse
import random
import shutil
from pathlib import Path

GLUE_TRAIN_CAP = 4000
TASKS_WITH_HEADER = {"SST-2": True, "MRPC": True, "RTE": True, "STS-B": True, "CoLA": False}
UD_TRAIN_SENTENCES = 1500
UD_DEV_SENTENCES = 500


def _sample_lines(lines: list[bytes], cap: int, seed: int) -> list[bytes]:
    if len(lines) <= cap:
        return lines
    keep = sorted(random.Random(seed).sample(range(len(lines)), cap))
    return [lines[i] for i in keep]


def cut_glue(source: Path, target: Path, seed: int) -> None:
    for task, has_header in TASKS_WITH_HEADER.items():
        out_dir = target / "glue" / task
        out_dir.mkdir(parents=True, exist_ok=True)
        raw = (source / "glue" / task / "train.tsv").read_bytes().splitlines(keepends=True)
        header, rows = (raw[:1], raw[1:]) if has_header else ([], raw)
        (out_dir / "train.tsv").write_bytes(
            b"".join(header + _sample_lines(rows, GLUE_TRAIN_CAP, seed))
        )
        shutil.copyfile(source / "glue" / task / "dev.tsv", out_dir / "dev.tsv")
    shutil.copyfile(source / "glue" / "SOURCES.md", target / "glue" / "SOURCES.md")


def _conllu_sentences(path: Path) -> list[str]:
    text = path.read_text(encoding="utf-8")
    return [block.strip("\n") + "\n" for block in text.split("\n\n") if block.strip()]


def cut_ud(source: Path, target: Path) -> None:
    out_dir = target / "ud_english_ewt"
    out_dir.mkdir(parents=True, exist_ok=True)
    # Upstream ships no train file here: train on the first sentences of `test`, evaluate on `dev`.
    train = _conllu_sentences(source / "ud_english_ewt" / "en_ewt-ud-test.conllu")[
        :UD_TRAIN_SENTENCES
    ]
    dev = _conllu_sentences(source / "ud_english_ewt" / "en_ewt-ud-dev.conllu")[:UD_DEV_SENTENCES]
    (out_dir / "train.conllu").write_text("\n".join(train) + "\n", encoding="utf-8")
    (out_dir / "dev.conllu").write_text("\n".join(dev) + "\n", encoding="utf-8")
    shutil.copyfile(source / "ud_english_ewt" / "LICENSE.txt", out_dir / "LICENSE.txt")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--source", type=Path, default=Path("../shared/data"))
    parser.add_argument("--target", type=Path, default=Path("data/01_raw"))
    parser.add_argument("--seed", type=int, default=13)
    args = parser.parse_args()
    cut_glue(args.source, args.target, args.seed)
    cut_ud(args.source, args.target)


if __name__ == "__main__":
    main()
