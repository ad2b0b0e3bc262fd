"""The records a listener keeps: what it made, its waits, and each received event in its buffer.

Plain data, no AWS: the harness fills :class:`ListenerResource`, the waits fill :class:`WaitRecord`,
and an inbox keeps an :class:`Entry` per received event.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Literal

if TYPE_CHECKING:
    from iatk.events import Event

__all__ = ["Entry", "ListenerResource", "Outcome", "WaitRecord"]

Outcome = Literal["matched", "held", "timeout", "surplus", "unexpected"]


@dataclass(frozen=True, slots=True)
class ListenerResource:
    """One AWS resource a listener made (the shape aws-iatk's ``components`` had).

    Attributes:
        type: ``AWS::SQS::Queue`` or ``AWS::Events::Rule``.
        physical_id: The queue URL, or the rule name.
        arn: The resource's ARN.
    """

    type: str
    physical_id: str
    arn: str


@dataclass(frozen=True, slots=True)
class WaitRecord:
    """One wait on a listener, for SLA reports (the pytest plugin's summary table).

    Attributes:
        listener_id: The listener's id.
        kind: ``expect_event``, ``expect_events`` or ``expect_no_event``.
        description: What was awaited, in words.
        sla: The window, seconds (``within`` / ``during``).
        elapsed: Seconds the wait took.
        latency: For a success of ``expect_event(s)``: seconds from the start of the wait to the
            receipt of the (last) event; 0.0 when it had already been received. None otherwise.
        outcome: ``matched`` / ``held`` (success of ``expect_no_event``) / ``timeout`` / ``surplus``
            (more events than expected) / ``unexpected`` (an event ``expect_no_event`` forbade).
        polls: ReceiveMessage calls made by this wait.
        received: Events in the listener's buffer when the wait ended.
        started_at: When the wait started (aware UTC).
    """

    listener_id: str
    kind: str
    description: str
    sla: float
    elapsed: float
    latency: float | None
    outcome: Outcome
    polls: int
    received: int
    started_at: datetime

    @property
    def ok(self) -> bool:
        """Whether the wait succeeded."""
        return self.outcome in ("matched", "held")


class Entry:
    """A received event in the buffer, with its monotonic receipt time and whether a wait claimed it."""

    __slots__ = ("claimed", "event", "received")

    def __init__(self, event: Event, received: float) -> None:
        self.event = event
        self.received = received
        self.claimed = False
