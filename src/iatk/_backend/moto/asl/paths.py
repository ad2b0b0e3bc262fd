"""JSONPath as the States Language uses it: paths, reference paths, variables and ``ResultPath``.

A path starts at ``$`` (the document: the state's input, or a result), ``$$`` (the Context object)
or ``$name`` (a workflow variable). A *definite* path (fields by ``.name`` or ``['name']``, array
elements by ``[n]``) selects one value; any other JSONPath (``[*]``, ``..``, filters, slices) selects
a list of matches, as Step Functions' JSONPath (Jayway's) does. ``ResultPath`` must be a reference
path: definite, on ``$``.
"""

from __future__ import annotations

import copy
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from .errors import StatesError, compact

__all__ = [
    "MISSING",
    "Scope",
    "is_path",
    "normalized",
    "read",
    "read_or_missing",
    "set_result",
]

#: What :func:`read_or_missing` returns when the path selects nothing.
MISSING: Any = type("Missing", (), {"__repr__": lambda self: "MISSING"})()

_VARIABLE = re.compile(r"\$([A-Za-z_][A-Za-z0-9_]*)")
_INDEX = re.compile(r"\[(-?\d+)\]")
_QUOTED = re.compile(r"\[\s*(['\"])(.*?)\1\s*\]")


@dataclass
class Scope:
    """What a path can reach besides the document: the Context object and the workflow variables."""

    context: Any = None
    variables: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class _Parsed:
    root: str  # "$", "$$" or "$name"
    steps: tuple[str | int, ...] | None  # None: not definite, see ``rest``
    rest: str  # the path after the root


def is_path(text: Any) -> bool:
    """Whether ``text`` is a path string (``$``, ``$.x``, ``$$.x``, ``$var``...)."""
    return isinstance(text, str) and text.startswith("$")


def _parse(path: str) -> _Parsed:
    if path.startswith("$$"):
        root, rest = "$$", path[2:]
    else:
        match = _VARIABLE.match(path)
        if match and not path.startswith("$."):
            root, rest = match.group(0), path[match.end() :]
        elif path.startswith("$"):
            root, rest = "$", path[1:]
        else:
            raise StatesError("States.Runtime", f"Invalid path '{path}': a path must start with '$'")
    return _Parsed(root, _definite_steps(rest), rest)


def _definite_steps(rest: str) -> tuple[str | int, ...] | None:
    steps: list[str | int] = []
    position = 0
    while position < len(rest):
        char = rest[position]
        if char == ".":
            if rest.startswith("..", position):
                return None
            end = position + 1
            while end < len(rest) and rest[end] not in ".[":
                end += 1
            name = rest[position + 1 : end]
            if not name or not _plain(name):
                return None
            steps.append(name)
            position = end
        elif char == "[":
            index = _INDEX.match(rest, position)
            if index:
                steps.append(int(index.group(1)))
                position = index.end()
                continue
            quoted = _QUOTED.match(rest, position)
            if quoted:
                steps.append(quoted.group(2))
                position = quoted.end()
                continue
            return None
        else:
            return None
    return tuple(steps)


def _plain(name: str) -> bool:
    return not any(c in name for c in "()@?*,:'\"")


def normalized(path: str) -> str:
    """The path as Jayway prints it in errors: ``$['a']['b'][0]``."""
    parsed = _parse(path)
    if parsed.steps is None:
        return path
    return parsed.root + "".join(f"[{s}]" if isinstance(s, int) else f"['{s}']" for s in parsed.steps)


def _root_value(parsed: _Parsed, path: str, document: Any, scope: Scope) -> Any:
    if parsed.root == "$":
        return document
    if parsed.root == "$$":
        return scope.context if scope.context is not None else {}
    name = parsed.root[1:]
    if name not in scope.variables:
        raise StatesError("States.Runtime", f"Invalid path '{path}': The variable '{name}' is not defined")
    return scope.variables[name]


def read_or_missing(path: str, document: Any, scope: Scope | None = None) -> Any:
    """The value ``path`` selects (a list for a path that is not definite), or :data:`MISSING`."""
    scope = scope or Scope()
    parsed = _parse(path)
    value = _root_value(parsed, path, document, scope)
    if parsed.steps is not None:
        for step in parsed.steps:
            if isinstance(step, int):
                if not isinstance(value, list) or not -len(value) <= step < len(value):
                    return MISSING
                value = value[step]
            elif isinstance(value, Mapping) and step in value:
                value = value[step]
            else:
                return MISSING
        return value
    return _query(parsed.rest, value, path)


def _query(rest: str, value: Any, path: str) -> list[Any]:
    from jsonpath_ng.exceptions import JsonPathLexerError, JsonPathParserError
    from jsonpath_ng.ext.parser import parse

    try:
        expression = parse("$" + rest)
    except (JsonPathLexerError, JsonPathParserError, Exception) as err:  # the parser raises bare Exceptions too
        raise StatesError("States.Runtime", f"Invalid path '{path}': {err}") from None
    return [match.value for match in expression.find(value)]


def read(path: str, document: Any, scope: Scope | None = None) -> Any:
    """The value ``path`` selects; a path that selects nothing fails with ``States.Runtime``."""
    value = read_or_missing(path, document, scope)
    if value is MISSING:
        raise StatesError("States.Runtime", f"Invalid path '{path}' : No results for path: {normalized(path)}")
    return value


def set_result(document: Any, path: str | None, result: Any) -> Any:
    """``ResultPath``: ``result`` placed at ``path`` in a copy of ``document`` (None: the document as is)."""
    if path is None:
        return document
    parsed = _parse(path)
    if parsed.root != "$" or parsed.steps is None:
        raise StatesError(
            "States.ResultPathMatchFailure", f"ResultPath '{path}' is not a reference path on the state's input"
        )
    if not parsed.steps:
        return result
    output = copy.deepcopy(document)
    node = output
    for position, step in enumerate(parsed.steps):
        last = position == len(parsed.steps) - 1
        if isinstance(step, int):
            if not isinstance(node, list) or not -len(node) <= step < len(node):
                raise _match_failure(path, document)
            if last:
                node[step] = result
            else:
                node = node[step]
            continue
        if not isinstance(node, dict):
            raise _match_failure(path, document)
        if last:
            node[step] = result
        else:
            if not isinstance(node.get(step), (dict, list)):
                if step in node and node[step] is not None:
                    raise _match_failure(path, document)
                node[step] = {}
            node = node[step]
    return output


def _match_failure(path: str, document: Any) -> StatesError:
    return StatesError(
        "States.ResultPathMatchFailure", f"Unable to apply ResultPath \"{path}\" to input '{compact(document)}'."
    )
