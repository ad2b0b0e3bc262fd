"""A generated event goes on a bus as a PutEvents entry and arrives intact (shared embedded moto server)."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import boto3
import pytest

from iatk.mock_events import eventbridge_envelope, mock_event, to_put_events_entry

SCHEMAS = Path(__file__).resolve().parents[1] / "data" / "schemas"


def unique(prefix: str) -> str:
    """A name no other test (of any module sharing this server) uses."""
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


class Scratch:
    """Buses, queues and rules with unique names on the shared server, deleted newest first at teardown."""

    def __init__(self, session: boto3.Session, cleanup: ExitStack) -> None:
        self.events = session.client("events")
        self.sqs = session.client("sqs")
        self._cleanup = cleanup

    def bus(self) -> str:
        """A new custom bus; returns its name."""
        name = unique("meb")
        self.events.create_event_bus(Name=name)
        self._cleanup.callback(self.events.delete_event_bus, Name=name)
        return name

    def route(self, bus: str, pattern: dict[str, Any]) -> str:
        """A rule on ``bus`` matching ``pattern`` that targets a new SQS queue; returns the queue URL."""
        name = unique("meb-inbox")
        url = self.sqs.create_queue(QueueName=name)["QueueUrl"]
        self._cleanup.callback(self.sqs.delete_queue, QueueUrl=url)
        arn = self.sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
        self.events.put_rule(Name=name, EventBusName=bus, EventPattern=json.dumps(pattern))
        self._cleanup.callback(self.events.delete_rule, Name=name, EventBusName=bus)
        self.events.put_targets(Rule=name, EventBusName=bus, Targets=[{"Id": "inbox", "Arn": arn}])
        self._cleanup.callback(self.events.remove_targets, Rule=name, EventBusName=bus, Ids=["inbox"])
        return url


@pytest.fixture
def session(moto_session: boto3.Session) -> boto3.Session:
    """The shared embedded server's session (tests here add no client hooks, so sharing it is safe)."""
    return moto_session


@pytest.fixture
def scratch(session: boto3.Session) -> Iterator[Scratch]:
    """Makes the test's buses, queues and rules; deletes them afterwards."""
    with ExitStack() as cleanup:
        yield Scratch(session, cleanup)


def receive(session: boto3.Session, url: str) -> list[dict[str, Any]]:
    """The events waiting in the queue (moto delivers inside put_events, so nothing is late)."""
    messages = session.client("sqs").receive_message(QueueUrl=url, MaxNumberOfMessages=10, WaitTimeSeconds=0)
    return [json.loads(message["Body"]) for message in messages.get("Messages", [])]


def test_plugin_trigger_event_round_trip(session: boto3.Session, scratch: Scratch):
    """The example app's trigger detail, wrapped and put on a bus by name, reaches the rule's queue."""
    bus = scratch.bus()
    url = scratch.route(bus, {"source": ["video.plugin"], "detail-type": ["PluginTriggered"]})
    detail = mock_event(schema_file=SCHEMAS / "plugin_trigger.json", overrides={"eventHook": "postMetadata"})
    entry = to_put_events_entry(eventbridge_envelope(detail, "video.plugin", "PluginTriggered"), bus=bus)
    result = session.client("events").put_events(Entries=[entry])
    assert result["FailedEntryCount"] == 0
    [body] = receive(session, url)
    assert body["detail"] == detail
    assert (body["source"], body["detail-type"]) == ("video.plugin", "PluginTriggered")


def test_awsevent_schema_event_round_trip_on_a_custom_bus(session: boto3.Session, scratch: Scratch):
    """An AWSEvent-rooted mock event keeps its source, detail-type, resources and detail through a custom bus."""
    bus = scratch.bus()
    url = scratch.route(bus, {"source": ["com.example.support"], "detail": {"priority": ["normal"]}})
    event = mock_event(
        schema_file=SCHEMAS / "ticket_created.json",
        seed=11,
        overrides={"resources": ["arn:aws:x:1"], "detail": {"priority": "normal"}},
    )
    result = session.client("events").put_events(Entries=[to_put_events_entry(event, bus=bus)])
    assert result["FailedEntryCount"] == 0
    [body] = receive(session, url)
    assert body["detail"] == event["detail"]
    assert (body["source"], body["detail-type"], body["resources"]) == (
        "com.example.support",
        "TicketCreated",
        ["arn:aws:x:1"],
    )


def test_non_matching_event_is_not_delivered(session: boto3.Session, scratch: Scratch):
    """The rule really filters: a trigger with another detail-type does not arrive."""
    bus = scratch.bus()
    url = scratch.route(bus, {"source": ["video.plugin"], "detail-type": ["PluginTriggered"]})
    detail = mock_event(schema_file=SCHEMAS / "plugin_trigger.json")
    entry = to_put_events_entry(eventbridge_envelope(detail, "video.plugin", "SomethingElse"), bus=bus)
    assert session.client("events").put_events(Entries=[entry])["FailedEntryCount"] == 0
    assert receive(session, url) == []


def test_iatk_put_events_takes_mock_events_in_both_forms(session: boto3.Session, scratch: Scratch):
    """iatk.put_events accepts a mock AWSEvent as is and as a PutEvents entry; both arrive unchanged."""
    from iatk.events import put_events

    bus = scratch.bus()
    url = scratch.route(bus, {"source": ["com.example.support"]})
    event = mock_event(schema_file=SCHEMAS / "ticket_created.json", seed=4)
    ids = put_events(event, to_put_events_entry(event, bus=bus), bus=bus, session=session)
    assert len(ids) == 2
    bodies = receive(session, url)
    assert [body["detail"] for body in bodies] == [event["detail"], event["detail"]]


def test_a_listener_receives_a_generated_event(session: boto3.Session, scratch: Scratch):
    """iatk.Listener on a custom bus receives a mock AWSEvent put with iatk.put_events; the detail is intact."""
    import iatk

    bus = scratch.bus()
    event = iatk.mock_event(schema_file=SCHEMAS / "ticket_created.json", seed=23)
    ticket_id = event["detail"]["ticketId"]
    with iatk.Listener(bus, pattern={"source": ["com.example.support"]}, session=session) as listener:
        [event_id] = iatk.put_events(iatk.to_put_events_entry(event, bus=bus), session=session)
        received = listener.expect_event(
            iatk.match(detail_type="TicketCreated", detail={"ticketId": ticket_id}), within=10
        )
    assert received.id == event_id
    assert received.detail == event["detail"]
    assert (received.source, received.detail_type) == (event["source"], event["detail-type"])
    assert listener.closed
