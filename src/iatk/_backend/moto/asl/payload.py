"""Payload templates: ``Parameters``, ``ResultSelector``, ``ItemSelector`` and JSONPath ``Assign``.

A template is JSON whose fields named ``key.$`` take the value of a path (on the document, the
Context object or a variable) or of an intrinsic function call, and lose the ``.$``. Fields are
evaluated at every depth, inside arrays too.
"""

from __future__ import annotations

from typing import Any

from . import intrinsics
from .errors import StatesError, compact
from .paths import MISSING, Scope, read_or_missing

__all__ = ["apply_template"]


def apply_template(template: Any, document: Any, scope: Scope) -> Any:
    """``template`` with its ``key.$`` fields evaluated on ``document``."""
    if isinstance(template, dict):
        result: dict[str, Any] = {}
        for key, value in template.items():
            if isinstance(key, str) and key.endswith(".$"):
                result[key[:-2]] = _dynamic(key, value, document, scope)
            else:
                result[key] = apply_template(value, document, scope)
        return result
    if isinstance(template, list):
        return [apply_template(item, document, scope) for item in template]
    return template


def _dynamic(key: str, expression: Any, document: Any, scope: Scope) -> Any:
    if not isinstance(expression, str):
        raise StatesError(
            "States.Runtime",
            f"The value of the field '{key}' must be a path or an intrinsic function; got {compact(expression)}",
        )
    if intrinsics.is_call(expression):
        return intrinsics.evaluate(expression, document, scope)
    value = read_or_missing(expression, document, scope)
    if value is MISSING:
        source = scope.context if expression.startswith("$$") else document
        raise StatesError(
            "States.Runtime",
            f"The JSONPath '{expression}' specified for the field '{key}' could not be found in the input "
            f"'{compact(source)}'",
        )
    return value
