"""Helpers of the embedded Lambda tests (a module of its own name: every test dir has a ``conftest``)."""

from __future__ import annotations

import json
import os
import shutil
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

PY_RUNTIME = f"python{sys.version_info.major}.{sys.version_info.minor}"  # the local interpreter's
HAS_NODE = shutil.which("node") is not None
needs_node = "node is not on PATH (CI installs Debian's nodejs)"


def read_queue(
    sqs: Any,
    url: str,
    until: Callable[[list[Any]], bool],
    *,
    timeout: float = 20.0,
    keep: Callable[[Any], bool] | None = None,
) -> list[Any]:
    """Receive (and delete) the queue's JSON bodies until ``until(bodies)`` holds; the bodies ``keep`` accepts."""
    bodies: list[Any] = []
    deadline = time.monotonic() + timeout
    while True:
        answer = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, WaitTimeSeconds=0)
        for message in answer.get("Messages", []):
            body = json.loads(message["Body"])
            if keep is None or keep(body):
                bodies.append(body)
            sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])
        if until(bodies):
            return bodies
        if time.monotonic() > deadline:
            raise AssertionError(f"{url}: condition not met within {timeout} s; got {bodies}")
        time.sleep(0.05)


def env_children(parent: int | None = None) -> set[int]:
    """The children of ``parent`` (default: this process) that are Lambda environments (OS view)."""
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
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat[stat.rindex(")") + 2] != "Z"


def wait_gone(pids: set[int], timeout: float = 5.0) -> set[int]:
    end = time.monotonic() + timeout
    left = set(pids)
    while left and time.monotonic() < end:
        left = {pid for pid in left if running(pid)}
        if left:
            time.sleep(0.02)
    return left
