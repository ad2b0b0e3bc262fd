"""Listener waits, polls and the buffer, on the embedded moto server (short windows: about 1 s)."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from typing import Any

import pytest

from iatk.events import put_events
from iatk.exceptions import ConfigError, WaitTimeout
from iatk.listener import Listener, UnexpectedEvent, WaitRecord, subscribe_waits
from iatk.matchers import match


@pytest.fixture
def listener(app: Any, session: Any) -> Iterator[Listener]:
    """A started listener copying the app's OrderPlaced rule (whole envelopes)."""
    with Listener(app.bus, rule=app.rule, session=session) as made:
        yield made


def later(seconds: float, action: Any) -> threading.Timer:
    timer = threading.Timer(seconds, action)
    timer.start()
    return timer


def test_put_events_round_trip(app: Any, session: Any, listener: Listener) -> None:
    """Events put with iatk.put_events come back with the ids put_events returned."""
    entries = [{"Source": app.source, "DetailType": "OrderPlaced", "Detail": {"n": n}} for n in range(12)]
    ids = put_events(*entries, bus=app.bus, session=session)
    got = listener.expect_events(12, within=0)  # moto delivers at once; the deadline drains the queue
    assert [event.id for event in got] == ids
    assert [event.detail["n"] for event in got] == list(range(12))


def test_expect_event_returns_the_match_with_latency(app: Any, listener: Listener) -> None:
    """expect_event returns the first match, with a latency from the wait's start, and records the wait."""
    later(0.3, lambda: app.put("OrderPlaced", {"orderId": 1}))
    event = listener.expect_event(match(detail={"orderId": 1}), within=5)
    assert event.latency is not None
    assert event.latency > 0
    record = listener.waits[-1]
    assert record.kind == "expect_event"
    assert record.outcome == "matched"
    assert record.ok
    assert record.latency == event.latency
    assert record.sla == 5
    assert "orderId" in record.description


def test_buffered_events_are_checked_first_and_claimed(app: Any, listener: Listener) -> None:
    """An event received earlier counts (latency 0.0); each wait claims its event, so two waits need two."""
    first = app.put("OrderPlaced", {"orderId": 1})
    second = app.put("OrderPlaced", {"orderId": 2})
    listener.poll(wait=1)
    one = listener.expect_event(within=1)
    two = listener.expect_event(within=1)
    assert (one.id, two.id) == (first, second)
    assert one.latency == 0.0
    with pytest.raises(WaitTimeout):
        listener.expect_event(within=1)
    assert len(listener.events) == 2


def test_non_matching_events_stay_for_later_waits(app: Any, listener: Listener) -> None:
    """Events a wait skips are not lost: a later wait for them finds them in the buffer."""
    skipped = app.put("OrderPlaced", {"orderId": 1})
    wanted = app.put("OrderPlaced", {"orderId": 2})
    assert listener.expect_event(match(detail={"orderId": 2}), within=2).id == wanted
    assert listener.expect_event(match(detail={"orderId": 1}), within=0).id == skipped


def test_timeout_lists_received_events_with_reasons(app: Any, listener: Listener) -> None:
    """A timeout names what was awaited and the SLA, and lists each event with its diff, nearest first."""
    far = app.put("OrderPlaced", {"orderId": 1, "state": "cancelled"})
    near = app.put("OrderPlaced", {"orderId": 2, "state": "paid"})
    with pytest.raises(WaitTimeout) as caught:
        listener.expect_event(match(detail={"orderId": 2, "state": "shipped"}), within=1)
    text = str(caught.value)
    assert isinstance(caught.value, TimeoutError)
    assert "timed out waiting for an event matching" in text
    assert f"on listener {listener.id}" in text
    assert "not done within 1 s" in text
    assert "2 events received, none matched; nearest miss first:" in text
    assert text.index(near) < text.index(far)
    assert 'detail.state: expected "shipped", got "paid"' in text
    assert caught.value.timeout == 1
    assert caught.value.elapsed is not None
    assert caught.value.elapsed >= 1
    assert listener.waits[-1].outcome == "timeout"


def test_timeout_lists_every_received_event_and_attaches_them(app: Any, session: Any, listener: Listener) -> None:
    """With 15 events received, the timeout message shows all 15 (nearest miss first) and .last holds them."""
    entries = [{"Source": app.source, "DetailType": "OrderPlaced", "Detail": {"orderId": n}} for n in range(15)]
    ids = put_events(*entries, bus=app.bus, session=session)
    with pytest.raises(WaitTimeout) as caught:
        listener.expect_event(match(detail={"orderId": 99}), within=1)
    text = str(caught.value)
    assert "15 events received, none matched; nearest miss first:" in text
    assert all(f"id={event_id} " in text for event_id in ids)
    assert "more not shown" not in text
    assert [event.id for event in caught.value.last] == ids


def test_expect_events_timeout_attaches_the_unclaimed_events(app: Any, listener: Listener) -> None:
    """expect_events' timeout lists the events received, matching or not, and attaches them in .last."""
    hit = app.put("OrderPlaced", {"orderId": 1})
    miss = app.put("OrderPlaced", {"orderId": 2})
    with pytest.raises(WaitTimeout) as caught:
        listener.expect_events(2, match(detail={"orderId": 1}), within=1)
    assert "only 1 matched within 1 s" in str(caught.value)
    assert [event.id for event in caught.value.last] == [hit, miss]


def test_expect_no_event_holds_the_whole_window(app: Any, listener: Listener) -> None:
    """expect_no_event returns only at the end of its window when nothing matching came."""
    app.put("OrderPlaced", {"orderId": 1})
    listener.expect_no_event(match(detail={"orderId": 99}), during=1.0)
    record = listener.waits[-1]
    assert record.outcome == "held"
    assert record.elapsed >= 1.0
    assert record.polls >= 1


def test_expect_no_event_fails_at_once_on_a_match(app: Any, listener: Listener) -> None:
    """A matching event arriving inside the window fails the wait at once, showing the event."""
    timer = later(0.2, lambda: app.put("OrderPlaced", {"orderId": 13}))
    with pytest.raises(UnexpectedEvent) as caught:
        listener.expect_no_event(match(detail={"orderId": 13}), during=20)
    timer.join()
    assert isinstance(caught.value, AssertionError)
    assert "but one arrived after" in str(caught.value)
    assert '"orderId": 13' in str(caught.value)
    assert listener.waits[-1].outcome == "unexpected"  # it failed when the event came, not at the window's end


def test_expect_no_event_counts_events_already_received(app: Any, listener: Listener) -> None:
    """An unclaimed matching event already in the buffer fails expect_no_event too."""
    app.put("OrderPlaced", {"orderId": 4})
    listener.poll(wait=1)
    with pytest.raises(UnexpectedEvent, match="before the wait started"):
        listener.expect_no_event(during=5)


def test_expect_events_exactly_n(app: Any, listener: Listener) -> None:
    """expect_events(n) returns exactly n events at the end of the window, in order of receipt."""
    ids = [app.put("OrderPlaced", {"n": n}) for n in range(3)]
    got = listener.expect_events(3, within=1)
    assert [event.id for event in got] == ids
    assert listener.waits[-1].elapsed >= 1
    assert listener.waits[-1].outcome == "matched"


def test_expect_events_fails_on_a_surplus(app: Any, listener: Listener) -> None:
    """More matching events than n inside the window fails (an AssertionError listing them all)."""
    for n in range(3):
        app.put("OrderPlaced", {"n": n})
    with pytest.raises(
        UnexpectedEvent, match="expected exactly 2 events matching any event .* but 3 matched"
    ) as caught:
        listener.expect_events(2, within=5)
    assert len(caught.value.events) == 3
    assert listener.waits[-1].outcome == "surplus"


def test_expect_events_fails_on_a_shortfall(app: Any, listener: Listener) -> None:
    """Fewer than n by the end of the window is a WaitTimeout saying how many came."""
    app.put("OrderPlaced", {"n": 1})
    with pytest.raises(WaitTimeout, match="only 1 matched within 1 s"):
        listener.expect_events(2, within=1)


def test_poll_makes_exactly_one_receive_and_one_delete(app: Any, listener: Listener, sqs_calls: Any) -> None:
    """A poll is one ReceiveMessage, plus one DeleteMessageBatch when something came; the URL is cached."""
    assert listener.poll() == []
    assert sqs_calls() == ["ReceiveMessage"]
    app.put("OrderPlaced", {"n": 1})
    app.put("OrderPlaced", {"n": 2})
    got = listener.poll(wait=1)
    assert [event.detail["n"] for event in got] == [1, 2]
    assert sqs_calls() == ["ReceiveMessage", "DeleteMessageBatch"]
    assert listener.poll() == []
    assert sqs_calls() == ["ReceiveMessage"]


def test_a_wait_on_an_event_already_queued_costs_one_poll(app: Any, listener: Listener, sqs_calls: Any) -> None:
    """expect_event on a queued event makes one receive; its delete waits for a full batch, off the wait's path."""
    app.put("OrderPlaced", {"n": 1})
    listener.expect_event(within=5)
    assert sqs_calls() == ["ReceiveMessage"]
    assert listener.poll(wait=0) == []  # hidden (12 h visibility timeout), not redelivered
    assert sqs_calls() == ["ReceiveMessage"]


def test_waits_delete_in_full_batches_of_ten(app: Any, listener: Listener, sqs_calls: Any, session: Any) -> None:
    """Waits defer deletes; ten pending go out as one DeleteMessageBatch before the next receive."""
    for n in range(12):
        app.put("OrderPlaced", {"n": n})
        listener.expect_event(match(detail={"n": [n]}), within=5)
    calls = sqs_calls()
    assert calls.count("DeleteMessageBatch") == 1
    assert calls.count("ReceiveMessage") == 12
    # The ten deleted are gone from the queue; two stay hidden (in flight) until close() deletes the queue.
    attributes = session.client("sqs").get_queue_attributes(
        QueueUrl=listener.queue_url, AttributeNames=["ApproximateNumberOfMessagesNotVisible", "VisibilityTimeout"]
    )["Attributes"]
    assert attributes["ApproximateNumberOfMessagesNotVisible"] == "2"
    assert attributes["VisibilityTimeout"] == "43200"


def test_duplicates_count_once(session: Any, listener: Listener, app: Any) -> None:
    """The same event delivered twice (SQS is at-least-once) is kept once."""
    envelope = {
        "version": "0",
        "id": "11111111-2222-3333-4444-555555555555",
        "detail-type": "OrderPlaced",
        "source": app.source,
        "time": "2026-01-01T00:00:00Z",
        "region": "us-east-1",
        "resources": [],
        "detail": {"n": 1},
    }
    sqs = session.client("sqs")
    for _ in range(2):
        sqs.send_message(QueueUrl=listener.queue_url, MessageBody=json.dumps(envelope))
    listener.poll(wait=1)
    listener.poll(wait=0)
    assert [event.id for event in listener.events] == [envelope["id"]]


def test_buffer_is_bounded(app: Any, session: Any) -> None:
    """The buffer keeps the newest events up to its size and counts the dropped ones."""
    with Listener(app.bus, rule=app.rule, buffer=3, session=session) as listener:
        for n in range(5):
            app.put("OrderPlaced", {"n": n})
        listener.poll(wait=1)
        assert [event.detail["n"] for event in listener.events] == [2, 3, 4]
        assert listener.dropped == 2
        with pytest.raises(WaitTimeout, match="2 older event"):
            listener.expect_event(match(detail={"n": 0}), within=0)


def test_clear_forgets_the_buffer(app: Any, listener: Listener) -> None:
    """clear() empties the buffer: a later wait does not see those events."""
    app.put("OrderPlaced", {"n": 1})
    listener.poll(wait=1)
    listener.clear()
    assert listener.events == ()
    with pytest.raises(WaitTimeout):
        listener.expect_event(within=0)


def test_poll_arguments_are_checked(listener: Listener) -> None:
    """poll() takes 0-20 s and 1-10 messages, like SQS."""
    with pytest.raises(ConfigError, match="0 to 20"):
        listener.poll(wait=21)
    with pytest.raises(ConfigError, match="1 to 10"):
        listener.poll(max_messages=11)


def test_default_window_is_the_listeners_then_the_runs_sla(listener: Listener) -> None:
    """Without within=, a wait uses listener.sla, else the sla setting."""
    listener.sla = 0
    with pytest.raises(WaitTimeout, match="within 0 s"):
        listener.expect_event()
    assert listener.waits[-1].sla == 0


def test_wait_observers_see_every_wait(app: Any, listener: Listener) -> None:
    """subscribe_waits callbacks get each wait's record (the pytest plugin's SLA table uses this)."""
    seen: list[tuple[str, WaitRecord]] = []
    unsubscribe = subscribe_waits(lambda made, record: seen.append((made.id, record)))
    try:
        app.put("OrderPlaced", {"n": 1})
        listener.expect_event(within=2)
        listener.expect_no_event(during=0)
    finally:
        unsubscribe()
    listener.expect_no_event(during=0)
    assert [(who, record.kind, record.outcome) for who, record in seen] == [
        (listener.id, "expect_event", "matched"),
        (listener.id, "expect_no_event", "held"),
    ]
