"""The embedded server's lock on moto's EventBridge backend: rules change safely while events are put.

Listeners on one bus in several xdist workers add and remove rules while other workers put events.
moto's server answers each request in its own thread, and its events backend walks a bus's rules
while putting an event, so without iatk's lock a concurrent PutRule/DeleteRule broke PutEvents
(``RuntimeError: OrderedDict mutated during iteration``, an HTTP 500).
"""

from __future__ import annotations

import json
import secrets
import threading
from typing import Any

import boto3
from moto import mock_aws
from moto.events.models import EventsBackend

from iatk.embedded import serialise_moto_events

PATTERN = json.dumps({"source": ["churn"]})


def test_put_events_while_rules_change_in_another_thread() -> None:
    """300 PutEvents on a bus whose 50 rules another thread keeps deleting and re-adding: none fails."""
    serialise_moto_events()
    backend = EventsBackend("us-east-1", "123456789012")  # its own backend: not shared with other tests
    for number in range(50):
        backend.put_rule(f"rule-{number}", event_pattern=PATTERN)
    errors: list[BaseException] = []
    done = threading.Event()

    def churn() -> None:
        number = 0
        while not done.is_set():
            backend.delete_rule(f"rule-{number % 50}", None)
            backend.put_rule(f"rule-{number % 50}", event_pattern=PATTERN)
            number += 1

    def put() -> None:
        try:
            for _ in range(300):
                backend.put_events([{"Source": "app", "DetailType": "thing", "Detail": "{}"}])
        except RuntimeError as err:
            errors.append(err)
        finally:
            done.set()

    threads = [threading.Thread(target=churn), threading.Thread(target=put)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert not any(thread.is_alive() for thread in threads)
    assert errors == []


def test_serialising_twice_wraps_once() -> None:
    """serialise_moto_events() is idempotent: a second call leaves the wrapped methods as they are."""
    serialise_moto_events()
    wrapped, put = EventsBackend.put_rule, EventsBackend.put_events
    serialise_moto_events()
    assert EventsBackend.put_rule is wrapped
    assert EventsBackend.put_rule.__wrapped__ is not wrapped  # type: ignore[attr-defined]
    assert EventsBackend.put_events is put  # iatk's PutEvents, replaced once


def test_put_events_does_not_hold_the_lock_while_it_delivers() -> None:
    """A PutRule made while another thread's PutEvents is delivering does not wait for that delivery."""
    from iatk._backend.moto import eventbridge
    from iatk._backend.moto.eventbridge import Delivery, install_target_delivery, register_target_deliverer

    serialise_moto_events()
    install_target_delivery()
    backend = EventsBackend("us-east-1", "123456789012")
    backend.put_rule("slow", event_pattern=PATTERN)
    backend.put_targets("slow", None, [{"Id": "t", "Arn": "arn:aws:bench:us-east-1:123456789012:thing"}])
    delivering, release = threading.Event(), threading.Event()

    def deliver(delivery: Delivery) -> None:
        delivering.set()
        release.wait(30)

    register_target_deliverer("bench", deliver, asynchronous=False)
    putter = threading.Thread(
        target=backend.put_events, args=([{"Source": "churn", "DetailType": "thing", "Detail": "{}"}],)
    )
    try:
        putter.start()
        assert delivering.wait(30)
        changed = threading.Thread(target=backend.put_rule, args=("other",), kwargs={"event_pattern": PATTERN})
        changed.start()
        changed.join(10)
        assert not changed.is_alive(), "PutRule waited for another call's delivery"
    finally:
        release.set()
        putter.join(30)
        eventbridge._deliverers.pop("bench", None)


def test_delivery_to_another_bus_reenters_the_lock() -> None:
    """put_events that forwards to a rule on another bus (a nested put_events) returns and delivers."""
    serialise_moto_events()
    suffix = secrets.token_hex(4)
    result: dict[str, Any] = {}

    def scenario() -> None:
        # In-process moto without its reset: a reset would wipe the embedded server's backends too.
        mock = mock_aws()
        mock.start(reset=False)
        try:
            session = boto3.Session(aws_access_key_id="x", aws_secret_access_key="x", region_name="us-east-1")
            events, sqs = session.client("events"), session.client("sqs")
            outer, inner = f"outer-{suffix}", f"inner-{suffix}"
            events.create_event_bus(Name=outer)
            inner_arn = events.create_event_bus(Name=inner)["EventBusArn"]
            queue = sqs.create_queue(QueueName=f"inner-sink-{suffix}")["QueueUrl"]
            queue_arn = sqs.get_queue_attributes(QueueUrl=queue, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
            pattern = json.dumps({"source": [f"app.{suffix}"]})
            events.put_rule(Name="forward", EventBusName=outer, EventPattern=pattern)
            events.put_targets(Rule="forward", EventBusName=outer, Targets=[{"Id": "inner", "Arn": inner_arn}])
            events.put_rule(Name="sink", EventBusName=inner, EventPattern=pattern)
            events.put_targets(Rule="sink", EventBusName=inner, Targets=[{"Id": "q", "Arn": queue_arn}])
            entry = {"Source": f"app.{suffix}", "DetailType": "thing", "Detail": '{"n": 1}', "EventBusName": outer}
            events.put_events(Entries=[entry])  # type: ignore[list-item]
            result["messages"] = sqs.receive_message(QueueUrl=queue, MaxNumberOfMessages=10).get("Messages", [])
            for bus, rule, target in ((outer, "forward", "inner"), (inner, "sink", "q")):
                events.remove_targets(Rule=rule, EventBusName=bus, Ids=[target])
                events.delete_rule(Name=rule, EventBusName=bus)
                events.delete_event_bus(Name=bus)
            sqs.delete_queue(QueueUrl=queue)
        finally:
            mock.stop(remove_data=False)  # keep the embedded server's backends (shared in-process)

    thread = threading.Thread(target=scenario)
    thread.start()
    thread.join(timeout=60)
    assert not thread.is_alive(), "put_events deadlocked on its own lock"
    assert [json.loads(message["Body"])["detail"] for message in result["messages"]] == [{"n": 1}]
