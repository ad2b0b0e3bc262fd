"""Choice rules: the JSONPath comparison operators (with ``And``/``Or``/``Not``) and JSONata ``Condition``.

A comparison whose ``Variable`` selects nothing fails the state with ``States.Runtime`` (only
``IsPresent`` may test a missing field); a value of the wrong type makes the comparison false.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Any

from . import jsonata
from .errors import StatesError, compact
from .paths import MISSING, Scope, read_or_missing

__all__ = ["TIMESTAMP", "matches", "parse_timestamp"]

#: An RFC 3339 / ISO-8601 extended date-time with an offset, as Step Functions takes.
TIMESTAMP = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$")


def parse_timestamp(value: Any) -> datetime | None:
    """``value`` as an aware datetime, or None when it is not such a timestamp."""
    if not isinstance(value, str) or not TIMESTAMP.match(value):
        return None
    text = value[:-1] + "+00:00" if value.endswith("Z") else value
    if "." in text:  # Python takes at most 6 fraction digits
        head, _, tail = text.partition(".")
        digits = re.match(r"\d+", tail)
        fraction = digits.group(0) if digits else ""
        text = f"{head}.{fraction[:6].ljust(6, '0')}{tail[len(fraction) :]}"
    try:
        return datetime.fromisoformat(text)
    except ValueError:
        return None


def _number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _string_matches(value: str, pattern: str) -> bool:
    regex = []
    position = 0
    while position < len(pattern):
        char = pattern[position]
        if char == "\\" and position + 1 < len(pattern):
            regex.append(re.escape(pattern[position + 1]))
            position += 2
            continue
        regex.append(".*" if char == "*" else re.escape(char))
        position += 1
    return re.fullmatch("".join(regex), value, re.DOTALL) is not None


def _compare(kind: str, op: str, left: Any, right: Any) -> bool:
    a: Any
    b: Any
    if kind == "String":
        if not isinstance(left, str) or not isinstance(right, str):
            return False
        a, b = left, right
    elif kind == "Numeric":
        if not _number(left) or not _number(right):
            return False
        a, b = left, right
    elif kind == "Boolean":
        if not isinstance(left, bool) or not isinstance(right, bool):
            return False
        return left == right
    else:  # Timestamp
        ta, tb = parse_timestamp(left), parse_timestamp(right)
        if ta is None or tb is None:
            return False
        a, b = ta, tb
    operations: dict[str, Callable[[Any, Any], bool]] = {
        "Equals": lambda x, y: x == y,
        "LessThan": lambda x, y: x < y,
        "GreaterThan": lambda x, y: x > y,
        "LessThanEquals": lambda x, y: x <= y,
        "GreaterThanEquals": lambda x, y: x >= y,
    }
    return operations[op](a, b)


_KINDS = ("String", "Numeric", "Boolean", "Timestamp")
_OPS = ("Equals", "LessThanEquals", "GreaterThanEquals", "LessThan", "GreaterThan")


def _invalid(path: str) -> StatesError:
    return StatesError(
        "States.Runtime", f"Invalid path '{path}': The choice state's condition path references an invalid value."
    )


def _jsonpath_rule(rule: Mapping[str, Any], document: Any, scope: Scope) -> bool:
    if "And" in rule:
        return all(_jsonpath_rule(r, document, scope) for r in rule["And"])
    if "Or" in rule:
        return any(_jsonpath_rule(r, document, scope) for r in rule["Or"])
    if "Not" in rule:
        return not _jsonpath_rule(rule["Not"], document, scope)
    variable = str(rule.get("Variable", "$"))
    value = read_or_missing(variable, document, scope)
    if "IsPresent" in rule:
        return (value is not MISSING) == bool(rule["IsPresent"])
    if value is MISSING:
        raise _invalid(variable)
    for key, expected in rule.items():
        if key in ("Variable", "Next", "Assign", "Output", "Comment"):
            continue
        if key == "IsNull":
            return (value is None) == bool(expected)
        if key == "IsBoolean":
            return isinstance(value, bool) == bool(expected)
        if key == "IsNumeric":
            return _number(value) == bool(expected)
        if key == "IsString":
            return isinstance(value, str) == bool(expected)
        if key == "IsTimestamp":
            return (parse_timestamp(value) is not None) == bool(expected)
        if key == "StringMatches":
            return isinstance(value, str) and isinstance(expected, str) and _string_matches(value, expected)
        for kind in _KINDS:
            for op in _OPS:
                if key == f"{kind}{op}":
                    return _compare(kind, op, value, expected)
                if key == f"{kind}{op}Path":
                    other = read_or_missing(str(expected), document, scope)
                    if other is MISSING:
                        raise _invalid(str(expected))
                    return _compare(kind, op, value, other)
    raise StatesError("States.Runtime", f"The Choice rule {compact(dict(rule))} has no comparison operator")


def matches(
    rule: Mapping[str, Any], document: Any, scope: Scope, *, jsonata_bindings: Mapping[str, Any] | None
) -> bool:
    """Whether the Choice rule matches: a JSONPath rule on ``document``, or a JSONata ``Condition``."""
    if jsonata_bindings is None:
        return _jsonpath_rule(rule, document, scope)
    condition = rule.get("Condition")
    value = jsonata.evaluate_template(condition, jsonata_bindings, field="Condition")
    if not isinstance(value, bool):
        raise StatesError(
            jsonata.QUERY_ERROR,
            f"The JSONata expression {compact(condition)} specified for the field 'Condition' returned a "
            f"{type(value).__name__} ({compact(value)}) and not a boolean.",
        )
    return value
