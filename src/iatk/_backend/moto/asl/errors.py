"""The runtime error of an ASL state: an error name and a cause, as an execution would record them."""

from __future__ import annotations

import json
from typing import Any

__all__ = ["StatesError", "compact"]


class StatesError(Exception):
    """A state failed with ``error`` (``States.Runtime``, ``States.ResultPathMatchFailure``...) and ``cause``."""

    def __init__(self, error: str, cause: str | None = None) -> None:
        super().__init__(f"{error}: {cause}" if cause else error)
        self.error = error
        self.cause = cause


def compact(value: Any) -> str:
    """JSON text as Step Functions writes it in causes: compact, keys in their order."""
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False)
