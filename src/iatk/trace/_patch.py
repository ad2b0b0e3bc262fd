"""Client patching: :func:`trace_client` sends a trace header on every call of a boto3 client."""

from __future__ import annotations

import threading
import weakref
from typing import TYPE_CHECKING, Any

from iatk.exceptions import ConfigError

from ._header import TraceHeader, new_trace_header

if TYPE_CHECKING:
    from botocore.awsrequest import AWSRequest
    from botocore.client import BaseClient

_HEADER_NAME = "X-Amzn-Trace-Id"
_HANDLER_ID = "iatk.trace_client"

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
