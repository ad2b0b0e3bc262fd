"""Small text helpers every message uses: the closest names first, truncation, whole-number checks.

iatk's errors say what was asked, what exists and what to do; these keep the "what exists" part
the same everywhere (closest match first, then the rest) and keep long values to one line.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable
from typing import Any

__all__ = ["closest", "closest_first", "is_whole", "truncate", "whole_number"]


def closest(name: str, names: Iterable[str], *, n: int = 1, cutoff: float = 0.6) -> list[str]:
    """Up to ``n`` of ``names`` that look like ``name`` (difflib's ratio ≥ ``cutoff``), best first."""
    return difflib.get_close_matches(name, list(names), n=n, cutoff=cutoff)


def closest_first(name: str, names: Iterable[str]) -> list[str]:
    """Every one of ``names``, ordered by likeness to ``name`` (ties keep their order)."""
    every = list(names)
    return difflib.get_close_matches(name, every, n=len(every), cutoff=0.0) if every else []


def truncate(text: str, width: int, *, ellipsis: str = "…") -> str:
    """``text`` cut to at most ``width`` characters, ending in ``ellipsis`` when it was cut."""
    if len(text) <= width:
        return text
    return text[: max(width - len(ellipsis), 0)] + ellipsis


def is_whole(value: Any) -> bool:
    """Whether ``value`` is an ``int`` (``bool`` is not: ``True`` is no count)."""
    return isinstance(value, int) and not isinstance(value, bool)


def whole_number(value: Any, low: int | None = None, high: int | None = None) -> bool:
    """Whether ``value`` is an ``int`` (not a ``bool``) within ``[low, high]`` (open where None)."""
    if not is_whole(value):
        return False
    return (low is None or value >= low) and (high is None or value <= high)
