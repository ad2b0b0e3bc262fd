"""Small JSON helpers shared by the schema readers and the state-test results.

- :func:`resolve_pointer`: the node a local JSON pointer (``#`` or ``#/a/b``, RFC 6901 escapes and
  percent-encoding) names inside a document;
- :func:`loads_or_keep`: JSON text parsed, anything else (or text that is not JSON, such as a
  redacted value) kept as it is.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any
from urllib.parse import unquote

__all__ = ["loads_or_keep", "resolve_pointer"]


def resolve_pointer(document: Any, pointer: str) -> Any:
    """The node at a local ref (``#`` or ``#/a/b``).

    Raises:
        KeyError: No node there (the missing part as the key).
        ValueError: ``pointer`` is not a local ref (another document's, or not a pointer).
    """
    if pointer in ("#", ""):
        return document
    if not pointer.startswith("#/"):
        raise ValueError(pointer)
    node = document
    for raw in pointer[2:].split("/"):
        part = unquote(raw).replace("~1", "/").replace("~0", "~")
        if isinstance(node, Mapping) and part in node:
            node = node[part]
        elif isinstance(node, list) and part.isdigit() and int(part) < len(node):
            node = node[int(part)]
        else:
            raise KeyError(part)
    return node


def loads_or_keep(value: Any) -> Any:
    """JSON text parsed; anything else, or text that is not JSON, as it is."""
    if not isinstance(value, str):
        return value
    try:
        return json.loads(value)
    except ValueError:
        return value
