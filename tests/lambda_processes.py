"""The Lambda environment processes of a test process, as the OS sees them (shared by the Lambda tests).

``tests/`` is on ``sys.path`` for every test below it (its conftest has no package), so both the
runtime's and the embedded backend's Lambda tests import this module by its name.
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterable
from pathlib import Path


def env_children(parent: int | None = None) -> set[int]:
    """The children of ``parent`` (default: this process) that are Lambda environments (not zombies)."""
    me = os.getpid() if parent is None else parent
    found = set()
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
            fields = stat[stat.rindex(")") + 2 :].split()
            if fields[0] == "Z" or int(fields[1]) != me:
                continue
            if b"AWS_LAMBDA_RUNTIME_API=" in (entry / "environ").read_bytes():
                found.add(int(entry.name))
        except (OSError, ValueError):
            continue
    return found


def running(pid: int) -> bool:
    """Whether ``pid`` is a live process (a zombie is not)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat[stat.rindex(")") + 2] != "Z"


def wait_gone(pids: Iterable[int], timeout: float = 5.0) -> set[int]:
    """The pids still running (not zombies) after up to ``timeout`` seconds."""
    end = time.monotonic() + timeout
    left = set(pids)
    while left and time.monotonic() < end:
        left = {pid for pid in left if running(pid)}
        if left:
            time.sleep(0.02)
    return left
