"""How pattern values are compared and shown, and how a pattern error names its place.

EventBridge compares values as JSON does, with event-ruler's twists: ``"5"`` is not ``5``, ``true``
is not ``1``, but ``5`` matches ``5.0`` (numbers are fixed-point with 6 decimals inside ±5e9).
"""

from __future__ import annotations

import json
from typing import Any

from iatk._text import truncate
from iatk.exceptions import PatternError

#: Values in reasons and messages are cut to this many characters.
RENDER_WIDTH = 80
# event-ruler compares numbers as fixed-point with 6 decimals inside +-5e9; beyond that, exactly.
_COMPARABLE_LIMIT = 5e9


def render(value: Any, width: int = RENDER_WIDTH) -> str:
    """``value`` as one line of JSON (``repr`` for what JSON cannot show), truncated to ``width``."""
    try:
        text = json.dumps(value, separators=(", ", ": "), ensure_ascii=False, default=repr)
    except (ValueError, RecursionError):  # a circular structure in a hand-made event, or one too deep
        try:
            text = repr(value)
        except RecursionError:
            text = f"<a {type(value).__name__} nested too deep to show>"
    return truncate(text, width)


def is_number(value: Any) -> bool:
    """An int or a float, not a bool (``true`` is no number to EventBridge)."""
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def numbers_equal(left: float, right: float) -> bool:
    """Equality as event-ruler sees it: 6 decimals inside ±5e9, exact beyond (and between ints)."""
    if isinstance(left, int) and isinstance(right, int):
        return left == right
    if abs(left) <= _COMPARABLE_LIMIT and abs(right) <= _COMPARABLE_LIMIT:
        return round(left * 1e6) == round(right * 1e6)
    return left == right


def exact(expected: Any, value: Any) -> bool:
    """Whether a plain pattern value matches an event's value (no coercion between JSON types)."""
    if expected is None or value is None:
        return expected is None and value is None
    if isinstance(expected, bool) or isinstance(value, bool):
        return isinstance(expected, bool) and isinstance(value, bool) and expected == value
    if isinstance(expected, str) or isinstance(value, str):
        return isinstance(expected, str) and isinstance(value, str) and expected == value
    if is_number(expected) and is_number(value):
        return numbers_equal(expected, value)
    return False


def bad(path: str, problem: str) -> PatternError:
    """The error for a pattern that is wrong at ``path`` (a JSON path: ``$.detail.state[0]``)."""
    return PatternError(f"invalid event pattern at {path}: {problem}")
