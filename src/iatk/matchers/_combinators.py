"""The :class:`Matcher` protocol and its kinds: patterns, functions, ``&``, ``|`` and ``~``; and the
constructors a wait's argument goes through (:func:`match`, :func:`pattern`, :func:`callable_matcher`,
:func:`as_matcher`).
"""

from __future__ import annotations

import abc
import functools
import json
import os
from collections.abc import Callable, Mapping
from typing import Any, TypeAlias

from iatk._text import truncate
from iatk.events import Event
from iatk.exceptions import PatternError

from ._pattern import compile_pattern, keywords_to_pattern
from ._results import MATCHED, MatchResult, Mismatch
from ._values import RENDER_WIDTH, render


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
        return MATCHED

    def describe(self) -> str:
        return "any event"

    def __repr__(self) -> str:
        return "as_matcher(None)"


#: What a miss on a body that is not an envelope adds (once: :func:`~._explain.explain` shows it once per listing).
TRANSFORMED_NOTE = "(the body is not an EventBridge envelope: a target with an input transformation?)"


class PatternMatcher(Matcher):
    """An EventBridge event pattern, compiled once; made by :func:`match` and :func:`pattern`.

    Attributes:
        pattern: The raw EventBridge pattern (envelope keys, values in lists), valid as a rule's
            ``EventPattern``: ``json.dumps(iatk.match(...).pattern)``.
    """

    def __init__(self, raw: Mapping[str, Any], *, shown: str) -> None:
        self.pattern: dict[str, Any] = dict(raw)
        self._root = compile_pattern(raw)
        self._shown = shown

    def __call__(self, event: Event) -> MatchResult:
        document = event.as_dict()
        result = self.test(document)
        if result.matched or event.is_envelope or not event.body:
            return result
        preview = truncate(event.body, RENDER_WIDTH)
        if not document:
            # A string or number body (a transformed target): there is nothing a pattern can look at.
            note = (
                "the body is not an EventBridge envelope (a target with an input transformation?) "
                f"and not a JSON object, so no pattern can match it: {preview}"
            )
            return MatchResult(False, note, 0.0, (Mismatch("", note),))
        note = TRANSFORMED_NOTE
        return MatchResult(False, f"{result.reason} {note}", result.score, (*result.mismatches, Mismatch("", note)))

    def test(self, document: Mapping[str, Any]) -> MatchResult:
        """Match a plain dict in envelope form (an event as EventBridge sees it)."""
        return self._root.test(document)

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


def _callable_summary(fn: Callable[..., Any]) -> str | None:
    """The first line of a function's own docstring (a callable object's class docstring is not its own)."""
    doc = getattr(fn, "__doc__", None)
    if not isinstance(doc, str) or not doc.strip() or isinstance(fn, functools.partial) or doc is type(fn).__doc__:
        return None
    return doc.strip().splitlines()[0].strip()


def _callable_name(fn: Callable[..., Any]) -> str:
    """How a function matcher is named: its qualified name without the ``<locals>`` of the function that
    defined it (``test_x.<locals>.is_paid`` → ``is_paid``); a lambda by its file and line."""
    name = getattr(fn, "__qualname__", None) or getattr(fn, "__name__", None) or type(fn).__name__
    if name.endswith("<lambda>"):
        code = getattr(fn, "__code__", None)
        if code is not None:
            return f"<lambda at {os.path.basename(code.co_filename)}:{code.co_firstlineno}>"
    return str(name).rpartition("<locals>.")[2]


class FunctionMatcher(Matcher):
    """A plain function as a matcher; made by :func:`callable_matcher` and :func:`as_matcher`."""

    def __init__(self, fn: Callable[[Any], Any], *, raw_body: bool = False) -> None:
        self.fn = fn
        self.raw_body = raw_body
        self.name = _callable_name(fn)
        self.summary = _callable_summary(fn)

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
        call = f"{self.name}({'body' if self.raw_body else 'event'})"
        return f"{self.summary} [{call}]" if self.summary else f"{call} passes"

    def __repr__(self) -> str:
        return f"callable_matcher({self.name}{', raw_body=True' if self.raw_body else ''})"


# --- public constructors ----------------------------------------------------------------------------

#: Anything :func:`as_matcher` turns into a matcher: a Matcher, a raw pattern dict, a function, None.
MatcherLike: TypeAlias = Matcher | Mapping[str, Any] | Callable[[Event], Any] | None


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
    raw = keywords_to_pattern(fields, top=True)  # first: it bounds the depth that repr() walks below
    shown = "match(" + ", ".join(f"{key}={value!r}" for key, value in fields.items()) + ")"
    return PatternMatcher(raw, shown=shown)


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
        raise PatternError(f"invalid event pattern: expected a JSON object, got {render(raw)}")
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
        raise PatternError(f"callable_matcher needs a function, got {render(fn)}")
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
            f"a string is not a matcher: {render(obj)}; use iatk.match(detail_type=...) or iatk.pattern({{...}})"
        )
    if callable(obj):
        return FunctionMatcher(obj)
    raise PatternError(f"not a matcher: {render(obj)}; pass iatk.match(...), a pattern dict, a function, or None")
