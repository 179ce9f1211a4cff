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


def test_no_other_page_carries_a_copy_of_the_setup_commands():
    """README is the one source of the setup commands: a copy elsewhere drifts (a page once
    gave a test command without the example plugins)."""
    pages = [*REPO.glob("docs/**/*.md"), *REPO.glob("plugins/*/README.md")]
    for page in pages:
        text = page.read_text(encoding="utf-8")
        for line in text.splitlines():
            copied = "python -m pytest" in line and "pip install" in line
            copied |= "pip install" in line and "&& DO_NOT_TRACK=1 kedro run" in line
            assert not copied, (
                f"{page.relative_to(REPO)} repeats a README setup command: {line.strip()!r}; "
                "link to README.md#set-up instead"
            )
