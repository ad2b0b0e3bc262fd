"""The States Language intrinsic functions (``States.Format(...)``, ``States.Array(...)``...).

A call is parsed from its text (arguments: ``'strings'`` with ``\\'``, ``\\{``, ``\\}`` and ``\\\\``
escapes, numbers, ``true``/``false``/``null``, paths and nested calls) and evaluated against the
document the payload template reads. A bad argument fails with ``States.IntrinsicFailure``.
"""

from __future__ import annotations

import base64
import hashlib
import json
import random
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from .errors import StatesError, compact
from .paths import Scope, read

__all__ = ["evaluate", "is_call"]

_FAILURE = "States.IntrinsicFailure"
_MAX_BASE64_INPUT = 10000
_MAX_RANGE = 1000


@dataclass(frozen=True)
class _Text:
    """A string literal: its value, and where ``{}`` placeholders are (escaped braces are not)."""

    value: str
    placeholders: tuple[int, ...]  # offsets in ``value`` of each unescaped "{}"


@dataclass(frozen=True)
class _Path:
    path: str


@dataclass(frozen=True)
class _Call:
    name: str
    args: tuple[Any, ...]


def is_call(text: Any) -> bool:
    """Whether ``text`` is an intrinsic function call."""
    return isinstance(text, str) and text.lstrip().startswith("States.")


class _Parser:
    def __init__(self, text: str) -> None:
        self.text = text
        self.at = 0

    def fail(self, why: str) -> StatesError:
        return StatesError(_FAILURE, f"Invalid intrinsic function '{self.text}': {why} (at character {self.at})")

    def skip_space(self) -> None:
        while self.at < len(self.text) and self.text[self.at].isspace():
            self.at += 1

    def call(self) -> _Call:
        self.skip_space()
        start = self.at
        while self.at < len(self.text) and (self.text[self.at].isalnum() or self.text[self.at] in "._"):
            self.at += 1
        name = self.text[start : self.at]
        if not name.startswith("States.") or name not in _FUNCTIONS:
            raise self.fail(f"unknown function {name!r}; known: {', '.join(sorted(_FUNCTIONS))}")
        self.skip_space()
        if self.at >= len(self.text) or self.text[self.at] != "(":
            raise self.fail("expected '('")
        self.at += 1
        args: list[Any] = []
        self.skip_space()
        if self.at < len(self.text) and self.text[self.at] == ")":
            self.at += 1
            return _Call(name, ())
        while True:
            args.append(self.argument())
            self.skip_space()
            if self.at >= len(self.text):
                raise self.fail("expected ')'")
            if self.text[self.at] == ",":
                self.at += 1
                continue
            if self.text[self.at] == ")":
                self.at += 1
                return _Call(name, tuple(args))
            raise self.fail(f"unexpected {self.text[self.at]!r}")

    def argument(self) -> Any:
        self.skip_space()
        if self.at >= len(self.text):
            raise self.fail("expected an argument")
        char = self.text[self.at]
        if char == "'":
            return self.string()
        if char == "$":
            return self.path()
        if self.text.startswith("States.", self.at):
            return self.call()
        start = self.at
        while self.at < len(self.text) and self.text[self.at] not in ",)" and not self.text[self.at].isspace():
            self.at += 1
        token = self.text[start : self.at]
        literals = {"true": True, "false": False, "null": None}
        if token in literals:
            return literals[token]
        try:
            number = json.loads(token)
        except ValueError:
            raise self.fail(f"cannot read the argument {token!r}") from None
        if not isinstance(number, (int, float)) or isinstance(number, bool):
            raise self.fail(f"cannot read the argument {token!r}")
        return number

    def string(self) -> _Text:
        self.at += 1  # the opening quote
        value: list[str] = []
        placeholders: list[int] = []
        while self.at < len(self.text):
            char = self.text[self.at]
            if char == "\\" and self.at + 1 < len(self.text):
                value.append(self.text[self.at + 1])
                self.at += 2
                continue
            if char == "'":
                self.at += 1
                return _Text("".join(value), tuple(placeholders))
            if char == "{" and self.text.startswith("{}", self.at):
                placeholders.append(len(value))
                value.extend("{}")
                self.at += 2
                continue
            value.append(char)
            self.at += 1
        raise self.fail("unterminated string")

    def path(self) -> _Path:
        start = self.at
        depth = 0
        quote: str | None = None
        while self.at < len(self.text):
            char = self.text[self.at]
            if quote:
                if char == quote:
                    quote = None
            elif char in "'\"" and depth:
                quote = char
            elif char in "[(":
                depth += 1
            elif char in "])":
                if depth == 0:
                    break
                depth -= 1
            elif char == "," and depth == 0:
                break
            self.at += 1
        return _Path(self.text[start : self.at].rstrip())


def evaluate(text: str, document: Any, scope: Scope | None = None) -> Any:
    """The value of the intrinsic call ``text`` on ``document``."""
    parser = _Parser(text.strip())
    call = parser.call()
    parser.skip_space()
    if parser.at != len(parser.text):
        raise parser.fail("unexpected text after the call")
    return _run(call, document, scope or Scope())


def _run(call: _Call, document: Any, scope: Scope) -> Any:
    if call.name == "States.Format":
        return _format(call, document, scope)
    args = [_value(arg, document, scope) for arg in call.args]
    function, arity = _FUNCTIONS[call.name]
    low, high = arity
    if not low <= len(args) <= high:
        wanted = str(low) if low == high else f"{low} to {high}"
        raise StatesError(
            _FAILURE, f"The Intrinsic Function {call.name} takes {wanted} argument(s); {len(args)} were given"
        )
    return function(call.name, args)


def _value(arg: Any, document: Any, scope: Scope) -> Any:
    if isinstance(arg, _Text):
        return arg.value
    if isinstance(arg, _Path):
        return read(arg.path, document, scope)
    if isinstance(arg, _Call):
        return _run(arg, document, scope)
    return arg


def _format(call: _Call, document: Any, scope: Scope) -> str:
    if not call.args or not isinstance(call.args[0], _Text):
        raise StatesError(_FAILURE, "The Intrinsic Function States.Format needs a string literal as its first argument")
    template = call.args[0]
    values = [_value(arg, document, scope) for arg in call.args[1:]]
    if len(values) != len(template.placeholders):
        raise StatesError(
            _FAILURE,
            f"The Intrinsic Function States.Format has {len(template.placeholders)} placeholder(s) in "
            f"'{template.value}' and {len(values)} argument(s) to fill them",
        )
    pieces: list[str] = []
    last = 0
    for offset, value in zip(template.placeholders, values, strict=True):
        pieces.append(template.value[last:offset])
        pieces.append(_as_text(value))
        last = offset + 2
    pieces.append(template.value[last:])
    return "".join(pieces)


def _as_text(value: Any) -> str:
    if isinstance(value, str):
        return value
    if isinstance(value, float) and value.is_integer():
        return str(value)
    return compact(value)


# -- the functions -------------------------------------------------------------------------------
def _need(name: str, value: Any, kind: type | tuple[type, ...], what: str) -> Any:
    if not isinstance(value, kind) or (isinstance(value, bool) and bool not in _tuple(kind)):
        raise StatesError(_FAILURE, f"The Intrinsic Function {name} needs {what}; got {compact(value)}")
    return value


def _tuple(kind: type | tuple[type, ...]) -> tuple[type, ...]:
    return kind if isinstance(kind, tuple) else (kind,)


def _integer(name: str, value: Any, what: str) -> int:
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return int(_need(name, value, int, what))


def _string_to_json(name: str, args: Sequence[Any]) -> Any:
    text = _need(name, args[0], str, "a string")
    try:
        return json.loads(text)
    except ValueError:
        raise StatesError(_FAILURE, f"The Intrinsic Function {name} cannot parse {text!r} as JSON") from None


def _array_partition(name: str, args: Sequence[Any]) -> Any:
    items = _need(name, args[0], list, "an array as its first argument")
    size = _integer(name, args[1], "a positive integer chunk size")
    if size <= 0:
        raise StatesError(_FAILURE, f"The Intrinsic Function {name} needs a positive chunk size; got {size}")
    return [items[i : i + size] for i in range(0, len(items), size)]


def _array_range(name: str, args: Sequence[Any]) -> Any:
    start, end, step = (_integer(name, a, "integer arguments") for a in args)
    if step == 0:
        raise StatesError(_FAILURE, f"The Intrinsic Function {name} needs a step other than 0")
    values = list(range(start, end + (1 if step > 0 else -1), step))
    if len(values) > _MAX_RANGE:
        raise StatesError(_FAILURE, f"The Intrinsic Function {name} can make at most {_MAX_RANGE} items")
    return values


def _array_get_item(name: str, args: Sequence[Any]) -> Any:
    items = _need(name, args[0], list, "an array as its first argument")
    index = _integer(name, args[1], "an integer index")
    if not 0 <= index < len(items):
        raise StatesError(_FAILURE, f"The Intrinsic Function {name}: index {index} is out of bounds")
    return items[index]


def _array_unique(name: str, args: Sequence[Any]) -> Any:
    seen: set[str] = set()
    unique = []
    for item in _need(name, args[0], list, "an array"):
        key = json.dumps(item, sort_keys=True)
        if key not in seen:
            seen.add(key)
            unique.append(item)
    return unique


def _base64_encode(name: str, args: Sequence[Any]) -> Any:
    text = _need(name, args[0], str, "a string")
    if len(text) > _MAX_BASE64_INPUT:
        raise StatesError(_FAILURE, f"The Intrinsic Function {name} takes at most {_MAX_BASE64_INPUT} characters")
    return base64.b64encode(text.encode()).decode()


def _base64_decode(name: str, args: Sequence[Any]) -> Any:
    text = _need(name, args[0], str, "a string")
    if len(text) > _MAX_BASE64_INPUT:
        raise StatesError(_FAILURE, f"The Intrinsic Function {name} takes at most {_MAX_BASE64_INPUT} characters")
    try:
        return base64.b64decode(text.encode(), validate=True).decode()
    except ValueError:
        raise StatesError(_FAILURE, f"The Intrinsic Function {name} cannot decode {text!r}") from None


_HASHES = {"MD5": "md5", "SHA-1": "sha1", "SHA-256": "sha256", "SHA-384": "sha384", "SHA-512": "sha512"}


def _hash(name: str, args: Sequence[Any]) -> Any:
    data = args[0] if isinstance(args[0], str) else compact(args[0])
    algorithm = _need(name, args[1], str, f"an algorithm name ({', '.join(_HASHES)})")
    if algorithm not in _HASHES:
        raise StatesError(
            _FAILURE, f"The Intrinsic Function {name} does not know {algorithm!r}; use one of {', '.join(_HASHES)}"
        )
    return hashlib.new(_HASHES[algorithm], data.encode()).hexdigest()


def _json_merge(name: str, args: Sequence[Any]) -> Any:
    left = _need(name, args[0], dict, "an object as its first argument")
    right = _need(name, args[1], dict, "an object as its second argument")
    if args[2] is not False:
        raise StatesError(_FAILURE, f"The Intrinsic Function {name} supports only a shallow merge (false)")
    return {**left, **right}


def _math_random(name: str, args: Sequence[Any]) -> Any:
    start = _integer(name, args[0], "an integer start")
    end = _integer(name, args[1], "an integer end")
    if end <= start:
        raise StatesError(_FAILURE, f"The Intrinsic Function {name} needs start < end")
    generator = random.Random(_integer(name, args[2], "an integer seed")) if len(args) > 2 else random
    return generator.randrange(start, end)


def _math_add(name: str, args: Sequence[Any]) -> Any:
    return _integer(name, args[0], "integer arguments") + _integer(name, args[1], "integer arguments")


def _string_split(name: str, args: Sequence[Any]) -> Any:
    text = _need(name, args[0], str, "a string")
    delimiters = _need(name, args[1], str, "a string of delimiter characters")
    tokens = [text]
    for delimiter in delimiters:
        tokens = [piece for token in tokens for piece in token.split(delimiter)]
    return [token for token in tokens if token]


def _array_contains(name: str, args: Sequence[Any]) -> Any:
    items = _need(name, args[0], list, "an array as its first argument")
    return any(item == args[1] and isinstance(item, bool) == isinstance(args[1], bool) for item in items)


def _array_length(name: str, args: Sequence[Any]) -> Any:
    return len(_need(name, args[0], list, "an array"))


_Function = Callable[[str, Sequence[Any]], Any]
_FUNCTIONS: dict[str, tuple[_Function, tuple[int, int]]] = {
    "States.Format": (lambda name, args: None, (1, 1000)),  # evaluated by _format
    "States.StringToJson": (_string_to_json, (1, 1)),
    "States.JsonToString": (lambda name, args: compact(args[0]), (1, 1)),
    "States.Array": (lambda name, args: list(args), (0, 1000)),
    "States.ArrayPartition": (_array_partition, (2, 2)),
    "States.ArrayContains": (_array_contains, (2, 2)),
    "States.ArrayRange": (_array_range, (3, 3)),
    "States.ArrayGetItem": (_array_get_item, (2, 2)),
    "States.ArrayLength": (_array_length, (1, 1)),
    "States.ArrayUnique": (_array_unique, (1, 1)),
    "States.Base64Encode": (_base64_encode, (1, 1)),
    "States.Base64Decode": (_base64_decode, (1, 1)),
    "States.Hash": (_hash, (2, 2)),
    "States.JsonMerge": (_json_merge, (3, 3)),
    "States.MathRandom": (_math_random, (2, 3)),
    "States.MathAdd": (_math_add, (2, 2)),
    "States.StringSplit": (_string_split, (2, 2)),
    "States.UUID": (lambda name, args: str(uuid.uuid4()), (0, 0)),
}
