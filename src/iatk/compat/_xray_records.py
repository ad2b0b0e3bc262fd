"""aws-iatk's trace records (``aws_iatk.xray``'s names and attributes), built from iatk's core trace.

:mod:`iatk.xray` gives them aws-iatk's module path.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from enum import Enum
from typing import TYPE_CHECKING, Any, TypeVar

if TYPE_CHECKING:
    from iatk.trace import Segment as CoreSegment, Subsegment as CoreSubsegment

R = TypeVar("R")

_REFERENCE_TYPE_KEY = "aws.xray.reserved.reference_type"


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
