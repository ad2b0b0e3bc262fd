"""The listener's parts on their own, with fakes: the seams the Listener facade composes.

- ``Waits`` over any ``Inbox`` (here a list and a fake clock): no AWS at all;
- ``SqsInbox`` over any SQS client with ``receive_message`` / ``delete_message_batch`` and any
  ``skip(event)`` callable (here a stub client: what an SNS listener would reuse);
- ``Canary`` through any ``Receiver``.
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from iatk.events import Event
from iatk.exceptions import UnexpectedEvent, WaitTimeout
from iatk.listener._inbox import SqsInbox
from iatk.listener._readiness import Canary
from iatk.listener._records import Entry
from iatk.listener._waits import Waits
from iatk.matchers import match
from iatk.testing import FakeClock
from iatk.waiting import Deadline, subscribe_waits

LISTENER_ID = "iatk_eb_0123456789abcdefghij"


def envelope(n: int, source: str = "shop", detail_type: str = "Placed", **detail: Any) -> str:
    return json.dumps(
        {
            "version": "0",
            "id": f"id-{n}",
            "detail-type": detail_type,
            "source": source,
            "account": "123456789012",
            "time": "2024-01-01T00:00:00Z",
            "region": "us-east-1",
            "resources": [],
            "detail": {"n": n, **detail},
        }
    )


class ListInbox:
    """An Inbox without AWS: each take() advances the clock one second and delivers what is scheduled."""

    def __init__(self, clock: FakeClock, arrivals: dict[int, list[Event]] | None = None) -> None:
        self.clock = clock
        self.arrivals = arrivals or {}
        self.entries: list[Entry] = []
        self.polls = 0
        self.dropped = 0
        self.size = 100

    def __len__(self) -> int:
        return len(self.entries)

    def add(self, event: Event) -> Entry:
        entry = Entry(event, self.clock())
        self.entries.append(entry)
        return entry

    def unclaimed(self) -> list[Entry]:
        return [entry for entry in self.entries if not entry.claimed]

    def take(self, deadline: Deadline) -> list[Entry]:
        self.polls += 1
        self.clock.now += 1
        return [self.add(event) for event in self.arrivals.pop(self.polls, [])]


def make_waits(inbox: ListInbox, clock: FakeClock, owner: object = "owner") -> Waits:
    return Waits(
        owner,
        LISTENER_ID,
        label=lambda: f"listener {LISTENER_ID} (a fake)",
        inbox=lambda: inbox,
        default_sla=lambda: None,
        clock=clock,
    )


def test_waits_claim_the_first_match_and_report_a_record() -> None:
    clock = FakeClock(100.0)
    inbox = ListInbox(clock, {2: [Event.from_body(envelope(1)), Event.from_body(envelope(2))]})
    waits = make_waits(inbox, clock)
    seen: list[tuple[object, object]] = []
    unsubscribe = subscribe_waits(lambda owner, record: seen.append((owner, record)))
    try:
        event = waits.expect_event(match(detail={"n": 2}), within=5)
    finally:
        unsubscribe()
    assert event.id == "id-2"
    assert event.latency == 2.0
    [record] = waits.records
    assert (record.kind, record.outcome, record.polls, record.received) == ("expect_event", "matched", 2, 2)
    assert seen == [("owner", record)]
    # The claimed event is not returned again; the other one still is.
    assert waits.expect_event(within=0).id == "id-1"


def test_waits_timeout_lists_the_unclaimed_events() -> None:
    clock = FakeClock(100.0)
    inbox = ListInbox(clock)
    inbox.add(Event.from_body(envelope(1)))
    waits = make_waits(inbox, clock)
    with pytest.raises(WaitTimeout) as caught:
        waits.expect_event(match(detail={"n": 9}), within=3)
    assert "on listener iatk_eb_0123456789abcdefghij (a fake)" in str(caught.value)
    assert [event.id for event in caught.value.last] == ["id-1"]
    assert waits.records[-1].outcome == "timeout"


def test_expect_events_and_expect_no_event_over_a_fake_inbox() -> None:
    clock = FakeClock(100.0)
    inbox = ListInbox(clock, {1: [Event.from_body(envelope(1))], 2: [Event.from_body(envelope(2))]})
    waits = make_waits(inbox, clock)
    assert [event.id for event in waits.expect_events(2, within=3)] == ["id-1", "id-2"]
    waits.expect_no_event(during=2)
    inbox.arrivals = {inbox.polls + 1: [Event.from_body(envelope(3))]}
    with pytest.raises(UnexpectedEvent, match="but one arrived after 1.00 s"):
        waits.expect_no_event(during=5)
    assert [record.outcome for record in waits.records] == ["matched", "held", "unexpected"]


class StubSqs:
    """The two SQS calls an inbox makes, answered from a list of batches."""

    def __init__(self, batches: list[list[str]]) -> None:
        self.batches = batches
        self.deleted: list[list[str]] = []
        self.received = 0

    def receive_message(self, **_: Any) -> dict[str, Any]:
        self.received += 1
        bodies = self.batches.pop(0) if self.batches else []
        return {
            "Messages": [
                {"Body": body, "MessageId": f"m{index}", "ReceiptHandle": f"r-{self.received}-{index}"}
                for index, body in enumerate(bodies)
            ]
        }

    def delete_message_batch(self, *, Entries: list[dict[str, str]], **_: Any) -> dict[str, Any]:
        self.deleted.append([entry["ReceiptHandle"] for entry in Entries])
        return {"Successful": [{"Id": entry["Id"]} for entry in Entries]}


def test_sqs_inbox_skips_dedups_bounds_and_defers_deletes() -> None:
    sqs = StubSqs(
        [
            [envelope(1), envelope(1), envelope(2, source="iatk.canary")],
            [envelope(n) for n in range(2, 12)],
        ]
    )
    skipped: list[str] = []

    def skip(event: Event) -> bool:
        if event.source == "iatk.canary":
            skipped.append(event.id)
            return True
        return False

    inbox = SqsInbox(sqs, "https://queue", listener_id=LISTENER_ID, size=5, skip=skip)  # type: ignore[arg-type]
    assert [event.id for event in inbox.poll(0, 10)] == ["id-1"]  # the duplicate and the canary are left out
    assert skipped == ["id-2"]
    assert sqs.deleted == [["r-1-0", "r-1-1", "r-1-2"]]  # a poll deletes at once
    fresh = inbox.take(Deadline(5))
    assert len(fresh) == 10
    assert len(inbox) == 5
    assert inbox.dropped == 6
    assert inbox.polls == 2
    assert len(sqs.deleted) == 1  # a wait's deletes are deferred ...
    inbox.receive(0, 10, defer_delete=True)
    assert sqs.deleted[1] == [f"r-2-{index}" for index in range(10)]  # ... and go out ten at a time


def test_canary_arrives_through_any_receiver() -> None:
    """The canary is put through PutEvents (answered at the AWS boundary) and recognised in any receiver."""
    import boto3

    from iatk.testing import answer_call

    canary = Canary(LISTENER_ID, lambda: '{"source":["shop"]}')
    session = boto3.Session(aws_access_key_id="x", aws_secret_access_key="x", region_name="us-east-1")
    answer = {"FailedEntryCount": 0, "Entries": [{"EventId": "canary-event-id"}]}

    class Receiver:
        def receive(self, wait_seconds: int, max_messages: int) -> object:
            mine = envelope(0, source="iatk.canary", detail_type=f"iatk.canary {LISTENER_ID}")
            return canary.skip(Event.from_body(mine))

    with answer_call(session, "events", "PutEvents", answer) as seen:
        canary.await_(Receiver(), bus="orders", session=session, target_input={})  # type: ignore[arg-type]
    assert [entry["DetailType"] for request in seen for entry in request["Entries"]] == [f"iatk.canary {LISTENER_ID}"]
    assert canary.arrived == 1
    other = envelope(0, source="iatk.canary", detail_type="iatk.canary iatk_eb_vvvvvvvvvvvvvvvvvvvv")
    assert canary.kind(Event.from_body(other)) == "other"
    assert canary.kind(Event.from_body(envelope(1))) is None
