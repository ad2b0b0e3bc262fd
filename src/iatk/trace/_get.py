"""get_trace_tree: read a trace from a source until it is complete (and ``until`` holds), or the deadline."""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

from iatk._aws import THROTTLE_CODES, aws
from iatk._config import current_settings, parse_duration
from iatk.exceptions import AwsError, ConfigError, TraceError, TraceIncomplete, WaitTimeout
from iatk.waiting import Deadline, NotYet, wait_until

from ._assemble import Outcome, build, incomplete_message
from ._choose import choose_trace_source
from ._header import TraceHeader
from ._model import TraceTree, mapping

if TYPE_CHECKING:
    import boto3

    from ._source import TraceSource

# Backoff between fetches: 0.2 s doubling to 2 s, each ±25 % (jitter), cut to the time left, with
# one last look at the deadline. A 5 s deadline makes about 7 requests; a 60 s one about 35.
_BACKOFF_BASE = 0.2
_BACKOFF_CAP = 2.0
_BACKOFF_JITTER = 0.25


def _is_lambda(function: Callable[..., object]) -> bool:
    code = getattr(function, "__code__", None)
    return getattr(code, "co_name", None) == "<lambda>"


def _check_until(until: Callable[[TraceTree], object], tree: TraceTree) -> str | None:
    """None when ``until`` holds for ``tree``, else the reason it does not (yet).

    The rule for a None result: a lambda is an expression, so its value is its answer and None
    (``next(iter(t.find(name="x")), None)`` finding nothing) means "not yet". Any other function is
    assert-style: falling off its end returns None, which means "holds".
    """
    try:
        result = until(tree)
    except AssertionError as err:
        return str(err).strip() or "AssertionError"
    if result is None:
        if not _is_lambda(until):
            return None
        return (
            "the lambda returned None, which means not yet (a lambda's value is its answer; for an "
            "assert-style check such as self.assertEqual(...), write a def or end the lambda with `or True`)"
        )
    if bool(result):
        return None
    return f"{getattr(until, '__name__', 'until')} returned {result!r}"


def get_trace_tree(
    trace: str | TraceHeader | Mapping[str, Any] | Any,
    within: float | str | None = None,
    until: Callable[[TraceTree], object] | None = None,
    follow_links: bool = False,
    session: boto3.Session | None = None,
    *,
    source: str | None = None,
    clock: Callable[[], float] | None = None,
    sleep: Callable[[float], None] | None = None,
) -> TraceTree:
    """Read a trace once it is complete, as a :class:`TraceTree`, from X-Ray or Transaction Search.

    The source is X-Ray (``BatchGetTraces``) or Transaction Search (``StartTraceRetrieval`` /
    ``ListRetrievedTraces``), chosen per account from ``GetTraceSegmentDestination`` unless
    ``source=`` or the ``trace_source`` setting names one (:func:`choose_trace_source`).

    "Not complete yet" is retried with capped exponential backoff and jitter (0.2 s doubling to
    2 s) until ``within``: the trace is unknown or unprocessed, a segment's parent is not there, or a
    segment is still in progress. Other errors (access denied, validation) are raised at once.

    Args:
        trace: A trace id (X-Ray's ``1-…`` or 32 hex digits), an ``X-Amzn-Trace-Id`` header string
            (``Root=…``, ``root=…``, with ``Parent=``/``Self=``/``Sampled=`` parts), a W3C
            ``traceparent``, a :class:`TraceHeader`, an OpenTelemetry ``SpanContext`` (or span), or a
            boto3 response that carries a header (``traceHeader`` of DescribeExecution, or Lambda's
            ``x-amzn-trace-id`` response header).
        within: The deadline, in seconds or a text like ``"30s"``. Default: the ``trace_timeout``
            setting (``--iatk-trace-timeout``, 60 s).
        until: A condition on the tree, retried until it holds since a tree grows as services
            report. A predicate holds when it returns a truthy value; an ``AssertionError`` means
            "not yet". A None result depends on the kind of function: from a ``lambda`` it means
            "not yet" (``lambda t: next(iter(t.find(name="x")), None)`` waits for ``x``), from a
            ``def`` (or any other callable) it means "holds", as an assert-style function that
            falls off its end returns None. Other exceptions propagate at once.
        follow_links: Also fetch linked traces (links of reference type ``child`` on any segment or
            subsegment, e.g. SQS or EventBridge fan-out) and attach each under the segment that
            links to it, down to :data:`MAX_LINK_DEPTH` levels.
        session: The boto3 Session (default: the run's).
        source: ``"xray"``, ``"transaction-search"`` or ``"auto"`` (default: the ``trace_source``
            setting, ``--iatk-trace-source``, itself ``auto`` by default).
        clock, sleep: Seams for tests (default ``time.monotonic`` and ``time.sleep``).

    Returns:
        The complete tree (and, with ``until``, one for which the condition holds).

    Raises:
        TraceError: ``trace`` is not a trace id or header (before any AWS call).
        TraceIncomplete: At the deadline the trace was still missing or incomplete; the message says
            what is missing and shows what was there.
        WaitTimeout: The tree was complete but ``until`` did not hold by the deadline; the message
            has the last reason and the last tree, ``.last`` the tree.
        AwsError: The source's call failed for a reason other than throttling.

    IAM permissions:
        X-Ray: ``xray:BatchGetTraces``. Transaction Search: ``xray:StartTraceRetrieval``,
        ``xray:ListRetrievedTraces`` and ``xray:CancelTraceRetrieval``. With ``auto``:
        ``xray:GetTraceSegmentDestination`` as well (without it, X-Ray is used).
    """
    __tracebackhide__ = True
    return read_trace_tree(trace, within, until, follow_links, session, clock=clock, sleep=sleep, source=source)


def read_trace_tree(
    trace: str | TraceHeader | Mapping[str, Any] | Any,
    within: float | str | None,
    until: Callable[[TraceTree], object] | None,
    follow_links: bool,
    session: boto3.Session | None,
    *,
    clock: Callable[[], float] | None,
    sleep: Callable[[float], None] | None,
    source: TraceSource | str | None = None,
) -> TraceTree:
    """:func:`get_trace_tree` with the source open: the package's way to read from another source.

    Args:
        source: Where traces are read from: a :class:`TraceSource`, or a name (``"xray"``,
            ``"transaction-search"``, ``"auto"``) or None for :func:`choose_trace_source`'s choice
            on ``session``'s cached client. The arguments are checked before a source is made.
        trace, within, until, follow_links, session, clock, sleep: As for :func:`get_trace_tree`.
    """
    __tracebackhide__ = True
    header = header_from(trace)
    timeout = current_settings().trace_timeout if within is None else parse_duration(within, name="within")
    if until is not None and not callable(until):
        raise ConfigError(f"until= must be a function of the tree, got {until!r}")
    chosen = ""
    if source is None or isinstance(source, str):
        choice = choose_trace_source(session, source=source)
        source = choice.open(aws(session))
        chosen = f" ({choice.reason})"
    reader: TraceSource = source
    deadline = Deadline(timeout, clock=clock or time.monotonic)
    condition = getattr(until, "__name__", "until")

    def attempt() -> TraceTree | NotYet:
        try:
            outcome = build(reader.fetch, header.root, follow_links)
        except AwsError as err:
            if err.code not in THROTTLE_CODES:
                raise
            return NotYet(Outcome(None, [f"throttled ({err.code})"], False))
        if outcome.tree is None or outcome.problems:
            return NotYet(outcome)
        if until is not None:
            reason = _check_until(until, outcome.tree)
            if reason is not None:
                return NotYet((outcome.tree, reason))
        return outcome.tree

    def explain(last: Any) -> str:
        if isinstance(last, tuple):
            tree, reason = last
            rendered = tree.render()
            # assert_path() and friends put the tree in their message: show it once, at the end
            reason = reason.replace(f"\n{rendered}", "").replace(rendered, "").strip() or "(no message)"
            return f"{reader.describe_requests()}; last reason: {reason}\nlast tree:\n{rendered}"
        return ""

    try:
        return wait_until(
            attempt,
            deadline=deadline,
            description=f"{reader.name} trace {header.root} to satisfy {condition}",
            interval=_BACKOFF_BASE,
            backoff=2.0,
            max_interval=_BACKOFF_CAP,
            jitter=_BACKOFF_JITTER,
            explain=explain,
            sleep=sleep or time.sleep,
        )
    except WaitTimeout as err:
        if isinstance(err.last, tuple):
            err.last = err.last[0]  # the last tree, for the report
            raise
        when = f"after {deadline.elapsed():.1f} s ({reader.describe_requests(region=True)})"
        answer = getattr(reader, "last_answer", None)
        said = f"; it last answered: {answer()}" if callable(answer) else ""
        hint = f"Read from {reader.name}{chosen}{said}.\n{reader.hint(header)}"
        last = err.last if isinstance(err.last, Outcome) else Outcome(None, [], False)
        raise TraceIncomplete(incomplete_message(header.root, last, when, hint)) from None
    finally:
        close = getattr(reader, "close", None)
        if callable(close):
            close()


def header_from(trace: str | TraceHeader | Mapping[str, Any] | Any) -> TraceHeader:
    """The header ``trace`` names: an id, a header or traceparent string, a SpanContext, or a response."""
    if not isinstance(trace, (str, Mapping)) and (hasattr(trace, "trace_id") or hasattr(trace, "get_span_context")):
        return TraceHeader.from_span_context(trace)
    if isinstance(trace, Mapping):
        value = trace.get("traceHeader") or trace.get("TraceHeader")
        if value is None:
            headers = mapping(mapping(trace.get("ResponseMetadata")).get("HTTPHeaders"))
            value = headers.get("x-amzn-trace-id")
        if not isinstance(value, str):
            raise TraceError(
                "no trace header in that response (looked for traceHeader and the x-amzn-trace-id "
                "response header); pass the trace id or the header string instead"
            )
        return TraceHeader.parse(value)
    return TraceHeader.parse(trace)
