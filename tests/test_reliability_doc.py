"""docs/reliability.md names a test for every claim; every test it names must exist.

A renamed or deleted test would otherwise leave the catalogue pointing at nothing, and the
claim unguarded. Table rows must name at least one test (or say why none applies).
"""

from __future__ import annotations

import ast
import re
from functools import cache
from pathlib import Path

from tests.conftest import REPO

DOC = REPO / "docs" / "reliability.md"
DEFAULT_FILE = "tests/test_bad_inputs.py"
TEST_REF = re.compile(r"`((?:tests/)?(?:[\w/.-]+\.py::)?test_\w+)(?:\[[^\]]*\])?`")


@cache
def _functions(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    return {n.name for n in ast.walk(tree) if isinstance(n, ast.FunctionDef)}


def _resolve(reference: str) -> tuple[Path, str]:
    if "::" in reference:
        file, name = reference.split("::")
        if not file.startswith("tests/"):
            candidates = [REPO / "tests" / file, *REPO.glob(f"plugins/*/tests/{file}")]
            path = next((c for c in candidates if c.exists()), REPO / "tests" / file)
        else:
            path = REPO / file
        return path, name
    return REPO / DEFAULT_FILE, reference


def _named_tests() -> list[str]:
    return TEST_REF.findall(DOC.read_text(encoding="utf-8"))


def test_every_test_the_catalogue_names_exists():
    missing = []
    references = _named_tests()
    assert len(references) > 100
    for reference in references:
        path, name = _resolve(reference)
        if not path.exists() or name not in _functions(path):
            missing.append(f"{reference} (looked in {path.relative_to(REPO)})")
    assert not missing, "docs/reliability.md names tests that do not exist:\n" + "\n".join(missing)


def test_every_table_row_names_a_test():
    rows = [
        line
        for line in DOC.read_text(encoding="utf-8").splitlines()
        if line.startswith("| ") and not line.startswith(("| #", "|---"))
    ]
    unguarded = [row[:80] for row in rows if not TEST_REF.search(row.rsplit("|", 2)[-2])]
    assert not unguarded, "rows without a test:\n" + "\n".join(unguarded)
