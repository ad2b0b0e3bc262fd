"""Event matchers: EventBridge pattern semantics, and a reason a person can read for every miss.

Three ways to say which event a wait is for::

    iatk.match(source="video.plugin", detail_type=iatk.prefix("plugin-"), detail={"size": iatk.numeric(">", 0)})
    iatk.pattern({"source": ["video.plugin"], "detail": {"state": [{"anything-but": "failed"}]}})
    def check(event): assert event.detail["orderId"] == 42      # AssertionError text = the reason

Matchers combine with ``&``, ``|`` and ``~``. Calling one on an :class:`~iatk.events.Event` gives a
:class:`MatchResult`: ``matched``, a ``reason`` when it did not match, the ``mismatches`` (one per
field that differs) and a ``score`` (the share of the pattern's fields that matched) that ranks near
misses in timeout messages.

Semantics follow EventBridge (the event-ruler library), including what moto gets wrong:

* a plain value matches exactly: ``"5"`` is not ``5``, ``true`` is not ``1``, but ``5`` matches ``5.0``;
* when the event's value is an array, the field matches if any element does;
* a nested pattern against an array of objects matches if one element matches all of its fields;
* ``exists`` looks at leaf values only (an object or an empty array does not "exist");
  ``exists: false`` means no value at that path anywhere in the event;
* ``anything-but`` and the other operators need the field to be present (only ``exists: false``
  matches a missing field); prefix, suffix, equals-ignore-case, wildcard and cidr match strings only;
  numeric matches numbers only.
"""

from __future__ import annotations

import abc
import difflib
import ipaddress
import json
import math
import os
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, TypeAlias

from ._text import truncate
from .events import Event
from .exceptions import PatternError

__all__ = [
    "OPERATORS",
    "MatchResult",
    "Matcher",
    "MatcherLike",
    "Mismatch",
    "anything_but",
    "as_matcher",
    "callable_matcher",
    "cidr",
    "equals_ignore_case",
    "exists",
    "explain",
    "match",
    "numeric",
    "pattern",
    "prefix",
    "suffix",
    "validate_pattern",
    "wildcard",
]

#: The EventBridge comparison operators a pattern may use.
OPERATORS = (
    "anything-but",
    "cidr",
    "equals-ignore-case",
    "exists",
    "numeric",
    "prefix",
    "suffix",
    "wildcard",
)
_NUMERIC_OPS = ("<", "<=", "=", ">=", ">")
# match() keywords that are envelope keys with a dash.
_PY_KEYS = {"detail_type": "detail-type", "replay_name": "replay-name"}
# event-ruler compares numbers as fixed-point with 6 decimals inside +-5e9; beyond that, exactly.
_COMPARABLE_LIMIT = 5e9
_RENDER_WIDTH = 80


# --- results ----------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Mismatch:
    """One field that kept an event from matching.

    Attributes:
        path: Where, in envelope keys (``detail.order.id``, ``detail.items[1].sku``); empty for a
            matcher that is not a pattern (a function, ``~``).
        message: What was expected and what the event has.
    """

    path: str
    message: str

    def __str__(self) -> str:
        return f"{self.path}: {self.message}" if self.path else self.message


@dataclass(frozen=True, slots=True)
class MatchResult:
    """The verdict of a matcher on one event; truthy when it matched.

    Attributes:
        matched: Whether the event matched.
        reason: Why not (empty when it matched), in words a person can read.
        score: In [0, 1], the share of the pattern's fields that matched; ranks near misses.
        mismatches: The fields that differ (the diff), for patterns.
    """

    matched: bool
    reason: str = ""
    score: float = 0.0
    mismatches: tuple[Mismatch, ...] = ()

    def __bool__(self) -> bool:
        return self.matched

    def diff(self) -> str:
        """The differing fields, one per line (the reason when there are none)."""
        if self.mismatches:
            return "\n".join(str(mismatch) for mismatch in self.mismatches)
        return self.reason


_MATCHED = MatchResult(True, "", 1.0)


# --- compiled patterns ------------------------------------------------------------------------------


def _render(value: Any, width: int = _RENDER_WIDTH) -> str:
    try:
        text = json.dumps(value, separators=(", ", ": "), ensure_ascii=False, default=repr)
    except ValueError:  # a circular structure in a hand-made event
        text = repr(value)
    return truncate(text, width)


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _numbers_equal(left: float, right: float) -> bool:
    if isinstance(left, int) and isinstance(right, int):
        return left == right
    if abs(left) <= _COMPARABLE_LIMIT and abs(right) <= _COMPARABLE_LIMIT:
        return round(left * 1e6) == round(right * 1e6)
    return left == right


def _exact(expected: Any, value: Any) -> bool:
    if expected is None or value is None:
        return expected is None and value is None
    if isinstance(expected, bool) or isinstance(value, bool):
        return isinstance(expected, bool) and isinstance(value, bool) and expected == value
    if isinstance(expected, str) or isinstance(value, str):
        return isinstance(expected, str) and isinstance(value, str) and expected == value
    if _is_number(expected) and _is_number(value):
        return _numbers_equal(expected, value)
    return False


class _Condition(abc.ABC):
    """One element of a leaf's list: a value or an operator, tested against one leaf value."""

    @abc.abstractmethod
    def accepts(self, value: Any) -> bool: ...

    @abc.abstractmethod
    def describe(self) -> str: ...


@dataclass(frozen=True, slots=True)
class _Exact(_Condition):
    value: Any

    def accepts(self, value: Any) -> bool:
        return _exact(self.value, value)

    def describe(self) -> str:
        return _render(self.value)


@dataclass(frozen=True, slots=True)
class _Affix(_Condition):
    kind: str  # "prefix" | "suffix"
    text: str
    ignore_case: bool

    def accepts(self, value: Any) -> bool:
        if not isinstance(value, str):
            return False
        subject, text = (value.lower(), self.text.lower()) if self.ignore_case else (value, self.text)
        return subject.startswith(text) if self.kind == "prefix" else subject.endswith(text)

    def describe(self) -> str:
        return f"{self.kind} {_render(self.text)}" + (" (ignoring case)" if self.ignore_case else "")


@dataclass(frozen=True, slots=True)
class _IgnoreCase(_Condition):
    text: str

    def accepts(self, value: Any) -> bool:
        return isinstance(value, str) and value.lower() == self.text.lower()

    def describe(self) -> str:
        return f"equals-ignore-case {_render(self.text)}"


@dataclass(frozen=True, slots=True)
class _Wildcard(_Condition):
    text: str
    regex: re.Pattern[str]

    def accepts(self, value: Any) -> bool:
        return isinstance(value, str) and self.regex.fullmatch(value) is not None

    def describe(self) -> str:
        return f"wildcard {_render(self.text)}"


@dataclass(frozen=True, slots=True)
class _Cidr(_Condition):
    network: ipaddress.IPv4Network | ipaddress.IPv6Network

    def accepts(self, value: Any) -> bool:
        if not isinstance(value, str):
            return False
        try:
            address = ipaddress.ip_address(value.strip())
        except ValueError:
            return False
        return address.version == self.network.version and address in self.network

    def describe(self) -> str:
        return f"cidr {_render(str(self.network))}"


@dataclass(frozen=True, slots=True)
class _Numeric(_Condition):
    bounds: tuple[tuple[str, float], ...]

    def accepts(self, value: Any) -> bool:
        if not _is_number(value):
            return False
        for op, limit in self.bounds:
            if op == "=":
                ok = _numbers_equal(value, limit)
            elif op == "<":
                ok = value < limit
            elif op == "<=":
                ok = value <= limit
            elif op == ">":
                ok = value > limit
            else:
                ok = value >= limit
            if not ok:
                return False
        return True

    def describe(self) -> str:
        return "numeric " + " and ".join(f"{op} {_render(limit)}" for op, limit in self.bounds)


@dataclass(frozen=True, slots=True)
class _AnythingBut(_Condition):
    kind: str  # "values" | "prefix" | "suffix" | "equals-ignore-case" | "wildcard"
    excluded: tuple[_Condition, ...]

    def accepts(self, value: Any) -> bool:
        return not any(condition.accepts(value) for condition in self.excluded)

    def describe(self) -> str:
        if self.kind == "values":
            if len(self.excluded) == 1:
                return f"anything-but {self.excluded[0].describe()}"
            return "anything-but one of " + ", ".join(condition.describe() for condition in self.excluded)
        return "anything-but " + " or ".join(condition.describe() for condition in self.excluded)


@dataclass(frozen=True, slots=True)
class _Exists(_Condition):
    flag: bool

    def accepts(self, value: Any) -> bool:  # evaluated per leaf, see _eval_leaf
        return self.flag

    def describe(self) -> str:
        return "exists" if self.flag else "absent (exists: false)"


@dataclass(frozen=True, slots=True)
class _Leaf:
    conditions: tuple[_Condition, ...]

    def describe(self) -> str:
        if len(self.conditions) > 1 and all(isinstance(c, _Exact) for c in self.conditions):
            return "one of " + ", ".join(condition.describe() for condition in self.conditions)
        return " or ".join(condition.describe() for condition in self.conditions)


@dataclass(frozen=True, slots=True)
class _Object:
    fields: tuple[tuple[str, _Leaf | _Object], ...]
    alternatives: tuple[_Object, ...] = ()  # from "$or"

    def describe(self, path: str = "") -> list[str]:
        parts: list[str] = []
        for key, node in self.fields:
            sub = _join(path, key)
            parts.extend([f"{sub}: {node.describe()}"] if isinstance(node, _Leaf) else node.describe(sub))
        if self.alternatives:
            branches = [", ".join(alternative.describe(path)) for alternative in self.alternatives]
            parts.append("(" + " | ".join(branches) + ")")
        return parts


def _join(path: str, key: str) -> str:
    return f"{path}.{key}" if path else key


# --- validation + compilation -----------------------------------------------------------------------


def _bad(path: str, problem: str) -> PatternError:
    return PatternError(f"invalid event pattern at {path}: {problem}")


def _string(value: Any, path: str, what: str) -> str:
    if not isinstance(value, str):
        raise _bad(path, f"{what} takes a string, got {_render(value)}")
    return value


def _wildcard_regex(text: str, path: str) -> re.Pattern[str]:
    parts: list[str] = []
    index = 0
    previous_star = False
    while index < len(text):
        char = text[index]
        if char == "\\":
            following = text[index + 1 : index + 2]
            if following not in ("*", "\\"):
                raise _bad(
                    path, f"wildcard {_render(text)}: a backslash may only escape '*' or '\\' (position {index})"
                )
            parts.append(re.escape(following))
            index += 2
            previous_star = False
            continue
        if char == "*":
            if previous_star:
                raise _bad(path, f"wildcard {_render(text)}: consecutive '*' are not allowed (position {index})")
            parts.append(".*")
            previous_star = True
        else:
            parts.append(re.escape(char))
            previous_star = False
        index += 1
    return re.compile("".join(parts), re.DOTALL)


def _affix(kind: str, value: Any, path: str) -> _Affix:
    if isinstance(value, Mapping):
        if list(value) != ["equals-ignore-case"]:
            raise _bad(path, f'{kind} takes a string or {{"equals-ignore-case": "..."}}, got {_render(value)}')
        return _Affix(kind, _string(value["equals-ignore-case"], f"{path}.equals-ignore-case", kind), True)
    return _Affix(kind, _string(value, path, kind), False)


def _numeric(value: Any, path: str) -> _Numeric:
    if not isinstance(value, list) or not value or len(value) % 2:
        raise _bad(path, f'numeric takes a list of operator/number pairs like [">", 0, "<=", 5], got {_render(value)}')
    bounds: list[tuple[str, float]] = []
    for position in range(0, len(value), 2):
        op, limit = value[position], value[position + 1]
        if op not in _NUMERIC_OPS:
            raise _bad(
                f"{path}[{position}]", f"numeric operator must be one of {', '.join(_NUMERIC_OPS)}, got {_render(op)}"
            )
        if not _is_number(limit) or not math.isfinite(limit):
            raise _bad(f"{path}[{position + 1}]", f"numeric {op} needs a number, got {_render(limit)}")
        bounds.append((op, limit))
    ops = [op for op, _ in bounds]
    lower = [limit for op, limit in bounds if op in (">", ">=")]
    upper = [limit for op, limit in bounds if op in ("<", "<=")]
    if "=" in ops and len(bounds) > 1:
        raise _bad(path, 'numeric "=" stands alone: write ["=", 5], not with other bounds')
    if len(lower) > 1 or len(upper) > 1:
        raise _bad(path, "numeric takes at most one lower bound (> or >=) and one upper bound (< or <=)")
    if lower and upper and lower[0] >= upper[0]:
        raise _bad(
            path,
            f"numeric range is empty: lower bound {_render(lower[0])} is not below upper bound {_render(upper[0])}",
        )
    return _Numeric(tuple(bounds))


def _anything_but(value: Any, path: str) -> _AnythingBut:
    if isinstance(value, Mapping):
        if len(value) != 1 or next(iter(value)) not in ("prefix", "suffix", "equals-ignore-case", "wildcard"):
            raise _bad(
                path,
                "anything-but takes a value, a list, or one of prefix/suffix/equals-ignore-case/wildcard, "
                f"got {_render(value)}",
            )
        kind, inner = next(iter(value.items()))
        sub = f"{path}.{kind}"
        texts = inner if isinstance(inner, list) else [inner]
        if not texts:
            raise _bad(sub, f"anything-but {kind} needs at least one string")
        excluded: list[_Condition] = []
        for position, item in enumerate(texts):
            where = f"{sub}[{position}]" if isinstance(inner, list) else sub
            text = _string(item, where, f"anything-but {kind}")
            if kind in ("prefix", "suffix"):
                excluded.append(_Affix(kind, text, False))
            elif kind == "equals-ignore-case":
                excluded.append(_IgnoreCase(text))
            else:
                excluded.append(_Wildcard(text, _wildcard_regex(text, where)))
        return _AnythingBut(kind, tuple(excluded))
    values = value if isinstance(value, list) else [value]
    if not values:
        raise _bad(path, "anything-but needs at least one value")
    for position, item in enumerate(values):
        if not (isinstance(item, str) or _is_number(item)):
            where = f"{path}[{position}]" if isinstance(value, list) else path
            raise _bad(
                where, f"anything-but takes strings or numbers (not null, booleans or objects), got {_render(item)}"
            )
    if isinstance(value, list) and len({isinstance(item, str) for item in values}) > 1:
        raise _bad(path, "an anything-but list must be all strings or all numbers")
    return _AnythingBut("values", tuple(_Exact(item) for item in values))


def _operator(item: Mapping[str, Any], path: str) -> _Condition:
    if len(item) != 1:
        raise _bad(path, f"an operator object has exactly one key (one of {', '.join(OPERATORS)}), got {_render(item)}")
    name, value = next(iter(item.items()))
    sub = f"{path}.{name}"
    if name in {"prefix", "suffix"}:
        return _affix(name, value, sub)
    if name == "equals-ignore-case":
        return _IgnoreCase(_string(value, sub, name))
    if name == "wildcard":
        return _Wildcard(_string(value, sub, name), _wildcard_regex(value, sub))
    if name == "anything-but":
        return _anything_but(value, sub)
    if name == "numeric":
        return _numeric(value, sub)
    if name == "exists":
        if not isinstance(value, bool):
            raise _bad(sub, f"exists takes true or false, got {_render(value)}")
        return _Exists(value)
    if name == "cidr":
        try:
            network = ipaddress.ip_network(_string(value, sub, name).strip(), strict=False)
        except ValueError as err:
            raise _bad(sub, f"cidr takes an IPv4 or IPv6 block like 10.0.0.0/24: {err}") from None
        return _Cidr(network)
    close = difflib.get_close_matches(str(name), OPERATORS, n=1)
    if close:
        hint = f" (did you mean {close[0]!r}?)"
    else:
        # Most likely an object written inside a list, to match an array of objects.
        hint = (
            ". To match objects inside an array, nest the pattern without a list: "
            '{"items": {"sku": ["x"]}} matches when any element of items has sku "x"'
        )
    raise _bad(path, f"unknown operator {name!r}; operators are: {', '.join(OPERATORS)}{hint}")


def _compile_leaf(items: list[Any], path: str) -> _Leaf:
    if not items:
        raise _bad(path, "an empty list matches nothing; list at least one value")
    conditions: list[_Condition] = []
    for position, item in enumerate(items):
        where = f"{path}[{position}]"
        if isinstance(item, Mapping):
            conditions.append(_operator(item, where))
        elif item is None or isinstance(item, (str, bool)) or _is_number(item):
            if isinstance(item, float) and not math.isfinite(item):
                raise _bad(where, f"{item} is not a JSON number")
            conditions.append(_Exact(item))
        else:
            raise _bad(
                where,
                f"a match value must be a string, number, true, false, null or an operator object, got {_render(item)}",
            )
    return _Leaf(tuple(conditions))


def _looks_like_bare_operator(value: Mapping[str, Any]) -> bool:
    """``{"prefix": "x"}`` where a list was due; a field named like an operator holds a list."""
    if len(value) != 1:
        return False
    name, inner = next(iter(value.items()))
    if name not in OPERATORS:
        return False
    if name == "numeric" and isinstance(inner, list):
        return bool(inner) and inner[0] in _NUMERIC_OPS
    return not isinstance(inner, list)


def _compile_object(raw: Any, path: str) -> _Object:
    if not isinstance(raw, Mapping):
        raise _bad(path, f"expected an object of fields, got {_render(raw)}")
    if not raw:
        raise _bad(path, "an empty object matches nothing useful; name at least one field")
    fields: list[tuple[str, _Leaf | _Object]] = []
    alternatives: tuple[_Object, ...] = ()
    for key, value in raw.items():
        if not isinstance(key, str):
            raise _bad(path, f"field names are strings, got {key!r}")
        sub = f"{path}.{key}"
        if key == "$or":
            if not isinstance(value, list) or len(value) < 2:
                raise _bad(sub, "$or takes a list of at least two patterns (with one, write its fields directly)")
            branches = []
            for position, branch in enumerate(value):
                where = f"{sub}[{position}]"
                if isinstance(branch, Mapping) and any(name in OPERATORS for name in branch):
                    raise _bad(where, f"$or takes patterns (objects of fields), not operators: {_render(branch)}")
                branches.append(_compile_object(branch, where))
            alternatives = tuple(branches)
        elif isinstance(value, list):
            fields.append((key, _compile_leaf(value, sub)))
        elif isinstance(value, Mapping):
            if _looks_like_bare_operator(value):
                raise _bad(sub, f"an operator must be inside a list: write [{_render(dict(value))}]")
            fields.append((key, _compile_object(value, sub)))
        else:
            raise _bad(
                sub,
                f"a field's value must be a list of match values or a nested object, got {_render(value)} "
                f"(write [{_render(value)}], or use iatk.match(...), which takes plain values)",
            )
    return _Object(tuple(fields), alternatives)


def validate_pattern(p: Any) -> None:
    """Check an EventBridge event pattern (envelope key names, leaf values in lists).

    Checks what EventBridge checks at PutRule and more: structure, operator names and arguments,
    numeric ranges, wildcard escapes, cidr blocks and the ``$or`` shape. moto has no
    ``TestEventPattern``, so this runs before anything is created.

    Args:
        p: The pattern: a dict, or its JSON text.

    Raises:
        PatternError: What is wrong and where, as a JSON path (``$.detail.state[0].anything-but``).
    """
    _compile_root(p)


def _compile_root(p: Any) -> _Object:
    if isinstance(p, (str, bytes)):
        try:
            p = json.loads(p)
        except ValueError as err:
            raise PatternError(f"invalid event pattern: not JSON ({err})") from None
    if not isinstance(p, Mapping):
        raise PatternError(f"invalid event pattern: expected a JSON object, got {_render(p)}")
    return _compile_object(p, "$")


# --- evaluation -------------------------------------------------------------------------------------

_MISSING: Any = object()


@dataclass(slots=True)
class _Outcome:
    ok: bool
    matched: int
    total: int
    mismatches: list[Mismatch]

    @property
    def ratio(self) -> float:
        return self.matched / self.total if self.total else 1.0


def _leaf_values(raw: Any) -> list[Any]:
    """The scalar values at a path: arrays are flattened, objects are not leaves."""
    if raw is _MISSING or isinstance(raw, Mapping):
        return []
    if isinstance(raw, list):
        values: list[Any] = []
        for item in raw:
            if isinstance(item, list):
                values.extend(_leaf_values(item))
            elif not isinstance(item, Mapping):
                values.append(item)
        return values
    return [raw]


def _objects(raw: Any, path: str) -> list[tuple[str, Mapping[str, Any]]]:
    """The objects at a path, each with its path: one object, or the objects inside an array."""
    if isinstance(raw, Mapping):
        return [(path, raw)]
    if isinstance(raw, list):
        found: list[tuple[str, Mapping[str, Any]]] = []
        for position, item in enumerate(raw):
            found.extend(_objects(item, f"{path}[{position}]"))
        return found
    return []


def _get(doc: Mapping[str, Any], key: str) -> Any:
    return doc.get(key, _MISSING)


def _eval_leaf(
    leaf: _Leaf, doc: Mapping[str, Any], scope: Sequence[Mapping[str, Any]], key: str, *, path: str, note: str
) -> _Outcome:
    raw = _get(doc, key)
    values = _leaf_values(raw)
    for condition in leaf.conditions:
        if isinstance(condition, _Exists):
            # exists:false means "no value at this path anywhere": EventBridge flattens arrays.
            hit = bool(values) if condition.flag else not any(_leaf_values(_get(other, key)) for other in scope)
        else:
            hit = any(condition.accepts(value) for value in values)
        if hit:
            return _Outcome(True, 1, 1, [])
    return _Outcome(False, 0, 1, [Mismatch(path, _leaf_miss(leaf, raw, values, scope, key=key, note=note))])


def _leaf_miss(
    leaf: _Leaf, raw: Any, values: list[Any], scope: Sequence[Mapping[str, Any]], *, key: str, note: str
) -> str:
    expected = leaf.describe()
    extra = f"; {note}" if note else ""
    if len(leaf.conditions) == 1 and isinstance(leaf.conditions[0], _Exists):
        if leaf.conditions[0].flag:
            if isinstance(raw, Mapping):
                return f'expected a value, got an object {_render(raw)} ("exists" only sees leaf values){extra}'
            return (
                f"missing (expected it to exist{extra})"
                if raw is _MISSING
                else f"expected a value, got {_render(raw)}{extra}"
            )
        if values:
            return f"expected to be absent, got {_render(raw)}"
        elsewhere = next((_get(other, key) for other in scope if _leaf_values(_get(other, key))), None)
        return f"expected to be absent, but another array element has {_render(elsewhere)}"
    if raw is _MISSING:
        return f"missing (expected {expected}{extra})"
    if isinstance(raw, Mapping):
        return (
            f"expected {expected}, got an object {_render(raw)} (patterns match leaf values; nest the pattern){extra}"
        )
    if not values:
        return f"expected {expected}, got {_render(raw)} (no values){extra}"
    return f"expected {expected}, got {_render(raw)}"


def _eval_object(
    node: _Object, doc: Mapping[str, Any], scope: Sequence[Mapping[str, Any]], path: str, note: str
) -> _Outcome:
    total = _Outcome(True, 0, 0, [])
    for key, sub in node.fields:
        sub_path = _join(path, key)
        if isinstance(sub, _Leaf):
            outcome = _eval_leaf(sub, doc, scope, key, path=sub_path, note=note)
        else:
            outcome = _eval_nested(sub, doc, scope, key, path=sub_path, note=note)
        total.ok = total.ok and outcome.ok
        total.matched += outcome.matched
        total.total += outcome.total
        total.mismatches.extend(outcome.mismatches)
    if node.alternatives:
        outcomes = [_eval_object(branch, doc, scope, path, note) for branch in node.alternatives]
        chosen = next((outcome for outcome in outcomes if outcome.ok), None)
        if chosen is None:
            chosen = max(outcomes, key=lambda outcome: outcome.ratio)
            described = " | ".join(
                f"#{number}: " + "; ".join(str(mismatch) for mismatch in outcome.mismatches)
                for number, outcome in enumerate(outcomes, 1)
            )
            total.mismatches.append(Mismatch(_join(path, "$or"), f"no alternative matched ({described})"))
            total.ok = False
        total.matched += chosen.matched
        total.total += chosen.total
    return total


def _eval_nested(
    node: _Object, doc: Mapping[str, Any], scope: Sequence[Mapping[str, Any]], key: str, *, path: str, note: str
) -> _Outcome:
    raw = _get(doc, key)
    candidates = _objects(raw, path)
    wider = [child for other in scope for _, child in _objects(_get(other, key), path)]
    if not candidates:
        if raw is not _MISSING and not note:
            note = f"{path} is {_render(raw)}, not an object"
        return _eval_object(node, {}, wider, path, note)
    best: _Outcome | None = None
    for candidate_path, candidate in candidates:
        outcome = _eval_object(node, candidate, wider, candidate_path, note)
        if outcome.ok:
            return outcome
        if best is None or outcome.ratio > best.ratio:
            best = outcome
    assert best is not None  # candidates is not empty
    return best


# --- matchers ---------------------------------------------------------------------------------------


class Matcher(abc.ABC):
    """Decides whether an :class:`~iatk.events.Event` is the one awaited, and says why not.

    Subclass it and implement :meth:`__call__` and :meth:`describe` for a custom matcher; combine
    matchers with ``&`` (both), ``|`` (either) and ``~`` (not).
    """

    @abc.abstractmethod
    def __call__(self, event: Event) -> MatchResult:
        """Match one event."""

    @abc.abstractmethod
    def describe(self) -> str:
        """What this matcher accepts, in words (used in "waiting for ..." messages)."""

    def __and__(self, other: MatcherLike) -> Matcher:
        return _AllOf((*_flatten(self, _AllOf), *_flatten(as_matcher(other), _AllOf)))

    def __rand__(self, other: MatcherLike) -> Matcher:
        return _AllOf((*_flatten(as_matcher(other), _AllOf), *_flatten(self, _AllOf)))

    def __or__(self, other: MatcherLike) -> Matcher:
        return _AnyOf((*_flatten(self, _AnyOf), *_flatten(as_matcher(other), _AnyOf)))

    def __ror__(self, other: MatcherLike) -> Matcher:
        return _AnyOf((*_flatten(as_matcher(other), _AnyOf), *_flatten(self, _AnyOf)))

    def __invert__(self) -> Matcher:
        return _Not(self)

    def __repr__(self) -> str:
        return f"<{type(self).__name__}: {self.describe()}>"


def _flatten(matcher: Matcher, kind: type[_AllOf] | type[_AnyOf]) -> tuple[Matcher, ...]:
    return matcher.parts if isinstance(matcher, kind) else (matcher,)


class _AnyEvent(Matcher):
    def __call__(self, event: Event) -> MatchResult:
        return _MATCHED

    def describe(self) -> str:
        return "any event"

    def __repr__(self) -> str:
        return "as_matcher(None)"


class PatternMatcher(Matcher):
    """An EventBridge event pattern, compiled once; made by :func:`match` and :func:`pattern`.

    Attributes:
        pattern: The raw EventBridge pattern (envelope keys, values in lists), valid as a rule's
            ``EventPattern``: ``json.dumps(iatk.match(...).pattern)``.
    """

    def __init__(self, raw: Mapping[str, Any], *, shown: str) -> None:
        self.pattern: dict[str, Any] = dict(raw)
        self._root = _compile_root(raw)
        self._shown = shown

    def __call__(self, event: Event) -> MatchResult:
        document = event.as_dict()
        result = self.test(document)
        if result.matched or event.is_envelope or not event.body:
            return result
        preview = truncate(event.body, _RENDER_WIDTH)
        if not document:
            # A string or number body (a transformed target): there is nothing a pattern can look at.
            note = (
                "the body is not an EventBridge envelope (a target with an input transformation?) "
                f"and not a JSON object, so no pattern can match it: {preview}"
            )
            return MatchResult(False, note, 0.0, (Mismatch("", note),))
        note = "(the body is not an EventBridge envelope: a target with an input transformation?)"
        return MatchResult(False, f"{result.reason} {note}", result.score, (*result.mismatches, Mismatch("", note)))

    def test(self, document: Mapping[str, Any]) -> MatchResult:
        """Match a plain dict in envelope form (an event as EventBridge sees it)."""
        outcome = _eval_object(self._root, document, [document], "", "")
        if outcome.ok:
            return _MATCHED
        return MatchResult(False, "; ".join(map(str, outcome.mismatches)), outcome.ratio, tuple(outcome.mismatches))

    def describe(self) -> str:
        return ", ".join(self._root.describe())

    def __repr__(self) -> str:
        return self._shown


class _AllOf(Matcher):
    def __init__(self, parts: tuple[Matcher, ...]) -> None:
        self.parts = parts

    def __call__(self, event: Event) -> MatchResult:
        results = [part(event) for part in self.parts]
        score = sum(result.score for result in results) / len(results)
        failed = [result for result in results if not result.matched]
        if not failed:
            return MatchResult(True, "", 1.0)
        return MatchResult(
            False,
            "; ".join(result.reason for result in failed),
            score,
            tuple(mismatch for result in failed for mismatch in result.mismatches),
        )

    def describe(self) -> str:
        return " and ".join(f"({part.describe()})" for part in self.parts)

    def __repr__(self) -> str:
        return "(" + " & ".join(map(repr, self.parts)) + ")"


class _AnyOf(Matcher):
    def __init__(self, parts: tuple[Matcher, ...]) -> None:
        self.parts = parts

    def __call__(self, event: Event) -> MatchResult:
        results = []
        for part in self.parts:
            result = part(event)
            if result.matched:
                return result
            results.append(result)
        # No mismatches: the reason keeps each alternative's fields apart, a flat diff would mix them.
        return MatchResult(
            False,
            "no alternative matched: "
            + " | ".join(f"[{number}] {result.reason}" for number, result in enumerate(results, 1)),
            max(result.score for result in results),
        )

    def describe(self) -> str:
        return " or ".join(f"({part.describe()})" for part in self.parts)

    def __repr__(self) -> str:
        return "(" + " | ".join(map(repr, self.parts)) + ")"


class _Not(Matcher):
    def __init__(self, inner: Matcher) -> None:
        self.inner = inner

    def __call__(self, event: Event) -> MatchResult:
        result = self.inner(event)
        if not result.matched:
            return MatchResult(True, "", 1.0)
        reason = f"matched but should not: {self.inner.describe()}"
        return MatchResult(False, reason, 0.0, (Mismatch("", reason),))

    def describe(self) -> str:
        return f"not ({self.inner.describe()})"

    def __invert__(self) -> Matcher:
        return self.inner

    def __repr__(self) -> str:
        return f"~{self.inner!r}"


def _callable_name(fn: Callable[..., Any]) -> str:
    name = getattr(fn, "__qualname__", None) or getattr(fn, "__name__", None) or type(fn).__name__
    if name.endswith("<lambda>"):
        code = getattr(fn, "__code__", None)
        if code is not None:
            return f"<lambda at {os.path.basename(code.co_filename)}:{code.co_firstlineno}>"
    return str(name)


class FunctionMatcher(Matcher):
    """A plain function as a matcher; made by :func:`callable_matcher` and :func:`as_matcher`."""

    def __init__(self, fn: Callable[[Any], Any], *, raw_body: bool = False) -> None:
        self.fn = fn
        self.raw_body = raw_body
        self.name = _callable_name(fn)

    def __call__(self, event: Event) -> MatchResult:
        try:
            returned = self.fn(event.body if self.raw_body else event)
        except AssertionError as err:
            text = str(err).strip()
            reason = f"{self.name} raised AssertionError: {text}" if text else f"assertion failed in {self.name}"
            return MatchResult(False, reason, 0.0)
        if isinstance(returned, MatchResult):
            return returned
        if returned is None or returned:
            return MatchResult(True, "", 1.0)
        return MatchResult(False, f"{self.name} returned {returned!r}", 0.0)

    def describe(self) -> str:
        return f"{self.name}({'body' if self.raw_body else 'event'}) passes"

    def __repr__(self) -> str:
        return f"callable_matcher({self.name}{', raw_body=True' if self.raw_body else ''})"


# --- public constructors ----------------------------------------------------------------------------

#: Anything :func:`as_matcher` turns into a matcher: a Matcher, a raw pattern dict, a function, None.
MatcherLike: TypeAlias = Matcher | Mapping[str, Any] | Callable[[Event], Any] | None


def _is_operator(value: Any) -> bool:
    return isinstance(value, Mapping) and len(value) == 1 and next(iter(value)) in OPERATORS


def _to_leaf(value: Any) -> list[Any]:
    if isinstance(value, (list, tuple)):
        return list(value)
    return [value]


def _to_raw(fields: Mapping[str, Any], *, top: bool) -> dict[str, Any]:
    """match()'s keywords to a raw pattern: plain values in lists, ``detail_type`` to ``detail-type``."""
    raw: dict[str, Any] = {}
    for key, value in fields.items():
        name = _PY_KEYS.get(key, key) if top else key
        if name == "$or":
            if not isinstance(value, (list, tuple)):
                raise PatternError(f"invalid matcher: $or takes a list of field dicts, got {_render(value)}")
            raw[name] = [_to_raw(branch, top=top) if isinstance(branch, Mapping) else branch for branch in value]
        elif isinstance(value, Mapping) and not _is_operator(value):
            raw[name] = _to_raw(value, top=False)
        else:
            raw[name] = _to_leaf(value)
    return raw


def match(**fields: Any) -> Matcher:
    """Match events with EventBridge pattern semantics, written as Python keywords.

    ``detail_type=`` means ``detail-type``; a dict value is a nested pattern (``detail={...}``),
    unless it is one operator (``{"prefix": "x"}``, or ``iatk.prefix("x")``). A plain value matches
    exactly; a list matches any of its items; ``None`` matches a JSON null. ``$or`` is written
    ``**{"$or": [{...}, {...}]}`` or, more simply, ``match(...) | match(...)``.

    Example::

        iatk.match(source="orders", detail_type=["OrderPlaced", "OrderPaid"],
                   detail={"total": iatk.numeric(">", 0), "coupon": iatk.exists(False)})

    Returns:
        A matcher; with no fields, one that matches any event.

    Raises:
        PatternError: A value is not valid pattern syntax (the message names where).
    """
    if not fields:
        return _AnyEvent()
    shown = "match(" + ", ".join(f"{key}={value!r}" for key, value in fields.items()) + ")"
    return PatternMatcher(_to_raw(fields, top=True), shown=shown)


def pattern(p: Mapping[str, Any] | str) -> Matcher:
    """Match events with a raw EventBridge event pattern (envelope keys, values in lists).

    Example::

        iatk.pattern({"source": ["orders"], "detail": {"total": [{"numeric": [">", 0]}]}})

    Args:
        p: The pattern, as a dict or as JSON text (what ``DescribeRule`` returns).

    Raises:
        PatternError: The pattern is not valid (see :func:`validate_pattern`).
    """
    raw: Any = p
    if isinstance(raw, (str, bytes)):
        try:
            raw = json.loads(raw)
        except ValueError as err:
            raise PatternError(f"invalid event pattern: not JSON ({err})") from None
    if not isinstance(raw, Mapping):
        raise PatternError(f"invalid event pattern: expected a JSON object, got {_render(raw)}")
    return PatternMatcher(raw, shown=f"pattern({dict(raw)!r})")


def callable_matcher(fn: Callable[[Any], Any], *, raw_body: bool = False) -> Matcher:
    """Wrap a function as a matcher.

    The function gets the :class:`~iatk.events.Event` (or, with ``raw_body=True``, the raw body
    string, as aws-iatk's ``assertion_fn`` did). It may:

    * raise ``AssertionError``: no match, the assertion message is the reason;
    * return None (an assert-style function that did not raise): a match;
    * return a bool or another value: its truthiness decides (``False`` is a miss, not a match,
      unlike aws-iatk 0.1.0);
    * return a :class:`MatchResult`: used as is.

    Any other exception propagates: it is a bug in the test, not a mismatch.
    """
    if not callable(fn):
        raise PatternError(f"callable_matcher needs a function, got {_render(fn)}")
    return FunctionMatcher(fn, raw_body=raw_body)


def as_matcher(obj: MatcherLike) -> Matcher:
    """Turn what a wait accepts into a :class:`Matcher`.

    Args:
        obj: None (any event), a Matcher (itself), a dict (a raw EventBridge pattern, validated), or
            a function of the Event (see :func:`callable_matcher`).

    Raises:
        PatternError: A dict that is not a valid pattern, or something that is none of these.
    """
    if obj is None:
        return _AnyEvent()
    if isinstance(obj, Matcher):
        return obj
    if isinstance(obj, Mapping):
        return pattern(obj)
    if isinstance(obj, str):
        raise PatternError(
            f"a string is not a matcher: {_render(obj)}; use iatk.match(detail_type=...) or iatk.pattern({{...}})"
        )
    if callable(obj):
        return FunctionMatcher(obj)
    raise PatternError(f"not a matcher: {_render(obj)}; pass iatk.match(...), a pattern dict, a function, or None")


# --- operator helpers -------------------------------------------------------------------------------


def _checked(operator: dict[str, Any]) -> dict[str, Any]:
    _compile_leaf([operator], "$")
    return operator


def prefix(text: str, *, ignore_case: bool = False) -> dict[str, Any]:
    """``{"prefix": text}``: the string starts with ``text`` (optionally ignoring case)."""
    return _checked({"prefix": {"equals-ignore-case": text} if ignore_case else text})


def suffix(text: str, *, ignore_case: bool = False) -> dict[str, Any]:
    """``{"suffix": text}``: the string ends with ``text`` (optionally ignoring case)."""
    return _checked({"suffix": {"equals-ignore-case": text} if ignore_case else text})


def equals_ignore_case(text: str) -> dict[str, Any]:
    """``{"equals-ignore-case": text}``: the string equals ``text`` in any case."""
    return _checked({"equals-ignore-case": text})


def wildcard(text: str) -> dict[str, Any]:
    """``{"wildcard": text}``: ``*`` matches any run of characters; ``\\*`` is a literal star."""
    return _checked({"wildcard": text})


def cidr(block: str) -> dict[str, Any]:
    """``{"cidr": block}``: the string is an IP address inside ``block`` (IPv4 or IPv6)."""
    return _checked({"cidr": block})


def exists(flag: bool = True) -> dict[str, Any]:
    """``{"exists": flag}``: the field has a value (or, with False, has none anywhere)."""
    return _checked({"exists": flag})


def anything_but(*values: Any) -> dict[str, Any]:
    """``{"anything-but": ...}``: any value except these.

    Example: ``anything_but("failed", "cancelled")``, ``anything_but(prefix("test-"))``,
    ``anything_but(equals_ignore_case("x"))``, ``anything_but(wildcard("*.tmp"))``.
    """
    if not values:
        raise PatternError("anything_but needs at least one value")
    inner: Any = values[0] if len(values) == 1 else list(values)
    if len(values) == 1 and isinstance(inner, (list, tuple)):
        inner = list(inner)
    return _checked({"anything-but": inner})


def numeric(
    *bounds: Any,
    gt: float | None = None,
    ge: float | None = None,
    lt: float | None = None,
    le: float | None = None,
    eq: float | None = None,
) -> dict[str, Any]:
    """``{"numeric": [...]}``: a number within bounds.

    Example: ``numeric(">", 0, "<=", 5)`` or ``numeric(gt=0, le=5)``; ``numeric("=", 5)`` matches 5.0.
    """
    terms: list[Any] = list(bounds)
    for op, limit in ((">", gt), (">=", ge), ("<", lt), ("<=", le), ("=", eq)):
        if limit is not None:
            terms += [op, limit]
    return _checked({"numeric": terms})


# --- diagnostics ------------------------------------------------------------------------------------


def explain(matcher: MatcherLike, events: Iterable[Event], *, limit: int | None = None, width: int = 160) -> str:
    """Each event with why it did (not) match, nearest miss first: the body of a timeout message.

    Args:
        matcher: What was awaited (anything :func:`as_matcher` takes).
        events: The events received.
        limit: Show at most this many events (the nearest misses); the rest are counted. Default:
            all of them.
        width: Truncate each body to this many characters.

    Returns:
        A multi-line text, e.g.::

            2 events received, none matched; nearest miss first:
              1. id=1f0c... source='video.plugin' detail-type='plugin-failed' body={"version": ...}
                 detail-type: expected prefix "plugin-complete", got "plugin-failed"
    """
    chosen = as_matcher(matcher)
    judged = [(event, chosen(event)) for event in events]
    if not judged:
        return "no events were received"
    # sorted() is stable: equal scores keep the order of arrival.
    judged.sort(key=lambda pair: (not pair[1].matched, -pair[1].score))
    hits = sum(1 for _, result in judged if result.matched)
    verdict = f"{hits} matched" if hits else "none matched"
    lines = [f"{len(judged)} event{'s' if len(judged) != 1 else ''} received, {verdict}; nearest miss first:"]
    if limit is None:
        limit = len(judged)
    for number, (event, result) in enumerate(judged[:limit], 1):
        lines.append(f"  {number}. {event.summary(width)}")
        if result.matched:
            lines.append("     matched")
            continue
        lines.extend(f"     {text}" for text in result.diff().splitlines())
    if len(judged) > limit:
        lines.append(f"  … and {len(judged) - limit} more not shown")
    return "\n".join(lines)
