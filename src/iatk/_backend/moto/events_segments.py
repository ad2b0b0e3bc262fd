"""EventBridge and X-Ray offline: an event put with a trace header carries it to the rule targets.

On AWS (EventBridge user guide, "Amazon EventBridge integration with AWS X-Ray"), EventBridge passes
the trace header of a ``PutEvents`` entry to the targets the event reaches: the entry's
``TraceHeader`` field, or else the call's ``X-Amzn-Trace-Id``; an invalid header is dropped and the
event still delivered. The header is not in the event the target receives: an SQS target's message
carries it as ``AWSTraceHeader``, a Lambda function or a state machine continues the trace. X-Ray
shows the bus as a node between the caller and the targets.

:func:`install_events_tracing` wraps moto's ``PutEvents``: an entry with a header is put on its own,
with the header as :func:`.trace_context.current` while moto matches rules and
:mod:`.eventbridge` queues the deliveries (each :class:`.eventbridge.Delivery` keeps it). For a
sampled header the bus's segment is recorded (named ``Events``, origin ``AWS::Events``, the bus in
``aws.event_bus_name``, under the header's ``Parent``) and the targets get the header with that
segment as ``Parent``, so the tree reads caller → ``Events`` → target.
"""

from __future__ import annotations

import functools
import time
from typing import Any

from .trace_context import Header, carrying, current, new_id, store

ORIGIN = "AWS::Events"
_MAX_ENTRIES = 10


def bus_document(header: Header, segment_id: str, *, bus: str, region: str, start: float) -> dict[str, Any]:
    """The bus's segment for one traced event."""
    document: dict[str, Any] = {
        "id": segment_id,
        "trace_id": header.root,
        "name": "Events",
        "origin": ORIGIN,
        "start_time": start,
        "end_time": time.time(),
        "aws": {"operation": "PutEvents", "event_bus_name": bus, "region": region},
    }
    if header.parent:
        document["parent_id"] = header.parent
    return document


def _bus_name(entry: Any) -> str:
    name = str(entry.get("EventBusName") or "default") if isinstance(entry, dict) else "default"
    return name.rsplit("/", 1)[-1] if name.startswith("arn:") else name


def install_events_tracing() -> None:
    """Wrap moto's ``EventsBackend.put_events`` in this process (idempotent)."""
    from moto.events.models import EventsBackend

    if getattr(EventsBackend, "_iatk_traced", False):
        return
    original = EventsBackend.put_events

    @functools.wraps(original)
    def put_events(self: Any, events: Any) -> list[dict[str, Any]]:
        request = current()
        headers = [
            Header.parse(str(entry["TraceHeader"])) if isinstance(entry, dict) and entry.get("TraceHeader") else request
            for entry in (events if isinstance(events, list) else [])
        ]
        if not any(headers) or not 1 <= len(events) <= _MAX_ENTRIES:
            return original(self, events)  # nothing to carry, or moto's own validation error
        answers: list[dict[str, Any]] = []
        for entry, header in zip(events, headers, strict=True):
            if header is None or not header.recorded:
                with carrying(header):
                    answers.extend(original(self, [entry]))
                continue
            segment_id, start = new_id(), time.time()
            with carrying(header.child(segment_id)):
                answer = original(self, [entry])
            answers.extend(answer)
            if not any("ErrorCode" in item for item in answer):
                document = bus_document(header, segment_id, bus=_bus_name(entry), region=self.region_name, start=start)
                store(self.account_id, self.region_name, [document])
        return answers

    EventsBackend.put_events = put_events  # type: ignore[method-assign]
    EventsBackend._iatk_traced = True  # type: ignore[attr-defined]
