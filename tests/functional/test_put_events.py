"""put_events against in-process moto: batching, Detail encoding, entry failures, unknown buses, round trip."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import boto3
import pytest

import iatk
from iatk._aws import aws
from iatk.events import Event, put_events
from iatk.matchers import match, pattern

moto = pytest.importorskip("moto")

RULE_PATTERN = {"source": [{"prefix": "it."}]}


@pytest.fixture
def session() -> Iterator[boto3.Session]:
    """A session inside moto.mock_aws (no network, fresh state per test)."""
    with moto.mock_aws():
        yield boto3.Session(aws_access_key_id="x", aws_secret_access_key="x", region_name="us-east-1")


def put_calls(session: boto3.Session) -> list[int]:
    """Record the number of entries of every PutEvents call made through iatk's cached client."""
    calls: list[int] = []

    def record(params: dict[str, Any], **_: Any) -> None:
        calls.append(len(params["Entries"]))

    aws(session).events.meta.events.register("before-parameter-build.events.PutEvents", record)
    return calls


def route_to_queue(session: boto3.Session, bus: str = "default", name: str = "it-inbox") -> str:
    """A rule on ``bus`` matching sources ``it.*`` that delivers to a new queue; returns the queue URL."""
    sqs = session.client("sqs")
    events = session.client("events")
    url = sqs.create_queue(QueueName=name)["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    events.put_rule(Name=f"{name}-rule", EventBusName=bus, EventPattern=json.dumps(RULE_PATTERN))
    events.put_targets(Rule=f"{name}-rule", EventBusName=bus, Targets=[{"Id": "q", "Arn": arn}])
    return url


def drain(session: boto3.Session, url: str) -> list[Event]:
    """Every message in the queue, as Events (moto delivers inside put_events, so nothing is late)."""
    sqs = session.client("sqs")
    found: list[Event] = []
    while True:
        messages = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, WaitTimeSeconds=0).get("Messages", [])
        if not messages:
            return found
        found += [Event.from_sqs_message(message) for message in messages]
        sqs.delete_message_batch(
            QueueUrl=url,
            Entries=[{"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]} for i, m in enumerate(messages)],
        )


def entry(n: int, **extra: Any) -> dict[str, Any]:
    """A PutEvents entry whose detail carries its number."""
    return {"Source": "it.app", "DetailType": "Numbered", "Detail": {"n": n}, **extra}


def test_23_entries_go_in_3_calls_and_ids_come_back_in_order(session):
    """23 entries make 3 PutEvents calls (10, 10, 3); the ids are returned in the entries' order."""
    url = route_to_queue(session)
    calls = put_calls(session)
    ids = put_events(*(entry(n) for n in range(23)), session=session)
    assert calls == [10, 10, 3]
    assert len(set(ids)) == 23
    numbers = {event.id: event.detail["n"] for event in drain(session, url)}
    assert [numbers[event_id] for event_id in ids] == list(range(23))


def test_large_entries_are_split_by_size(session):
    """Entries that together pass 256 KiB go in separate calls, even under 10 entries."""
    calls = put_calls(session)
    big = "x" * (100 * 1024)
    ids = put_events(*(entry(n, Resources=[]) | {"Detail": {"n": n, "pad": big}} for n in range(3)), session=session)
    assert len(ids) == 3
    assert calls == [2, 1]


def test_dict_detail_round_trips_and_parses_into_an_event(session):
    """A dict Detail is JSON-encoded; the delivered envelope parses into a matching Event."""
    url = route_to_queue(session)
    [event_id] = put_events(
        {
            "Source": "it.orders",
            "DetailType": "OrderPlaced",
            "Detail": {"orderId": 42, "items": [{"sku": "a"}, {"sku": "b"}]},
            "Resources": ["arn:aws:s3:::orders"],
        },
        session=session,
    )
    [event] = drain(session, url)
    assert event.id == event_id
    assert event.is_envelope
    assert event.source == "it.orders"
    assert event.detail_type == "OrderPlaced"
    assert event.detail == {"orderId": 42, "items": [{"sku": "a"}, {"sku": "b"}]}
    assert event.resources == ("arn:aws:s3:::orders",)
    assert event.region == "us-east-1"
    assert event.account in (None, "123456789012")  # moto 5.2.5 leaves account out (MOTO.md)
    assert event.time is not None
    assert event.time.utcoffset() is not None
    assert pattern(RULE_PATTERN)(event).matched
    assert match(detail_type="OrderPlaced", detail={"items": {"sku": "b"}})(event).matched


def test_envelope_dicts_and_events_are_accepted(session):
    """Envelope-form dicts and captured Events are converted to PutEvents entries."""
    url = route_to_queue(session)
    put_events(
        {"source": "it.env", "detail-type": "FromEnvelope", "detail": {"k": 1}, "id": "ignored", "account": "1"},
        session=session,
    )
    [first] = drain(session, url)
    assert (first.source, first.detail_type, first.detail) == ("it.env", "FromEnvelope", {"k": 1})
    assert first.id != "ignored"
    [again_id] = put_events(first, session=session)
    [again] = drain(session, url)
    assert again.id == again_id != first.id
    assert (again.source, again.detail_type, again.detail) == ("it.env", "FromEnvelope", {"k": 1})


def test_custom_bus_by_name_by_arn_and_per_entry(session):
    """bus= takes a name or an ARN; an entry's own EventBusName wins."""
    events = session.client("events")
    arn = events.create_event_bus(Name="orders")["EventBusArn"]
    url = route_to_queue(session, bus="orders")
    put_events(entry(1), bus="orders", session=session)
    put_events(entry(2), bus=arn, session=session)
    put_events(entry(3, EventBusName="orders"), entry(4), session=session)  # entry 4 goes to default
    assert sorted(event.detail["n"] for event in drain(session, url)) == [1, 2, 3]


def test_one_bad_entry_raises_with_its_error_and_the_ids_sent(session):
    """A rejected entry (no Detail) raises PutEventsError naming it; the good one's id is reported sent."""
    url = route_to_queue(session)
    with pytest.raises(iatk.PutEventsError) as caught:
        put_events(entry(0), {"Source": "it.app", "DetailType": "NoDetail"}, session=session)
    error = caught.value
    [delivered] = drain(session, url)
    assert error.code == "InvalidArgument"
    assert [(index, code) for index, _, code, _ in error.failed] == [(1, "InvalidArgument")]
    assert error.failed[0][1]["DetailType"] == "NoDetail"
    text = str(error)
    assert "PutEvents rejected 1 of 2 entries on bus 'default'" in text
    assert "entry 1 (source 'it.app', detail-type 'NoDetail'): InvalidArgument" in text
    assert f"Already sent (not undone): 1 event(s): {delivered.id}." in text
    assert "#putting-events" in text


def test_failure_in_a_later_batch_stops_there(session):
    """Batches run in order; the first batch with a failure raises, later ones are not attempted."""
    calls = put_calls(session)
    entries = [entry(n) for n in range(25)]
    entries[12] = {"Source": "it.app", "DetailType": "NoDetail"}
    with pytest.raises(iatk.PutEventsError) as caught:
        put_events(*entries, session=session)
    assert calls == [10, 10]
    assert [index for index, *_ in caught.value.failed] == [12]
    text = str(caught.value)
    assert "Already sent (not undone): 19 event(s)" in text
    assert "Not attempted: entries 20–24." in text


def test_unknown_bus_names_the_bus_and_lists_the_buses(session):
    """An unknown bus fails the whole call; the error names it, keeps the AWS code and lists buses."""
    session.client("events").create_event_bus(Name="orders")
    with pytest.raises(iatk.PutEventsError) as caught:
        put_events(entry(0), bus="nope", session=session)
    error = caught.value
    assert error.code == "ResourceNotFoundException"
    assert error.failed == []
    text = str(error)
    assert "PutEvents failed for entries 0–0 on bus 'nope'" in text
    assert "The bus does not exist in us-east-1" in text
    assert "Buses in us-east-1: default, orders." in text
    assert "Already sent (not undone): 0 event(s)." in text
    assert error.__cause__ is not None
