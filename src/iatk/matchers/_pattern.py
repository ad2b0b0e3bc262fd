"""An EventBridge event pattern: compiled once (checked as it goes), evaluated against a document,
with a mismatch (what was expected, what the event has) for every field that differs.

The semantics are in the package docstring (:mod:`iatk.matchers`); the operators themselves are in
:mod:`._operators`.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from iatk._nesting import MAX_NESTING, too_deep
from iatk.exceptions import PatternError

from ._complexity import MAX_COMBINATIONS, MAX_WILDCARD_COMPLEXITY, combinations, wildcard_complexity, wildcards
from ._operators import TABLE, Condition, Exact, Exists, compile_operator, is_operator
from ._results import MATCHED, MatchResult, Mismatch
from ._values import bad, is_number, render

#: PutRule takes an EventPattern of at most this many characters (no quota raises it).
MAX_PATTERN_CHARS = 4096
#: EventBridge's "Event pattern size" quota, by default (adjustable up to :data:`MAX_PATTERN_CHARS`).
DEFAULT_PATTERN_QUOTA = 2048
#: Patterns (and match() keywords) nest at most this many levels of objects and arrays in iatk.
#: EventBridge documents no nesting limit; its 2,048-character quota keeps a pattern to about 340.
MAX_PATTERN_DEPTH = MAX_NESTING

# match() keywords that are envelope keys with a dash.
_PY_KEYS = {"detail_type": "detail-type", "replay_name": "replay-name"}


# --- compiled patterns ------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Leaf:
    conditions: tuple[Condition, ...]

    def describe(self) -> str:
        if len(self.conditions) > 1 and all(isinstance(c, Exact) for c in self.conditions):
            return "one of " + ", ".join(condition.describe() for condition in self.conditions)
        return " or ".join(condition.describe() for condition in self.conditions)


@dataclass(frozen=True, slots=True)
class CompiledPattern:
    """A checked pattern object (the root, or a nested object): its fields and its ``$or`` branches."""

    fields: tuple[tuple[str, _Leaf | CompiledPattern], ...]
    alternatives: tuple[CompiledPattern, ...] = ()  # from "$or"

    def describe(self, path: str = "") -> list[str]:
        parts: list[str] = []
        for key, node in self.fields:
            sub = _join(path, key)
            parts.extend([f"{sub}: {node.describe()}"] if isinstance(node, _Leaf) else node.describe(sub))
        if self.alternatives:
            branches = [", ".join(alternative.describe(path)) for alternative in self.alternatives]
            parts.append("(" + " | ".join(branches) + ")")
        return parts

    def test(self, document: Mapping[str, Any]) -> MatchResult:
        """Match a plain dict in envelope form (an event as EventBridge sees it)."""
        outcome = _eval_object(self, document, [document], "", "")
        if outcome.ok:
            return MATCHED
        return MatchResult(False, "; ".join(map(str, outcome.mismatches)), outcome.ratio, tuple(outcome.mismatches))


def _join(path: str, key: str) -> str:
    return f"{path}.{key}" if path else key


# --- validation + compilation -----------------------------------------------------------------------


def _compile_leaf(items: list[Any], path: str) -> _Leaf:
    if not items:
        raise bad(path, "an empty list matches nothing; list at least one value")
    conditions: list[Condition] = []
    for position, item in enumerate(items):
        where = f"{path}[{position}]"
        if isinstance(item, Mapping):
            conditions.append(compile_operator(item, where))
        elif item is None or isinstance(item, (str, bool)) or is_number(item):
            if isinstance(item, float) and not math.isfinite(item):
                raise bad(where, f"{item} is not a JSON number")
            conditions.append(Exact(item))
        else:
            raise bad(
                where,
                f"a match value must be a string, number, true, false, null or an operator object, got {render(item)}",
            )
    return _Leaf(tuple(conditions))


def _looks_like_bare_operator(value: Mapping[str, Any]) -> bool:
    """``{"prefix": "x"}`` where a list was due; a field named like an operator holds a list."""
    if len(value) != 1:
        return False
    name, inner = next(iter(value.items()))
    operator = TABLE.get(name)
    if operator is None:
        return False
    if isinstance(inner, list):
        return operator.list_argument(inner)
    return True


def _compile_object(raw: Any, path: str) -> CompiledPattern:
    if not isinstance(raw, Mapping):
        raise bad(path, f"expected an object of fields, got {render(raw)}")
    if not raw:
        raise bad(path, "an empty object matches nothing useful; name at least one field")
    fields: list[tuple[str, _Leaf | CompiledPattern]] = []
    alternatives: tuple[CompiledPattern, ...] = ()
    for key, value in raw.items():
        if not isinstance(key, str):
            raise bad(path, f"field names are strings, got {key!r}")
        sub = f"{path}.{key}"
        if key == "$or":
            if not isinstance(value, list) or len(value) < 2:
                raise bad(sub, "$or takes a list of at least two patterns (with one, write its fields directly)")
            branches = []
            for position, branch in enumerate(value):
                where = f"{sub}[{position}]"
                if isinstance(branch, Mapping) and any(is_operator(name) for name in branch):
                    raise bad(where, f"$or takes patterns (objects of fields), not operators: {render(branch)}")
                branches.append(_compile_object(branch, where))
            alternatives = tuple(branches)
        elif isinstance(value, list):
            fields.append((key, _compile_leaf(value, sub)))
        elif isinstance(value, Mapping):
            if _looks_like_bare_operator(value):
                raise bad(sub, f"an operator must be inside a list: write [{render(dict(value))}]")
            fields.append((key, _compile_object(value, sub)))
        else:
            raise bad(
                sub,
                f"a field's value must be a list of match values or a nested object, got {render(value)} "
                f"(write [{render(value)}], or use iatk.match(...), which takes plain values)",
            )
    return CompiledPattern(tuple(fields), alternatives)


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
    compile_pattern(p)


def _too_long(length: int) -> PatternError:
    return PatternError(
        f"invalid event pattern: it is {length} characters as JSON; PutRule takes at most {MAX_PATTERN_CHARS} "
        f"(EventBridge's 'Event pattern size' quota is {DEFAULT_PATTERN_QUOTA} by default, {MAX_PATTERN_CHARS} "
        "at most). Split it into several rules, or match fewer values"
    )


def _too_deep(where: str) -> PatternError:
    return PatternError(
        f"invalid event pattern: it nests deeper than {MAX_PATTERN_DEPTH} levels of objects and arrays (at "
        f"{where}); iatk matches patterns up to {MAX_PATTERN_DEPTH} levels deep (EventBridge's size quota keeps "
        "real ones far shallower): flatten it"
    )


def check_shape(p: Any) -> None:
    """A pattern's depth (:data:`MAX_PATTERN_DEPTH`), measured without recursion; a dict or a list of them."""
    where = too_deep(p, MAX_PATTERN_DEPTH)
    if where is not None:
        raise _too_deep(where)


def compile_pattern(p: Any) -> CompiledPattern:
    """Check and compile a whole pattern (a dict, or its JSON text).

    Before anything walks it: its depth (:data:`MAX_PATTERN_DEPTH`) and its length as compact JSON,
    as PutRule measures it (:data:`MAX_PATTERN_CHARS`).
    """
    if isinstance(p, (str, bytes)):
        if len(p) > 4 * MAX_PATTERN_CHARS:  # far too long even with spaces: not worth parsing
            raise _too_long(len(p))
        try:
            p = json.loads(p)
        except RecursionError:
            raise _too_deep("$") from None
        except ValueError as err:
            raise PatternError(f"invalid event pattern: not JSON ({err})") from None
    if not isinstance(p, Mapping):
        raise PatternError(f"invalid event pattern: expected a JSON object, got {render(p)}")
    check_shape(p)
    try:
        length = len(json.dumps(p, separators=(",", ":"), ensure_ascii=False))
    except (TypeError, ValueError):
        length = 0  # a value JSON cannot hold: _compile_object names it
    if length > MAX_PATTERN_CHARS:
        raise _too_long(length)
    compiled = _compile_object(p, "$")
    _check_limits(p)
    return compiled


def _check_limits(raw: Mapping[str, Any]) -> None:
    """EventBridge's limits on the whole pattern: ``$or`` combinations, and wildcard complexity."""
    count = combinations(raw)
    if count > MAX_COMBINATIONS:
        raise PatternError(
            f"invalid event pattern: its $or branches expand to {count} combinations; EventBridge allows at "
            f"most {MAX_COMBINATIONS}. Split it into several rules, or factor the common fields out of $or"
        )
    for path, texts in wildcards(raw).items():
        rating = wildcard_complexity(texts)
        if rating > MAX_WILDCARD_COMPLEXITY:
            shown = ", ".join(render(text) for text in texts)
            raise bad(
                path,
                f"the wildcards {shown} have a complexity of {rating} or more, and EventBridge refuses more "
                f"than {MAX_WILDCARD_COMPLEXITY} (\"Rule is too complex\"): use fewer '*', or a "
                "prefix/suffix where one does",
            )


def _is_operator(value: Any) -> bool:
    return isinstance(value, Mapping) and len(value) == 1 and is_operator(next(iter(value)))


def _to_leaf(value: Any) -> list[Any]:
    if isinstance(value, (list, tuple)):
        return list(value)
    return [value]


def keywords_to_pattern(fields: Mapping[str, Any], *, top: bool) -> dict[str, Any]:
    """match()'s keywords to a raw pattern: plain values in lists, ``detail_type`` to ``detail-type``."""
    if top:
        check_shape(fields)
    raw: dict[str, Any] = {}
    for key, value in fields.items():
        name = _PY_KEYS.get(key, key) if top else key
        if name == "$or":
            if not isinstance(value, (list, tuple)):
                raise PatternError(f"invalid matcher: $or takes a list of field dicts, got {render(value)}")
            raw[name] = [
                keywords_to_pattern(branch, top=top) if isinstance(branch, Mapping) else branch for branch in value
            ]
        elif isinstance(value, Mapping) and not _is_operator(value):
            raw[name] = keywords_to_pattern(value, top=False)
        else:
            raw[name] = _to_leaf(value)
    return raw


# --- evaluation -------------------------------------------------------------------------------------

_MISSING: Any = object()


@dataclass(slots=True)
class _Outcome:
    ok: bool
    matched: int
    total: int
    mismatches: list[Mismatch]
    bound: bool = False  # matched an event value (not an absence): its array element is now chosen

    @property
    def ratio(self) -> float:
        return self.matched / self.total if self.total else 1.0


def _leaf_values(raw: Any) -> list[Any]:
    """The scalar values at a path: arrays are flattened (however deep, without recursion), objects are not leaves."""
    if raw is _MISSING or isinstance(raw, Mapping):
        return []
    if not isinstance(raw, list):
        return [raw]
    values: list[Any] = []
    pending: list[Any] = [iter(raw)]
    while pending:
        for item in pending[-1]:
            if isinstance(item, list):
                pending.append(iter(item))
                break
            if not isinstance(item, Mapping):
                values.append(item)
        else:
            pending.pop()
    return values


def _objects(raw: Any, path: str) -> list[tuple[str, Mapping[str, Any]]]:
    """The objects at a path, each with its path: one object, or the objects inside an array (however deep)."""
    if isinstance(raw, Mapping):
        return [(path, raw)]
    if not isinstance(raw, list):
        return []
    found: list[tuple[str, Mapping[str, Any]]] = []
    pending: list[tuple[str, Any]] = [(path, enumerate(raw))]
    while pending:
        where, items = pending[-1]
        for position, item in items:
            if isinstance(item, Mapping):
                found.append((f"{where}[{position}]", item))
            elif isinstance(item, list):
                pending.append((f"{where}[{position}]", enumerate(item)))
                break
        else:
            pending.pop()
    return found


def _get(doc: Mapping[str, Any], key: str) -> Any:
    return doc.get(key, _MISSING)


def _eval_leaf(
    leaf: _Leaf, doc: Mapping[str, Any], scope: Sequence[Mapping[str, Any]], key: str, *, path: str, note: str
) -> _Outcome:
    raw = _get(doc, key)
    values = _leaf_values(raw)
    for condition in leaf.conditions:
        if isinstance(condition, Exists):
            # exists:false means "no value at this path in any array element still in play" (scope)
            hit = bool(values) if condition.flag else not any(_leaf_values(_get(other, key)) for other in scope)
        else:
            hit = any(condition.accepts(value) for value in values)
        if hit:
            return _Outcome(True, 1, 1, [], bound=not (isinstance(condition, Exists) and not condition.flag))
    return _Outcome(False, 0, 1, [Mismatch(path, _leaf_miss(leaf, raw, values, scope, key=key, note=note))])


def _leaf_miss(
    leaf: _Leaf, raw: Any, values: list[Any], scope: Sequence[Mapping[str, Any]], *, key: str, note: str
) -> str:
    expected = leaf.describe()
    extra = f"; {note}" if note else ""
    if len(leaf.conditions) == 1 and isinstance(leaf.conditions[0], Exists):
        if leaf.conditions[0].flag:
            if isinstance(raw, Mapping):
                return f'expected a value, got an object {render(raw)} ("exists" only sees leaf values){extra}'
            return (
                f"missing (expected it to exist{extra})"
                if raw is _MISSING
                else f"expected a value, got {render(raw)}{extra}"
            )
        if values:
            return f"expected to be absent, got {render(raw)}"
        elsewhere = next((_get(other, key) for other in scope if _leaf_values(_get(other, key))), None)
        return f"expected to be absent, but another array element has {render(elsewhere)}"
    if raw is _MISSING:
        return f"missing (expected {expected}{extra})"
    if isinstance(raw, Mapping):
        return f"expected {expected}, got an object {render(raw)} (patterns match leaf values; nest the pattern){extra}"
    if not values:
        return f"expected {expected}, got {render(raw)} (no values){extra}"
    return f"expected {expected}, got {render(raw)}"


def _eval_object(
    node: CompiledPattern, doc: Mapping[str, Any], scope: Sequence[Mapping[str, Any]], path: str, note: str
) -> _Outcome:
    # event-ruler walks a pattern's fields in the order of their flattened names and keeps array
    # consistency: once a field has matched a value inside one element of an array, the fields after it
    # look only at that element. So exists:false looks at every element (scope) until then, and only
    # at this one (doc) after.
    total = _Outcome(True, 0, 0, [])
    bound = False
    outcomes: dict[str, _Outcome] = {}
    for key, sub in sorted(node.fields, key=lambda field: field[0] + ("" if isinstance(field[1], _Leaf) else ".")):
        sub_path = _join(path, key)
        in_play = [doc] if bound else scope
        if isinstance(sub, _Leaf):
            outcomes[key] = _eval_leaf(sub, doc, in_play, key, path=sub_path, note=note)
        else:
            outcomes[key] = _eval_nested(sub, doc, in_play, key, path=sub_path, note=note)
        bound = bound or (outcomes[key].ok and outcomes[key].bound)
    total.bound = bound
    for key, _sub in node.fields:  # mismatches in the pattern's order
        outcome = outcomes[key]
        total.ok = total.ok and outcome.ok
        total.matched += outcome.matched
        total.total += outcome.total
        total.mismatches.extend(outcome.mismatches)
    if node.alternatives:
        branches = [_eval_object(branch, doc, scope, path, note) for branch in node.alternatives]
        chosen = next((outcome for outcome in branches if outcome.ok), None)
        if chosen is not None:
            total.bound = total.bound or chosen.bound
        if chosen is None:
            chosen = max(branches, key=lambda outcome: outcome.ratio)
            described = " | ".join(
                f"#{number}: " + "; ".join(str(mismatch) for mismatch in outcome.mismatches)
                for number, outcome in enumerate(branches, 1)
            )
            total.mismatches.append(Mismatch(_join(path, "$or"), f"no alternative matched ({described})"))
            total.ok = False
        total.matched += chosen.matched
        total.total += chosen.total
    return total


def _eval_nested(
    node: CompiledPattern, doc: Mapping[str, Any], scope: Sequence[Mapping[str, Any]], key: str, *, path: str, note: str
) -> _Outcome:
    raw = _get(doc, key)
    candidates = _objects(raw, path)
    wider = [child for other in scope for _, child in _objects(_get(other, key), path)]
    if not candidates:
        if raw is not _MISSING and not note:
            note = f"{path} is {render(raw)}, not an object"
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
