"""Small synthetic files for the passage-level task types (no shared data needed).

``write_passage_files(dir)`` writes a SQuAD JSON file with long contexts (several windows
at ``max_length`` 48), a GoEmotions-style TSV with a names file, and COPA-style JSON Lines
with 2 and with 4 choices; ``passage_tasks(dir)`` configures them as tasks.
``build_passage_task_data`` ingests and tokenizes them as ``run_training`` takes them.
"""

from __future__ import annotations

import json
import random
from pathlib import Path
from typing import Any

EMOTIONS = ["joy", "anger", "fear", "neutral"]
WORDS = "river stone quiet lamp orange window seven market bright cloud paper garden".split()


def _squad(path: Path, articles: int, seed: int) -> None:
    rng = random.Random(seed)
    data = []
    for a in range(articles):
        paragraphs = []
        for p in range(2):
            filler = " ".join(rng.choice(WORDS) for _ in range(60))
            city = rng.choice(["Paris", "Lima", "Oslo", "Cairo"])
            year = str(rng.randint(1900, 2000))
            context = f"{filler} The museum opened in {city} in {year}. {filler}"
            start_city = context.index(city)
            start_year = context.index(year, start_city)
            paragraphs.append(
                {
                    "context": context,
                    "qas": [
                        {
                            "id": f"a{a}p{p}q0",
                            "question": "Where did the museum open?",
                            "answers": [
                                {"text": city, "answer_start": start_city},
                                {"text": f"in {city}", "answer_start": start_city - 3},
                            ],
                        },
                        {
                            "id": f"a{a}p{p}q1",
                            "question": "When did the museum open?",
                            "answers": [{"text": year, "answer_start": start_year}],
                        },
                    ],
                }
            )
        data.append({"title": f"Article_{a}", "paragraphs": paragraphs})
    path.write_text(json.dumps({"version": "1.1", "data": data}), encoding="utf-8")


def _emotions(path: Path, rows: int, seed: int) -> None:
    rng = random.Random(seed)
    texts = {0: "what a lovely happy day", 1: "this makes me so angry", 2: "I am scared of it"}
    lines = []
    for i in range(rows):
        ids = sorted(rng.sample(range(3), rng.choice([1, 1, 2])))
        if rng.random() < 0.2:
            ids = [3]
        text = " and ".join(texts[j] for j in ids if j in texts) or "it is a table"
        lines.append(f"{text}\t{','.join(map(str, ids))}\tid{i}")
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")


def _choices(path: Path, rows: int, choices: int, seed: int) -> None:
    rng = random.Random(seed)
    lines = []
    for i in range(rows):
        label = rng.randrange(choices)
        options = [f"The {rng.choice(WORDS)} was {rng.choice(WORDS)}." for _ in range(choices)]
        options[label] = "The glass broke into pieces."
        record: dict[str, Any] = {
            "premise": "The man dropped the glass.",
            "question": rng.choice(["cause", "effect"]),
            "label": label,
            "idx": i,
        }
        if choices == 2:
            record.update(choice1=options[0], choice2=options[1])
        else:
            record["endings"] = options
        lines.append(json.dumps(record))
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")


def write_passage_files(root: Path) -> Path:
    root.mkdir(parents=True, exist_ok=True)
    _squad(root / "squad.json", articles=4, seed=0)
    (root / "emotions.txt").write_text("\n".join(EMOTIONS), encoding="utf-8")
    _emotions(root / "emo_train.tsv", 48, seed=1)
    _emotions(root / "emo_dev.tsv", 24, seed=2)
    _choices(root / "copa_train.jsonl", 32, 2, seed=3)
    _choices(root / "copa_dev.jsonl", 16, 2, seed=4)
    _choices(root / "swag_train.jsonl", 32, 4, seed=5)
    _choices(root / "swag_dev.jsonl", 16, 4, seed=6)
    return root


def passage_tasks(root: Path) -> dict[str, dict[str, Any]]:
    return {
        "qa": {
            "type": "span_extraction",
            "reader": {"name": "squad_json", "articles": "0:3"},
            "train": str(root / "squad.json"),
            "validation": str(root / "squad.json"),
            "text_fields": ["question", "context"],
            "label_field": "answers",
            "metrics": ["f1", "exact_match"],
            "head": {"doc_stride": 16},
        },
        "emo": {
            "type": "multi_label",
            "reader": {"name": "glue_tsv", "header": False, "columns": ["text", "labels", "id"]},
            "train": str(root / "emo_train.tsv"),
            "validation": str(root / "emo_dev.tsv"),
            "text_fields": ["text"],
            "label_field": "labels",
            "metrics": ["micro_f1", "macro_f1", "accuracy"],
            "head": {"names_file": str(root / "emotions.txt")},
        },
        "copa": {
            "type": "multiple_choice",
            "reader": "jsonl",
            "train": str(root / "copa_train.jsonl"),
            "validation": str(root / "copa_dev.jsonl"),
            "text_fields": ["premise", "question"],
            "label_field": "label",
            "metrics": ["accuracy"],
            "head": {
                "choice_fields": ["choice1", "choice2"],
                "question_templates": {"cause": "What was the cause?"},
            },
        },
        "swag": {
            "type": "multiple_choice",
            "reader": "jsonl",
            "train": str(root / "swag_train.jsonl"),
            "validation": str(root / "swag_dev.jsonl"),
            "text_fields": ["premise"],
            "label_field": "label",
            "metrics": ["accuracy"],
            "head": {"choices_field": "endings"},
        },
    }


def build_passage_task_data(
    root: Path, encoder_dir: Path, max_length: int = 48, names: list[str] | None = None
) -> tuple[dict, dict]:
    """(tasks config, task_data) for the synthetic passage tasks, ingested and tokenized."""
    from mtl_pipeline.task_data import build_task_data

    tasks = passage_tasks(root)
    if names is not None:
        tasks = {n: tasks[n] for n in names}
    # The synthetic QA file serves both splits on purpose (tiny, few articles).
    task_data = build_task_data(
        tasks, encoder_dir, max_length=max_length, overlap="allow", keep_examples=True
    )
    return tasks, task_data
