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

The package, one concept per module:

* :mod:`._operators`: the operator table (name -> check and compile -> condition, helper) and the
  helpers ``prefix``, ``numeric``...;
* :mod:`._pattern`: compiling a pattern (with its validation messages) and evaluating it, with a
  reason for each field that differs;
* :mod:`._combinators`: :class:`Matcher`, ``&``, ``|``, ``~``, function matchers, :func:`match`,
  :func:`pattern`, :func:`as_matcher`;
* :mod:`._explain`: the nearest-miss listing waits' timeouts show;
* :mod:`._results` (MatchResult, Mismatch) and :mod:`._values` (comparison and rendering of values).
"""

from __future__ import annotations

# FunctionMatcher and PatternMatcher (what functions and patterns become) stay public outside __all__, as before.
from ._combinators import (
    FunctionMatcher as FunctionMatcher,
    Matcher,
    MatcherLike,
    PatternMatcher as PatternMatcher,
    as_matcher,
    callable_matcher,
    match,
    pattern,
)
from ._explain import explain
from ._operators import (
    OPERATORS,
    anything_but,
    cidr,
    equals_ignore_case,
    exists,
    numeric,
    prefix,
    suffix,
    wildcard,
)
from ._pattern import validate_pattern
from ._results import MatchResult, Mismatch

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
