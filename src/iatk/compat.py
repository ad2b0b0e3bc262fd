"""The aws-iatk 0.1.0 drop-in: ``AwsIatk`` with aws-iatk's method names, arguments and result shapes.

An existing suite ports by changing its import (``from iatk import AwsIatk`` or
``import iatk as aws_iatk``). Every method maps onto the core (``Stack``, ``Listener``,
``get_trace_tree``, ``mock_event``, ``cleanup``); this module holds no AWS logic of its own. It fixes
aws-iatk's bugs (AWS-IATK.md §8) rather than copying them:

- errors carry a real code (aws-iatk's ``error_code`` is always 0) and are also ``IatkError``;
- ``get_stack_outputs`` accepts a stack ARN or id and names the missing key;
- ``add_listener`` checks PutTargets' failed entries and rejects reserved tag keys up front;
- ``remove_listeners()`` with no argument is an error, and a rule whose queue is gone is removed;
- ``poll_events`` makes one ReceiveMessage per call (the queue URL is cached);
- ``wait_until_event_matched`` treats a falsy return as "no match", keeps unmatched events for later
  calls, and keeps its deadline;
- ``get_trace_tree`` never hangs and tolerates segments still arriving; ``limit_exceeded`` is real;
- ``retry_until`` backs off (capped) on retryable errors too and never overruns its deadline;
- ``generate_mock_event`` handles booleans, untyped properties, allOf/oneOf, and tuples of contexts;
- ``patch_aws_client`` starts each call's trace with a real trace id (sent once per request), and the
  header can be read back;
- trace trees keep aws-iatk's nested types (``seg.http.request.url``, ``seg.cause.exceptions``,
  ``link.attributes.reference_type``) and add ``children``, ``inferred``, ``resource_arn``.

``error_code`` values: 400 a bad argument (found before any AWS call), 404 something asked for does
not exist (stack, output, resource, bus, rule, listener, schema), 408 a wait ran out of time (a trace
still incomplete), 500 an AWS call or a cleanup failed. The AWS error code, when there is one, is in
``aws_code`` (and ``code``, as on every :class:`iatk.IatkError`).
"""

from __future__ import annotations

import functools
import json
import logging
import random
import threading
import time
import weakref
from collections import OrderedDict
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, fields
from enum import Enum
from typing import TYPE_CHECKING, Any, TypeVar

from ._tags import TAG_ID, check_user_tags, is_harness_id
from .exceptions import (
    ConfigError,
    IatkError,
    PatternError,
    SchemaError,
    TraceError,
    TraceIncomplete,
    WaitTimeout,
)

if TYPE_CHECKING:
    import boto3

    from .events import Event
    from .listener import Listener
    from .trace import Segment as CoreSegment
    from .trace import Subsegment as CoreSubsegment
    from .trace import TraceTree

__all__ = [
    "AddEbListenerOutput",
    "AddEbListener_Resource",
    "AwsIatk",
    "Cause",
    "CauseException",
    "GenerateBareboneEventOutput",
    "GenerateMockEventOutput",
    "GetStackOutputsOutput",
    "GetTraceTreeOutput",
    "Http",
    "IatkException",
    "InvalidParamException",
    "Link",
    "LinkAttributes",
    "PhysicalIdFromStackOutput",
    "PollEventsOutput",
    "ReferenceType",
    "RemoveListenersOutput",
    "RemoveListeners_TagFilter",
    "Request",
    "Response",
    "RetryableException",
    "Segment",
    "Sql",
    "StackFrame",
    "Subsegment",
    "Trace",
    "Tree",
]

log = logging.getLogger("iatk.compat")
F = TypeVar("F", bound=Callable[..., Any])
R = TypeVar("R")

#: get_trace_tree's wait for a trace still arriving (aws-iatk's failed at once: "trace not found").
TRACE_TREE_TIMEOUT = 10.0
#: retry_until's backoff: the first pause, the factor, and the cap (aws-iatk's had no cap).
RETRY_FIRST_DELAY = 0.05
RETRY_MAX_DELAY = 2.0
_REFERENCE_TYPE_KEY = "aws.xray.reserved.reference_type"
_NOT_FOUND_CODES = frozenset(
    {
        "ResourceNotFoundException",
        "NotFoundException",
        "AWS.SimpleQueueService.NonExistentQueue",
        "QueueDoesNotExist",
        "NonExistentQueue",
    }
)


# -- errors ------------------------------------------------------------------------------------------
class IatkException(IatkError):
    """aws-iatk's exception, now also an :class:`iatk.IatkError`, so both styles of ``except`` work.

    Args:
        message: What went wrong.
        error_code: 400 bad input, 404 not found, 408 timed out, 500 an AWS or other failure
            (aws-iatk's was always 0 for errors from its binary).
        aws_code: The AWS error code, when the error comes from an AWS call.
    """

    def __init__(self, message: str, error_code: int = 500, *, aws_code: str | None = None) -> None:
        super().__init__(message, code=aws_code)
        self.error_code = error_code
        self.aws_code = aws_code


class RetryableException(IatkException):
    """Raise it inside a ``retry_until`` target to ask for another attempt (aws-iatk's name).

    It is ``retry_until``'s default ``retryable_exceptions``, and ``iatk.RetryableException`` as in
    aws-iatk (``aws_iatk.RetryableException``).
    """


class InvalidParamException(IatkException, ValueError):
    """A parameter out of its range, found before any AWS call (aws-iatk's name; ``error_code`` 400).

    Raised where aws-iatk raised its ``InvalidParamException``: ``wait_until_event_matched`` with a
    ``timeout_seconds`` outside 1..999; also for ``retry_get_trace_tree_until``'s ``timeout_seconds``
    (aws-iatk raised ``ValueError`` there, which this also is).
    """

    def __init__(self, message: str, error_code: int = 400) -> None:
        super().__init__(message, error_code)


def error_code_for(err: IatkError) -> int:
    """The aws-iatk ``error_code`` for a core error: 400, 404, 408 or 500 (see the module docstring)."""
    if isinstance(err, WaitTimeout | TraceIncomplete):
        return 408
    if isinstance(err, LookupError) or err.code in _NOT_FOUND_CODES:
        return 404
    if isinstance(err, SchemaError):
        return 404 if "not found" in str(err) else 400
    if isinstance(err, ConfigError | PatternError | TraceError):
        return 400
    return 500


def _as_exception(err: IatkError) -> IatkException:
    return IatkException(str(err), error_code_for(err), aws_code=err.code)


def _translated(fn: F) -> F:
    """Re-raise core errors as IatkException (keeping the message, the AWS code and the cause)."""

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        __tracebackhide__ = True
        try:
            return fn(*args, **kwargs)
        except IatkException:
            raise
        except IatkError as err:
            raise _as_exception(err) from err

    return wrapper  # type: ignore[return-value]


# -- result types (aws-iatk's names and attributes) ---------------------------------------------------
@dataclass(frozen=True)
class PhysicalIdFromStackOutput:
    """``get_physical_id_from_stack``'s result: ``physical_id`` (a queue's URL, a rule's name...)."""

    physical_id: str


@dataclass(frozen=True)
class GetStackOutputsOutput:
    """``get_stack_outputs``'s result: ``outputs`` maps each requested key to its value."""

    outputs: dict[str, str]


@dataclass(frozen=True)
class AddEbListener_Resource:
    """One resource of a listener: ``type``, ``physical_id`` and ``arn``."""

    type: str
    physical_id: str
    arn: str


@dataclass(frozen=True)
class AddEbListenerOutput:
    """``add_listener``'s result: the listener ``id``, the bus under test, and its queue then its rule."""

    id: str
    target_under_test: AddEbListener_Resource
    components: list[AddEbListener_Resource]


@dataclass(frozen=True)
class RemoveListenersOutput:
    """``remove_listeners``' result: ``message`` is ``"success"``."""

    message: str


@dataclass(frozen=True)
class RemoveListeners_TagFilter:
    """A tag filter for ``remove_listeners``: the key, and the values (any of them; None: any value)."""

    key: str
    values: list[str] | None = None


@dataclass(frozen=True)
class PollEventsOutput:
    """``poll_events``' result: ``events``, the raw SQS bodies (EventBridge envelope JSON text)."""

    events: list[str]


@dataclass(frozen=True)
class GenerateMockEventOutput:
    """``generate_mock_event``'s result: ``event``, a dict."""

    event: dict[str, Any]


@dataclass(frozen=True)
class GenerateBareboneEventOutput:
    """aws-iatk's raw generator result (before contexts): ``event``, a dict."""

    event: dict[str, Any]


# -- X-Ray result types (aws-iatk's ``aws_iatk.xray`` names and attributes) ----------------------------
class ReferenceType(str, Enum):
    """The kind of a span link, as in aws-iatk: ``parent`` or ``child``.

    A ``str`` enum, so ``ReferenceType.child == "child"`` holds as well.
    """

    parent = "parent"
    child = "child"


def _mapping(value: Any) -> Mapping[str, Any]:
    return value if isinstance(value, Mapping) else {}


def _list(value: Any) -> list[Any]:
    return list(value) if isinstance(value, list | tuple) else []


@dataclass(frozen=True, slots=True)
class LinkAttributes:
    """A link's attributes: ``reference_type``, and ``raw``, every attribute as sent (ours).

    ``reference_type`` is None when the link has no ``aws.xray.reserved.reference_type`` (or an
    unknown one): aws-iatk's binary crashed on such a link, its Python client raised KeyError.
    """

    reference_type: ReferenceType | None
    raw: dict[str, Any] = field(default_factory=dict, compare=False)

    @classmethod
    def from_api(cls, attributes: Any) -> LinkAttributes:
        """Build from a link's ``attributes`` object (anything else gives no attributes)."""
        raw = dict(_mapping(attributes))
        kind = raw.get(_REFERENCE_TYPE_KEY)
        reference = next((member for member in ReferenceType if member.value == kind), None)
        return cls(reference_type=reference, raw=raw)


@dataclass(frozen=True, slots=True)
class Link:
    """A span link of a segment or subsegment: ``trace_id``, ``id`` and ``attributes.reference_type``."""

    trace_id: str | None
    id: str | None
    attributes: LinkAttributes

    @classmethod
    def from_api(cls, link: Mapping[str, Any]) -> Link:
        """Build from one entry of a document's ``links``."""
        return cls(
            trace_id=link.get("trace_id"), id=link.get("id"), attributes=LinkAttributes.from_api(link.get("attributes"))
        )


def _record(cls: type[R], document: Mapping[str, Any]) -> R:
    """A record whose fields are named as the document's keys (missing keys give None)."""
    return cls(**{f.name: document.get(f.name) for f in fields(cls)})  # type: ignore[arg-type]


@dataclass(frozen=True, slots=True)
class Request:
    """``http.request``: ``method``, ``client_ip``, ``url``, ``user_agent``, ``x_forwarded_for``, ``traced``."""

    method: str | None
    client_ip: str | None
    url: str | None
    user_agent: str | None
    x_forwarded_for: bool | None
    traced: bool | None

    @classmethod
    def from_api(cls, request: Mapping[str, Any]) -> Request:
        """Build from a document's ``http.request`` object."""
        return _record(cls, request)


@dataclass(frozen=True, slots=True)
class Response:
    """``http.response``: ``status`` and ``content_length``."""

    status: int | None
    content_length: int | None

    @classmethod
    def from_api(cls, response: Mapping[str, Any]) -> Response:
        """Build from a document's ``http.response`` object."""
        return _record(cls, response)


@dataclass(frozen=True, slots=True)
class Http:
    """A segment's ``http``: ``request`` and ``response``, each None when the document has none."""

    request: Request | None
    response: Response | None

    @classmethod
    def from_api(cls, http: Any) -> Http | None:
        """Build from a document's ``http`` object; None when there is none."""
        if not isinstance(http, Mapping):
            return None
        request, response = http.get("request"), http.get("response")
        return cls(
            request=Request.from_api(request) if isinstance(request, Mapping) else None,
            response=Response.from_api(response) if isinstance(response, Mapping) else None,
        )


@dataclass(frozen=True, slots=True)
class Sql:
    """A subsegment's ``sql``: the connection, query and driver fields X-Ray records."""

    connection_string: str | None
    url: str | None
    sanitized_query: str | None
    database_type: str | None
    database_version: str | None
    driver_version: str | None
    user: str | None
    preparation: str | None

    @classmethod
    def from_api(cls, sql: Any) -> Sql | None:
        """Build from a document's ``sql`` object; None when there is none."""
        if not isinstance(sql, Mapping):
            return None
        return _record(cls, sql)


@dataclass(frozen=True, slots=True)
class StackFrame:
    """One frame of an exception's ``stack``: ``path``, ``line`` and ``label``."""

    path: str | None
    line: int | None
    label: str | None

    @classmethod
    def from_api(cls, frame: Mapping[str, Any]) -> StackFrame:
        """Build from one entry of an exception's ``stack``."""
        return _record(cls, frame)


@dataclass(frozen=True, slots=True)
class CauseException:
    """One of ``cause.exceptions`` (aws-iatk's ``xray.Exception``, renamed: that name is a builtin's).

    ``stack`` is None when the document has none, as in aws-iatk.
    """

    id: str | None
    message: str | None
    type: str | None
    remote: bool | None
    truncated: int | None
    skipped: int | None
    cause: str | None
    stack: list[StackFrame] | None

    @classmethod
    def from_api(cls, exception: Mapping[str, Any]) -> CauseException:
        """Build from one entry of a cause's ``exceptions``."""
        stack = exception.get("stack")
        frames = [StackFrame.from_api(f) for f in stack if isinstance(f, Mapping)] if isinstance(stack, list) else None
        return cls(
            id=exception.get("id"),
            message=exception.get("message"),
            type=exception.get("type"),
            remote=exception.get("remote"),
            truncated=exception.get("truncated"),
            skipped=exception.get("skipped"),
            cause=exception.get("cause"),
            stack=frames,
        )


@dataclass(frozen=True, slots=True)
class Cause:
    """A segment's ``cause`` object: ``working_directory``, ``paths`` and ``exceptions``.

    aws-iatk 0.1.0 spelled the first ``workding_directory``; that name works too.
    """

    working_directory: str
    paths: list[str]
    exceptions: list[CauseException]

    @property
    def workding_directory(self) -> str:
        """aws-iatk 0.1.0's (misspelt) name for :attr:`working_directory`."""
        return self.working_directory

    @classmethod
    def from_api(cls, cause: Mapping[str, Any]) -> Cause:
        """Build from a document's ``cause`` object."""
        return cls(
            working_directory=str(cause.get("working_directory") or ""),
            paths=[str(path) for path in _list(cause.get("paths"))],
            exceptions=[CauseException.from_api(e) for e in _list(cause.get("exceptions")) if isinstance(e, Mapping)],
        )


def _cause(value: Any) -> str | Cause | None:
    """A document's ``cause``: an exception id (a string), a :class:`Cause`, or None (none, or empty)."""
    if isinstance(value, str):
        return value or None
    if isinstance(value, Mapping) and value:
        return Cause.from_api(value)
    return None


def _links(doc: Mapping[str, Any]) -> list[Link]:
    return [Link.from_api(link) for link in _list(doc.get("links")) if isinstance(link, Mapping)]


@dataclass(frozen=True, eq=False)
class Subsegment:
    """An aws-iatk subsegment: absent booleans are None, as aws-iatk's tests expect.

    ``trace_id`` and ``parent_id`` are the document's when it has them (a subsegment sent on its own),
    else the trace's and the id of the segment or subsegment it is nested in. Nested values have
    aws-iatk's types (``http``, ``sql``, ``cause``, ``links``). Equality is by (id, trace_id), as in
    aws-iatk.
    """

    id: str
    name: str
    trace_id: str
    start_time: float | None
    end_time: float | None
    in_progress: bool | None
    parent_id: str | None
    type: str | None
    error: bool | None
    throttle: bool | None
    fault: bool | None
    http: Http | None
    sql: Sql | None
    namespace: str | None
    traced: bool | None
    precursor_ids: list[str]
    cause: str | Cause | None
    aws: dict[str, Any] | None
    annotations: dict[str, Any] | None
    metadata: dict[str, Any] | None
    subsegments: list[Subsegment]
    links: list[Link]
    # aws-iatk 0.1.0 built nested subsegments with its Segment class, so these were there too.
    origin: str | None = None
    service: dict[str, Any] | None = None
    user: str | None = None

    @classmethod
    def from_core(cls, sub: CoreSubsegment, trace_id: str, parent_id: str) -> Subsegment:
        """Convert a core :class:`iatk.Subsegment` (nested ones included) inside ``parent_id``."""
        doc = sub.document
        own_trace = str(doc.get("trace_id") or trace_id)
        return cls(
            id=sub.id,
            name=sub.name,
            trace_id=own_trace,
            start_time=sub.start_time,
            end_time=sub.end_time,
            in_progress=doc.get("in_progress"),
            parent_id=doc.get("parent_id") or parent_id,
            type=doc.get("type"),
            error=doc.get("error"),
            throttle=doc.get("throttle"),
            fault=doc.get("fault"),
            http=Http.from_api(doc.get("http")),
            sql=Sql.from_api(doc.get("sql")),
            namespace=doc.get("namespace"),
            traced=doc.get("traced"),
            precursor_ids=[str(i) for i in _list(doc.get("precursor_ids"))],
            cause=_cause(doc.get("cause")),
            aws=doc.get("aws"),
            annotations=doc.get("annotations"),
            metadata=doc.get("metadata"),
            subsegments=[cls.from_core(s, own_trace, sub.id) for s in sub.subsegments],
            links=_links(doc),
            origin=doc.get("origin"),
            service=doc.get("service"),
            user=doc.get("user"),
        )

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Subsegment) and (other.id, other.trace_id) == (self.id, self.trace_id)

    def __hash__(self) -> int:
        return hash((self.id, self.trace_id))


@dataclass(frozen=True, eq=False)
class Segment:
    """An aws-iatk segment (``id``, ``name``, ``origin``, ``error``... with absent booleans as None).

    Nested values have aws-iatk's types too: ``http.request.url``, ``cause.exceptions[0].message``,
    ``links[0].attributes.reference_type``. ``service`` stays a dict, as in aws-iatk. Unlike
    aws-iatk's, it also has ``children`` (the tree below it), ``inferred`` and ``resource_arn``.
    Equality is by (id, trace_id), as in aws-iatk.
    """

    id: str
    name: str
    trace_id: str
    start_time: float | None
    end_time: float | None
    in_progress: bool | None
    service: dict[str, Any] | None
    user: str | None
    origin: str | None
    parent_id: str | None
    http: Http | None
    error: bool | None
    throttle: bool | None
    fault: bool | None
    cause: str | Cause | None
    aws: dict[str, Any] | None
    annotations: dict[str, Any] | None
    metadata: dict[str, Any] | None
    subsegments: list[Subsegment]
    links: list[Link]
    inferred: bool | None = None
    resource_arn: str | None = None
    children: list[Segment] = field(default_factory=list)

    @classmethod
    def from_core(cls, segment: CoreSegment, cache: dict[str, Segment]) -> Segment:
        """Convert a core :class:`iatk.Segment` (and, once each, the segments below it)."""
        key = f"{segment.trace_id}/{segment.id}"
        if key in cache:
            return cache[key]
        doc = segment.document
        made = cls(
            id=segment.id,
            name=segment.name,
            trace_id=segment.trace_id,
            start_time=segment.start_time,
            end_time=segment.end_time,
            in_progress=doc.get("in_progress"),
            service=doc.get("service"),
            user=doc.get("user"),
            origin=segment.origin,
            parent_id=segment.parent_id,
            http=Http.from_api(doc.get("http")),
            error=doc.get("error"),
            throttle=doc.get("throttle"),
            fault=doc.get("fault"),
            cause=_cause(doc.get("cause")),
            aws=doc.get("aws"),
            annotations=doc.get("annotations"),
            metadata=doc.get("metadata"),
            subsegments=[Subsegment.from_core(s, segment.trace_id, segment.id) for s in segment.subsegments],
            links=_links(doc),
            inferred=doc.get("inferred"),
            resource_arn=doc.get("resource_arn"),
        )
        cache[key] = made
        made.children.extend(cls.from_core(child, cache) for child in segment.children)
        return made

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Segment) and (other.id, other.trace_id) == (self.id, self.trace_id)

    def __hash__(self) -> int:
        return hash((self.id, self.trace_id))


@dataclass(frozen=True)
class Trace:
    """The source trace: ``id``, ``duration``, ``limit_exceeded`` (X-Ray's, for real) and ``segments``."""

    id: str
    duration: float | None
    limit_exceeded: bool
    segments: list[Segment]


@dataclass(frozen=True)
class Tree:
    """aws-iatk's tree: ``root``, ``paths`` (root-to-leaf lists of segments) and ``source_trace``.

    Also ``linked_trace_limit_exceeded`` (aws-iatk's client dropped it) and ``tree``, the core
    :class:`iatk.TraceTree` (``render()``, ``find()``, ``assert_path()``).
    """

    root: Segment
    paths: list[list[Segment]]
    source_trace: Trace
    linked_trace_limit_exceeded: bool = False
    tree: Any = None


@dataclass(frozen=True)
class GetTraceTreeOutput:
    """``get_trace_tree``'s result: ``trace_tree``."""

    trace_tree: Tree


def _tree_output(tree: TraceTree) -> GetTraceTreeOutput:
    cache: dict[str, Segment] = {}
    root = Segment.from_core(tree.root, cache)
    for extra in tree.roots[1:]:
        Segment.from_core(extra, cache)
    paths = [[Segment.from_core(s, cache) for s in path] for path in tree.paths]
    source = tree.source_trace
    trace = Trace(
        id=source.id,
        duration=source.duration,
        limit_exceeded=bool(source.limit_exceeded),
        segments=[Segment.from_core(s, cache) for s in tree.segments if s.trace_id == source.id],
    )
    return GetTraceTreeOutput(
        trace_tree=Tree(
            root=root,
            paths=paths,
            source_trace=trace,
            linked_trace_limit_exceeded=tree.linked_trace_limit_exceeded,
            tree=tree,
        )
    )


# -- listeners the drop-in knows ----------------------------------------------------------------------
class _Tracked:
    """A listener plus the ids of the events already handed to the caller (polled or matched).

    aws-iatk deleted every message it received, matched or not. Here every received event stays in
    the listener's buffer until the caller has seen it: ``poll_events`` returns the ones not handed
    out yet, and a wait skips the ones already handed out.
    """

    def __init__(self, listener: Listener) -> None:
        self.listener = listener
        self.lock = threading.Lock()
        self._delivered: OrderedDict[str, None] = OrderedDict()

    def pending(self) -> list[Event]:
        return [event for event in self.listener.events if event.id not in self._delivered]

    def delivered(self, event: Event) -> bool:
        return event.id in self._delivered

    def deliver(self, events: Iterable[Event]) -> None:
        for event in events:
            self._delivered[event.id] = None
        # Events fall out of the listener's bounded buffer; forget their ids once far behind.
        limit = 2 * max(len(self.listener.events), 1000)
        while len(self._delivered) > limit:
            self._delivered.popitem(last=False)


_registry: dict[str, _Tracked] = {}
_registry_lock = threading.Lock()


def _int_in(name: str, value: Any, low: int, high: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise IatkException(f'"{name}" must be an integer between {low} and {high}; got {value!r}', 400)
    return value


def _check_listener_id(listener_id: Any) -> str:
    if not listener_id:
        raise IatkException('missing required param "ListenerId"', 400)
    if not isinstance(listener_id, str) or not is_harness_id(listener_id):
        raise IatkException(
            f"invalid ID {listener_id!r}: a listener id is 'iatk_eb_' followed by 20 characters from 0-9 "
            "and a-v (add_listener(...).id)",
            400,
        )
    return listener_id


def _tag_filters(tag_filters: Iterable[Any]) -> dict[str, list[str] | None]:
    """``RemoveListeners_TagFilter``s (or ``(key, value)`` / ``(key, [values])`` pairs) as key → values."""
    filters: dict[str, list[str] | None] = {}
    for item in tag_filters:
        key: Any
        values: Any
        if isinstance(item, RemoveListeners_TagFilter):
            key, values = item.key, item.values
        elif isinstance(item, tuple | list) and len(item) == 2:
            key, values = item[0], item[1]
        else:
            raise IatkException(
                f"a tag filter is RemoveListeners_TagFilter(key, values=None) or a (key, value) pair; got {item!r}",
                400,
            )
        if isinstance(values, str):
            values = [values]
        if not isinstance(key, str) or not key:
            raise IatkException(f"a tag filter needs a non-empty key; got {key!r}", 400)
        if values is not None and not all(isinstance(v, str) for v in values):
            raise IatkException(f"tag filter {key!r}: values must be strings; got {values!r}", 400)
        filters[key] = list(values) if values else None
    return filters


def _resolve_session(region: str | None, profile: str | None) -> boto3.Session | None:
    """The session for ``AwsIatk(region, profile)``; None means the run's default session.

    On the embedded backend (``--iatk-backend=moto``) a region or profile never leads to real AWS:
    the embedded server is used, in the region asked for.
    """
    from . import _aws
    from ._config import current_settings

    if not region and not profile:
        return None
    installed = _aws.installed_session()  # the run's session, installed by the plugin
    if installed is not None and getattr(installed, "iatk_embedded", False):
        if profile:
            log.info("AwsIatk(profile=%r) ignored: the embedded backend uses dummy credentials", profile)
        if not region or region == installed.region_name:
            return installed
        return _aws.embedded_boto_session(str(getattr(installed, "iatk_endpoint_url", "")), region)
    settings = current_settings()
    if settings.backend == "moto":
        return _aws.default_session()  # raises ConfigError: the embedded server is not running
    return _aws.IatkSession(
        profile_name=profile or settings.profile,
        region_name=region or settings.region,
        endpoint_url=settings.endpoint_url,
    )


class _FreshTraceHeader:
    """``patch_aws_client``'s botocore ``before-sign`` handler: a new trace header per API call.

    botocore signs each attempt again; the attempts of one call share ``request.context``, so a retry
    sends its call's header rather than a new one.
    """

    def __init__(self, *, sampled: bool) -> None:
        self.sampled = sampled
        self.last: str | None = None

    def __call__(self, request: Any, **_: Any) -> None:
        from .trace import new_trace_header

        context = getattr(request, "context", None)
        header = context.get(_PATCH_CONTEXT_KEY) if isinstance(context, dict) else None
        if not isinstance(header, str):
            header = str.__str__(new_trace_header(sampled=self.sampled))
            if isinstance(context, dict):
                context[_PATCH_CONTEXT_KEY] = header
        # The headers are an email Message: assignment appends, so drop any copy first.
        del request.headers[_TRACE_HEADER]
        request.headers[_TRACE_HEADER] = header
        self.last = header


_TRACE_HEADER = "X-Amzn-Trace-Id"
_PATCH_HANDLER_ID = "iatk.compat.patch_aws_client"
_PATCH_CONTEXT_KEY = "iatk_compat_trace_header"
_patched_clients: weakref.WeakKeyDictionary[Any, _FreshTraceHeader] = weakref.WeakKeyDictionary()
_patch_lock = threading.Lock()


# -- the client ---------------------------------------------------------------------------------------
class AwsIatk:
    """aws-iatk's client, in pure Python over iatk's core.

    Args:
        region: AWS region (default: the session's / boto3's chain). On the embedded backend the
            embedded server is used in that region.
        profile: AWS shared-config profile.
        session: A boto3 Session to use instead (e.g. the ``iatk_session`` fixture's). Default: the
            run's session (the embedded server under ``--iatk-backend=moto``).
    """

    def __init__(
        self, region: str | None = None, profile: str | None = None, session: boto3.Session | None = None
    ) -> None:
        self.region = region
        self.profile = profile
        self._given_session = session
        self._resolved = session is not None
        # Seams for tests of retry_until's timing (no real sleeping).
        self._clock: Callable[[], float] = time.monotonic
        self._sleep: Callable[[float], None] = time.sleep

    @property
    def session(self) -> boto3.Session | None:
        """The boto3 Session this client uses (None: the run's default session, looked up per call)."""
        if not self._resolved:
            self._given_session = _resolve_session(self.region, self.profile)
            self._resolved = True
        return self._given_session

    def __repr__(self) -> str:
        return f"AwsIatk(region={self.region!r}, profile={self.profile!r})"

    # -- CloudFormation -------------------------------------------------------------------------------
    @_translated
    def get_physical_id_from_stack(self, logical_resource_id: str, stack_name: str) -> PhysicalIdFromStackOutput:
        """The physical id of a stack's resource (a queue's URL, a rule's name...).

        Args:
            logical_resource_id: The resource's logical id in the template.
            stack_name: The stack's name, id or ARN.

        Returns:
            ``PhysicalIdFromStackOutput(physical_id)``.

        Raises:
            IatkException: 400 a missing argument; 404 no such stack or resource (the message lists
                the closest logical ids); 500 another AWS error.

        IAM permissions: cloudformation:DescribeStackResource (cloudformation:DescribeStacks and
        ListStackResources to explain a miss).
        """
        from .stack import Stack

        if not logical_resource_id:
            raise IatkException('missing required param "LogicalResourceId"', 400)
        if not stack_name:
            raise IatkException('missing required param "StackName"', 400)
        # aws-iatk reads the resource alone (one DescribeStackResource, no stack status): so does this.
        stack = Stack(stack_name, session=self.session)
        return PhysicalIdFromStackOutput(stack.physical_id(logical_resource_id, check_status=False))

    @_translated
    def get_stack_outputs(self, stack_name: str, output_names: Sequence[str]) -> GetStackOutputsOutput:
        """The requested outputs of a stack.

        Args:
            stack_name: The stack's name, id or ARN (aws-iatk accepted only the name).
            output_names: The output keys wanted (duplicates are fine; ``[]`` gives ``{}``).

        Returns:
            ``GetStackOutputsOutput(outputs)`` with exactly the requested keys.

        Raises:
            IatkException: 400 a missing stack name; 404 no such stack, or a missing output (the
                message names it and lists the outputs there are); 500 another AWS error.

        IAM permissions: cloudformation:DescribeStacks.
        """
        from .stack import Stack

        if not stack_name:
            raise IatkException('missing required param "StackName"', 400)
        if isinstance(output_names, str):
            raise IatkException(f"output_names must be a list of output keys; got the string {output_names!r}", 400)
        names = list(dict.fromkeys(output_names))
        if not names:
            return GetStackOutputsOutput({})
        stack = Stack(stack_name, session=self.session)
        return GetStackOutputsOutput({name: stack.output(name) for name in names})

    # -- listeners ------------------------------------------------------------------------------------
    @_translated
    def add_listener(
        self,
        event_bus_name: str,
        rule_name: str,
        target_id: str | None = None,
        tags: Mapping[str, str] | None = None,
    ) -> AddEbListenerOutput:
        """Create a listener: a copy of ``rule_name``'s pattern on the bus, delivering into a new queue.

        With ``target_id`` the listener also copies that target's Input, InputPath or
        InputTransformer, so it receives what the real target receives. Same resource names and tags
        as aws-iatk, so either tool cleans up after the other. Unlike aws-iatk, reserved tag keys
        are rejected before any AWS call, PutTargets' failed entries are checked (a failure rolls
        everything back), and on AWS the call returns only once the new rule delivers.

        Returns:
            ``AddEbListenerOutput``: ``id``, ``target_under_test`` (the bus) and ``components`` (the
            queue, physical id = its URL; then the rule).

        Raises:
            IatkException: 400 a missing argument or a reserved tag key (``iatk:*``); 404 no such bus,
                rule or target (the message lists those there are); 500 a creation step failed (what
                was made is removed).

        IAM permissions: events:DescribeEventBus, events:DescribeRule, events:ListTargetsByRule,
        events:PutRule, events:PutTargets, events:TagResource, events:PutEvents (AWS readiness
        canary), events:RemoveTargets, events:DeleteRule; sqs:CreateQueue, sqs:TagQueue,
        sqs:ReceiveMessage, sqs:DeleteMessage, sqs:DeleteQueue.
        """
        from .listener import Listener

        if not event_bus_name:
            raise IatkException('missing required param "EventBusName"', 400)
        if not rule_name:
            raise IatkException('missing required param "RuleName"', 400)
        check_user_tags(tags)
        listener = Listener(event_bus_name, rule=rule_name, target=target_id or None, tags=tags, session=self.session)
        listener.start()
        with _registry_lock:
            _registry[listener.id] = _Tracked(listener)
        return AddEbListenerOutput(
            id=listener.id,
            target_under_test=AddEbListener_Resource("AWS::Events::EventBus", event_bus_name, listener.bus_arn),
            components=[
                AddEbListener_Resource("AWS::SQS::Queue", listener.queue_url, listener.queue_arn),
                AddEbListener_Resource("AWS::Events::Rule", listener.rule_name, listener.rule_arn),
            ],
        )

    @_translated
    def remove_listeners(
        self,
        ids: Sequence[str] | None = None,
        tag_filters: Sequence[RemoveListeners_TagFilter | tuple[str, Any]] | None = None,
    ) -> RemoveListenersOutput:
        """Remove listeners by id, or every listener whose tags match all the filters.

        Give exactly one of ``ids`` and ``tag_filters``: calling it with neither (which did nothing
        in aws-iatk) is an error. A rule whose queue is already gone (or a queue whose rule is) is
        removed too. Every listener is attempted even when one fails.

        Args:
            ids: Listener ids (``add_listener(...).id``).
            tag_filters: ``RemoveListeners_TagFilter(key, values=None)`` items, or ``(key, value)``
                pairs. Filters combine with AND; a filter's values with OR; no values: any value.
                Only listeners (resources tagged ``iatk:TestHarness:ID``) are ever removed.

        Returns:
            ``RemoveListenersOutput("success")``; removing by tags when nothing matches is a success.

        Raises:
            IatkException: 400 neither or both arguments, or a malformed id or filter; 404 an id
                with neither a queue nor a rule; 500 a deletion failed (the message lists each
                listener with its reason; the others were still removed).

        IAM permissions: sqs:GetQueueUrl, sqs:GetQueueAttributes, sqs:ListQueueTags, sqs:ListQueues,
        sqs:DeleteQueue; events:DescribeRule, events:ListTargetsByRule, events:ListEventBuses,
        events:ListRules, events:ListTagsForResource, events:RemoveTargets, events:DeleteRule.
        """
        if ids and tag_filters:
            raise IatkException("only one of ids and tag_filters is needed, not both", 400)
        if not ids and not tag_filters:
            raise IatkException(
                "remove_listeners needs ids=[...] or tag_filters=[...]; got neither, so nothing would be removed",
                400,
            )
        if isinstance(ids, str):
            raise IatkException(f"ids must be a list of listener ids; got the string {ids!r}", 400)
        failures = (
            self._remove_by_ids([_check_listener_id(i) for i in ids])
            if ids
            else self._remove_by_tags(_tag_filters(tag_filters or ()))
        )
        if failures:
            missing = all(code == 404 for code, _ in failures)
            text = ", ".join(text for _, text in failures)
            raise IatkException(f"failed to destroy following listener(s): {text}", 404 if missing else 500)
        return RemoveListenersOutput("success")

    def _remove_by_ids(self, ids: Sequence[str]) -> list[tuple[int, str]]:
        from .cleanup import cleanup
        from .listener import Listener

        failures: list[tuple[int, str]] = []
        for listener_id in dict.fromkeys(ids):
            with _registry_lock:
                tracked = _registry.pop(listener_id, None)
            try:
                if tracked is not None:
                    tracked.listener.close()
                    continue
                try:
                    found = Listener.attach(listener_id, session=self.session)
                except IatkError as err:
                    if err.code not in _NOT_FOUND_CODES:
                        raise
                    # The queue is gone: remove whatever is left under that id (e.g. an orphan rule).
                    report = cleanup(tags={TAG_ID: listener_id}, types=("queue", "rule"), session=self.session)
                    if not report.deleted:
                        failures.append(
                            (404, f"{{resource group id: {listener_id}, reason: no queue or rule with that id}}")
                        )
                    continue
                found.close()
            except IatkError as err:
                failures.append((error_code_for(err), f"{{resource group id: {listener_id}, reason: {err}}}"))
        return failures

    def _remove_by_tags(self, filters: Mapping[str, list[str] | None]) -> list[tuple[int, str]]:
        from .cleanup import delete_harness_resources, find_harness_resources

        # Only listeners: the key every listener resource carries is always required.
        wanted: dict[str, list[str] | None] = {TAG_ID: None, **filters}
        found = find_harness_resources(tags=dict.fromkeys(wanted), types=("queue", "rule"), session=self.session)
        chosen = [
            resource
            for resource in found
            if all(values is None or resource.tags.get(key) in values for key, values in wanted.items())
        ]
        if not chosen:
            return []
        report = delete_harness_resources(chosen, session=self.session, check=False)
        with _registry_lock:
            for resource in report.deleted:
                _registry.pop(resource.id, None)
        return [
            (error_code_for(failed.error), f"{{resource group id: {failed.resource.id}, reason: {failed.error}}}")
            for failed in report.failed
        ]

    def _tracked(self, listener_id: str) -> _Tracked:
        from .listener import Listener

        _check_listener_id(listener_id)
        with _registry_lock:
            found = _registry.get(listener_id)
        if found is None:
            attached = _Tracked(Listener.attach(listener_id, session=self.session))
            with _registry_lock:
                found = _registry.setdefault(listener_id, attached)
        return found

    @_translated
    def poll_events(self, listener_id: str, wait_time_seconds: int, max_number_of_messages: int) -> PollEventsOutput:
        """Events that reached the listener and were not handed out yet: at most one long poll.

        Events an earlier ``wait_until_event_matched`` received but did not match are returned
        first, with no AWS call; otherwise one ReceiveMessage of up to ``wait_time_seconds`` runs
        (returning as soon as something arrives). An event is returned once.

        Args:
            listener_id: The listener id.
            wait_time_seconds: Long-poll time, 0 to 20.
            max_number_of_messages: At most this many events, 1 to 10.

        Returns:
            ``PollEventsOutput(events)``: raw bodies (JSON text of the EventBridge envelope, or what
            a copied input transformation made of it).

        Raises:
            IatkException: 400 a bound or the id is invalid; 404 no such listener; 500 SQS failed.

        IAM permissions: sqs:ReceiveMessage, sqs:DeleteMessage (first use of a listener made
        elsewhere: sqs:GetQueueUrl, sqs:ListQueueTags, sqs:GetQueueAttributes, events:DescribeRule,
        events:ListTargetsByRule).
        """
        wait = _int_in("WaitTimeSeconds", wait_time_seconds, 0, 20)
        count = _int_in("MaxNumberOfMessages", max_number_of_messages, 1, 10)
        tracked = self._tracked(listener_id)
        with tracked.lock:
            chosen = tracked.pending()[:count] or tracked.listener.poll(wait, count)
            tracked.deliver(chosen)
        return PollEventsOutput([event.body for event in chosen])

    @_translated
    def wait_until_event_matched(
        self, listener_id: str, assertion_fn: Callable[[str], Any], timeout_seconds: int = 30
    ) -> bool:
        """Wait until an event passes ``assertion_fn``; True, or False at the deadline.

        ``assertion_fn`` gets each event's raw body. It matches when it neither raises
        ``AssertionError`` nor returns a falsy value other than None (aws-iatk counted ``return
        False`` as a match). Other exceptions propagate. Events that do not match stay for later
        calls (aws-iatk deleted them). The queue is long-polled up to the deadline, which holds.

        Args:
            listener_id: The listener id.
            assertion_fn: ``body -> None/bool``, raising ``AssertionError`` for "no".
            timeout_seconds: The deadline, 1 to 999 seconds.

        Raises:
            InvalidParamException: ``timeout_seconds`` is outside 1..999 (an IatkException, 400).
            IatkException: 400 a bad id; 404 no such listener; 500 SQS failed.

        IAM permissions: sqs:ReceiveMessage, sqs:DeleteMessage.
        """
        from .matchers import callable_matcher

        timeout: Any = timeout_seconds  # checked at runtime: callers may not be typed
        if isinstance(timeout, bool) or not isinstance(timeout, int | float) or not 1 <= timeout <= 999:
            raise InvalidParamException(f"timeout_seconds must be between 1 and 999; got {timeout_seconds!r}")
        if not callable(assertion_fn):
            raise IatkException(f"assertion_fn must be a function of the event body; got {assertion_fn!r}", 400)
        tracked = self._tracked(listener_id)

        def passes(event: Event) -> Any:
            if tracked.delivered(event):
                return False
            return assertion_fn(event.body)

        passes.__name__ = getattr(assertion_fn, "__name__", "assertion_fn")
        with tracked.lock:
            try:
                event = tracked.listener.expect_event(callable_matcher(passes), within=float(timeout))
            except WaitTimeout as err:
                log.debug("wait_until_event_matched: %s", err)
                return False
            tracked.deliver([event])
        return True

    # -- X-Ray ----------------------------------------------------------------------------------------
    @_translated
    def get_trace_tree(
        self,
        tracing_header: str,
        fetch_child_traces: bool = False,
        *,
        timeout_seconds: float = TRACE_TREE_TIMEOUT,
    ) -> GetTraceTreeOutput:
        """The trace tree of a header (``Root=1-…;Sampled=1``, ``root=…``) or a bare trace id.

        A trace still arriving (unknown yet, a segment whose parent is missing, a segment in
        progress) is fetched again with capped backoff, up to ``timeout_seconds``; it never hangs.

        Args:
            tracing_header: The trace header or id.
            fetch_child_traces: Also follow linked (child) traces, up to 5 levels.
            timeout_seconds: How long to wait for the trace to be complete (ours; default 10 s).

        Raises:
            IatkException: 400 an invalid header; 408 still missing or incomplete at the deadline
                (the message says what is missing); 500 X-Ray failed.

        IAM permissions: xray:BatchGetTraces.
        """
        from .trace import get_trace_tree

        tree = get_trace_tree(
            tracing_header, within=float(timeout_seconds), follow_links=fetch_child_traces, session=self.session
        )
        return _tree_output(tree)

    def retry_until(
        self,
        assertion_fn: Callable[[Any], Any],
        timeout: float = 10,
        retryable_exceptions: tuple[type[BaseException], ...] = (RetryableException,),
    ) -> Callable[[F], Callable[..., bool]]:
        """Decorator: call the function until ``assertion_fn(output)`` holds; True, or False at the deadline.

        ``assertion_fn`` holds when it neither raises ``AssertionError`` nor returns a falsy value
        other than None. A ``retryable_exceptions`` error from the function means "try again"; other
        exceptions propagate. Both back off (0.05 s doubling, capped at 2 s, with jitter; aws-iatk
        retried errors in a tight loop and never capped), and no pause runs past the deadline.

        Args:
            assertion_fn: The condition on the function's return value.
            timeout: Seconds; ``0`` means no limit, as in aws-iatk.
            retryable_exceptions: Exception types that mean "not yet".

        Raises:
            TypeError: ``timeout`` is not a number, or ``assertion_fn`` is not callable.
            ValueError: ``timeout`` is negative.
        """
        if isinstance(timeout, bool) or not isinstance(timeout, int | float):
            raise TypeError("timeout must be an int or float")
        if timeout < 0:
            raise ValueError("timeout must not be a negative value")
        if not callable(assertion_fn):
            raise TypeError("condition is not a callable function")

        def decorator(func: F) -> Callable[..., bool]:
            @functools.wraps(func)
            def wrapper(*args: Any, **kwargs: Any) -> bool:
                return self._retry(
                    lambda: func(*args, **kwargs), assertion_fn, float(timeout), tuple(retryable_exceptions)
                )

            return wrapper

        return decorator

    def _retry(
        self,
        call: Callable[[], Any],
        assertion_fn: Callable[[Any], Any],
        timeout: float,
        retryable: tuple[type[BaseException], ...],
    ) -> bool:
        deadline = self._clock() + timeout if timeout else None
        delay = RETRY_FIRST_DELAY
        while True:
            try:
                output = call()
            except retryable as err:
                log.debug("retry_until: retryable %r", err)
            else:
                try:
                    outcome = assertion_fn(output)
                except AssertionError as err:
                    log.debug("retry_until: not yet: %s", err)
                else:
                    if outcome is None or outcome:
                        return True
                    log.debug("retry_until: not yet: the condition returned %r", outcome)
            now = self._clock()
            if deadline is not None and now >= deadline:
                return False
            pause = min(delay * random.uniform(0.75, 1.25), RETRY_MAX_DELAY)
            if deadline is not None:
                pause = min(pause, deadline - now)
            self._sleep(pause)
            delay = min(delay * 2, RETRY_MAX_DELAY)

    def retry_get_trace_tree_until(
        self,
        tracing_header: str,
        assertion_fn: Callable[[GetTraceTreeOutput], Any],
        fetch_child_traces: bool = False,
        timeout_seconds: int = 30,
    ) -> bool:
        """True once ``assertion_fn`` holds on the trace tree, False at the deadline (0 = no limit).

        "Trace not found" and "found a segment with no parent" (aws-iatk #106: the child arrived
        before its parent) are retried with capped backoff, as is a condition that does not hold yet
        (``AssertionError``, or a falsy return other than None). Other exceptions from
        ``assertion_fn`` propagate.

        aws-iatk 0.1.0's signature had no ``fetch_child_traces`` (it came later, unreleased): a number
        given third, as in ``retry_get_trace_tree_until(header, fn, 60)``, is read as 0.1.0's
        ``timeout_seconds``, not as "follow linked traces".

        Raises:
            InvalidParamException: ``timeout_seconds`` is negative or not a number (an
                IatkException, 400, and a ValueError as aws-iatk raised).
            IatkException: 400 an invalid header; 500 X-Ray failed.

        IAM permissions: xray:BatchGetTraces.
        """
        from .trace import get_trace_tree

        # Checked at runtime: callers may not be typed.
        third: Any = fetch_child_traces
        given: Any
        if isinstance(third, int | float) and not isinstance(third, bool):
            if timeout_seconds != 30:  # the default: only one of the two may be given
                raise InvalidParamException(
                    f"fetch_child_traces={third!r} and timeout_seconds={timeout_seconds!r}: a number third is "
                    "aws-iatk 0.1.0's timeout_seconds; give timeout_seconds= alone"
                )
            fetch_child_traces, given = False, third
        else:
            given = timeout_seconds
        if isinstance(given, bool) or not isinstance(given, int | float) or given < 0:
            raise InvalidParamException(f"timeout_seconds must be a number >= 0 (0 means no limit); got {given!r}")
        within = float(given) if given else 10.0 * 365 * 86400

        def holds(tree: TraceTree) -> Any:
            return assertion_fn(_tree_output(tree))

        holds.__name__ = getattr(assertion_fn, "__name__", "assertion_fn")
        try:
            get_trace_tree(
                tracing_header, within=within, until=holds, follow_links=fetch_child_traces, session=self.session
            )
        except (WaitTimeout, TraceIncomplete) as err:
            log.debug("retry_get_trace_tree_until: %s", err)
            return False
        except IatkError as err:
            raise _as_exception(err) from err
        return True

    def patch_aws_client(self, client: Any, sampled: int = 1) -> Any:
        """Make each call of ``client`` start a new trace, with a real trace id; returns the client.

        As in aws-iatk every API call gets a new trace, but the header names its id (aws-iatk sent an
        empty ``Root=``, so the id was unknown until read back from a response), a retry keeps its
        call's id, and the header is sent once per request even when patched twice (the new patch
        replaces the old one, and a :func:`iatk.trace_client` patch). Read the last one sent with
        :meth:`trace_header_of`; pass it to :meth:`get_trace_tree`.

        Args:
            client: A boto3 client.
            sampled: 1 asks X-Ray to record the traces, 0 not to.

        Returns:
            The same client, patched in place.

        Raises:
            IatkException: 400 ``client`` is not a boto3 client.
        """
        from .trace import untrace_client

        events = getattr(getattr(client, "meta", None), "events", None)
        if events is None:
            raise IatkException(f"patch_aws_client needs a boto3 client; got {type(client).__name__}", 400)
        handler = _FreshTraceHeader(sampled=bool(sampled))
        event = f"before-sign.{client.meta.service_model.service_id.hyphenize()}"
        with _patch_lock:
            untrace_client(client)
            events.unregister(event, unique_id=_PATCH_HANDLER_ID)
            events.register(event, handler, unique_id=_PATCH_HANDLER_ID)
            _patched_clients[client] = handler
        return client

    def trace_header_of(self, client: Any) -> str | None:
        """The header ``client`` sent on its last call since :meth:`patch_aws_client` (ours).

        Returns:
            ``Root=1-…;Sampled=1``, or None when the client was not patched or made no call yet.
        """
        handler = _patched_clients.get(client)
        return handler.last if handler is not None else None

    # -- mock events ----------------------------------------------------------------------------------
    @_translated
    def generate_mock_event(
        self,
        registry_name: str | None = None,
        schema_name: str | None = None,
        schema_version: str | None = None,
        event_ref: str | None = None,
        skip_optional: bool | None = None,
        contexts: Iterable[Callable[[dict[str, Any]], dict[str, Any]]] | None = None,
        *,
        schema_file: str | None = None,
    ) -> GenerateMockEventOutput:
        """A mock event from a registry schema, or from a local file with ``schema_file=`` (ours).

        OpenAPI 3 and JSON Schema draft 4 schemas, with booleans, untyped properties, allOf, oneOf,
        anyOf, array items and examples (aws-iatk failed or ignored these). ``event_ref`` is a
        component name (``AWSEvent``) or a ``#/...`` pointer; by default ``AWSEvent`` or the only
        component. ``contexts`` (a list, tuple or any iterable of ``event -> event`` functions) are
        applied in order.

        Raises:
            IatkException: 400 missing arguments, an unsupported construct, or a context that returns
                something not JSON-serializable; 404 no such registry, schema or version, or a
                context that returns None ("event is empty"); 500 another AWS error.

        IAM permissions: schemas:DescribeSchema (registry schemas).
        """
        from .mock_events import mock_event

        if schema_file is None and not (registry_name and schema_name):
            raise IatkException('requires both "RegistryName" and "SchemaName" (or schema_file=)', 400)
        if contexts is not None and callable(contexts):
            appliers: list[Callable[[dict[str, Any]], Any]] = [contexts]
        else:
            appliers = list(contexts or ())
        for apply in appliers:
            if not callable(apply):
                raise IatkException(f"contexts must be functions event -> event; got {apply!r}", 400)
        event: Any = mock_event(
            registry_name if schema_file is None else None,
            schema_name if schema_file is None else None,
            schema_version or None,
            schema_file=schema_file,
            event_ref=event_ref or None,
            skip_optional=bool(skip_optional),
            session=self.session,
        )
        for apply in appliers:
            event = apply(event)
            name = getattr(apply, "__name__", repr(apply))
            if event is None:
                raise IatkException(f"event is empty, make sure function returns a valid event (context {name})", 404)
            try:
                json.dumps(event)
            except (TypeError, ValueError):
                raise IatkException(f"context applier {name} returns a non-JSON-serializable result", 400) from None
        return GenerateMockEventOutput(event)
