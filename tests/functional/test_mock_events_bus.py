"""A generated event goes on a bus as a PutEvents entry and arrives intact (in-process moto)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest

from iatk.mock_events import eventbridge_envelope, mock_event, to_put_events_entry

moto = pytest.importorskip("moto")

SCHEMAS = Path(__file__).resolve().parents[1] / "data" / "schemas"


@pytest.fixture
def session() -> Iterator[boto3.Session]:
    """A session inside moto.mock_aws (no network, fresh state per test)."""
    with moto.mock_aws():
        yield boto3.Session(aws_access_key_id="x", aws_secret_access_key="x", region_name="us-east-1")


def route(session: boto3.Session, bus: str, pattern: dict[str, Any]) -> str:
    """A rule on ``bus`` matching ``pattern`` that targets a new SQS queue; returns the queue URL."""
    sqs, events = session.client("sqs"), session.client("events")
    url = sqs.create_queue(QueueName=f"inbox-{bus}")["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    events.put_rule(Name=f"to-inbox-{bus}", EventBusName=bus, EventPattern=json.dumps(pattern))
    events.put_targets(Rule=f"to-inbox-{bus}", EventBusName=bus, Targets=[{"Id": "inbox", "Arn": arn}])
    return url


def receive(session: boto3.Session, url: str) -> list[dict[str, Any]]:
    """The events waiting in the queue (moto delivers inside put_events, so nothing is late)."""
    messages = session.client("sqs").receive_message(QueueUrl=url, MaxNumberOfMessages=10, WaitTimeSeconds=0)
    return [json.loads(message["Body"]) for message in messages.get("Messages", [])]


def test_plugin_trigger_event_round_trip(session: boto3.Session):
    """The example app's trigger detail, wrapped and put on the default bus, reaches the rule's queue."""
    url = route(session, "default", {"source": ["video.plugin"], "detail-type": ["PluginTriggered"]})
    detail = mock_event(schema_file=SCHEMAS / "plugin_trigger.json", overrides={"eventHook": "postMetadata"})
    entry = to_put_events_entry(eventbridge_envelope(detail, "video.plugin", "PluginTriggered"))
    result = session.client("events").put_events(Entries=[entry])
    assert result["FailedEntryCount"] == 0
    [body] = receive(session, url)
    assert body["detail"] == detail
    assert (body["source"], body["detail-type"]) == ("video.plugin", "PluginTriggered")


def test_awsevent_schema_event_round_trip_on_a_custom_bus(session: boto3.Session):
    """An AWSEvent-rooted mock event keeps its source, detail-type, resources and detail through a custom bus."""
    session.client("events").create_event_bus(Name="support")
    url = route(session, "support", {"source": ["com.example.support"], "detail": {"priority": ["normal"]}})
    event = mock_event(schema_file=SCHEMAS / "ticket_created.json", seed=11, overrides={"resources": ["arn:aws:x:1"]})
    result = session.client("events").put_events(Entries=[to_put_events_entry(event, bus="support")])
    assert result["FailedEntryCount"] == 0
    [body] = receive(session, url)
    assert body["detail"] == event["detail"]
    assert (body["source"], body["detail-type"], body["resources"]) == (
        "com.example.support",
        "TicketCreated",
        ["arn:aws:x:1"],
    )


def test_non_matching_event_is_not_delivered(session: boto3.Session):
    """The rule really filters: a trigger with another detail-type does not arrive."""
    url = route(session, "default", {"source": ["video.plugin"], "detail-type": ["PluginTriggered"]})
    detail = mock_event(schema_file=SCHEMAS / "plugin_trigger.json")
    entry = to_put_events_entry(eventbridge_envelope(detail, "video.plugin", "SomethingElse"))
    assert session.client("events").put_events(Entries=[entry])["FailedEntryCount"] == 0
    assert receive(session, url) == []


def test_iatk_put_events_takes_mock_events_in_both_forms(session: boto3.Session):
    """iatk.put_events accepts a mock AWSEvent as is and as a PutEvents entry; both arrive unchanged."""
    from iatk.events import put_events

    url = route(session, "default", {"source": ["com.example.support"]})
    event = mock_event(schema_file=SCHEMAS / "ticket_created.json", seed=4)
    ids = put_events(event, to_put_events_entry(event), session=session)
    assert len(ids) == 2
    bodies = receive(session, url)
    assert [body["detail"] for body in bodies] == [event["detail"], event["detail"]]
