"""The README's two setup commands are the contract; CI must run command (b) verbatim."""

from __future__ import annotations

import re

from tests.conftest import REPO


def _readme_commands() -> list[str]:
    text = (REPO / "README.md").read_text(encoding="utf-8")
    return re.findall(r"```bash\n(.+?)\n```", text, flags=re.S)


def test_readme_has_two_setup_commands_first():
    commands = _readme_commands()
    assert len(commands) >= 2
    install_run, install_test = commands[0], commands[1]
    assert "kedro run" in install_run and "pip install" in install_run
    assert "pytest" in install_test and ".[test]" in install_test


def test_ci_runs_readme_command_b_verbatim():
    ci = (REPO / ".ci" / "run").read_text(encoding="utf-8")
    assert _readme_commands()[1] in ci.splitlines()
