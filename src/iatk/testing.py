"""Helpers for unit-testing your own matchers, waits and trace assertions, without AWS.

Everything here is public and stable, and it is what iatk's own tests use:

- :class:`FakeClock`: a monotonic clock that moves only when the code under test sleeps; pass it as
  ``clock=`` and its :meth:`~FakeClock.sleep` as ``sleep=`` to :func:`iatk.waiting.wait_until`,
  :class:`iatk.waiting.Deadline` or :func:`iatk.get_trace_tree`, and a 30 s wait runs instantly;
- :func:`make_event`: an :class:`iatk.Event` as a listener would receive it, to try a matcher on;
- :class:`TraceBuilder`: X-Ray trace documents (segments, subsegments, errors, annotations) and the
  :class:`iatk.TraceTree` built from them, to try a path or duration assertion on;
- :func:`answer_call`: answer one botocore operation with an AWS-shaped response, at the AWS
  boundary (a ``before-call`` hook), for the calls the embedded backend cannot make;
- :func:`moto_session`: a ready session on a fresh embedded moto backend.

Example::

    from iatk.testing import FakeClock, make_event
    import iatk

    def test_my_matcher_explains_a_miss():
        event = make_event("order-placed", {"total": 5})
        result = iatk.match(detail={"total": [{"numeric": [">", 10]}]})(event)
        assert not result and "total" in result.reason

Importing this module loads no boto3; :func:`answer_call` and :func:`moto_session` load it when called.
"""

from __future__ import annotations

import copy
import datetime as dt
import itertools
import json
import secrets
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from types import SimpleNamespace
from typing import TYPE_CHECKING, Any

from .exceptions import ConfigError

if TYPE_CHECKING:
    import boto3

    from .events import Event
    from .trace import TraceTree

__all__ = ["FakeClock", "TraceBuilder", "answer_call", "make_event", "moto_session"]

#: The account and region :func:`make_event` puts in its envelopes unless told otherwise.
TEST_ACCOUNT = "123456789012"
TEST_REGION = "us-east-1"


class FakeClock:
    """A monotonic clock that moves only when the code under test sleeps (or :meth:`advance` is called).

    Call it for the time; pass :meth:`sleep` where the code takes a ``sleep=``. ``sleeps`` lists
    every sleep asked for, in order; a negative sleep fails at once (a wait that computes one has a
    bug worth seeing).
    """

    def __init__(self, start: float = 1000.0) -> None:
        self.now = float(start)
        self.sleeps: list[float] = []

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        """Record ``seconds`` and move the clock by it."""
        if seconds < 0:
            raise AssertionError(f"the code under test asked to sleep {seconds} s (negative)")
        self.sleeps.append(seconds)
        self.now += seconds

    def advance(self, seconds: float) -> None:
        """Move the clock without recording a sleep (time passing elsewhere)."""
        self.now += seconds

    @property
    def elapsed(self) -> float:
        """Total time slept so far."""
        return sum(self.sleeps)


def make_event(
    detail_type: str = "test-event",
    detail: Any = None,
    *,
    source: str = "iatk.test",
    id: str | None = None,
    time: dt.datetime | None = None,
    resources: Sequence[str] = (),
    account: str = TEST_ACCOUNT,
    region: str = TEST_REGION,
    received_at: dt.datetime | None = None,
    body: str | None = None,
) -> Event:
    """An :class:`iatk.Event` as a listener would receive it: an EventBridge envelope, parsed.

    Args:
        detail_type: The envelope's ``detail-type``.
        detail: Its ``detail`` (default ``{}``); any JSON value.
        source: Its ``source``.
        id: Its ``id`` (default: a random UUID-shaped id).
        time: Its ``time`` (default: now, to the second, as EventBridge sends it).
        resources: Its ``resources``.
        account: Its ``account``.
        region: Its ``region``.
        received_at: When it was "received" (default: now); sets the event's latency.
        body: A raw body instead of an envelope (a transformed target's output, say); the other
            envelope arguments are then ignored.
    """
    from .events import Event

    if body is None:
        when = (time or dt.datetime.now(dt.timezone.utc)).astimezone(dt.timezone.utc)
        envelope = {
            "version": "0",
            "id": id or _uuid(),
            "detail-type": detail_type,
            "source": source,
            "account": account,
            "time": when.strftime("%Y-%m-%dT%H:%M:%SZ"),
            "region": region,
            "resources": list(resources),
            "detail": {} if detail is None else detail,
        }
        body = json.dumps(envelope)
    return Event.from_body(body, received_at=received_at, message_id=id or _uuid())


def _uuid() -> str:
    raw = secrets.token_hex(16)
    return f"{raw[:8]}-{raw[8:12]}-{raw[12:16]}-{raw[16:20]}-{raw[20:]}"


class TraceBuilder:
    """X-Ray trace documents built in a few lines, and the :class:`iatk.TraceTree` made from them.

    Each :meth:`segment` / :meth:`subsegment` call returns the new node's id, to use as a parent.
    Times advance by ``step`` seconds per node unless given, so sibling order is the call order.

    Example::

        trace = TraceBuilder()
        sfn = trace.segment("checkout-workflow", origin="AWS::StepFunctions::StateMachine")
        task = trace.subsegment(sfn, "ChargeCard")
        trace.segment("charge-fn", parent=task, origin="AWS::Lambda::Function", fault=True)
        tree = trace.tree()
        assert [s.name for s in tree.paths[0]] == ["checkout-workflow", "charge-fn"]
    """

    def __init__(self, trace_id: str | None = None, *, start: float = 1_700_000_000.0, step: float = 0.01) -> None:
        self.trace_id = trace_id or f"1-{int(start):08x}-{secrets.token_hex(12)}"
        self._clock = start
        self._step = step
        self._segments: list[dict[str, Any]] = []
        self._by_id: dict[str, dict[str, Any]] = {}
        self._ids = itertools.count(1)

    def _next_id(self) -> str:
        return f"{next(self._ids):016x}"

    def _times(self, start: float | None, duration: float, in_progress: bool) -> dict[str, Any]:
        if start is None:
            start = self._clock
            self._clock += self._step
        times: dict[str, Any] = {"start_time": start}
        if in_progress:
            times["in_progress"] = True
        else:
            times["end_time"] = start + duration
        return times

    def segment(
        self,
        name: str,
        *,
        parent: str | None = None,
        origin: str | None = None,
        start: float | None = None,
        duration: float = 0.1,
        error: bool = False,
        fault: bool = False,
        throttle: bool = False,
        in_progress: bool = False,
        **fields: Any,
    ) -> str:
        """Add a segment (a hop: a service or a function); returns its id.

        ``parent`` is the id of the subsegment (or segment) that called it; extra keyword arguments
        (``http=``, ``annotations=``, ``metadata=``, ``aws=``, ``resource_arn=``...) go into the
        document as they are.
        """
        node_id = self._next_id()
        document: dict[str, Any] = {"id": node_id, "name": name, "trace_id": self.trace_id}
        document.update(self._times(start, duration, in_progress))
        if parent is not None:
            self._require(parent)
            document["parent_id"] = parent
        if origin is not None:
            document["origin"] = origin
        document.update(_flags(error=error, fault=fault, throttle=throttle))
        document.update(fields)
        self._segments.append(document)
        self._by_id[node_id] = document
        return node_id

    def subsegment(
        self,
        parent: str,
        name: str,
        *,
        namespace: str | None = None,
        start: float | None = None,
        duration: float = 0.05,
        error: bool = False,
        fault: bool = False,
        throttle: bool = False,
        in_progress: bool = False,
        **fields: Any,
    ) -> str:
        """Add a subsegment (a step inside a segment: a call, a state) under ``parent``; returns its id."""
        host = self._require(parent)
        node_id = self._next_id()
        document: dict[str, Any] = {"id": node_id, "name": name}
        document.update(self._times(start, duration, in_progress))
        if namespace is not None:
            document["namespace"] = namespace
        document.update(_flags(error=error, fault=fault, throttle=throttle))
        document.update(fields)
        host.setdefault("subsegments", []).append(document)
        self._by_id[node_id] = document
        return node_id

    def _require(self, node_id: str) -> dict[str, Any]:
        found = self._by_id.get(node_id)
        if found is None:
            known = ", ".join(self._by_id) or "none yet"
            raise ConfigError(f"no segment or subsegment with id {node_id!r} in this trace; ids so far: {known}")
        return found

    def traces(self) -> list[dict[str, Any]]:
        """The trace as ``BatchGetTraces`` returns it: a one-item ``Traces`` list."""
        documents = [{"Id": document["id"], "Document": json.dumps(document)} for document in self._segments]
        ends = [document.get("end_time", document["start_time"]) for document in self._segments]
        starts = [document["start_time"] for document in self._segments]
        duration = (max(ends) - min(starts)) if starts else 0.0
        return [{"Id": self.trace_id, "Duration": duration, "LimitExceeded": False, "Segments": documents}]

    def tree(self, *, follow_links: bool = False) -> TraceTree:
        """The :class:`iatk.TraceTree` of these documents (as ``get_trace_tree`` would build it)."""
        from .trace import TraceTree

        return TraceTree.from_api(self.traces(), self.trace_id, follow_links=follow_links)


def _flags(*, error: bool, fault: bool, throttle: bool) -> dict[str, bool]:
    flags = {"error": error or throttle, "fault": fault, "throttle": throttle}
    return {key: value for key, value in flags.items() if value}


@contextmanager
def answer_call(
    session: boto3.Session | None, service: str, operation: str, response: Mapping[str, Any]
) -> Iterator[list[dict[str, Any]]]:
    """Answer ``service``'s ``operation`` with ``response`` (parsed, AWS-shaped) while the block runs.

    The answer is given at the AWS boundary, by a botocore ``before-call`` hook on iatk's cached
    client for ``session`` (``None``: the run's default session), so everything above it (iatk's
    own code, its error handling) runs for real. Use it for calls the embedded backend cannot
    make, or to replay a recorded answer. Yields the list of requests answered (their parameters).

    Example::

        with answer_call(session, "xray", "GetTraceSegmentDestination", {"Destination": "XRay"}) as seen:
            ...
        assert len(seen) == 1
    """
    from ._aws import aws

    client = aws(session).client(service)
    name = client.meta.service_model.service_name
    seen: list[dict[str, Any]] = []

    def record(params: Mapping[str, Any], **_: Any) -> None:
        seen.append(dict(params))

    def respond(**_: Any) -> tuple[Any, dict[str, Any]]:
        return SimpleNamespace(status_code=200, headers={}, raw=None), copy.deepcopy(dict(response))

    hooks = ((f"before-parameter-build.{name}.{operation}", record), (f"before-call.{name}.{operation}", respond))
    for event, handler in hooks:
        client.meta.events.register(event, handler)
    try:
        yield seen
    finally:
        for event, handler in hooks:
            client.meta.events.unregister(event, handler)


@contextmanager
def moto_session(region: str | None = None, *, make_default: bool = False) -> Iterator[boto3.Session]:
    """A session on a fresh embedded moto backend (needs the ``iatk[moto]`` extra); stopped at the end.

    Unlike :func:`iatk.embedded_session`, it does not become the default session unless asked, so
    a test that uses it affects nothing else.
    """
    from .embedded import embedded_session

    with embedded_session(region, make_default=make_default) as session:
        yield session
