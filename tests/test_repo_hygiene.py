"""Comments and docs speak of the code in the project's own words, not of tracker history."""

from __future__ import annotations

import re

from tests.conftest import REPO

ROOTS = ("src", "tests", "docs", "conf", "plugins", "benchmarks", "scripts")
TEXT_SUFFIXES = {".py", ".md", ".yml", ".yaml", ".toml", ".txt", ".cfg", ".sh"}
# Assembled so that this file does not match itself.
TRACKER_REFERENCE = re.compile("issue" + r" [0-9]", re.IGNORECASE)


def test_no_issue_tracker_references():
    found = []
    for root in ROOTS:
        for path in (REPO / root).rglob("*"):
            if not path.is_file() or path.suffix not in TEXT_SUFFIXES or ".venv" in path.parts:
                continue
            for lineno, line in enumerate(path.read_text(errors="replace").splitlines(), 1):
                if TRACKER_REFERENCE.search(line):
                    found.append(f"{path.relative_to(REPO)}:{lineno}: {line.strip()[:80]}")
    assert not found, "\n".join(found)
