"""Security invariants checked over the source: no unpickling, no eval of config strings."""

from __future__ import annotations

import re

from tests.conftest import REPO

SOURCES = [
    p for root in ("src", "plugins") for p in (REPO / root).rglob("*.py") if ".venv" not in p.parts
]


def test_no_unsafe_loading_or_eval_in_sources():
    offenders = []
    for path in SOURCES:
        text = path.read_text(encoding="utf-8")
        for lineno, line in enumerate(text.splitlines(), start=1):
            code = line.split("#", 1)[0]
            if re.search(r"\bpickle\.loads?\(|\bdill\.loads?\(|\bjoblib\.load\(", code):
                offenders.append(f"{path}:{lineno}: unpickling")
            if re.search(r"torch\.load\(", code) and "weights_only=True" not in code:
                offenders.append(f"{path}:{lineno}: torch.load without weights_only=True")
            if re.search(r"(?<![\w.])(eval|exec)\(", code):
                offenders.append(f"{path}:{lineno}: eval/exec")
    assert not offenders, "\n".join(offenders)


def test_trust_remote_code_is_off_by_default():
    from mtl_pipeline.config import ModelConfig

    assert ModelConfig().trust_remote_code is False
    for path in SOURCES:
        for lineno, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
            assert "trust_remote_code=True" not in line, f"{path}:{lineno}"
