"""put_events against the shared embedded moto server: batching, Detail encoding, entry failures, unknown buses."""

from __future__ import annotations

import json
import re
import uuid
from collections.abc import Iterator
from contextlib import ExitStack
from typing import Any

import boto3
import pytest

import iatk
from iatk._aws import aws
from iatk.events import Event, put_events
from iatk.matchers import match, pattern

RULE_PATTERN = {"source": [{"prefix": "it."}]}


def unique(prefix: str) -> str:
    """A name no other test (of any module sharing this server) uses."""
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


class Scratch:
    """Buses, queues and rules with unique names on the shared server, deleted newest first at teardown."""

    def __init__(self, session: boto3.Session, cleanup: ExitStack) -> None:
        self.events = session.client("events")
        self.sqs = session.client("sqs")
        self._cleanup = cleanup

    def bus(self) -> tuple[str, str]:
        """A new custom bus: its name and ARN."""
        name = unique("pe")
        arn = self.events.create_event_bus(Name=name)["EventBusArn"]
        self._cleanup.callback(self.events.delete_event_bus, Name=name)
        return name, arn

    def route(self, bus: str) -> str:
        """A rule on ``bus`` matching sources ``it.*`` that delivers to a new queue; returns the queue URL."""
        name = unique("pe-inbox")
        url = self.sqs.create_queue(QueueName=name)["QueueUrl"]
        self._cleanup.callback(self.sqs.delete_queue, QueueUrl=url)
        arn = self.sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
        self.events.put_rule(Name=name, EventBusName=bus, EventPattern=json.dumps(RULE_PATTERN))
        self._cleanup.callback(self.events.delete_rule, Name=name, EventBusName=bus)
        self.events.put_targets(Rule=name, EventBusName=bus, Targets=[{"Id": "q", "Arn": arn}])
        self._cleanup.callback(self.events.remove_targets, Rule=name, EventBusName=bus, Ids=["q"])
        return url


@pytest.fixture
def session(embedded: Any) -> boto3.Session:
    """A new session on the shared embedded server: its own iatk client cache, so hooks stay in this test."""
    result: boto3.Session = embedded.session()
    return result


@pytest.fixture
def scratch(session: boto3.Session) -> Iterator[Scratch]:
    """Makes the test's buses, queues and rules; deletes them afterwards."""
    with ExitStack() as cleanup:
        yield Scratch(session, cleanup)


def put_calls(session: boto3.Session) -> list[int]:
    """Record the number of entries of every PutEvents call made through iatk's cached client."""
    calls: list[int] = []

    def record(params: dict[str, Any], **_: Any) -> None:
        calls.append(len(params["Entries"]))

    aws(session).events.meta.events.register("before-parameter-build.events.PutEvents", record)
    return calls


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


def test_23_entries_go_in_3_calls_and_ids_come_back_in_order(session, scratch):
    """23 entries make 3 PutEvents calls (10, 10, 3); the ids are returned in the entries' order."""
    bus, _ = scratch.bus()
    url = scratch.route(bus)
    calls = put_calls(session)
    ids = put_events(*(entry(n) for n in range(23)), bus=bus, session=session)
    assert calls == [10, 10, 3]
    assert len(set(ids)) == 23
    numbers = {event.id: event.detail["n"] for event in drain(session, url)}
    assert [numbers[event_id] for event_id in ids] == list(range(23))


def test_large_entries_are_split_by_size(session, scratch):
    """Entries that together pass 256 KiB go in separate calls, even under 10 entries."""
    bus, _ = scratch.bus()
    calls = put_calls(session)
    big = "x" * (100 * 1024)
    ids = put_events(
        *(entry(n, Resources=[]) | {"Detail": {"n": n, "pad": big}} for n in range(3)), bus=bus, session=session
    )
    assert len(ids) == 3
    assert calls == [2, 1]


def test_dict_detail_round_trips_and_parses_into_an_event(session, scratch):
    """A dict Detail is JSON-encoded; the delivered envelope parses into a matching Event."""
    bus, _ = scratch.bus()
    url = scratch.route(bus)
    [event_id] = put_events(
        {
            "Source": "it.orders",
            "DetailType": "OrderPlaced",
            "Detail": {"orderId": 42, "items": [{"sku": "a"}, {"sku": "b"}]},
            "Resources": ["arn:aws:s3:::orders"],
        },
        bus=bus,
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


def test_envelope_dicts_and_events_are_accepted(session, scratch):
    """Envelope-form dicts and captured Events are converted to PutEvents entries."""
    bus, _ = scratch.bus()
    url = scratch.route(bus)
    put_events(
        {"source": "it.env", "detail-type": "FromEnvelope", "detail": {"k": 1}, "id": "ignored", "account": "1"},
        bus=bus,
        session=session,
    )
    [first] = drain(session, url)
    assert (first.source, first.detail_type, first.detail) == ("it.env", "FromEnvelope", {"k": 1})
    assert first.id != "ignored"
    [again_id] = put_events(first, bus=bus, session=session)
    [again] = drain(session, url)
    assert again.id == again_id != first.id
    assert (again.source, again.detail_type, again.detail) == ("it.env", "FromEnvelope", {"k": 1})


def test_custom_bus_by_name_by_arn_and_per_entry(session, scratch):
    """bus= takes a name or an ARN; an entry's own EventBusName wins."""
    orders, arn = scratch.bus()
    other, _ = scratch.bus()
    url = scratch.route(orders)
    elsewhere = scratch.route(other)
    put_events(entry(1), bus=orders, session=session)
    put_events(entry(2), bus=arn, session=session)
    put_events(entry(3, EventBusName=orders), entry(4), bus=other, session=session)  # entry 4 goes to bus=
    assert sorted(event.detail["n"] for event in drain(session, url)) == [1, 2, 3]
    assert [event.detail["n"] for event in drain(session, elsewhere)] == [4]


def test_one_bad_entry_raises_with_its_error_and_the_ids_sent(session, scratch):
    """A rejected entry (no Detail) raises PutEventsError naming it; the good one's id is reported sent."""
    bus, _ = scratch.bus()
    url = scratch.route(bus)
    with pytest.raises(iatk.PutEventsError) as caught:
        put_events(entry(0), {"Source": "it.app", "DetailType": "NoDetail"}, bus=bus, session=session)
    error = caught.value
    [delivered] = drain(session, url)
    assert error.code == "InvalidArgument"
    assert [(index, code) for index, _, code, _ in error.failed] == [(1, "InvalidArgument")]
    assert error.failed[0][1]["DetailType"] == "NoDetail"
    text = str(error)
    assert f"PutEvents rejected 1 of 2 entries on bus '{bus}'" in text
    assert "entry 1 (source 'it.app', detail-type 'NoDetail'): InvalidArgument" in text
    assert f"Already sent (not undone): 1 event(s): {delivered.id}." in text
    assert "section 'Putting events'" in text


def test_failure_in_a_later_batch_stops_there(session, scratch):
    """Batches run in order; the first batch with a failure raises, later ones are not attempted."""
    bus, _ = scratch.bus()
    calls = put_calls(session)
    entries = [entry(n) for n in range(25)]
    entries[12] = {"Source": "it.app", "DetailType": "NoDetail"}
    with pytest.raises(iatk.PutEventsError) as caught:
        put_events(*entries, bus=bus, session=session)
    assert calls == [10, 10]
    assert [index for index, *_ in caught.value.failed] == [12]
    text = str(caught.value)
    assert "Already sent (not undone): 19 event(s)" in text
    assert "Not attempted: entries 20–24." in text


def test_unknown_bus_names_the_bus_and_lists_the_buses(session, scratch):
    """An unknown bus fails the whole call; the error names it, keeps the AWS code and lists buses."""
    orders, _ = scratch.bus()
    nope = unique("pe-nope")
    with pytest.raises(iatk.PutEventsError) as caught:
        put_events(entry(0), bus=nope, session=session)
    error = caught.value
    assert error.code == "ResourceNotFoundException"
    assert error.failed == []
    text = str(error)
    assert f"PutEvents failed for entries 0–0 on bus '{nope}'" in text
    assert "The bus does not exist in us-east-1" in text
    listed = re.search(r"Buses in us-east-1: (.+?)\.(?: |$)", text)
    assert listed is not None, text
    names = listed.group(1).split(", ")
    assert {"default", orders} <= set(names)  # other tests' buses may be listed too
    assert nope not in names
    assert "Already sent (not undone): 0 event(s)." in text
    assert error.__cause__ is not None


def test_aws_sources_are_refused_as_eventbridge_does(session, scratch):
    """EventBridge refuses PutEvents entries with an ``aws.*`` source (NotAuthorizedForSourceException); the
    embedded backend too (plain moto accepts them). The other entries of the call go through, and the message
    says to use a test source the rule also matches."""
    bus, _ = scratch.bus()
    url = scratch.route(bus)
    events = session.client("events")
    raw = events.put_events(
        Entries=[
            {
                "Source": "aws.ec2",
                "DetailType": "EC2 Instance State-change Notification",
                "Detail": "{}",
                "EventBusName": bus,
            },
            {"Source": "it.app", "DetailType": "Numbered", "Detail": '{"n": 1}', "EventBusName": bus},
        ]
    )
    assert raw["FailedEntryCount"] == 1
    assert raw["Entries"][0] == {
        "ErrorCode": "NotAuthorizedForSourceException",
        "ErrorMessage": "Not authorized for the source.",
    }
    assert "EventId" in raw["Entries"][1]
    assert [event.detail for event in drain(session, url)] == [{"n": 1}]

    with pytest.raises(iatk.PutEventsError) as caught:
        put_events({"Source": "aws.ec2", "DetailType": "x", "Detail": {}}, entry(2), bus=bus, session=session)
    text = str(caught.value)
    assert "NotAuthorizedForSourceException" in text
    assert "test source that your rule also matches" in text
    assert "'test.aws.ec2'" in text
    assert [failure[0] for failure in caught.value.failed] == [0]
