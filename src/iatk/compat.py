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
- ``patch_aws_client`` sends a real trace id, once per request, and the header can be read back.
"""

from __future__ import annotations

import functools
import logging
import random
import threading
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, TypeVar

from ._tags import TAG_ID, check_user_tags
from .exceptions import (
    ConfigError,
    IatkError,
    ResourceNotInStack,
    SchemaError,
    StackNotFound,
    StackOutputNotFound,
    TraceError,
    TraceIncomplete,
    WaitTimeout,
)

if TYPE_CHECKING:
    import boto3

    from .listener import Listener
    from .trace import Segment as CoreSegment
    from .trace import TraceTree

__all__ = [
    "AddEbListenerOutput",
    "AddEbListener_Resource",
    "AwsIatk",
    "GenerateBareboneEventOutput",
    "GenerateMockEventOutput",
    "GetStackOutputsOutput",
    "GetTraceTreeOutput",
    "IatkException",
    "PhysicalIdFromStackOutput",
    "PollEventsOutput",
    "RemoveListenersOutput",
    "RemoveListeners_TagFilter",
    "RetryableException",
]

log = logging.getLogger("iatk.compat")
F = TypeVar("F", bound=Callable[..., Any])


# -- errors ------------------------------------------------------------------------------------------
class IatkException(IatkError):
    """aws-iatk's exception, now also an :class:`iatk.IatkError`.

    ``error_code`` is real (aws-iatk's was always 0): 400 bad input, 404 not found, 408 timed out,
    500 an AWS or other failure. ``aws_code`` is the AWS error code when there is one.
    """

    def __init__(self, message: str, error_code: int = 500, *, aws_code: str | None = None) -> None:
        super().__init__(message, code=aws_code)
        self.error_code = error_code
        self.aws_code = aws_code


class RetryableException(IatkException):
    """Raised inside a ``retry_until`` target to ask for another attempt (aws-iatk's name)."""


def _code_for(err: IatkError) -> int:
    if isinstance(err, ConfigError | SchemaError | TraceError) and not isinstance(err, TraceIncomplete):
        return 404 if isinstance(err, SchemaError) and "not found" in str(err) else 400
    if isinstance(err, StackNotFound | StackOutputNotFound | ResourceNotInStack):
        return 404
    if isinstance(err, WaitTimeout | TraceIncomplete):
        return 408
    return 500


def _translated(fn: F) -> F:
    """Re-raise core errors as IatkException (keeping the message, the AWS code and the cause)."""

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return fn(*args, **kwargs)
        except IatkException:
            raise
        except IatkError as err:
            raise IatkException(str(err), _code_for(err), aws_code=err.code) from err

    return wrapper  # type: ignore[return-value]


# -- result types (aws-iatk's names and attributes) ---------------------------------------------------
@dataclass(frozen=True)
class PhysicalIdFromStackOutput:
    physical_id: str


@dataclass(frozen=True)
class GetStackOutputsOutput:
    outputs: dict[str, str]


@dataclass(frozen=True)
class AddEbListener_Resource:
    type: str
    physical_id: str
    arn: str


@dataclass(frozen=True)
class AddEbListenerOutput:
    id: str
    target_under_test: AddEbListener_Resource
    components: list[AddEbListener_Resource]


@dataclass(frozen=True)
class RemoveListenersOutput:
    message: str


@dataclass(frozen=True)
class RemoveListeners_TagFilter:
    key: str
    values: list[str] | None = None


@dataclass(frozen=True)
class PollEventsOutput:
    events: list[str]


@dataclass(frozen=True)
class GenerateMockEventOutput:
    event: dict[str, Any]


@dataclass(frozen=True)
class GenerateBareboneEventOutput:
    event: dict[str, Any]


@dataclass(frozen=True)
class Link:
    trace_id: str | None
    id: str | None
    attributes: dict[str, Any]


@dataclass(frozen=True, eq=False)
class Subsegment:
    """An aws-iatk subsegment: absent booleans are None, as aws-iatk's tests expect."""

    id: str
    name: str
    start_time: float | None
    end_time: float | None
    in_progress: bool | None
    error: bool | None
    throttle: bool | None
    fault: bool | None
    namespace: str | None
    traced: bool | None
    precursor_ids: list[str]
    type: str | None
    sql: dict[str, Any] | None
    http: dict[str, Any] | None
    cause: Any
    aws: dict[str, Any] | None
    annotations: dict[str, Any] | None
    metadata: dict[str, Any] | None
    subsegments: list[Subsegment]
    links: list[Link]

    @classmethod
    def from_document(cls, doc: Mapping[str, Any]) -> Subsegment:
        return cls(
            id=str(doc.get("id", "")),
            name=str(doc.get("name", "")),
            start_time=doc.get("start_time"),
            end_time=doc.get("end_time"),
            in_progress=doc.get("in_progress"),
            error=doc.get("error"),
            throttle=doc.get("throttle"),
            fault=doc.get("fault"),
            namespace=doc.get("namespace"),
            traced=doc.get("traced"),
            precursor_ids=list(doc.get("precursor_ids") or []),
            type=doc.get("type"),
            sql=doc.get("sql"),
            http=doc.get("http"),
            cause=doc.get("cause"),
            aws=doc.get("aws"),
            annotations=doc.get("annotations"),
            metadata=doc.get("metadata"),
            subsegments=[cls.from_document(s) for s in doc.get("subsegments") or []],
            links=_links(doc),
        )

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Subsegment) and other.id == self.id

    def __hash__(self) -> int:
        return hash(self.id)


@dataclass(frozen=True, eq=False)
class Segment:
    """An aws-iatk segment (``id``, ``name``, ``origin``, ``error``... with absent booleans as None).

    Unlike aws-iatk's, it also has ``children`` (the tree below it), ``inferred`` and ``resource_arn``.
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
    http: dict[str, Any] | None
    error: bool | None
    throttle: bool | None
    fault: bool | None
    cause: Any
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
            http=doc.get("http"),
            error=doc.get("error"),
            throttle=doc.get("throttle"),
            fault=doc.get("fault"),
            cause=doc.get("cause"),
            aws=doc.get("aws"),
            annotations=doc.get("annotations"),
            metadata=doc.get("metadata"),
            subsegments=[Subsegment.from_document(s) for s in doc.get("subsegments") or []],
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


def _links(doc: Mapping[str, Any]) -> list[Link]:
    return [
        Link(trace_id=link.get("trace_id"), id=link.get("id"), attributes=dict(link.get("attributes") or {}))
        for link in doc.get("links") or []
        if isinstance(link, Mapping)
    ]


@dataclass(frozen=True)
class Trace:
    id: str
    duration: float | None
    limit_exceeded: bool
    segments: list[Segment]


@dataclass(frozen=True)
class Tree:
    root: Segment
    paths: list[list[Segment]]
    source_trace: Trace
    linked_trace_limit_exceeded: bool = False
    #: The core :class:`iatk.TraceTree`, for render(), find() and assert_path().
    tree: Any = None


@dataclass(frozen=True)
class GetTraceTreeOutput:
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


# -- the client ---------------------------------------------------------------------------------------
_registry: dict[str, Listener] = {}
_registry_lock = threading.Lock()


def _int_in(name: str, value: Any, low: int, high: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise IatkException(f'"{name}" must be an integer between {low} and {high}; got {value!r}', 400)
    return value


class AwsIatk:
    """aws-iatk's client, in pure Python over iatk's core.

    Args:
        region: AWS region (default: the session's / boto3's chain).
        profile: AWS shared-config profile.
        session: A boto3 Session to use instead (e.g. the ``iatk_session`` fixture's); default: the run's.
    """

    def __init__(
        self, region: str | None = None, profile: str | None = None, session: boto3.Session | None = None
    ) -> None:
        self.region = region
        self.profile = profile
        if session is None and (region or profile):
            from ._aws import IatkSession

            session = IatkSession(profile_name=profile, region_name=region)
        self.session = session
        #: The header the last ``patch_aws_client`` call sends, per client id.
        self._headers: dict[int, str] = {}

    def __repr__(self) -> str:
        return f"AwsIatk(region={self.region!r}, profile={self.profile!r})"

    # -- CloudFormation -------------------------------------------------------------------------------
    @_translated
    def get_physical_id_from_stack(self, logical_resource_id: str, stack_name: str) -> PhysicalIdFromStackOutput:
        """The physical id of ``logical_resource_id`` in ``stack_name`` (a queue's URL, a rule's name...).

        IAM permissions: cloudformation:DescribeStackResource (ListStackResources to explain a miss).
        """
        from .stack import Stack

        if not logical_resource_id or not stack_name:
            raise IatkException('missing required param "LogicalResourceId" or "StackName"', 400)
        return PhysicalIdFromStackOutput(Stack(stack_name, session=self.session).physical_id(logical_resource_id))

    @_translated
    def get_stack_outputs(self, stack_name: str, output_names: Sequence[str]) -> GetStackOutputsOutput:
        """The requested outputs of a stack (name, id or ARN); a missing key is named in the error.

        IAM permissions: cloudformation:DescribeStacks.
        """
        from .stack import Stack

        stack = Stack(stack_name, session=self.session)
        return GetStackOutputsOutput({name: stack.output(name) for name in dict.fromkeys(output_names)})

    # -- listeners ------------------------------------------------------------------------------------
    @_translated
    def add_listener(
        self,
        event_bus_name: str,
        rule_name: str,
        target_id: str | None = None,
        tags: Mapping[str, str] | None = None,
    ) -> AddEbListenerOutput:
        """Create a listener that copies ``rule_name`` (and ``target_id``'s input transformation).

        Same resource names and tags as aws-iatk, so either tool cleans up after the other.
        IAM permissions: see :class:`iatk.Listener`.
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
            _registry[listener.id] = listener
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

        Calling it with neither (aws-iatk silently did nothing) is an error. A rule whose queue is
        already gone is removed too. IAM permissions: see :func:`iatk.cleanup`.
        """
        from .cleanup import cleanup

        if ids and tag_filters:
            raise IatkException("only one of ids and tag_filters is needed, not both", 400)
        if not ids and not tag_filters:
            raise IatkException("remove_listeners needs ids=[...] or tag_filters=[...]; got neither", 400)
        failures: list[str] = []
        if ids:
            for listener_id in dict.fromkeys(ids):
                with _registry_lock:
                    listener = _registry.pop(listener_id, None)
                try:
                    if listener is not None:
                        listener.close()
                    else:
                        cleanup(tags={TAG_ID: listener_id}, session=self.session)
                except IatkError as err:
                    failures.append(f"{{resource group id: {listener_id}, reason: {err}}}")
        else:
            filters: dict[str, str | None] = {}
            for item in tag_filters or ():
                key, values = (item.key, item.values) if isinstance(item, RemoveListeners_TagFilter) else item
                if values and len(values) > 1:
                    raise IatkException(f"tag filter {key!r}: one value (or none, for 'any value') is supported", 400)
                filters[key] = values[0] if values else None
            filters.setdefault(TAG_ID, None)
            report = cleanup(tags=filters, session=self.session, check=False)
            failures += [f"{{resource group id: {f.resource.id}, reason: {f.error}}}" for f in report.failed]
            with _registry_lock:
                for listener_id in {r.id for r in report.deleted}:
                    _registry.pop(listener_id, None)
        if failures:
            raise IatkException(f"failed to destroy following listener(s): {', '.join(failures)}", 500)
        return RemoveListenersOutput("success")

    def _listener(self, listener_id: str) -> Listener:
        from .listener import Listener

        if not listener_id:
            raise IatkException('missing required param "ListenerId"', 400)
        with _registry_lock:
            found = _registry.get(listener_id)
        if found is None:
            found = Listener.attach(listener_id, session=self.session)
            with _registry_lock:
                found = _registry.setdefault(listener_id, found)
        return found

    @_translated
    def poll_events(self, listener_id: str, wait_time_seconds: int, max_number_of_messages: int) -> PollEventsOutput:
        """One long poll of the listener's queue: the raw bodies of what arrived (and was not seen yet).

        IAM permissions: sqs:ReceiveMessage, sqs:DeleteMessage.
        """
        wait = _int_in("WaitTimeSeconds", wait_time_seconds, 0, 20)
        count = _int_in("MaxNumberOfMessages", max_number_of_messages, 1, 10)
        return PollEventsOutput([event.body for event in self._listener(listener_id).poll(wait, count)])

    @_translated
    def wait_until_event_matched(
        self, listener_id: str, assertion_fn: Callable[[str], Any], timeout_seconds: int = 30
    ) -> bool:
        """True once an event's raw body passes ``assertion_fn`` (no AssertionError and not a falsy
        return), False at the deadline. Events that do not match stay for later calls.

        IAM permissions: sqs:ReceiveMessage, sqs:DeleteMessage.
        """
        from .matchers import callable_matcher

        if isinstance(timeout_seconds, bool) or not isinstance(timeout_seconds, int | float):
            raise IatkException("timeout_seconds must be between 1 and 999", 400)
        if not 1 <= timeout_seconds <= 999:
            raise IatkException("timeout_seconds must be between 1 and 999", 400)
        listener = self._listener(listener_id)
        try:
            listener.expect_event(callable_matcher(assertion_fn, raw_body=True), within=float(timeout_seconds))
        except WaitTimeout as err:
            log.debug("wait_until_event_matched: %s", err)
            return False
        return True

    # -- X-Ray ----------------------------------------------------------------------------------------
    @_translated
    def get_trace_tree(self, tracing_header: str, fetch_child_traces: bool = False) -> GetTraceTreeOutput:
        """The trace tree of a header or trace id, waiting briefly (10 s) for segments still arriving.

        IAM permissions: xray:BatchGetTraces.
        """
        from .trace import get_trace_tree

        tree = get_trace_tree(tracing_header, within=10.0, follow_links=fetch_child_traces, session=self.session)
        return _tree_output(tree)

    def retry_until(
        self,
        assertion_fn: Callable[[Any], Any],
        timeout: float = 10,
        retryable_exceptions: tuple[type[BaseException], ...] = (RetryableException,),
    ) -> Callable[[F], Callable[..., bool]]:
        """Decorator: call the function until ``assertion_fn(output)`` holds; True, or False at the deadline.

        ``timeout=0`` means no limit (as in aws-iatk). Both failed assertions and retryable errors back
        off (0.05 s doubling, capped at 2 s, with jitter), and no sleep runs past the deadline.
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
                return _retry(func, args, kwargs, assertion_fn, float(timeout), retryable_exceptions)

            return wrapper

        return decorator

    def retry_get_trace_tree_until(
        self,
        tracing_header: str,
        assertion_fn: Callable[[GetTraceTreeOutput], Any],
        fetch_child_traces: bool = False,
        timeout_seconds: int = 30,
    ) -> bool:
        """True once ``assertion_fn`` holds on the trace tree, False at the deadline (0 = no limit).

        "Trace not found" and "segment with no parent" (aws-iatk #106) are retried, with backoff.
        """
        from .trace import get_trace_tree

        given: Any = timeout_seconds  # checked at runtime: callers may not be typed
        if isinstance(given, bool) or not isinstance(given, int | float) or given < 0:
            raise IatkException("timeout_seconds must be a number >= 0 (0 means no limit)", 400)
        within = float(timeout_seconds) if timeout_seconds else 10.0 * 365 * 86400

        def holds(tree: TraceTree) -> Any:
            return assertion_fn(_tree_output(tree))

        try:
            get_trace_tree(
                tracing_header, within=within, until=holds, follow_links=fetch_child_traces, session=self.session
            )
        except (WaitTimeout, TraceIncomplete) as err:
            log.debug("retry_get_trace_tree_until: %s", err)
            return False
        except IatkError as err:
            raise IatkException(str(err), _code_for(err), aws_code=err.code) from err
        return True

    def patch_aws_client(self, client: Any, sampled: int = 1) -> Any:
        """Send a fresh trace header on every call of ``client``; returns the client.

        Unlike aws-iatk (an empty ``Root=`` appended again on each patch) the header carries a real
        trace id, once per request. Read it back with :meth:`trace_header_of`.
        """
        from .trace import new_trace_header, trace_client

        header = trace_client(client, new_trace_header(sampled=bool(sampled)))
        self._headers[id(client)] = str(header)
        return client

    def trace_header_of(self, client: Any) -> str | None:
        """The header ``patch_aws_client`` made ``client`` send (None if it was not patched here)."""
        return self._headers.get(id(client))

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

        IAM permissions: schemas:DescribeSchema.
        """
        from .mock_events import mock_event

        if schema_file is None and not (registry_name and schema_name):
            raise IatkException('requires both "RegistryName" and "SchemaName" (or schema_file=)', 400)
        event = mock_event(
            registry_name if schema_file is None else None,
            schema_name if schema_file is None else None,
            schema_version or None,
            schema_file=schema_file,
            event_ref=event_ref or None,
            skip_optional=bool(skip_optional),
            contexts=tuple(contexts or ()),
            session=self.session,
        )
        return GenerateMockEventOutput(event)


def _retry(
    func: Callable[..., Any],
    args: tuple[Any, ...],
    kwargs: dict[str, Any],
    assertion_fn: Callable[[Any], Any],
    timeout: float,
    retryable: tuple[type[BaseException], ...],
) -> bool:
    deadline = time.monotonic() + timeout if timeout else None
    delay = 0.05
    while True:
        try:
            output = func(*args, **kwargs)
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
        now = time.monotonic()
        if deadline is not None and now >= deadline:
            return False
        pause = delay * random.uniform(0.75, 1.25)
        if deadline is not None:
            pause = min(pause, max(0.0, deadline - now))
        time.sleep(pause)
        delay = min(delay * 2, 2.0)
