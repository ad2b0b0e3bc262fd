"""JSONata in the States Language: ``{% ... %}`` expressions, ``$states``, variables, AWS's functions.

A string is an expression when it starts with ``{%`` and ends with ``%}`` (nothing around them);
inside a JSON object or array every such string is evaluated, anything else is kept. An expression
sees ``$states`` (``input``, ``result``, ``errorOutput``, ``context``, as the field allows), every
workflow variable as ``$name``, and the functions Step Functions adds to JSONata's: ``$partition``,
``$range``, ``$hash``, ``$random``, ``$uuid`` and ``$parse``. Evaluation uses jsonata-python.

A failing expression, or one that returns nothing (undefined), fails with
``States.QueryEvaluationError``.
"""

from __future__ import annotations

import hashlib
import json
import random
import uuid
from collections.abc import Mapping
from typing import Any

from .errors import StatesError, compact

__all__ = ["QUERY_ERROR", "evaluate", "evaluate_template", "is_expression"]

QUERY_ERROR = "States.QueryEvaluationError"
_HASHES = {"MD5": "md5", "SHA-1": "sha1", "SHA-256": "sha256", "SHA-384": "sha384", "SHA-512": "sha512"}
_MAX_RANGE = 1000


def is_expression(value: Any) -> bool:
    """Whether ``value`` is a ``{% ... %}`` string."""
    return isinstance(value, str) and value.startswith("{%") and value.endswith("%}") and len(value) >= 4


def _library() -> Any:
    try:
        import jsonata  # type: ignore[import-untyped]
        from jsonata import utils
    except ImportError:  # pragma: no cover - the moto extra installs it
        raise StatesError(
            "States.Runtime",
            "JSONata states need the jsonata-python package offline: pip install 'iatk[moto]' (or jsonata-python)",
        ) from None
    return jsonata, utils


def _fail(name: str, why: str) -> StatesError:
    return StatesError(QUERY_ERROR, f"The function {name} {why}")


def _partition(items: Any = None, size: Any = None) -> Any:
    if not isinstance(items, list):
        raise _fail("$partition", f"needs an array as its first argument; got {compact(items)}")
    if not isinstance(size, (int, float)) or isinstance(size, bool) or int(size) != size or size <= 0:
        raise _fail("$partition", f"needs a positive integer chunk size; got {compact(size)}")
    step = int(size)
    return [list(items[i : i + step]) for i in range(0, len(items), step)]


def _range(start: Any = None, end: Any = None, step: Any = None) -> Any:
    values = [start, end, step]
    if any(not isinstance(v, (int, float)) or isinstance(v, bool) or int(v) != v for v in values):
        raise _fail("$range", f"needs integer start, end and step; got {compact(values)}")
    first, last, by = (int(v) for v in values)
    if by == 0:
        raise _fail("$range", "needs a step other than 0")
    result = list(range(first, last + (1 if by > 0 else -1), by))
    if len(result) > _MAX_RANGE:
        raise _fail("$range", f"can make at most {_MAX_RANGE} items")
    return result


def _hash(data: Any = None, algorithm: Any = None) -> Any:
    if algorithm not in _HASHES:
        raise _fail("$hash", f"needs an algorithm among {', '.join(_HASHES)}; got {compact(algorithm)}")
    text = data if isinstance(data, str) else compact(data)
    return hashlib.new(_HASHES[str(algorithm)], text.encode()).hexdigest()


def _random(seed: Any = None) -> Any:
    if seed is None:
        return random.random()
    if not isinstance(seed, (int, float)) or isinstance(seed, bool):
        raise _fail("$random", f"needs a number as its seed; got {compact(seed)}")
    return random.Random(seed).random()


def _uuid() -> Any:
    return str(uuid.uuid4())


def _parse(text: Any = None) -> Any:
    if not isinstance(text, str):
        raise _fail("$parse", f"needs a JSON string; got {compact(text)}")
    try:
        return json.loads(text)
    except ValueError:
        raise _fail("$parse", f"cannot parse {text!r} as JSON") from None


_AWS_FUNCTIONS = {
    "partition": _partition,
    "range": _range,
    "hash": _hash,
    "random": _random,
    "uuid": _uuid,
    "parse": _parse,
}


def _to_jsonata(value: Any, utils: Any) -> Any:
    return utils.Utils.NULL_VALUE if value is None else value


def _plain(value: Any, utils: Any) -> Any:
    """jsonata-python's value as plain JSON values (its null marker as None, its sequences as lists)."""
    if value is utils.Utils.NULL_VALUE:
        return None
    if isinstance(value, Mapping):
        return {str(k): _plain(v, utils) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v, utils) for v in value]
    if isinstance(value, float) and value.is_integer() and abs(value) < 2**53:
        return int(value)
    return value


def evaluate(text: str, bindings: Mapping[str, Any], *, field: str) -> Any:
    """The value of the ``{% ... %}`` expression ``text`` (``bindings``: ``states`` and the variables)."""
    jsonata, utils = _library()
    source = text[2:-2].strip()
    try:
        expression = jsonata.Jsonata(source)
        for name, function in _AWS_FUNCTIONS.items():
            expression.register_lambda(name, function)
        expression.set_output_convert_nulls(False)
        value = expression.evaluate(None, {name: _to_jsonata(v, utils) for name, v in bindings.items()})
    except StatesError:
        raise
    except Exception as err:  # jsonata-python raises JException (a RuntimeError) and others
        message = getattr(err, "message", None) or str(err)
        raise StatesError(
            QUERY_ERROR,
            f"An error occurred while evaluating the JSONata expression '{source}' in field '{field}': {message}",
        ) from None
    if value is None:
        raise StatesError(
            QUERY_ERROR,
            f"The JSONata expression '{source}' specified for the field '{field}' returned nothing (undefined).",
        )
    if value is not utils.Utils.NULL_VALUE and (callable(value) or type(value).__module__.startswith("jsonata")):
        raise StatesError(
            QUERY_ERROR,
            f"The JSONata expression '{source}' specified for the field '{field}' returned an unsupported result type.",
        )
    return _plain(value, utils)


def evaluate_template(value: Any, bindings: Mapping[str, Any], *, field: str) -> Any:
    """``value`` with every ``{% ... %}`` string in it evaluated (at any depth of objects and arrays)."""
    if is_expression(value):
        return evaluate(value, bindings, field=field)
    if isinstance(value, dict):
        return {key: evaluate_template(item, bindings, field=f"{field}/{key}") for key, item in value.items()}
    if isinstance(value, list):
        return [evaluate_template(item, bindings, field=f"{field}[{i}]") for i, item in enumerate(value)]
    return value
