"""The EventBridge comparison operators: ONE table, from an operator's name to how it is checked,
compiled and written.

Each operator has three parts, all in this module:

* a :class:`Condition`: what it accepts of one leaf value, and how it reads in a reason;
* a compile function ``(argument, path) -> Condition``: checks the operator's argument (raising
  :class:`~iatk.exceptions.PatternError` naming ``path``) and builds the condition. Checking and
  compiling are one step, so :func:`~iatk.matchers.validate_pattern` is a compile that keeps nothing;
* a public helper (``iatk.prefix``...) that writes the operator's dict, checked.

Adding an operator is one :data:`TABLE` entry plus those three, here; then the helper's name in
``iatk.matchers`` (import and ``__all__``) and in ``iatk``'s public names (tests/unit/test_matchers.py
checks that every entry's helper is exported from both).
The names in messages ("operators are: ...") and in :data:`OPERATORS` come from the table.
"""

from __future__ import annotations

import abc
import functools
import ipaddress
import math
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from iatk._text import closest
from iatk.exceptions import PatternError

from ._values import bad, exact, is_number, numbers_equal, render

NUMERIC_OPS = ("<", "<=", "=", ">=", ">")
# anything-but's object forms: {"anything-but": {"prefix": "x"}} and the like.
_ANYTHING_BUT_KINDS = ("prefix", "suffix", "equals-ignore-case", "wildcard")


# --- conditions -------------------------------------------------------------------------------------


class Condition(abc.ABC):
    """One element of a leaf's list: a value or an operator, tested against one leaf value."""

    @abc.abstractmethod
    def accepts(self, value: Any) -> bool: ...

    @abc.abstractmethod
    def describe(self) -> str: ...


@dataclass(frozen=True, slots=True)
class Exact(Condition):
    """A plain value in a leaf's list (``["video.plugin"]``)."""

    value: Any

    def accepts(self, value: Any) -> bool:
        return exact(self.value, value)

    def describe(self) -> str:
        return render(self.value)


def case_forms(text: str) -> str:
    """A regex matching ``text`` in any case as EventBridge sees it (event-ruler's equals-ignore-case).

    event-ruler replaces each character of the pattern's value by its lower- or its upper-case form
    (Java's full case mappings, as Python's ``str.lower`` / ``str.upper``) and compares the event's
    value as it is: ``"ῆ"`` matches ``"Η͂"`` (its upper case is two characters), and a value is never
    folded, so ``"ß"`` matches ``"SS"`` and ``"ß"`` but not ``"ss"``. Characters beyond the Basic
    Multilingual Plane match only themselves.
    """
    parts: list[str] = []
    for char in text:
        forms = {char} if ord(char) > 0xFFFF else {char.lower(), char.upper()}
        if len(forms) == 1:
            parts.append(re.escape(forms.pop()))
        else:
            parts.append("(?:" + "|".join(re.escape(form) for form in sorted(forms, key=len, reverse=True)) + ")")
    return "".join(parts)


@dataclass(frozen=True, slots=True)
class Affix(Condition):
    kind: str  # "prefix" | "suffix"
    text: str
    ignore_case: bool

    def accepts(self, value: Any) -> bool:
        if not isinstance(value, str):
            return False
        if self.ignore_case:
            forms = _case_regex(self.text, "prefix" if self.kind == "prefix" else "suffix")
            return forms.search(value) is not None
        return value.startswith(self.text) if self.kind == "prefix" else value.endswith(self.text)

    def describe(self) -> str:
        return f"{self.kind} {render(self.text)}" + (" (ignoring case)" if self.ignore_case else "")


@dataclass(frozen=True, slots=True)
class IgnoreCase(Condition):
    text: str

    def accepts(self, value: Any) -> bool:
        return isinstance(value, str) and _case_regex(self.text, "whole").fullmatch(value) is not None

    def describe(self) -> str:
        return f"equals-ignore-case {render(self.text)}"


@functools.lru_cache(maxsize=1024)
def _case_regex(text: str, where: str) -> re.Pattern[str]:
    forms = case_forms(text)
    return re.compile(
        f"^(?:{forms})" if where == "prefix" else f"(?:{forms})\\Z" if where == "suffix" else forms, re.DOTALL
    )


@dataclass(frozen=True, slots=True)
class Wildcard(Condition):
    text: str
    regex: re.Pattern[str]

    def accepts(self, value: Any) -> bool:
        return isinstance(value, str) and self.regex.fullmatch(value) is not None

    def describe(self) -> str:
        return f"wildcard {render(self.text)}"


@dataclass(frozen=True, slots=True)
class Cidr(Condition):
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
        return f"cidr {render(str(self.network))}"


@dataclass(frozen=True, slots=True)
class Numeric(Condition):
    bounds: tuple[tuple[str, float], ...]

    def accepts(self, value: Any) -> bool:
        if not is_number(value):
            return False
        for op, limit in self.bounds:
            if op == "=":
                ok = numbers_equal(value, limit)
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
        return "numeric " + " and ".join(f"{op} {render(limit)}" for op, limit in self.bounds)


@dataclass(frozen=True, slots=True)
class AnythingBut(Condition):
    kind: str  # "values" | "prefix" | "suffix" | "equals-ignore-case" | "wildcard"
    excluded: tuple[Condition, ...]

    def accepts(self, value: Any) -> bool:
        return not any(condition.accepts(value) for condition in self.excluded)

    def describe(self) -> str:
        if self.kind == "values":
            if len(self.excluded) == 1:
                return f"anything-but {self.excluded[0].describe()}"
            return "anything-but one of " + ", ".join(condition.describe() for condition in self.excluded)
        return "anything-but " + " or ".join(condition.describe() for condition in self.excluded)


@dataclass(frozen=True, slots=True)
class Exists(Condition):
    flag: bool

    def accepts(self, value: Any) -> bool:  # evaluated per leaf, see _pattern._eval_leaf
        return self.flag

    def describe(self) -> str:
        return "exists" if self.flag else "absent (exists: false)"


# --- checking and compiling each operator's argument ------------------------------------------------


def _string(value: Any, path: str, what: str) -> str:
    if not isinstance(value, str):
        raise bad(path, f"{what} takes a string, got {render(value)}")
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
                raise bad(path, f"wildcard {render(text)}: a backslash may only escape '*' or '\\' (position {index})")
            parts.append(re.escape(following))
            index += 2
            previous_star = False
            continue
        if char == "*":
            if previous_star:
                raise bad(path, f"wildcard {render(text)}: consecutive '*' are not allowed (position {index})")
            parts.append(".*")
            previous_star = True
        else:
            parts.append(re.escape(char))
            previous_star = False
        index += 1
    return re.compile("".join(parts), re.DOTALL)


def _affix(kind: str, value: Any, path: str) -> Affix:
    if isinstance(value, Mapping):
        if list(value) != ["equals-ignore-case"]:
            raise bad(path, f'{kind} takes a string or {{"equals-ignore-case": "..."}}, got {render(value)}')
        return Affix(kind, _string(value["equals-ignore-case"], f"{path}.equals-ignore-case", kind), True)
    return Affix(kind, _string(value, path, kind), False)


def _compile_prefix(value: Any, path: str) -> Affix:
    return _affix("prefix", value, path)


def _compile_suffix(value: Any, path: str) -> Affix:
    return _affix("suffix", value, path)


def _compile_equals_ignore_case(value: Any, path: str) -> IgnoreCase:
    return IgnoreCase(_string(value, path, "equals-ignore-case"))


def _compile_wildcard(value: Any, path: str) -> Wildcard:
    return Wildcard(_string(value, path, "wildcard"), _wildcard_regex(value, path))


def _compile_exists(value: Any, path: str) -> Exists:
    if not isinstance(value, bool):
        raise bad(path, f"exists takes true or false, got {render(value)}")
    return Exists(value)


def _compile_cidr(value: Any, path: str) -> Cidr:
    text = _string(value, path, "cidr").strip()  # outside the try: a PatternError is a ValueError too
    try:
        network = ipaddress.ip_network(text, strict=False)
    except ValueError:
        raise bad(
            path, f"cidr takes an IPv4 or IPv6 block like 10.0.0.0/24 or 2001:db8::/32, got {render(value)}"
        ) from None
    return Cidr(network)


def _compile_numeric(value: Any, path: str) -> Numeric:
    if not isinstance(value, list) or not value or len(value) % 2:
        raise bad(path, f'numeric takes a list of operator/number pairs like [">", 0, "<=", 5], got {render(value)}')
    if len(value) > 4:
        raise bad(
            path, f"numeric takes at most two operator/number pairs (a lower bound, then an upper), got {render(value)}"
        )
    bounds: list[tuple[str, float]] = []
    for position in range(0, len(value), 2):
        op, limit = value[position], value[position + 1]
        if op not in NUMERIC_OPS:
            raise bad(
                f"{path}[{position}]", f"numeric operator must be one of {', '.join(NUMERIC_OPS)}, got {render(op)}"
            )
        if not is_number(limit) or not math.isfinite(limit):
            raise bad(f"{path}[{position + 1}]", f"numeric {op} needs a number, got {render(limit)}")
        bounds.append((op, limit))
    ops = [op for op, _ in bounds]
    lower = [limit for op, limit in bounds if op in (">", ">=")]
    upper = [limit for op, limit in bounds if op in ("<", "<=")]
    if "=" in ops and len(bounds) > 1:
        raise bad(path, 'numeric "=" stands alone: write ["=", 5], not with other bounds')
    if len(lower) > 1 or len(upper) > 1:
        raise bad(path, "numeric takes at most one lower bound (> or >=) and one upper bound (< or <=)")
    if len(bounds) == 2 and ops[0] in ("<", "<="):
        # EventBridge reads a range lower bound first: ["<", 1, ">", 0] is refused at PutRule
        swapped = [bounds[1][0], bounds[1][1], bounds[0][0], bounds[0][1]]
        raise bad(path, f"numeric ranges give the lower bound first: write {render(swapped)}")
    if lower and upper and lower[0] >= upper[0]:
        raise bad(
            path,
            f"numeric range is empty: lower bound {render(lower[0])} is not below upper bound {render(upper[0])}",
        )
    return Numeric(tuple(bounds))


def _compile_anything_but(value: Any, path: str) -> AnythingBut:
    if isinstance(value, Mapping):
        if len(value) != 1 or next(iter(value)) not in _ANYTHING_BUT_KINDS:
            raise bad(
                path,
                "anything-but takes a value, a list, or one of prefix/suffix/equals-ignore-case/wildcard, "
                f"got {render(value)}",
            )
        kind, inner = next(iter(value.items()))
        sub = f"{path}.{kind}"
        texts = inner if isinstance(inner, list) else [inner]
        if not texts:
            raise bad(sub, f"anything-but {kind} needs at least one string")
        excluded: list[Condition] = []
        for position, item in enumerate(texts):
            where = f"{sub}[{position}]" if isinstance(inner, list) else sub
            text = _string(item, where, f"anything-but {kind}")
            if kind in ("prefix", "suffix") and not text:
                raise bad(where, f"anything-but {kind} takes a non-empty string (EventBridge refuses an empty {kind})")
            if kind in ("prefix", "suffix"):
                excluded.append(Affix(kind, text, False))
            elif kind == "equals-ignore-case":
                excluded.append(IgnoreCase(text))
            else:
                excluded.append(Wildcard(text, _wildcard_regex(text, where)))
        return AnythingBut(kind, tuple(excluded))
    values = value if isinstance(value, list) else [value]
    if not values:
        raise bad(path, "anything-but needs at least one value")
    for position, item in enumerate(values):
        if not (isinstance(item, str) or is_number(item)):
            where = f"{path}[{position}]" if isinstance(value, list) else path
            raise bad(
                where, f"anything-but takes strings or numbers (not null, booleans or objects), got {render(item)}"
            )
    if isinstance(value, list) and len({isinstance(item, str) for item in values}) > 1:
        raise bad(path, "an anything-but list must be all strings or all numbers")
    return AnythingBut("values", tuple(Exact(item) for item in values))


def names() -> str:
    """The operators' names for messages: ``anything-but, cidr, ...`` (read from :data:`TABLE`)."""
    return ", ".join(sorted(TABLE))


def is_operator(name: Any) -> bool:
    """Whether ``name`` (a key of a pattern object) is an operator's name."""
    return name in TABLE


def compile_operator(item: Mapping[str, Any], path: str) -> Condition:
    """Check and compile one operator object of a leaf's list (``{"prefix": "x"}`` at ``path``)."""
    if len(item) != 1:
        raise bad(path, f"an operator object has exactly one key (one of {names()}), got {render(item)}")
    name, value = next(iter(item.items()))
    operator = TABLE.get(name)
    if operator is not None:
        return operator.compile(value, f"{path}.{name}")
    folded = {known.lower(): known for known in TABLE}
    close = [folded[str(name).lower()]] if str(name).lower() in folded else closest(str(name), sorted(TABLE))
    if close:
        hint = f" (did you mean {close[0]!r}?)"
    else:
        # Most likely an object written inside a list, to match an array of objects.
        hint = (
            ". To match objects inside an array, nest the pattern without a list: "
            '{"items": {"sku": ["x"]}} matches when any element of items has sku "x"'
        )
    raise bad(path, f"unknown operator {name!r}; operators are: {names()}{hint}")


# --- the public helpers: each writes one operator's dict, checked -----------------------------------


def _checked(operator: dict[str, Any]) -> dict[str, Any]:
    # The path a one-item leaf gives its operator, so a helper's message reads like a pattern's.
    compile_operator(operator, "$[0]")
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


# --- the table --------------------------------------------------------------------------------------


def _no_list(argument: list[Any]) -> bool:
    return False


def _numeric_list(argument: list[Any]) -> bool:
    return bool(argument) and argument[0] in NUMERIC_OPS


@dataclass(frozen=True, slots=True)
class Operator:
    """One row of :data:`TABLE`: how a pattern operator is checked, compiled and written.

    Attributes:
        compile: Checks the operator's argument and compiles it: ``compile(argument, path)``, where
            ``path`` names the argument in messages (``$.detail.state[0].prefix``); raises
            :class:`~iatk.exceptions.PatternError`.
        helper: The public function that writes the operator's dict (``iatk.prefix``).
        list_argument: Whether a list is this operator's own argument (numeric's ``[">", 0]``), not
            the values of a field that happens to share its name: tells ``{"numeric": [">", 0]}``
            written without its list (a mistake, reported) from a field named ``numeric``.
    """

    compile: Callable[[Any, str], Condition]
    helper: Callable[..., dict[str, Any]]
    list_argument: Callable[[list[Any]], bool] = _no_list


#: The operators, by name: the single source of what a pattern may use.
TABLE: dict[str, Operator] = {
    "anything-but": Operator(_compile_anything_but, anything_but),
    "cidr": Operator(_compile_cidr, cidr),
    "equals-ignore-case": Operator(_compile_equals_ignore_case, equals_ignore_case),
    "exists": Operator(_compile_exists, exists),
    "numeric": Operator(_compile_numeric, numeric, list_argument=_numeric_list),
    "prefix": Operator(_compile_prefix, prefix),
    "suffix": Operator(_compile_suffix, suffix),
    "wildcard": Operator(_compile_wildcard, wildcard),
}

#: The EventBridge comparison operators a pattern may use (the table's names; messages read the table).
OPERATORS = tuple(sorted(TABLE))
