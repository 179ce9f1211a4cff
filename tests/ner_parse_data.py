"""Entity and parsing tasks on small cuts of the shipped data/01_raw files (Universal NER
and UD English EWT), ingested and tokenized as ``run_training`` takes them."""

from __future__ import annotations

from pathlib import Path
from typing import Any

RAW = Path(__file__).resolve().parents[1] / "data" / "01_raw"
UD = RAW / "ud_english_ewt"
UNER = RAW / "uner_english_ewt"


def ner_config(train: Path, validation: Path, head: dict[str, Any] | None = None) -> dict:
    return {
        "type": "ner",
        "reader": "conll_ner",
        "train": str(train),
        "validation": str(validation),
        "text_fields": ["tokens"],
        "label_field": "tags",
        "metrics": ["f1", "entity_precision", "entity_recall"],
        "head": head or {},
    }


def parse_config(train: Path, validation: Path, head: dict[str, Any] | None = None) -> dict:
    return {
        "type": "dependency_parsing",
        "reader": "conllu",
        "train": str(train),
        "validation": str(validation),
        "text_fields": ["tokens"],
        "label_field": "deprel",
        "metrics": ["uas", "las"],
        "head": head or {},
    }


def _cut(src: Path, dst: Path, count: int) -> Path:
    blocks = [b for b in src.read_text(encoding="utf-8").split("\n\n") if b.strip()]
    dst.write_text("\n\n".join(blocks[:count]) + "\n\n", encoding="utf-8")
    return dst


def build_ner_parse_data(root: Path, encoder_dir: Path, max_length: int = 48) -> tuple[dict, dict]:
    """(tasks config, task_data) for ``ner`` (BIOES) and ``deps`` on 40/16 sentences."""
    from mtl_pipeline.task_data import build_task_data

    tasks = {
        "ner": ner_config(
            _cut(UNER / "train.iob2", root / "t.iob2", 40),
            _cut(UNER / "dev.iob2", root / "d.iob2", 16),
            {"scheme": "bioes"},
        ),
        "deps": parse_config(
            _cut(UD / "train.conllu", root / "t.conllu", 40),
            _cut(UD / "dev.conllu", root / "d.conllu", 16),
        ),
    }
    data = build_task_data(tasks, encoder_dir, max_length=max_length, keep_examples=True)
    return tasks, data
