"""docs/config_reference.md is generated from config.py and must be current."""

from __future__ import annotations

import subprocess
import sys

from tests.conftest import REPO


def test_config_reference_is_current_and_complete():
    proc = subprocess.run(
        [sys.executable, str(REPO / "scripts" / "gen_config_reference.py"), "--check"],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert proc.returncode == 0, (
        proc.stderr + "\nRegenerate with: python scripts/gen_config_reference.py"
    )
