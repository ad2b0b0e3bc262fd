"""A wait that times out says which rule targets the embedded backend could not deliver (issue 16 item 3).

The event a test waits for is often the effect of another rule's target (a function, a workflow
that puts it). When that target cannot be delivered, PutEvents still succeeds, so the timeout's
evidence is the only place the cause can show: "rule R: target T (arn) not delivered (why)".
"""

from __future__ import annotations

import json
from typing import Any

import pytest

import iatk
from iatk.exceptions import WaitTimeout


def test_timeout_evidence_names_the_undelivered_target(session: Any, app: Any) -> None:
    """A FIFO queue target on a queue without content-based deduplication cannot be delivered: the timeout says so."""
    sqs, events = session.client("sqs"), session.client("events")
    fifo = sqs.create_queue(QueueName=f"work-{app.suffix}.fifo", Attributes={"FifoQueue": "true"})["QueueUrl"]
    fifo_arn = sqs.get_queue_attributes(QueueUrl=fifo, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    rule = f"ToWorker-{app.suffix}"
    events.put_rule(Name=rule, EventBusName=app.bus, EventPattern=json.dumps({"detail-type": ["Work"]}))
    events.put_targets(
        Rule=rule,
        EventBusName=app.bus,
        Targets=[{"Id": "worker", "Arn": fifo_arn, "SqsParameters": {"MessageGroupId": "g"}}],
    )
    try:
        with iatk.Listener(app.bus, pattern={"detail-type": ["WorkDone"]}, session=session) as done:
            event_id = app.put("Work", {"n": 1})
            with pytest.raises(WaitTimeout) as caught:
                done.expect_event(within=0.5)
        message = str(caught.value)
        assert "could not deliver 1 rule target since the listener started" in message
        assert (
            f"rule {rule}: target worker ({fifo_arn}) not delivered "
            "(a FIFO queue target needs content-based deduplication on the queue)"
        ) in message
        assert f"event {event_id}" in message
    finally:
        events.remove_targets(Rule=rule, EventBusName=app.bus, Ids=["worker"])
        events.delete_rule(Name=rule, EventBusName=app.bus)
        sqs.delete_queue(QueueUrl=fifo)


def test_nothing_undelivered_adds_nothing(session: Any, app: Any) -> None:
    """When every target was delivered, the evidence has no undelivered section."""
    with iatk.Listener(app.bus, pattern={"detail-type": ["Nothing"]}, session=session) as quiet:
        app.put("Other")
        with pytest.raises(WaitTimeout) as caught:
            quiet.expect_event(within=0.2)
    assert "could not deliver" not in str(caught.value)
