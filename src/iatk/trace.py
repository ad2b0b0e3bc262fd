"""X-Ray traces: start a trace, send its header from boto3 clients, read it back as a tree.

The road::

    header = iatk.new_trace_header()                  # Root=1-<8 hex>-<24 hex>;Sampled=1
    sfn = iatk.trace_client(boto3.client("stepfunctions"), header)  # every call carries it
    ...
    tree = iatk.get_trace_tree(header, within=30, until=lambda t: len(t.paths) >= 2)
    tree.assert_path(["AWS::StepFunctions::StateMachine", ..., "AWS::Lambda::Function"])
    print(tree.render())

How a tree is built from ``BatchGetTraces``:

* Each segment document is a node. A segment's ``parent_id`` is looked up among the segment ids
  *and* the subsegment ids at any depth; a segment whose parent is a subsegment goes under the
  segment that holds that subsegment.
* Separate ``"type": "subsegment"`` documents (streamed by the SDKs; moto returns them as segments)
  are merged into their parent's ``subsegments``.
* Roots are the segments with no ``parent_id``. A trace started by a patched client usually has one;
  when several calls of the same client each start a service segment there are several, and
  ``tree.roots`` holds them all in (start time, id) order, ``tree.root`` being the first.
* Children are ordered by (start time, id), so paths are deterministic whatever order the API used.
* Not ready yet, and retried until the deadline: the trace is unknown (or in
  ``UnprocessedTraceIds``), a segment's parent is not there, a segment is still in progress.
* Two copies of one segment id (an in-progress copy and the final one) keep the final one.
"""

from __future__ import annotations

import copy
import importlib.util
import json
import math
import re
import sys
import threading
import time
import weakref
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field, fields
from pathlib import Path
from types import EllipsisType, MappingProxyType, ModuleType
from typing import TYPE_CHECKING, Any, Final, TypeVar

from ._aws import THROTTLE_CODES, aws, calling
from ._config import current_settings, parse_duration
from .exceptions import AwsError, ConfigError, TraceError, TraceIncomplete, WaitTimeout
from .waiting import Deadline, NotYet, wait_until

if TYPE_CHECKING:
    import boto3
    from botocore.awsrequest import AWSRequest
    from botocore.client import BaseClient

__all__ = [
    "MAX_LINK_DEPTH",
    "Link",
    "Segment",
    "Subsegment",
    "Trace",
    "TraceHeader",
    "TraceHelper",
    "TraceTree",
    "get_trace_tree",
    "new_trace_header",
    "trace_client",
    "untrace_client",
]

_T = TypeVar("_T")

#: How many levels of linked traces ``follow_links=True`` fetches below the source trace.
MAX_LINK_DEPTH: Final = 5

_TRACE_ID_RE = re.compile(r"1-[0-9a-fA-F]{8}-[0-9a-fA-F]{24}")
_W3C_ID_RE = re.compile(r"[0-9a-fA-F]{32}")
_HEADER_NAME = "X-Amzn-Trace-Id"
_HANDLER_ID = "iatk.trace_client"
_CHILD_REFERENCE = "child"
_REFERENCE_TYPE_KEY = "aws.xray.reserved.reference_type"
_BATCH_LIMIT = 5  # BatchGetTraces takes at most 5 trace ids per request

# Backoff between fetches: 0.2 s doubling to 2 s, each ±25 % (jitter), cut to the time left, with
# one last look at the deadline. A 5 s deadline makes about 7 requests; a 60 s one about 35.
_BACKOFF_BASE = 0.2
_BACKOFF_CAP = 2.0
_BACKOFF_JITTER = 0.25

_HINT = (
    "X-Ray can take 10-30 s to make a trace readable: raise within= (or --iatk-trace-timeout), "
    "and check the region and that the request was sampled (Sampled=1)."
)


# --------------------------------------------------------------------------------------------
# Headers
# --------------------------------------------------------------------------------------------


def _xray_sdk_types() -> tuple[Any, Any]:
    """aws-xray-sdk's ``TraceId`` and ``TraceHeader`` classes.

    Importing ``aws_xray_sdk.core`` runs its package ``__init__``, which builds the SDK's global
    recorder: about 300 ms and a UDP socket that is never closed. The two model modules only need
    the standard library, so they are loaded from their files; a normal import is the fallback
    (and is used as-is when the application already imported the SDK).
    """
    if not _XRAY_TYPES:
        modules = [sys.modules.get(f"aws_xray_sdk.core.models.{name}") for name in ("traceid", "trace_header")]
        if None in modules:
            try:
                modules = [_load_xray_module("traceid"), _load_xray_module("trace_header")]
            except (ImportError, OSError, AttributeError, TypeError):
                from aws_xray_sdk.core.models import trace_header, traceid

                modules = [traceid, trace_header]
        _XRAY_TYPES.append((getattr(modules[0], "TraceId"), getattr(modules[1], "TraceHeader")))  # noqa: B009
    return _XRAY_TYPES[0]


_XRAY_TYPES: list[tuple[Any, Any]] = []


def _load_xray_module(name: str) -> ModuleType:
    spec = importlib.util.find_spec("aws_xray_sdk")
    if spec is None or not spec.submodule_search_locations:
        raise ImportError("aws_xray_sdk is not installed")
    path = Path(next(iter(spec.submodule_search_locations))) / "core" / "models" / f"{name}.py"
    module_spec = importlib.util.spec_from_file_location(f"iatk._xray_{name}", path)
    if module_spec is None or module_spec.loader is None:
        raise ImportError(f"cannot load {path}")
    module = importlib.util.module_from_spec(module_spec)
    module_spec.loader.exec_module(module)
    return module


def _check_trace_id(value: str, source: str) -> str:
    if _TRACE_ID_RE.fullmatch(str(value)):
        return value
    raise TraceError(
        f"not an X-Ray trace id: {value!r} (in {source!r}); expected 1-<8 hex digits>-<24 hex digits>, "
        "e.g. 1-5759e988-bd862e3fe1be46a994272793, or a header like Root=1-...;Sampled=1"
    )


class TraceHeader(str):
    """An ``X-Amzn-Trace-Id`` header value, in canonical form: ``Root=1-…[;Parent=…][;Sampled=1]``.

    It is a ``str``, so it goes wherever a header string goes (``traceHeader=header`` on
    ``StartExecution``, ``get_trace_tree(header)``), and it is immutable. Build one with
    :func:`new_trace_header` or :meth:`parse`; the text is rendered by aws-xray-sdk's ``TraceHeader``.

    Attributes:
        root: The trace id (``1-<8 hex epoch>-<24 hex>``).
        parent: The parent segment id, or None.
        sampled: True (``Sampled=1``), False (``Sampled=0``) or None (no decision; the service decides).
    """

    __slots__ = ()

    def __new__(cls, root: str, sampled: bool | None = True, parent: str | None = None) -> TraceHeader:
        if "=" in str(root):
            raise TraceError(f"TraceHeader() takes a trace id; read a header string with TraceHeader.parse({root!r})")
        _check_trace_id(root, root)
        if parent is not None and not re.fullmatch(r"[0-9a-fA-F]{16}", parent):
            raise TraceError(f"not an X-Ray segment id: Parent={parent!r}; expected 16 hex digits")
        sdk_header = _xray_sdk_types()[1]
        text = sdk_header(root=root, parent=parent, sampled=sampled).to_header_str()
        return super().__new__(cls, text)

    @classmethod
    def parse(cls, text: str) -> TraceHeader:
        """Read a header string or a bare trace id.

        Keys are case-insensitive (Lambda returns ``root=…;parent=…;sampled=1``); ``Self=`` (added by
        load balancers) and other keys such as ``Lineage=`` are dropped. A W3C trace id (32 hex
        digits) is accepted and turned into X-Ray form. A bare trace id means ``Sampled=1``.

        Args:
            text: ``Root=1-…;Parent=…;Sampled=1``, ``root=1-…``, or ``1-5759e988-bd862e3fe1be46a994272793``.

        Returns:
            The header in canonical form.

        Raises:
            TraceError: The text is empty, has no Root, has a part with no ``=``, or the id is not an
                X-Ray trace id. Raised before any AWS call.
        """
        if not isinstance(text, str):
            raise TraceError(f"expected a trace id or an X-Amzn-Trace-Id header string, got {type(text).__name__}")
        if isinstance(text, TraceHeader):
            return text
        stripped = text.strip()
        if not stripped:
            raise TraceError("empty trace header: pass a trace id (1-…) or a header like Root=1-…;Sampled=1")
        if _TRACE_ID_RE.fullmatch(stripped):
            return cls(stripped, True)
        if _W3C_ID_RE.fullmatch(stripped):
            return cls(f"1-{stripped[:8]}-{stripped[8:]}", True)
        if "=" not in stripped:
            _check_trace_id(stripped, text)
        values: dict[str, str] = {}
        for raw_part in stripped.split(";"):
            part = raw_part.strip()
            if not part:
                continue
            key, sep, value = part.partition("=")
            if not sep:
                raise TraceError(f"trace header part {part!r} has no '=' in {text!r}; expected Root=1-…;Sampled=1")
            values.setdefault(key.strip().lower(), value.strip())
        root = values.get("root")
        if not root:
            what = "an empty Root=" if "root" in values else "no Root="
            raise TraceError(f"trace header {text!r} has {what}; expected Root=1-…;Sampled=1 or a bare trace id")
        _check_trace_id(root, text)
        sampled = {"1": True, "0": False}.get(values.get("sampled", ""))
        return cls(root, sampled, values.get("parent") or None)

    def _part(self, key: str) -> str | None:
        for part in str.split(self, ";"):
            name, _, value = part.partition("=")
            if name == key:
                return value
        return None

    @property
    def root(self) -> str:
        """The trace id."""
        return self._part("Root") or ""

    @property
    def parent(self) -> str | None:
        """The parent segment id, if the header names one."""
        return self._part("Parent")

    @property
    def sampled(self) -> bool | None:
        """The sampling decision: True, False, or None when the header leaves it to the service."""
        return {"1": True, "0": False}.get(self._part("Sampled") or "")

    def __repr__(self) -> str:
        return f"TraceHeader({str.__str__(self)!r})"

    def __reduce__(self) -> tuple[Any, tuple[str]]:
        return (TraceHeader.parse, (str.__str__(self),))


def new_trace_header(sampled: bool = True) -> TraceHeader:
    """A new trace header with a fresh trace id, ``Root=1-<8 hex epoch>-<24 hex>;Sampled=1``.

    The id comes from aws-xray-sdk's ``TraceId`` (current time + 96 random bits). Send it with
    :func:`trace_client`, or pass it where an API takes a trace header (``StartExecution``'s
    ``traceHeader``).

    Args:
        sampled: Ask X-Ray to record the trace (``Sampled=1``); False sends ``Sampled=0``.

    Returns:
        The header; ``.root`` is the trace id.
    """
    if not isinstance(sampled, bool):
        raise ConfigError(f"sampled: expected True or False, got {sampled!r}")
    trace_id_type = _xray_sdk_types()[0]
    return TraceHeader(trace_id_type().to_id(), sampled)


# --------------------------------------------------------------------------------------------
# Client patching
# --------------------------------------------------------------------------------------------

_patched: weakref.WeakKeyDictionary[Any, TraceHeader] = weakref.WeakKeyDictionary()
_patched_lock = threading.Lock()


class _SetTraceHeader:
    """The botocore ``before-sign`` handler: *sets* the header (each attempt, retries included)."""

    def __init__(self, header: TraceHeader) -> None:
        self.header = header

    def __call__(self, request: AWSRequest, **_: Any) -> None:
        # HTTPHeaders is an email Message: item assignment appends, so remove any copy first
        # (botocore itself adds one inside Lambda from _X_AMZN_TRACE_ID).
        del request.headers[_HEADER_NAME]
        request.headers[_HEADER_NAME] = str.__str__(self.header)


def _event_name(client: BaseClient) -> str:
    return f"before-sign.{client.meta.service_model.service_id.hyphenize()}"


def trace_client(client: BaseClient, header: TraceHeader | str | None = None) -> TraceHeader:
    """Send a trace header on every call ``client`` makes, from now on.

    A botocore ``before-sign`` handler sets ``X-Amzn-Trace-Id`` on each request (retries included),
    replacing any value already there. The client is patched in place; patching it again replaces
    the header (one header per request, never two). Undo with :func:`untrace_client`.

    Args:
        client: A boto3 client (any service).
        header: The header to send: a :class:`TraceHeader`, a header string, or a trace id.
            None makes a new one with :func:`new_trace_header`.

    Returns:
        The header sent; pass it to :func:`get_trace_tree` later.

    Raises:
        TraceError: ``header`` is not a valid trace header or id.
        ConfigError: ``client`` is not a boto3 client.
    """
    if not hasattr(client, "meta") or not hasattr(client.meta, "events"):
        raise ConfigError(f"trace_client needs a boto3 client, got {type(client).__name__}")
    used = new_trace_header() if header is None else TraceHeader.parse(header)
    event = _event_name(client)
    with _patched_lock:
        client.meta.events.unregister(event, unique_id=_HANDLER_ID)
        client.meta.events.register(event, _SetTraceHeader(used), unique_id=_HANDLER_ID)
        _patched[client] = used
    return used


def untrace_client(client: BaseClient) -> TraceHeader | None:
    """Stop sending the trace header that :func:`trace_client` set on ``client``.

    Args:
        client: A client patched by :func:`trace_client`.

    Returns:
        The header it was sending, or None when the client was not patched.
    """
    with _patched_lock:
        client.meta.events.unregister(_event_name(client), unique_id=_HANDLER_ID)
        return _patched.pop(client, None)


# --------------------------------------------------------------------------------------------
# Result types
# --------------------------------------------------------------------------------------------


def _number(value: Any) -> float | None:
    kind = type(value)  # exact types: bool is an int, and JSON gives only int and float
    return float(value) if kind is float or kind is int else None


def _mapping(value: Any) -> Mapping[str, Any]:
    # JSON objects are dicts; the exact-type test first keeps tree building cheap (ABC checks are slow).
    if type(value) is dict:
        return value
    return value if value is not None and isinstance(value, Mapping) else _EMPTY


_EMPTY: Mapping[str, Any] = MappingProxyType({})


def _frozen(cls: type[_T], *values: Any) -> _T:
    """Build a frozen slots dataclass from its field values, in declaration order, without ``__init__``.

    A frozen ``__init__`` sets each field through ``object.__setattr__`` (about 4.4 µs for 20
    fields); writing the slots directly, positionally, takes about 1 µs. Trees of hundreds of
    segments and subsegments are built on every fetch, so this keeps get_trace_tree near the cost of
    the bare API call (benchmarks/bench_trace.py). The instance is as frozen as one built by
    ``__init__``; ``zip(strict=True)`` makes a value count that does not match the fields fail loudly.
    """
    instance = object.__new__(cls)
    for setter, value in zip(_slot_setters(cls), values, strict=True):
        setter(instance, value)
    return instance


_SETTERS: dict[type, list[Callable[[Any, Any], None]]] = {}


def _slot_setters(cls: type) -> list[Callable[[Any, Any], None]]:
    found = _SETTERS.get(cls)
    if found is None:
        found = _SETTERS[cls] = [cls.__dict__[f.name].__set__ for f in fields(cls)]
    return found


def _duration(start: float | None, end: float | None) -> float | None:
    return end - start if start is not None and end is not None else None


def _sort_key(start: float | None, ident: str) -> tuple[float, str]:
    return (start if start is not None else math.inf, ident)


@dataclass(frozen=True, slots=True)
class Link:
    """A span link on a segment or subsegment: a pointer to another trace.

    Attributes:
        trace_id: The linked trace.
        id: The linked segment (or span) id.
        reference_type: ``"child"`` (the linked trace continues this one, e.g. SQS or EventBridge
            fan-out), ``"parent"``, or None when the link has no such attribute.
        attributes: All the link's attributes, as sent.
    """

    trace_id: str
    id: str
    reference_type: str | None
    attributes: Mapping[str, Any] = field(compare=False)

    @classmethod
    def from_api(cls, document: Mapping[str, Any]) -> Link:
        """Build from one entry of a document's ``links`` list (missing keys are tolerated)."""
        attributes = _mapping(document.get("attributes"))
        reference = attributes.get(_REFERENCE_TYPE_KEY)
        return cls(
            trace_id=str(document.get("trace_id") or ""),
            id=str(document.get("id") or ""),
            reference_type=str(reference) if reference is not None else None,
            attributes=attributes,
        )


def _links(document: Mapping[str, Any]) -> tuple[Link, ...]:
    raw = document.get("links")
    if not isinstance(raw, list):
        return ()
    return tuple(Link.from_api(item) for item in raw if isinstance(item, dict))


def _sorted_subsegments(document: Mapping[str, Any]) -> tuple[Subsegment, ...]:
    raw = document.get("subsegments")
    if not isinstance(raw, list):
        return ()
    subsegments = [Subsegment.from_api(item) for item in raw if isinstance(item, dict)]
    return tuple(sorted(subsegments, key=lambda s: _sort_key(s.start_time, s.id)))


@dataclass(frozen=True, slots=True, eq=False, repr=False)
class Subsegment:
    """A subsegment: work inside a segment (a downstream call, a state, a block of code).

    Subsegments are their own type, not :class:`Segment`: they have no origin and no children
    segments, but nest ``subsegments`` recursively. Separate subsegment documents are merged into
    the segment (or subsegment) they belong to. Two subsegments are equal when their ids are.

    Attributes:
        id, name, parent_id: As in the document (``parent_id`` only on separate documents).
        namespace: ``"aws"`` for AWS SDK calls, ``"remote"`` for other downstream calls, or None.
        start_time, end_time: Epoch seconds (``end_time`` None while in progress).
        duration: ``end_time - start_time`` in seconds, or None.
        error, fault, throttle: The 4xx / 5xx / 429 flags (False when absent).
        http, aws, sql, annotations, metadata: As in the document ({} when absent).
        cause: The exception record (a mapping, or an exception id string), or None.
        links: Span links. subsegments: Nested subsegments, ordered by (start time, id).
        document: The subsegment document as read, for anything not modelled here.
    """

    id: str
    name: str
    namespace: str | None
    parent_id: str | None
    start_time: float | None
    end_time: float | None
    duration: float | None
    in_progress: bool
    error: bool
    fault: bool
    throttle: bool
    http: Mapping[str, Any]
    aws: Mapping[str, Any]
    sql: Mapping[str, Any]
    annotations: Mapping[str, Any]
    metadata: Mapping[str, Any]
    cause: Any
    links: tuple[Link, ...]
    subsegments: tuple[Subsegment, ...]
    document: Mapping[str, Any]

    @classmethod
    def from_api(cls, document: Mapping[str, Any]) -> Subsegment:
        """Build from a subsegment document (a parsed JSON object), nested subsegments included."""
        get = document.get
        start, end = _number(get("start_time")), _number(get("end_time"))
        namespace = get("namespace")
        return _frozen(
            cls,
            str(get("id") or ""),  # id
            str(get("name") or ""),  # name
            str(namespace) if namespace is not None else None,  # namespace
            get("parent_id") or None,  # parent_id
            start,  # start_time
            end,  # end_time
            _duration(start, end),  # duration
            bool(get("in_progress")),  # in_progress
            bool(get("error")),  # error
            bool(get("fault")),  # fault
            bool(get("throttle")),  # throttle
            _mapping(get("http")),  # http
            _mapping(get("aws")),  # aws
            _mapping(get("sql")),  # sql
            _mapping(get("annotations")),  # annotations
            _mapping(get("metadata")),  # metadata
            get("cause"),  # cause
            _links(document),  # links
            _sorted_subsegments(document),  # subsegments
            document,  # document
        )

    def walk(self) -> Iterator[Subsegment]:
        """This subsegment and every nested one, depth first."""
        yield self
        for sub in self.subsegments:
            yield from sub.walk()

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Subsegment) and other.id == self.id

    def __hash__(self) -> int:
        return hash(("subsegment", self.id))

    def __repr__(self) -> str:
        return f"Subsegment(id={self.id!r}, name={self.name!r}, duration={self.duration!r})"


@dataclass(frozen=True, slots=True, eq=False, repr=False)
class Segment:
    """One segment of a trace tree: the work one service did for the request.

    Two segments are equal when their trace id and id are (so they work in sets and as dict keys).

    Attributes:
        id, name, origin, parent_id, trace_id: As in the document (``origin`` e.g. ``AWS::Lambda``,
            ``AWS::Lambda::Function``, ``AWS::StepFunctions::StateMachine``; None when absent).
        start_time, end_time: Epoch seconds (``end_time`` None while in progress).
        duration: ``end_time - start_time`` in seconds, or None.
        in_progress: The service has not closed the segment yet.
        error, fault, throttle: The 4xx / 5xx / 429 flags (False when absent).
        http, annotations, metadata, aws: As in the document ({} when absent).
        inferred: X-Ray made the segment up for a downstream AWS service (SNS, DynamoDB...).
        children: The segments directly below this one (a segment whose parent is this segment or
            one of its subsegments, and the roots of linked traces this segment points to), in
            (start time, id) order.
        subsegments: The document's subsegments (separate subsegment documents merged in), each a
            :class:`Subsegment`, in (start time, id) order.
        links: Span links on the segment itself (links on subsegments stay on the subsegments).
        cause, service, user, resource_arn: As in the document, or None.
        document: The segment document as read (after merging separate subsegment documents).
    """

    id: str
    name: str
    origin: str | None
    parent_id: str | None
    trace_id: str
    start_time: float | None
    end_time: float | None
    duration: float | None
    in_progress: bool
    error: bool
    fault: bool
    throttle: bool
    http: Mapping[str, Any]
    annotations: Mapping[str, Any]
    metadata: Mapping[str, Any]
    aws: Mapping[str, Any]
    inferred: bool
    children: tuple[Segment, ...]
    _subsegments: tuple[Subsegment, ...] | None  # built on first use: see subsegments
    links: tuple[Link, ...]
    cause: Any
    service: Mapping[str, Any]
    user: str | None
    resource_arn: str | None
    document: Mapping[str, Any]

    @classmethod
    def from_api(cls, document: Mapping[str, Any], *, children: Sequence[Segment] = ()) -> Segment:
        """Build from a segment document (a parsed ``Document`` string of ``BatchGetTraces``).

        Args:
            document: The segment document, with any separate subsegment documents merged in.
            children: The child segments (sorted here by start time, then id).
        """
        get = document.get
        start, end = _number(get("start_time")), _number(get("end_time"))
        origin, user, arn = get("origin"), get("user"), get("resource_arn")
        return _frozen(
            cls,
            str(get("id") or ""),  # id
            str(get("name") or ""),  # name
            str(origin) if origin is not None else None,  # origin
            get("parent_id") or None,  # parent_id
            str(get("trace_id") or ""),  # trace_id
            start,  # start_time
            end,  # end_time
            _duration(start, end),  # duration
            bool(get("in_progress")),  # in_progress
            bool(get("error")),  # error
            bool(get("fault")),  # fault
            bool(get("throttle")),  # throttle
            _mapping(get("http")),  # http
            _mapping(get("annotations")),  # annotations
            _mapping(get("metadata")),  # metadata
            _mapping(get("aws")),  # aws
            bool(get("inferred")),  # inferred
            tuple(sorted(children, key=lambda s: _sort_key(s.start_time, s.id))),  # children
            None,  # _subsegments
            _links(document),  # links
            get("cause"),  # cause
            _mapping(get("service")),  # service
            str(user) if user is not None else None,  # user
            str(arn) if arn is not None else None,  # resource_arn
            document,  # document
        )

    @property
    def http_status(self) -> int | None:
        """``http.response.status``, when the segment recorded one."""
        status = _mapping(self.http.get("response")).get("status")
        return status if isinstance(status, int) and not isinstance(status, bool) else None

    @property
    def subsegments(self) -> tuple[Subsegment, ...]:
        """The document's subsegments (separate documents merged in), in (start time, id) order.

        Built on first use: most assertions look at segments only, and a trace with many
        subsegments is built on every fetch while get_trace_tree waits for it to complete.
        """
        found = self._subsegments
        if found is None:
            found = _sorted_subsegments(self.document)
            object.__setattr__(self, "_subsegments", found)  # a cache: the value depends on document only
        return found

    def all_subsegments(self) -> Iterator[Subsegment]:
        """Every subsegment of this segment, nested ones included, depth first."""
        for sub in self.subsegments:
            yield from sub.walk()

    def matches(self, what: str) -> bool:
        """True when ``what`` is this segment's origin or name."""
        return what in (self.origin, self.name)

    @property
    def label(self) -> str:
        """``origin (name)``, or the name when there is no origin: how messages refer to it."""
        if self.origin and self.name and self.origin != self.name:
            return f"{self.origin} ({self.name})"
        return self.origin or self.name or self.id

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Segment) and (other.trace_id, other.id) == (self.trace_id, self.id)

    def __hash__(self) -> int:
        return hash((self.trace_id, self.id))

    def __repr__(self) -> str:
        return (
            f"Segment(id={self.id!r}, name={self.name!r}, origin={self.origin!r}, "
            f"duration={self.duration!r}, children={len(self.children)})"
        )


@dataclass(frozen=True, slots=True, repr=False)
class Trace:
    """One trace as ``BatchGetTraces`` returned it.

    Attributes:
        id: The trace id.
        duration: X-Ray's ``Duration`` (seconds; whole seconds on moto), or None.
        limit_exceeded: X-Ray's ``LimitExceeded``: the trace hit X-Ray's size limit and is cut short.
        segments: The trace's segments (not the separate subsegment documents, which are merged
            into their parents), in (start time, id) order.
        documents: Every document as read (parsed), in response order, duplicates included.
    """

    id: str
    duration: float | None
    limit_exceeded: bool
    segments: tuple[Segment, ...]
    documents: tuple[Mapping[str, Any], ...] = field(compare=False)

    def __repr__(self) -> str:
        return f"Trace(id={self.id!r}, duration={self.duration!r}, segments={len(self.segments)})"


def _format_seconds(value: float | None) -> str:
    return "…" if value is None else f"{value:.3f} s"


def _segment_line(segment: Segment, parent: Segment | None) -> str:
    parts = [segment.origin or "-", segment.name or "?", _format_seconds(segment.duration)]
    marks = [flag for flag in ("error", "fault", "throttle") if getattr(segment, flag)]
    if segment.in_progress:
        marks.append("in progress")
    if segment.inferred:
        marks.append("inferred")
    if segment.http_status is not None:
        marks.append(f"http {segment.http_status}")
    if parent is not None and parent.trace_id != segment.trace_id:
        marks.append(f"linked trace {segment.trace_id}")
    if parent is None and segment.parent_id:
        marks.append(f"parent {segment.parent_id} not found")
    if marks:
        parts.append("[" + ", ".join(marks) + "]")
    parts.append(f"id={segment.id}")
    return "  ".join(parts)


def _subsegment_line(sub: Subsegment) -> str:
    marks = [flag for flag in ("error", "fault", "throttle") if getattr(sub, flag)]
    if sub.in_progress:
        marks.append("in progress")
    text = f"· {sub.name or '?'}  {_format_seconds(sub.duration)}"
    return text + (f"  [{', '.join(marks)}]" if marks else "")


def _match_path(pattern: Sequence[str | EllipsisType], path: Sequence[Segment]) -> bool:
    # Glob matching where ``...`` is "any number of hops"; memoised on (pattern index, path index).
    memo: dict[tuple[int, int], bool] = {}

    def match(i: int, j: int) -> bool:
        key = (i, j)
        if key not in memo:
            if i == len(pattern):
                memo[key] = j == len(path)
            elif pattern[i] is Ellipsis:
                memo[key] = match(i + 1, j) or (j < len(path) and match(i, j + 1))
            else:
                memo[key] = j < len(path) and path[j].matches(str(pattern[i])) and match(i + 1, j + 1)
        return memo[key]

    return match(0, 0)


@dataclass(frozen=True, slots=True, repr=False)
class TraceTree:
    """A trace as a tree of segments, ready to assert on.

    Attributes:
        root: The first root (by start time, then id).
        roots: Every segment with no parent, in (start time, id) order. One per call a patched
            client made that started a new segment.
        paths: Every root → leaf list of segments (subsegments are not hops), depth first, children
            in (start time, id) order: deterministic.
        segments: Every segment in the tree, linked traces' included, in walk order.
        source_trace: The trace asked for, as read (id, duration, limit_exceeded, segments).
        linked_traces: The linked traces that were followed (``follow_links=True``).
        linked_trace_limit_exceeded: Links past :data:`MAX_LINK_DEPTH` were not followed.
    """

    root: Segment
    roots: tuple[Segment, ...]
    paths: tuple[tuple[Segment, ...], ...]
    segments: tuple[Segment, ...]
    source_trace: Trace
    linked_traces: tuple[Trace, ...] = ()
    linked_trace_limit_exceeded: bool = False

    @classmethod
    def from_api(
        cls,
        traces: Iterable[Mapping[str, Any]] | Mapping[str, Any],
        trace_id: str | None = None,
        *,
        follow_links: bool = False,
    ) -> TraceTree:
        """Build a tree from ``BatchGetTraces`` ``Traces`` items (e.g. a saved response), no AWS call.

        Args:
            traces: The ``Traces`` list (each with ``Id``, ``Segments``, optional ``Duration`` and
                ``LimitExceeded``), or a whole response mapping with a ``Traces`` key.
            trace_id: The trace to build (a trace id or header); None when ``traces`` holds one trace.
            follow_links: Attach linked traces found in ``traces`` (missing ones make it incomplete).

        Returns:
            The tree.

        Raises:
            TraceIncomplete: A parent is missing, a segment is in progress, or a trace is absent.
            TraceError: A document is not JSON, or ``trace_id`` is not given and there are several.
        """
        items = list(traces["Traces"] if isinstance(traces, Mapping) else traces)
        store = {str(item.get("Id")): _RawTrace.from_api(item) for item in items}
        if trace_id is None:
            if len(store) != 1:
                raise TraceError(f"{len(store)} traces given; pass trace_id= (one of: {', '.join(sorted(store))})")
            source = next(iter(store))
        else:
            source = TraceHeader.parse(trace_id).root

        def lookup(ids: Sequence[str]) -> tuple[dict[str, _RawTrace], set[str]]:
            return {i: store[i] for i in ids if i in store}, {i for i in ids if i not in store}

        outcome = _build(lookup, source, follow_links)
        if outcome.tree is None or outcome.problems:
            raise TraceIncomplete(_incomplete_message(source, outcome, "in the traces given", hint=""))
        return outcome.tree

    @property
    def trace_id(self) -> str:
        """The source trace's id."""
        return self.source_trace.id

    @property
    def duration(self) -> float | None:
        """From the earliest segment start to the latest segment end, in seconds."""
        starts = [s.start_time for s in self.segments if s.start_time is not None]
        ends = [s.end_time for s in self.segments if s.end_time is not None]
        return max(ends) - min(starts) if starts and ends else None

    def walk(self) -> Iterator[Segment]:
        """Every segment, depth first from each root, children in (start time, id) order."""
        stack = list(reversed(self.roots))
        while stack:
            segment = stack.pop()
            yield segment
            stack.extend(reversed(segment.children))

    def find(self, name: str | None = None, origin: str | None = None) -> list[Segment]:
        """The segments with this name and/or origin, in walk order (an empty list when none).

        Args:
            name: The segment name (exact), e.g. the function or state machine name.
            origin: The segment origin (exact), e.g. ``AWS::Lambda::Function``.
        """
        if name is None and origin is None:
            raise ConfigError("find() needs name= or origin=")
        return [s for s in self.segments if (name is None or s.name == name) and (origin is None or s.origin == origin)]

    def find_subsegments(self, name: str) -> list[tuple[Segment, Subsegment]]:
        """Every subsegment named ``name`` (at any depth), with the segment that holds it."""
        return [(s, sub) for s in self.segments for sub in s.all_subsegments() if sub.name == name]

    def render(self, *, subsegments: bool = False) -> str:
        """An indented text tree: origin, name, duration, and error/fault/throttle marks per segment.

        Args:
            subsegments: Also list each segment's subsegments (marked ``·``).
        """
        lines = [
            f"trace {self.trace_id}  ({len(self.segments)} segments, {_format_seconds(self.duration)}"
            + (", linked-trace limit hit" if self.linked_trace_limit_exceeded else "")
            + (", X-Ray size limit hit" if self.source_trace.limit_exceeded else "")
            + ")"
        ]

        def add_subsegments(subs: Sequence[Subsegment], prefix: str) -> None:
            for sub in subs:
                lines.append(f"{prefix}{_subsegment_line(sub)}")
                add_subsegments(sub.subsegments, prefix + "  ")

        def add(segment: Segment, parent: Segment | None, prefix: str, last: bool) -> None:
            lines.append(f"{prefix}{'└─ ' if last else '├─ '}{_segment_line(segment, parent)}")
            inner = prefix + ("   " if last else "│  ")
            if subsegments:
                add_subsegments(segment.subsegments, inner + ("   " if not segment.children else "│  "))
            for index, child in enumerate(segment.children):
                add(child, segment, inner, index == len(segment.children) - 1)

        for index, root in enumerate(self.roots):
            add(root, None, "", index == len(self.roots) - 1)
        return "\n".join(lines)

    def __str__(self) -> str:
        return self.render()

    def __repr__(self) -> str:
        return f"TraceTree(trace_id={self.trace_id!r}, segments={len(self.segments)}, paths={len(self.paths)})"

    def _describe_paths(self) -> str:
        return "\n".join(f"  {n}. " + " → ".join(s.label for s in path) for n, path in enumerate(self.paths, 1))

    def assert_path(self, expected: Sequence[str | EllipsisType]) -> tuple[Segment, ...]:
        """Check that some root → leaf path matches ``expected``.

        Each element matches one segment by origin or by name; ``...`` matches any number of hops
        (none included). The pattern covers the whole path, so put ``...`` at an end to leave it
        open: ``["AWS::StepFunctions::StateMachine", ..., "AWS::Lambda::Function"]``.

        Args:
            expected: Origins/names and ``...``.

        Returns:
            The first matching path.

        Raises:
            AssertionError: No path matches; the message lists the paths and the tree.
            ConfigError: The pattern is empty or holds something other than strings and ``...``.
        """
        __tracebackhide__ = True
        if isinstance(expected, str) or not expected:
            raise ConfigError(f"assert_path() needs a non-empty list of origins/names and ..., got {expected!r}")
        for item in expected:
            if item is not Ellipsis and not isinstance(item, str):
                raise ConfigError(f"assert_path(): {item!r} is neither an origin/name string nor ...")
        for path in self.paths:
            if _match_path(expected, path):
                return path
        shown = ", ".join("..." if item is Ellipsis else str(item) for item in expected)
        raise AssertionError(
            f"no path of trace {self.trace_id} matches [{shown}]; the paths are:\n{self._describe_paths()}\n"
            f"{self.render()}"
        )

    def assert_duration(self, max: float | str, segment: str | Segment | None = None) -> float:
        """Check that the trace (or each segment matching ``segment``) took at most ``max`` seconds.

        Args:
            max: The limit: seconds, or a text like ``"1.5s"`` or ``"500ms"``.
            segment: None for the whole trace (earliest start → latest end); an origin or a name for
                every segment that has it; or a :class:`Segment`.

        Returns:
            The longest duration measured.

        Raises:
            AssertionError: Over the limit, no segment matches, or a matching segment has no end;
                the message shows the tree.
        """
        __tracebackhide__ = True
        limit = parse_duration(max, name="max")
        if segment is None:
            measured = [(f"trace {self.trace_id}", self.duration)]
        else:
            chosen = [segment] if isinstance(segment, Segment) else [s for s in self.segments if s.matches(segment)]
            if not chosen:
                have = sorted({s.label for s in self.segments})
                raise AssertionError(
                    f"no segment with origin or name {segment!r} in trace {self.trace_id}; "
                    f"have: {', '.join(have)}\n{self.render()}"
                )
            measured = [(f"segment {s.label} id={s.id}", s.duration) for s in chosen]
        for what, value in measured:
            if value is None:
                raise AssertionError(f"{what} has no end time (still in progress?)\n{self.render()}")
        worst_what, worst = _longest(measured)
        if worst > limit:
            raise AssertionError(f"{worst_what} took {worst:.3f} s, over the {limit:.3f} s limit\n{self.render()}")
        return worst


def _longest(measured: Sequence[tuple[str, float | None]]) -> tuple[str, float]:
    best = ("", -1.0)
    for what, value in measured:
        if value is not None and value > best[1]:
            best = (what, value)
    return best


# --------------------------------------------------------------------------------------------
# Building trees from raw traces
# --------------------------------------------------------------------------------------------


@dataclass(slots=True)
class _RawTrace:
    """One ``Traces`` item: the documents parsed, nothing resolved yet."""

    id: str
    duration: float | None
    limit_exceeded: bool
    documents: list[dict[str, Any]]

    @classmethod
    def from_api(cls, item: Mapping[str, Any]) -> _RawTrace:
        trace = cls(str(item.get("Id")), _number(item.get("Duration")), bool(item.get("LimitExceeded")), [])
        trace.add_segments(item.get("Segments") or [])
        return trace

    def add_segments(self, segments: Iterable[Mapping[str, Any]]) -> None:
        for segment in segments:
            text = segment.get("Document")
            try:
                document = json.loads(text) if isinstance(text, str) else None
            except ValueError as err:
                raise TraceError(
                    f"segment {segment.get('Id')} of trace {self.id}: Document is not JSON ({err}): {text!r:.200}"
                ) from err
            if not isinstance(document, dict):
                raise TraceError(f"segment {segment.get('Id')} of trace {self.id}: Document is not a JSON object")
            self.documents.append(document)


Lookup = Callable[[Sequence[str]], tuple[dict[str, _RawTrace], set[str]]]


def _describe(document: Mapping[str, Any]) -> str:
    words = [str(document[key]) for key in ("origin", "name") if document.get(key)]
    return f"{document.get('id')} ({' '.join(words) or '?'})"


def _better(new: dict[str, Any], old: dict[str, Any]) -> bool:
    # moto keeps every copy it was sent: prefer a finished copy, then the later end.
    if bool(old.get("in_progress")) != bool(new.get("in_progress")):
        return bool(old.get("in_progress"))
    return (_number(new.get("end_time")) or 0.0) > (_number(old.get("end_time")) or 0.0)


@dataclass(slots=True)
class _Assembled:
    """One trace with parents resolved (mutable; frozen into Segments at the end)."""

    raw: _RawTrace
    segments: dict[str, dict[str, Any]]
    children: dict[str, list[str]]
    roots: list[str]
    orphans: list[str]
    problems: list[str]
    child_links: list[tuple[str, str]]  # (linked trace id, holder segment id)


def _register(node: dict[str, Any], owner: str, index: dict[str, str], nodes: dict[str, dict[str, Any]]) -> None:
    ident = node.get("id")
    if isinstance(ident, str) and ident not in index:
        index[ident] = owner
        nodes[ident] = node
    subs = node.get("subsegments")
    if isinstance(subs, list):
        for sub in subs:
            if isinstance(sub, dict):
                _register(sub, owner, index, nodes)


def _scan(node: Mapping[str, Any], segment: str | None, problems: list[str], linked: list[str]) -> None:
    """One walk over a segment document and its subsegments: in-progress parts, and child links."""
    if node.get("in_progress"):
        where = (
            f"subsegment {node.get('name')!r} ({node.get('id')}) of segment {segment}"
            if segment
            else (f"segment {_describe(node)}")
        )
        problems.append(f"{where} is still in progress")
    links = node.get("links")
    if links:
        for link in links:
            if isinstance(link, dict):
                attributes = _mapping(link.get("attributes"))
                if attributes.get(_REFERENCE_TYPE_KEY) == _CHILD_REFERENCE and link.get("trace_id"):
                    linked.append(str(link["trace_id"]))
    subs = node.get("subsegments")
    if isinstance(subs, list):
        owner = segment or str(node.get("id"))
        for sub in subs:
            if isinstance(sub, dict):
                _scan(sub, owner, problems, linked)


def _assemble(raw: _RawTrace) -> _Assembled:
    segments: dict[str, dict[str, Any]] = {}
    separate: dict[str, dict[str, Any]] = {}
    for document in raw.documents:
        ident = document.get("id")
        if not isinstance(ident, str) or not ident:
            continue
        target = separate if document.get("type") == "subsegment" else segments
        if ident not in target or _better(document, target[ident]):
            target[ident] = document
    if separate:  # merging edits documents: work on copies, so Trace.documents stays as read
        segments = copy.deepcopy(segments)
        separate = copy.deepcopy(separate)
    index: dict[str, str] = {}  # any segment or subsegment id -> id of the segment holding it
    nodes: dict[str, dict[str, Any]] = {}
    for ident, document in segments.items():
        _register(document, ident, index, nodes)
    problems: list[str] = []

    # Separate subsegment documents can hang off each other: attach until nothing moves. The SDKs
    # stream a finished subsegment on its own and may send it again inside its parent's document,
    # so a document whose id is already in the tree is a copy and is dropped.
    pending = [doc for _, doc in sorted(separate.items())]
    while pending:
        waiting = []
        moved = False
        for doc in pending:
            parent = doc.get("parent_id")
            if doc["id"] in index:
                moved = True
            elif isinstance(parent, str) and parent in nodes:
                nodes[parent].setdefault("subsegments", []).append(doc)
                _register(doc, index[parent], index, nodes)
                moved = True
            else:
                waiting.append(doc)
        if not moved:
            for doc in waiting:
                problems.append(f"subsegment {_describe(doc)}'s parent {doc.get('parent_id')} not found")
            break
        pending = waiting

    children: dict[str, list[str]] = {ident: [] for ident in segments}
    roots: list[str] = []
    orphans: list[str] = []
    linked_from: dict[str, list[str]] = {}  # segment id -> child-linked trace ids in it
    for ident, document in segments.items():
        parent = document.get("parent_id")
        if not parent:
            roots.append(ident)
        elif parent in index and index[parent] != ident:
            children[index[parent]].append(ident)
        else:
            orphans.append(ident)
            problems.append(f"segment {_describe(document)}'s parent {parent} not found")
        found: list[str] = []
        _scan(document, None, problems, found)
        if found:
            linked_from[ident] = found

    reached: set[str] = set()
    stack = roots + orphans
    while stack:
        ident = stack.pop()
        if ident not in reached:
            reached.add(ident)
            stack.extend(children[ident])
    for ident, document in segments.items():
        if ident not in reached:  # a parent cycle: only possible with malformed documents
            problems.append(f"segment {_describe(document)} is in a parent_id cycle")
    if not segments:
        problems.append(f"trace {raw.id} has no segments yet")

    links = [(linked, ident) for ident in sorted(linked_from) for linked in linked_from[ident]]
    return _Assembled(raw, segments, children, roots, orphans, problems, links)


@dataclass(slots=True)
class _Outcome:
    tree: TraceTree | None  # None when the source trace is not there at all
    problems: list[str]
    found: bool


def _build(lookup: Lookup, source: str, follow_links: bool) -> _Outcome:
    found, _ = lookup([source])
    if source not in found:
        return _Outcome(None, [f"trace {source} not found"], False)
    problems: list[str] = []
    assembled = {source: _assemble(found[source])}
    problems.extend(assembled[source].problems)
    attached: dict[tuple[str, str], list[str]] = {}  # (trace, holder segment) -> linked trace ids
    limit_hit = False
    if follow_links:
        level, depth = [source], 0
        while level:
            wanted: dict[str, tuple[str, str]] = {}
            for trace_id in level:
                for linked, holder in assembled[trace_id].child_links:
                    if linked not in assembled and linked not in wanted:
                        wanted[linked] = (trace_id, holder)
            if not wanted:
                break
            if depth >= MAX_LINK_DEPTH:
                limit_hit = True
                break
            got, not_there = lookup(list(wanted))
            level = []
            for linked, (trace_id, holder) in wanted.items():
                if linked not in got or linked in not_there:
                    problems.append(f"linked trace {linked} (linked from segment {holder}) not found")
                    continue
                assembled[linked] = _assemble(got[linked])
                problems.extend(assembled[linked].problems)
                attached.setdefault((trace_id, holder), []).append(linked)
                level.append(linked)
            depth += 1

    def freeze(trace_id: str, ident: str) -> Segment:
        part = assembled[trace_id]
        kids = [freeze(trace_id, child) for child in part.children[ident]]
        for linked in attached.get((trace_id, ident), ()):
            kids.extend(freeze(linked, root) for root in assembled[linked].roots + assembled[linked].orphans)
        return Segment.from_api(part.segments[ident], children=kids)

    def as_trace(part: _Assembled, by_id: Mapping[str, Segment]) -> Trace:
        segments = sorted((by_id[i] for i in part.segments if i in by_id), key=lambda s: _sort_key(s.start_time, s.id))
        raw = part.raw
        return Trace(raw.id, raw.duration, raw.limit_exceeded, tuple(segments), tuple(raw.documents))

    main = assembled[source]
    if not main.segments:
        return _Outcome(None, problems, True)
    roots = sorted(
        (freeze(source, ident) for ident in main.roots + main.orphans), key=lambda s: _sort_key(s.start_time, s.id)
    )
    walk: list[Segment] = []
    paths: list[tuple[Segment, ...]] = []

    def visit(segment: Segment, trail: tuple[Segment, ...]) -> None:
        walk.append(segment)
        here = (*trail, segment)
        if not segment.children:
            paths.append(here)
        for child in segment.children:
            visit(child, here)

    for root in roots:
        visit(root, ())
    by_trace: dict[str, dict[str, Segment]] = {}
    for segment in walk:
        by_trace.setdefault(segment.trace_id, {})[segment.id] = segment
    followed = tuple(as_trace(assembled[t], by_trace.get(t, {})) for t in assembled if t != source)
    tree = TraceTree(
        root=roots[0],
        roots=tuple(roots),
        paths=tuple(paths),
        segments=tuple(walk),
        source_trace=as_trace(main, by_trace.get(source, {})),
        linked_traces=followed,
        linked_trace_limit_exceeded=limit_hit,
    )
    return _Outcome(tree, problems, True)


def _incomplete_message(trace_id: str, outcome: _Outcome, when: str, hint: str = _HINT) -> str:
    if not outcome.found:
        text = f"trace {trace_id} not found {when}"
    else:
        shown = outcome.problems[:5]
        more = f" (and {len(outcome.problems) - 5} more)" if len(outcome.problems) > 5 else ""
        text = f"trace {trace_id} incomplete {when}: " + "; ".join(shown) + more
        if outcome.tree is not None:
            text += f"\nhave:\n{outcome.tree.render()}"
    return f"{text}\n{hint}" if hint else text


# --------------------------------------------------------------------------------------------
# Retrieval
# --------------------------------------------------------------------------------------------


class _Fetcher:
    """BatchGetTraces with pages and batches of 5; counts requests."""

    def __init__(self, client: Any, trace_id: str) -> None:
        self.client = client
        self.trace_id = trace_id
        self.requests = 0

    def __call__(self, ids: Sequence[str]) -> tuple[dict[str, _RawTrace], set[str]]:
        found: dict[str, _RawTrace] = {}
        unprocessed: set[str] = set()
        for start in range(0, len(ids), _BATCH_LIMIT):
            chunk = list(ids[start : start + _BATCH_LIMIT])
            token: str | None = None
            while True:
                kwargs: dict[str, Any] = {"TraceIds": chunk}
                if token:
                    kwargs["NextToken"] = token
                with calling(f"reading X-Ray trace {', '.join(chunk)} (xray:BatchGetTraces)"):
                    response = self.client.batch_get_traces(**kwargs)
                self.requests += 1
                for item in response.get("Traces") or ():
                    ident = str(item.get("Id"))
                    if ident in found:
                        found[ident].add_segments(item.get("Segments") or [])
                    else:
                        found[ident] = _RawTrace.from_api(item)
                unprocessed.update(response.get("UnprocessedTraceIds") or ())
                next_token = response.get("NextToken")
                if not next_token:
                    break
                if next_token == token:
                    raise TraceError(f"xray:BatchGetTraces returned the same NextToken twice for {chunk}")
                token = next_token
        # An unprocessed id is "not yet", even if some of its segments came back.
        return {i: t for i, t in found.items() if i not in unprocessed}, unprocessed


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
    trace: str | TraceHeader | Mapping[str, Any],
    within: float | str | None = None,
    until: Callable[[TraceTree], object] | None = None,
    follow_links: bool = False,
    session: boto3.Session | None = None,
    *,
    clock: Callable[[], float] | None = None,
    sleep: Callable[[float], None] | None = None,
) -> TraceTree:
    """Read a trace from X-Ray once it is complete, as a :class:`TraceTree`.

    "Not complete yet" is retried with capped exponential backoff and jitter (0.2 s doubling to
    2 s) until ``within``: the trace is unknown or unprocessed, a segment's parent is not there, or a
    segment is still in progress. Other errors (access denied, validation) are raised at once.

    Args:
        trace: A trace id, an ``X-Amzn-Trace-Id`` header string (``Root=…``, ``root=…``, with
            ``Parent=``/``Self=``/``Sampled=`` parts), a :class:`TraceHeader`, or a boto3 response that
            carries one (``traceHeader`` of DescribeExecution, or Lambda's ``x-amzn-trace-id``
            response header).
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
        clock, sleep: Seams for tests (default ``time.monotonic`` and ``time.sleep``).

    Returns:
        The complete tree (and, with ``until``, one for which the condition holds).

    Raises:
        TraceError: ``trace`` is not a trace id or header (before any AWS call).
        TraceIncomplete: At the deadline the trace was still missing or incomplete; the message says
            what is missing and shows what was there.
        WaitTimeout: The tree was complete but ``until`` did not hold by the deadline; the message
            has the last reason and the last tree, ``.last`` the tree.
        AwsError: BatchGetTraces failed for a reason other than throttling.

    IAM permissions:
        ``xray:BatchGetTraces``.
    """
    __tracebackhide__ = True
    header = _header_from(trace)
    timeout = current_settings().trace_timeout if within is None else parse_duration(within, name="within")
    if until is not None and not callable(until):
        raise ConfigError(f"until= must be a function of the tree, got {until!r}")
    context = aws(session)
    fetcher = _Fetcher(context.xray, header.root)
    deadline = Deadline(timeout, clock=clock or time.monotonic)
    condition = getattr(until, "__name__", "until")

    def attempt() -> TraceTree | NotYet:
        try:
            outcome = _build(fetcher, header.root, follow_links)
        except AwsError as err:
            if err.code not in THROTTLE_CODES:
                raise
            return NotYet(_Outcome(None, [f"throttled ({err.code})"], False))
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
            requests = f"{fetcher.requests} requests to xray:BatchGetTraces"
            return f"{requests}; last reason: {reason}\nlast tree:\n{rendered}"
        return ""

    try:
        return wait_until(
            attempt,
            deadline=deadline,
            description=f"X-Ray trace {header.root} to satisfy {condition}",
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
        when = (
            f"after {deadline.elapsed():.1f} s ({fetcher.requests} requests to xray:BatchGetTraces in {context.region})"
        )
        hint = _HINT
        if header.sampled is False:
            hint = "The header says Sampled=0, so X-Ray may never record this trace. " + hint
        last = err.last if isinstance(err.last, _Outcome) else _Outcome(None, [], False)
        raise TraceIncomplete(_incomplete_message(header.root, last, when, hint)) from None


def _header_from(trace: str | TraceHeader | Mapping[str, Any]) -> TraceHeader:
    if isinstance(trace, Mapping):
        value = trace.get("traceHeader") or trace.get("TraceHeader")
        if value is None:
            headers = _mapping(_mapping(trace.get("ResponseMetadata")).get("HTTPHeaders"))
            value = headers.get("x-amzn-trace-id")
        if not isinstance(value, str):
            raise TraceError(
                "no trace header in that response (looked for traceHeader and the x-amzn-trace-id "
                "response header); pass the trace id or the header string instead"
            )
        return TraceHeader.parse(value)
    return TraceHeader.parse(trace)


# --------------------------------------------------------------------------------------------
# The pytest fixture's helper
# --------------------------------------------------------------------------------------------


class TraceHelper:
    """Per-test trace helper (what the ``iatk_trace`` fixture gives).

    It keeps one current header for the test, patches clients with it, reads trees with the run's
    deadline, and remembers the last tree (or the last "incomplete" report) for the failure report.
    ``close()`` (or leaving the ``with`` block) unpatches every client it patched.

    Example::

        def test_flow(iatk_trace, iatk_session):
            sfn = iatk_trace.patch(iatk_session.client("stepfunctions"))
            sfn.start_execution(stateMachineArn=arn, input="{}")
            tree = iatk_trace.get_tree(until=lambda t: t.find(origin="AWS::Lambda::Function"))
            tree.assert_path(["AWS::StepFunctions::StateMachine", ..., "AWS::Lambda::Function"])
    """

    def __init__(
        self, *, session: boto3.Session | None = None, within: float | str | None = None, follow_links: bool = False
    ) -> None:
        self.session = session
        self.within = within
        self.follow_links = follow_links
        self.header: TraceHeader | None = None
        self.last_tree: TraceTree | None = None
        self.last_report: str | None = None
        self._clients: list[Any] = []

    def new_header(self, sampled: bool = True) -> TraceHeader:
        """Make a new header and make it the current one (used by :meth:`patch` and :meth:`get_tree`)."""
        self.header = new_trace_header(sampled)
        return self.header

    def patch(self, client: BaseClient, header: TraceHeader | str | None = None) -> Any:
        """Send a trace header on every call of ``client`` (default: the current header, made if needed).

        Returns:
            The same client, so ``sfn = iatk_trace.patch(session.client("stepfunctions"))`` reads well.
        """
        if header is not None:
            self.header = TraceHeader.parse(header)
        elif self.header is None:
            self.new_header()
        trace_client(client, self.header)
        if all(c is not client for c in self._clients):
            self._clients.append(client)
        return client

    def get_tree(
        self,
        trace: str | TraceHeader | Mapping[str, Any] | None = None,
        *,
        within: float | str | None = None,
        until: Callable[[TraceTree], object] | None = None,
        follow_links: bool | None = None,
    ) -> TraceTree:
        """:func:`get_trace_tree` for ``trace`` (default: the current header), remembering the result.

        IAM permissions:
            ``xray:BatchGetTraces``.
        """
        __tracebackhide__ = True
        target = trace if trace is not None else self.header
        if target is None:
            raise ConfigError("no trace yet: call new_header() or patch(client) first, or pass a trace id")
        try:
            tree = get_trace_tree(
                target,
                within=self.within if within is None else within,
                until=until,
                follow_links=self.follow_links if follow_links is None else follow_links,
                session=self.session,
            )
        except WaitTimeout as err:
            if isinstance(err.last, TraceTree):
                self.last_tree = err.last
            self.last_report = str(err)
            raise
        except TraceIncomplete as err:
            self.last_report = str(err)
            raise
        self.last_tree = tree
        self.last_report = tree.render()
        return tree

    def report(self) -> str | None:
        """Text for a failed test's report: the last tree fetched (or why it was incomplete)."""
        return self.last_report

    def close(self) -> None:
        """Unpatch every client this helper patched."""
        while self._clients:
            untrace_client(self._clients.pop())

    def __enter__(self) -> TraceHelper:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
