"""Where a running ``iatk serve`` says it is, so ``--backend moto`` finds it from another shell.

``iatk serve`` writes a small JSON file (its URL, X-Ray relay address and process id) in the temp
folder, per user, and removes it when it stops. A file whose process is gone (a ``kill -9``) is
ignored.
"""

from __future__ import annotations

import contextlib
import json
import os
import tempfile
from pathlib import Path
from typing import Any


def served_file() -> Path:
    uid = os.getuid() if hasattr(os, "getuid") else 0
    folder = os.environ.get("XDG_RUNTIME_DIR") or tempfile.gettempdir()
    return Path(folder) / f"iatk-serve-{uid}.json"


def announce(url: str, xray_address: str | None) -> Path:
    """Record this process as the running ``iatk serve`` (written whole, then renamed into place)."""
    path = served_file()
    partial = path.with_suffix(f".{os.getpid()}.tmp")
    partial.write_text(json.dumps({"url": url, "xray_address": xray_address, "pid": os.getpid()}))
    partial.replace(path)
    return path


def withdraw(path: Path) -> None:
    """Remove the record, if it is still this process's (a later ``iatk serve`` may have replaced it)."""
    record = _read(path)
    if record is not None and record.get("pid") == os.getpid():
        with contextlib.suppress(OSError):
            path.unlink()


def served() -> dict[str, Any] | None:
    """The running ``iatk serve``'s record, or None (no file, or its process is gone)."""
    record = _read(served_file())
    if record is None or not _alive(record.get("pid")):
        return None
    return record


def served_url() -> str | None:
    record = served()
    return None if record is None else str(record["url"])


def _read(path: Path) -> dict[str, Any] | None:
    try:
        record = json.loads(path.read_text())
    except (OSError, ValueError):
        return None
    return record if isinstance(record, dict) and isinstance(record.get("url"), str) else None


def _alive(pid: object) -> bool:
    if not isinstance(pid, int) or pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # the id is another user's process now: ours (the file is per user) is gone
        return False
    return True
