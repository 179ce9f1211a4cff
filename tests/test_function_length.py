"""No function in src/ is longer than the limit, except those listed here with the reason.

A function that does not fit on a screen is where a reader loses the thread; the limit
forces the split into named steps. The exemptions say why each one reads better whole
(a straight sequence of independent checks, a table built row by row), and an exemption
that is no longer needed is an error, so the list only shrinks.
"""

from __future__ import annotations

import ast

from tests.conftest import REPO

LIMIT = 60
SRC = REPO / "src"

#: "module:function" -> why it is longer than LIMIT lines.
EXEMPT = {
    "mtl_pipeline/ingestion.py:standardize": "the column mapping of a reader's frame into "
    "the standard table, one branch per text/label layout",
    "mtl_pipeline/ingestion.py:ingest": "read, standardize, validate and summarize in order, "
    "each step's error naming the file",
    "mtl_pipeline/tokenization.py:tokenize_frame": "the batched tokenizer call and the "
    "vectorized label alignment share many local arrays",
    "mtl_pipeline/tokenization.py:tokenize_dataset": "cache lookup, map and cache write of "
    "one dataset, kept together so the cache key and the work cannot drift apart",
    "mtl_pipeline/pipelines/reporting/pipeline.py:create_pipeline": "node list: wiring only",
    "mtl_pipeline/pipelines/experiments/pipeline.py:create_pipeline": "node list: wiring only",
    "mtl_pipeline/pipelines/evaluation/nodes.py:evaluate_task": "predict, score and write "
    "one task's outputs, the node's whole job in order",
    "mtl_pipeline/readers/glue_tsv.py:read": "row-by-row TSV parse with an error per row",
    "mtl_pipeline/readers/conllu.py:read": "line-by-line CoNLL-U parse with an error per line",
    "mtl_pipeline/experiments/report.py:results_markdown": "a document written top to bottom",
    "mtl_pipeline/modeling/model_card.py:render_model_card": "a document written top to bottom",
    "mtl_pipeline/task_types/span_extraction.py:standardize": "answer-offset checks per "
    "row, each with its own message",
    "mtl_pipeline/task_types/span_extraction.py:tokenize": "windowed tokenization with "
    "offset mapping; the windows and offsets share local state",
    "mtl_pipeline/task_types/multiple_choice.py:standardize": "choice-column checks per "
    "row, each with its own message",
}


def function_lengths() -> dict[str, int]:
    """ "module:function" -> lines, for every function and method under src/ (a method is
    named by its own name; the longest wins when two share one)."""
    lengths: dict[str, int] = {}
    for path in sorted(SRC.rglob("*.py")):
        tree = ast.parse(path.read_text(), filename=str(path))
        module = path.relative_to(SRC).as_posix()
        for node in ast.walk(tree):
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                key = f"{module}:{node.name}"
                lines = node.end_lineno - node.lineno + 1
                lengths[key] = max(lengths.get(key, 0), lines)
    return lengths


def test_no_function_longer_than_the_limit():
    lengths = function_lengths()
    too_long = {k: n for k, n in lengths.items() if n > LIMIT and k not in EXEMPT}
    assert not too_long, "\n".join(
        f"{k}: {n} lines (limit {LIMIT}); split it, or add it to EXEMPT saying why"
        for k, n in sorted(too_long.items(), key=lambda kv: -kv[1])
    )


def test_every_exemption_is_still_needed():
    lengths = function_lengths()
    stale = [k for k in EXEMPT if lengths.get(k, 0) <= LIMIT]
    assert not stale, f"no longer over {LIMIT} lines (remove from EXEMPT): {stale}"
