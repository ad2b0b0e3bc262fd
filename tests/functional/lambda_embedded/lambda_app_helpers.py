"""Helpers of the embedded Lambda tests (a module of its own name: every test dir has a ``conftest``)."""

from __future__ import annotations

import json
import shutil
import sys
import time
from collections.abc import Callable
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
