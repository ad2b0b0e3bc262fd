"""The traces ``AwsIatk`` reads and starts: trace trees, their retries, and ``patch_aws_client``'s header."""

from __future__ import annotations

import logging
import threading
import weakref
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from iatk.exceptions import IatkError, TraceIncomplete, WaitTimeout

from ._errors import IatkException, InvalidParamException, as_exception
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


def get_tree(
    session: boto3.Session | None, tracing_header: str, fetch_child_traces: bool, timeout_seconds: float
) -> GetTraceTreeOutput:
    """``AwsIatk.get_trace_tree``: the tree, waited for up to ``timeout_seconds``."""
    from iatk.trace import get_trace_tree

    tree = get_trace_tree(
        tracing_header, within=float(timeout_seconds), follow_links=fetch_child_traces, session=session
    )
    return tree_output(tree)


def retry_tree_until(
    session: boto3.Session | None,
    tracing_header: str,
    assertion_fn: Callable[[GetTraceTreeOutput], Any],
    fetch_child_traces: bool,
    timeout_seconds: int,
) -> bool:
    """``AwsIatk.retry_get_trace_tree_until``: True once ``assertion_fn`` holds on the tree."""
    from iatk.trace import get_trace_tree

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
        return assertion_fn(tree_output(tree))

    holds.__name__ = getattr(assertion_fn, "__name__", "assertion_fn")
    try:
        get_trace_tree(tracing_header, within=within, until=holds, follow_links=fetch_child_traces, session=session)
    except (WaitTimeout, TraceIncomplete) as err:
        log.debug("retry_get_trace_tree_until: %s", err)
        return False
    except IatkError as err:
        raise as_exception(err) from err
    return True


def patch(client: Any, sampled: int) -> Any:
    """``AwsIatk.patch_aws_client``: a :class:`_FreshTraceHeader` on the client's signing event."""
    from iatk.trace import untrace_client

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


def header_of(client: Any) -> str | None:
    """``AwsIatk.trace_header_of``: the header the patched client sent last."""
    handler = _patched_clients.get(client)
    return handler.last if handler is not None else None
