"""EventBridge events as iatk sees them: the parsed :class:`Event`, and :func:`put_events`.

An :class:`Event` is built from the body of an SQS message that a listener received: the EventBridge
envelope, or whatever a target's input transformation made of it (kept verbatim in ``body``).

This package imports no boto3 until :func:`put_events` is called.

* :mod:`._event`: :class:`Event` (envelope or transformed body, summary, latency);
* :mod:`._put`: :func:`put_events` (entry building, batching, failed entries) and :func:`bus_names`.
"""

from __future__ import annotations

from iatk.waiting import subscribe_waits

from ._event import Event

# The listener lists the region's buses in its "unknown bus" messages: public outside __all__.
from ._put import (
    MAX_ENTRIES_PER_CALL,
    MAX_REQUEST_BYTES,
    aws_source_advice as aws_source_advice,
    bus_names as bus_names,
    put_events,
)

__all__ = ["MAX_ENTRIES_PER_CALL", "MAX_REQUEST_BYTES", "Event", "put_events", "subscribe_waits"]
