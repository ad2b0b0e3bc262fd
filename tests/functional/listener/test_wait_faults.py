"""Waits under faults: the listener's parts removed under it, failing deletes, and a bounded wait history.

Faults are injected at the AWS boundary: resources deleted with a plain client of the same server (as
another run's cleanup would), or botocore ``before-call`` hooks on iatk's own clients.
"""

from __future__ import annotations

import logging
from typing import Any

import pytest

from iatk.exceptions import ListenerError, WaitTimeout
from iatk.listener import Listener
from iatk.matchers import match
from iatk.waiting import subscribe_waits


def test_a_timeout_says_the_rule_was_deleted_under_the_listener(app: Any, session: Any) -> None:
    """A wait on a listener whose rule someone deleted says so, not only "no event matched"."""
    with Listener(app.bus, rule=app.rule, session=session) as listener:
        events = session.client("events")
        events.remove_targets(Rule=listener.id, EventBusName=app.bus, Ids=[listener.id])
        events.delete_rule(Name=listener.id, EventBusName=app.bus)
        app.put("OrderPlaced", {"orderId": 1})
        with pytest.raises(WaitTimeout) as caught:
            listener.expect_event(within=0)
    text = str(caught.value)
    assert f"its rule {listener.rule_arn} no longer exists on bus {app.bus!r}" in text
    assert "deleted under the listener" in text


def test_a_timeout_says_the_target_was_removed(app: Any, session: Any) -> None:
    """The rule is there but its target is gone: the timeout names the missing target."""
    with Listener(app.bus, rule=app.rule, session=session) as listener:
        session.client("events").remove_targets(Rule=listener.id, EventBusName=app.bus, Ids=[listener.id])
        with pytest.raises(WaitTimeout) as caught:
            listener.expect_events(1, within=0)
    assert f"no longer has its target {listener.id}" in str(caught.value)


def test_a_timeout_says_the_rule_was_disabled(app: Any, session: Any) -> None:
    with Listener(app.bus, rule=app.rule, session=session) as listener:
        session.client("events").disable_rule(Name=listener.id, EventBusName=app.bus)
        with pytest.raises(WaitTimeout) as caught:
            listener.expect_event(within=0)
    assert f"its rule {listener.rule_arn} is DISABLED" in str(caught.value)


def test_an_intact_listener_timeout_has_no_such_note(app: Any, session: Any) -> None:
    with Listener(app.bus, rule=app.rule, session=session) as listener, pytest.raises(WaitTimeout) as caught:
        listener.expect_event(within=0)
    assert "cannot receive" not in str(caught.value)


def test_a_queue_deleted_under_the_listener_is_named(app: Any, session: Any, leftovers: Any) -> None:
    """ReceiveMessage on a deleted queue fails; the error says the queue was deleted under the listener."""
    listener = Listener(app.bus, rule=app.rule, session=session).start()
    session.client("sqs").delete_queue(QueueUrl=listener.queue_url)
    with pytest.raises(ListenerError, match="its queue was deleted under the listener"):
        listener.expect_event(within=1)
    listener.close()
    assert leftovers(listener.id, app.bus) == []


def not_visible(session: Any, listener: Listener) -> int:
    attributes = session.client("sqs").get_queue_attributes(
        QueueUrl=listener.queue_url, AttributeNames=["ApproximateNumberOfMessagesNotVisible"]
    )["Attributes"]
    return int(attributes["ApproximateNumberOfMessagesNotVisible"])


def test_a_transient_delete_error_never_fails_a_wait(
    app: Any, session: Any, fail_call: Any, caplog: pytest.LogCaptureFixture
) -> None:
    """DeleteMessageBatch failing (a 503) before a receive: the wait still returns; the deletes go out later."""
    with Listener(app.bus, rule=app.rule, session=session) as listener:
        for n in range(10):
            app.put("OrderPlaced", {"orderId": n})
        listener.expect_event(match(detail={"orderId": 0}), within=2)  # ten received, their deletes deferred
        assert not_visible(session, listener) == 10
        fail_call("sqs", "DeleteMessageBatch", "ServiceUnavailable")
        app.put("OrderPlaced", {"orderId": 10})
        with caplog.at_level(logging.WARNING, logger="iatk.listener"):
            event = listener.expect_event(match(detail={"orderId": 10}), within=2)
        assert event.detail == {"orderId": 10}
        assert "DeleteMessageBatch on" in caplog.text  # it was tried, and failed
        assert "ServiceUnavailable" in caplog.text
        assert not_visible(session, listener) == 11  # nothing deleted, nothing lost
        fail_call.undo()
        app.put("OrderPlaced", {"orderId": 11})
        listener.expect_event(match(detail={"orderId": 11}), within=2)
        assert not_visible(session, listener) == 2  # ten deleted on the retry; two wait for a full batch
        assert [e.detail["orderId"] for e in listener.events] == list(range(12))


def test_a_failing_delete_after_a_poll_keeps_the_events(app: Any, session: Any, fail_call: Any) -> None:
    """poll() deletes at once; when that fails, the events are still returned and the delete is deferred."""
    with Listener(app.bus, rule=app.rule, session=session) as listener:
        app.put("OrderPlaced", {"orderId": 1})
        fail_call("sqs", "DeleteMessageBatch", "InternalError")
        assert [e.detail for e in listener.poll(wait=1)] == [{"orderId": 1}]


def test_listener_waits_are_bounded_like_the_buffer(app: Any, session: Any) -> None:
    """listener.waits keeps the last `buffer` records; every record still reaches the wait observers."""
    seen: list[Any] = []
    unsubscribe = subscribe_waits(lambda _listener, record: seen.append(record))
    try:
        with Listener(app.bus, rule=app.rule, buffer=3, session=session) as listener:
            for _ in range(7):
                listener.expect_no_event(during=0)
    finally:
        unsubscribe()
    mine = [record for record in seen if record.listener_id == listener.id]
    assert len(mine) == 7
    assert len(listener.waits) == 3
    assert list(listener.waits) == mine[-3:]
