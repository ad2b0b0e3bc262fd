"""How deep a JSON-like value nests, measured without recursion, so a walker can refuse it first.

Every recursive walker of user input in iatk (patterns, templates, schemas, state definitions,
event details) runs one frame or more per level, and Python stops at about 1,000 frames with a
bare ``RecursionError``. Each checks its input with :func:`too_deep` against its own bound before
walking it, and raises its own typed error with the message this module writes.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

#: The bound most walkers use: far deeper than any real template, pattern or schema, and shallow
#: enough that a walker using a few frames per level stays well inside Python's recursion limit.
MAX_NESTING = 100

_SHOWN_STEPS = 8  # of the path to the first node past the bound


def too_deep(value: Any, limit: int = MAX_NESTING, *, root: str = "$") -> str | None:
    """Where ``value`` nests past ``limit`` levels of objects and arrays, or None when it does not.

    A scalar is depth 0, ``{}`` and ``[]`` are depth 1, ``{"a": [1]}`` is depth 2. The answer is the
    path to the first container past the bound (its first steps, then ``…``), e.g.
    ``$.a.a.a.a.a.a.a.a…``. A value that contains itself is past any bound. Runs in a loop over an
    explicit stack: it never recurses, whatever ``value`` is.
    """
    # Each entry: (node, its depth, a link to its path: (step, parent link) or None).
    stack: list[tuple[Any, int, tuple[str, Any] | None]] = [(value, 0, None)]
    while stack:
        node, depth, link = stack.pop()
        if isinstance(node, Mapping):
            items: Any = ((f".{key}", child) for key, child in node.items())
        elif isinstance(node, (list, tuple)):
            items = ((f"[{index}]", child) for index, child in enumerate(node))
        else:
            continue
        if depth + 1 > limit:
            return _path(link, root)
        for step, child in items:
            if isinstance(child, (Mapping, list, tuple)):
                stack.append((child, depth + 1, (step, link)))
    return None


def _path(link: tuple[str, Any] | None, root: str) -> str:
    steps: list[str] = []
    while link is not None:
        steps.append(link[0])
        link = link[1]
    steps.reverse()
    shown = "".join(steps[:_SHOWN_STEPS])
    return f"{root}{shown}{'…' if len(steps) > _SHOWN_STEPS else ''}"


def nesting_message(what: str, where: str, limit: int = MAX_NESTING) -> str:
    """``<what> nests deeper than <limit> levels (at <where>); iatk reads at most <limit>``."""
    return (
        f"{what} nests deeper than {limit} levels of objects and arrays (at {where}); iatk supports at most "
        f"{limit} levels here: flatten it, or split it"
    )
