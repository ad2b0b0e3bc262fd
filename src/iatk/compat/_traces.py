"""The traces ``AwsIatk`` reads and starts: trace trees, their retries, and ``patch_aws_client``'s header."""

from __future__ import annotations

import logging
import re
import threading
import weakref
from typing import TYPE_CHECKING, Any

from iatk.exceptions import IatkError, TraceError, TraceIncomplete

from ._errors import IatkException, as_exception, explained
from ._outputs import GetTraceTreeOutput
from ._xray_records import Segment, Trace, Tree

if TYPE_CHECKING:
    import boto3

    from iatk.trace import TraceTree

log = logging.getLogger("iatk.compat")

#: get_trace_tree's wait for a trace still arriving (aws-iatk's failed at once: "trace not found").
TRACE_TREE_TIMEOUT = 10.0


def tree_output(tree: TraceTree) -> GetTraceTreeOutput:
    """aws-iatk's tree of a core :class:`iatk.TraceTree` (each segment converted once)."""
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


class _FreshTraceHeader:
    """``patch_aws_client``'s botocore ``before-sign`` handler: a new trace header per API call.

    botocore signs each attempt again; the attempts of one call share ``request.context``, so a retry
    sends its call's header rather than a new one.
    """

    def __init__(self, *, sampled: bool) -> None:
        self.sampled = sampled
        self.last: str | None = None

    def __call__(self, request: Any, **_: Any) -> None:
        from iatk.trace import new_trace_header

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


#: The words aws-iatk (0.1.0 and its unreleased #113) retried on; iatk adds a segment still in progress.
_NOT_READY = ("trace not found", "still in progress")


def not_ready(message: str) -> bool:
    """True for a "not there yet" error: trace not found, a segment with no parent, a segment in progress."""
    return any(words in message for words in _NOT_READY) or (
        "found a segment" in message and "with no parent" in message
    )


_ORPHAN = re.compile(r"segment (\S+) \([^)]*\)'s parent \S+ not found")
_OPEN = re.compile(r"segment (\S+) \([^)]*\) is still in progress")


def _aws_iatk_words(trace_id: str, core: str) -> str:
    """aws-iatk's message for a trace still missing or incomplete (its Go wording: ``error building trace tree``)."""
    prefix = "error building trace tree: "
    if core.startswith(f"trace {trace_id} not found"):
        return f"{prefix}failed to fetch trace {trace_id} with error: trace not found"
    orphan = _ORPHAN.search(core)
    if orphan:
        segment = orphan.group(1)
        return f"{prefix}failed to build trace tree {trace_id} with error: found a segment {segment} with no parent"
    still = _OPEN.search(core)
    what = f"segment {still.group(1)}" if still else "a segment"
    return f"{prefix}failed to build trace tree {trace_id} with error: found {what} still in progress"


def get_tree(session: boto3.Session | None, tracing_header: str, within: float) -> GetTraceTreeOutput:
    """``AwsIatk._get_trace_tree``: the tree once complete, waited for up to ``within`` seconds (0: one look).

    Errors have aws-iatk's messages (``str(err)``), iatk's explanation as a note: an empty header, an
    invalid one (``error while getting trace_id from the tracing header: ...``), a trace not found or
    incomplete at the deadline (``error building trace tree: ...``, 408).
    """
    from iatk.trace import TraceHeader, get_trace_tree

    if not tracing_header:
        raise explained(
            IatkException('missing required param "TracingHeader"', 400),
            "pass the X-Amzn-Trace-Id header (Root=1-...;Sampled=1) or the trace id",
        )
    try:
        header = TraceHeader.parse(tracing_header)
    except TraceError as err:
        raise explained(
            IatkException("error while getting trace_id from the tracing header: invalid tracing header provided", 400),
            str(err),
        ) from None
    try:
        tree = get_trace_tree(header, within=float(within), session=session)
    except TraceIncomplete as err:
        raise explained(IatkException(_aws_iatk_words(header.root, str(err)), 408), str(err)) from None
    except IatkError as err:
        raise as_exception(err) from err
    return tree_output(tree)


def patch(client: Any, sampled: int) -> Any:
    """``AwsIatk.patch_aws_client``: a :class:`_FreshTraceHeader` on the client's signing event."""
    from iatk.trace import untrace_client

    events = getattr(getattr(client, "meta", None), "events", None)
    if events is None:
        raise IatkException(f"patch_aws_client needs a boto3 client; got {type(client).__name__}", 400)
    handler = _FreshTraceHeader(sampled=bool(sampled))
    # aws-iatk's event name, which suites look up in the client's alias cache (``before-sign.lambda.*``,
    # ``before-sign.apigateway.*``, ``before-sign.stepfunctions.*``); the unique id makes a second
    # patch replace the first instead of sending two headers.
    event = f"before-sign.{client.meta.service_model.service_name}.*"
    with _patch_lock:
        untrace_client(client)
        events.unregister(event, unique_id=_PATCH_HANDLER_ID)
        events.register(event, handler, unique_id=_PATCH_HANDLER_ID)
        _patched_clients[client] = handler
    return client


def trace_header_of(client: Any) -> str | None:
    """The ``X-Amzn-Trace-Id`` header a client patched by ``AwsIatk.patch_aws_client`` sent on its last call.

    aws-iatk's patch sent an empty ``Root=``, so the trace id had to be read back from a response;
    the drop-in's names a real trace id per call, and this returns it (pass it to
    ``get_trace_tree``). An iatk extra, kept off ``AwsIatk`` so its methods stay aws-iatk's.

    Returns:
        ``Root=1-…;Sampled=1``, or None when the client was not patched or made no call yet.
    """
    handler = _patched_clients.get(client)
    return handler.last if handler is not None else None
