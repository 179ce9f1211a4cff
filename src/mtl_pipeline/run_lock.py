"""One ``kedro run`` per project at a time: a lock file under ``data/``.

Two runs in one project write the same files: one evaluates the other's freshly saved
model and both exit 0. The lock is a file created with ``O_CREAT | O_EXCL`` (atomic on
local file systems and NFSv3+), holding the owner's pid, host, process start time and
start date as JSON. A second run finds it and is refused, naming the first. A lock whose
owner is gone (its pid is not running on this host, or the pid now belongs to a process
that started later) is reported and taken over. Under ``torchrun`` only global rank 0
takes it: the other ranks of the same launch write nothing (``RankAwareDataCatalog``),
and if rank 0 is refused torchrun stops the whole launch.
"""

from __future__ import annotations

import atexit
import json
import logging
import os
import socket
import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from mtl_pipeline.errors import RunLockedError

logger = logging.getLogger(__name__)

#: Relative to the project root.
LOCK_FILE = Path("data") / ".kedro_run.lock"
#: A lock file still empty (its creator between open and write) is read again for this long.
_EMPTY_GRACE_S = 2.0


def _process_start(pid: int) -> str | None:
    """The kernel's start time of ``pid`` (Linux ``/proc``), which survives pid reuse checks."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
        return fields[19]  # field 22 of stat: starttime, counted from the field after ')'
    except (OSError, IndexError):
        return None


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # exists, owned by someone else
        return True
    except OSError:
        return False
    return True


def owner_alive(info: dict[str, Any]) -> bool:
    """Whether the lock's owner still runs. On another host that cannot be known: assume so."""
    if info.get("host") != socket.gethostname():
        return True
    pid = info.get("pid")
    if not isinstance(pid, int) or not _pid_alive(pid):
        return False
    recorded, current = info.get("process_start"), _process_start(pid)
    return recorded is None or current is None or recorded == current


def describe(info: dict[str, Any]) -> str:
    return f"pid {info.get('pid')} on host {info.get('host')}, started {info.get('started')}" + (
        f" ({info['command']})" if info.get("command") else ""
    )


class RunLock:
    """The run lock of one project; ``acquire`` raises ``RunLockedError`` when it is held."""

    def __init__(self, project_path: str | Path) -> None:
        self.path = Path(project_path) / LOCK_FILE
        self.info: dict[str, Any] | None = None

    def _read(self) -> dict[str, Any] | None:
        """The holder's record; ``None`` when the file vanished; ``{}`` when unreadable."""
        deadline = time.monotonic() + _EMPTY_GRACE_S
        while True:
            try:
                text = self.path.read_text(encoding="utf-8")
            except FileNotFoundError:
                return None
            except OSError:
                text = ""
            if text.strip():
                try:
                    document = json.loads(text)
                except json.JSONDecodeError:
                    document = None
                if isinstance(document, dict):
                    return document
            if time.monotonic() > deadline:
                return {}
            time.sleep(0.1)

    def acquire(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        info = {
            "pid": os.getpid(),
            "host": socket.gethostname(),
            "process_start": _process_start(os.getpid()),
            "started": datetime.now(UTC).strftime("%Y-%m-%d %H:%M:%S UTC"),
            "command": " ".join(
                os.path.basename(a) if i == 0 else a for i, a in enumerate(sys.argv)
            ),
        }
        for _ in range(5):
            try:
                fd = os.open(self.path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644)
            except FileExistsError:
                holder = self._read()
                if holder is None:  # released between our open and read: try again
                    continue
                if holder and owner_alive(holder):
                    raise RunLockedError(
                        f"Another `kedro run` is running in this project: {describe(holder)}; "
                        f"lock file {self.path}. Two runs would overwrite each other's data and "
                        "models. Wait for it to finish; if it is certainly not running any more "
                        f"(e.g. on another host), delete {self.path}."
                    ) from None
                self._take_over(holder)
                continue
            with os.fdopen(fd, "w", encoding="utf-8") as handle:
                json.dump(info, handle)
                handle.flush()
                os.fsync(handle.fileno())
            self.info = info
            atexit.register(self.release)
            return
        raise RunLockedError(f"could not take the run lock {self.path}; try again.")

    def _take_over(self, stale: dict[str, Any]) -> None:
        """Move a dead run's lock aside, checking it is still that run's (not a new one's)."""
        what = describe(stale) if stale else "an unreadable lock"
        aside = self.path.with_name(f"{self.path.name}.stale-{os.getpid()}")
        try:
            os.replace(self.path, aside)
        except FileNotFoundError:
            return
        moved = self._read_file(aside)
        if moved != stale:  # another run took it over first: put theirs back
            try:
                os.link(aside, self.path)
            except FileExistsError:
                pass
            aside.unlink(missing_ok=True)
            return
        aside.unlink(missing_ok=True)
        logger.warning(
            "Taking over the run lock %s left by a run that is no longer running (%s).",
            self.path,
            what,
        )

    @staticmethod
    def _read_file(path: Path) -> dict[str, Any]:
        try:
            document = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, json.JSONDecodeError):
            return {}
        return document if isinstance(document, dict) else {}

    def release(self) -> None:
        """Remove the lock if it is still ours (idempotent)."""
        if self.info is None:
            return
        if self._read_file(self.path) == self.info:
            self.path.unlink(missing_ok=True)
        self.info = None
        try:
            atexit.unregister(self.release)
        except Exception:  # noqa: BLE001 - nothing to undo
            pass
