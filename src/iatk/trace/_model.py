"""The result types: :class:`Link`, :class:`Subsegment`, :class:`Segment`, :class:`Trace`, :class:`TraceTree`.

Each is a frozen slots dataclass built from a parsed segment document (X-Ray's segment document
format, which every trace source hands over: see ``_source.py``). The tree's text form and the path
pattern live in ``_render.py``; resolving parents and links in ``_assemble.py``.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field, fields
from types import EllipsisType, MappingProxyType
from typing import TYPE_CHECKING, Any, TypeVar

from iatk._config import parse_duration
from iatk.exceptions import ConfigError, TraceError, TraceIncomplete

from ._header import TraceHeader
from ._render import describe_paths, match_path, render_tree

if TYPE_CHECKING:
    from ._source import Fetched

_T = TypeVar("_T")

REFERENCE_TYPE_KEY = "aws.xray.reserved.reference_type"


def number(value: Any) -> float | None:
    kind = type(value)  # exact types: bool is an int, and JSON gives only int and float
    return float(value) if kind is float or kind is int else None


def mapping(value: Any) -> Mapping[str, Any]:
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


def sort_key(start: float | None, ident: str) -> tuple[float, str]:
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
        attributes = mapping(document.get("attributes"))
        reference = attributes.get(REFERENCE_TYPE_KEY)
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
    return tuple(sorted(subsegments, key=lambda s: sort_key(s.start_time, s.id)))


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
        in_progress: The subsegment was not closed. Inside a closed segment that is final (its end
            was never sent) and does not hold the trace back; see ``_assemble.py``.
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
        start, end = number(get("start_time")), number(get("end_time"))
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
            mapping(get("http")),  # http
            mapping(get("aws")),  # aws
            mapping(get("sql")),  # sql
            mapping(get("annotations")),  # annotations
            mapping(get("metadata")),  # metadata
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
            (start time, id) order: siblings that start in the same millisecond are ordered by
            segment id, whatever order the API listed them in (aws-iatk's unstable sort left them
            in an arbitrary order).
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
        start, end = number(get("start_time")), number(get("end_time"))
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
            mapping(get("http")),  # http
            mapping(get("annotations")),  # annotations
            mapping(get("metadata")),  # metadata
            mapping(get("aws")),  # aws
            bool(get("inferred")),  # inferred
            tuple(sorted(children, key=lambda s: sort_key(s.start_time, s.id))),  # children
            None,  # _subsegments
            _links(document),  # links
            get("cause"),  # cause
            mapping(get("service")),  # service
            str(user) if user is not None else None,  # user
            str(arn) if arn is not None else None,  # resource_arn
            document,  # document
        )

    @property
    def http_status(self) -> int | None:
        """``http.response.status``, when the segment recorded one."""
        status = mapping(self.http.get("response")).get("status")
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
            TraceIncomplete: A parent is missing, a segment (not only a subsegment) is in progress,
                or a trace is absent.
            TraceError: A document is not JSON, or ``trace_id`` is not given and there are several.
        """
        # The X-Ray response is parsed by the X-Ray source's parser and built by the shared assembly;
        # both import this module, so they are imported here rather than at the top.
        from ._assemble import build, incomplete_message
        from ._xray import raw_trace

        items = list(traces["Traces"] if isinstance(traces, Mapping) else traces)
        store = {str(item.get("Id")): raw_trace(item) for item in items}
        if trace_id is None:
            if len(store) != 1:
                raise TraceError(f"{len(store)} traces given; pass trace_id= (one of: {', '.join(sorted(store))})")
            source = next(iter(store))
        else:
            source = TraceHeader.parse(trace_id).root

        def lookup(ids: Sequence[str]) -> Fetched:
            return {i: store[i] for i in ids if i in store}, {i for i in ids if i not in store}

        outcome = build(lookup, source, follow_links)
        if outcome.tree is None or outcome.problems:
            raise TraceIncomplete(incomplete_message(source, outcome, "in the traces given", hint=""))
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
        return render_tree(self, subsegments=subsegments)

    def __str__(self) -> str:
        return self.render()

    def __repr__(self) -> str:
        return f"TraceTree(trace_id={self.trace_id!r}, segments={len(self.segments)}, paths={len(self.paths)})"

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
            if match_path(expected, path):
                return path
        shown = ", ".join("..." if item is Ellipsis else str(item) for item in expected)
        raise AssertionError(
            f"no path of trace {self.trace_id} matches [{shown}]; the paths are:\n{describe_paths(self)}\n"
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
