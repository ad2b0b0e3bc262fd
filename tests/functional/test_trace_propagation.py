"""The trace header travels on through the embedded server's services, as on AWS.

SQS messages carry ``AWSTraceHeader``; EventBridge hands an event's header to its targets (with the
bus's ``Events`` node between); SNS passes it to subscribers (an inferred ``AWS::SNS`` node, or the
topic's own segment with active tracing); a Step Functions Task's call carries the execution's
header with the task's subsegment as ``Parent``. Every check reads what a consumer reads
(``ReceiveMessage``) and the tree ``BatchGetTraces`` returns.
"""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Iterator
from typing import Any

import pytest

import iatk
from iatk.trace import get_trace_tree

ROLE = "arn:aws:iam::123456789012:role/sfn"
CALLER_SUB = "c0ffee00c0ffee01"


def name(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


def caller(session: Any, header: iatk.TraceHeader, sub_id: str = CALLER_SUB) -> None:
    """The traced caller's own segment, with the subsegment its call was made from (as an SDK sends it)."""
    now = time.time()
    document = {
        "id": "c0ffee00c0ffee00",
        "trace_id": header.root,
        "name": "tester",
        "start_time": now - 2,
        "end_time": now,
        "subsegments": [{"id": sub_id, "name": "call", "namespace": "aws", "start_time": now - 1, "end_time": now}],
    }
    session.client("xray").put_trace_segments(TraceSegmentDocuments=[json.dumps(document)])


def received(sqs: Any, url: str, within: float = 10) -> dict[str, Any]:
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        messages = sqs.receive_message(
            QueueUrl=url, MessageSystemAttributeNames=["AWSTraceHeader"], WaitTimeSeconds=1
        ).get("Messages", [])
        if messages:
            message: dict[str, Any] = messages[0]
            return message
    raise AssertionError(f"no message on {url} after {within} s")


def trace_header_of(message: dict[str, Any]) -> iatk.TraceHeader:
    return iatk.TraceHeader.parse(message["Attributes"]["AWSTraceHeader"])


@pytest.fixture
def queue(moto_session: Any) -> Iterator[tuple[str, str]]:
    sqs = moto_session.client("sqs")
    url = sqs.create_queue(QueueName=name("traced"))["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    yield url, arn
    sqs.delete_queue(QueueUrl=url)


def test_a_traced_send_message_keeps_the_header_and_shows_the_queue(moto_session: Any, queue: Any) -> None:
    url, _ = queue
    sqs = moto_session.client("sqs")
    header = iatk.TraceHeader(iatk.new_trace_header().root, True, CALLER_SUB)
    iatk.trace_client(sqs, header)
    sqs.send_message(QueueUrl=url, MessageBody="{}")
    iatk.untrace_client(sqs)
    assert trace_header_of(received(sqs, url)) == header  # moto ignores the HTTP header
    caller(moto_session, header)
    tree = get_trace_tree(header, within=10, session=moto_session, source="xray")
    tree.assert_path(["tester", "AWS::SQS::Queue"])
    [node] = tree.find(origin="AWS::SQS::Queue")
    assert (node.name, node.inferred, node.parent_id, node.aws["operation"]) == ("SQS", True, CALLER_SUB, "SendMessage")


def test_a_batch_entry_keeps_its_own_trace_header(moto_session: Any, queue: Any) -> None:
    url, _ = queue
    sqs = moto_session.client("sqs")
    header = f"Root={iatk.new_trace_header().root};Parent=53995c3f42cd8ad8;Sampled=1"
    attribute = {"AWSTraceHeader": {"DataType": "String", "StringValue": header}}
    sqs.send_message_batch(
        QueueUrl=url,
        Entries=[
            {"Id": "traced", "MessageBody": "a", "MessageSystemAttributes": attribute},
            {"Id": "plain", "MessageBody": "b"},
        ],
    )
    messages = []
    deadline = time.monotonic() + 10
    while len(messages) < 2 and time.monotonic() < deadline:
        messages += sqs.receive_message(
            QueueUrl=url, MessageSystemAttributeNames=["All"], MaxNumberOfMessages=10, WaitTimeSeconds=1
        ).get("Messages", [])
    by_body = {m["Body"]: m.get("Attributes", {}) for m in messages}
    assert by_body["a"]["AWSTraceHeader"] == header  # moto 5.2.5 drops a batch entry's system attributes
    assert "AWSTraceHeader" not in by_body["b"]


def test_an_untraced_send_carries_no_header(moto_session: Any, queue: Any) -> None:
    url, _ = queue
    sqs = moto_session.client("sqs")
    sqs.send_message(QueueUrl=url, MessageBody="{}")
    assert "AWSTraceHeader" not in received(sqs, url).get("Attributes", {})


@pytest.fixture
def bus_to_queue(moto_session: Any, queue: Any) -> Iterator[dict[str, str]]:
    url, arn = queue
    events = moto_session.client("events")
    bus, rule = name("bus"), name("rule")
    events.create_event_bus(Name=bus)
    events.put_rule(Name=rule, EventBusName=bus, EventPattern=json.dumps({"source": ["traced.test"]}))
    events.put_targets(Rule=rule, EventBusName=bus, Targets=[{"Id": "queue", "Arn": arn}])
    yield {"bus": bus, "url": url}
    events.remove_targets(Rule=rule, EventBusName=bus, Ids=["queue"])
    events.delete_rule(Name=rule, EventBusName=bus)
    events.delete_event_bus(Name=bus)


def test_put_events_carries_the_entry_header_to_an_sqs_target(moto_session: Any, bus_to_queue: Any) -> None:
    header = iatk.TraceHeader(iatk.new_trace_header().root, True, CALLER_SUB)
    entry = {"Source": "traced.test", "DetailType": "t", "Detail": "{}", "EventBusName": bus_to_queue["bus"]}
    answer = moto_session.client("events").put_events(Entries=[{**entry, "TraceHeader": str(header)}])
    assert answer["FailedEntryCount"] == 0
    message = received(moto_session.client("sqs"), bus_to_queue["url"])
    assert "TraceHeader" not in message["Body"]  # the header is not in the event the target receives
    assert json.loads(message["Body"])["source"] == "traced.test"
    delivered = trace_header_of(message)
    caller(moto_session, header)
    tree = get_trace_tree(header, within=10, session=moto_session, source="xray")
    tree.assert_path(["tester", "AWS::Events"])
    [bus] = tree.find(origin="AWS::Events")
    assert (bus.parent_id, bus.aws["event_bus_name"]) == (CALLER_SUB, bus_to_queue["bus"])
    assert (delivered.root, delivered.parent, delivered.sampled) == (header.root, bus.id, True)


def test_an_invalid_entry_header_is_dropped_and_the_event_delivered(moto_session: Any, bus_to_queue: Any) -> None:
    entry = {"Source": "traced.test", "DetailType": "t", "Detail": "{}", "EventBusName": bus_to_queue["bus"]}
    moto_session.client("events").put_events(Entries=[{**entry, "TraceHeader": "Root=not-a-trace"}])
    assert "AWSTraceHeader" not in received(moto_session.client("sqs"), bus_to_queue["url"]).get("Attributes", {})


@pytest.fixture
def topic_to_queue(moto_session: Any, queue: Any) -> Iterator[dict[str, str]]:
    url, arn = queue
    sns = moto_session.client("sns")
    topic = sns.create_topic(Name=name("topic"))["TopicArn"]
    sns.subscribe(TopicArn=topic, Protocol="sqs", Endpoint=arn, Attributes={"RawMessageDelivery": "true"})
    yield {"topic": topic, "url": url}
    sns.delete_topic(TopicArn=topic)


def test_a_publish_passes_the_header_through_and_shows_the_inferred_topic(
    moto_session: Any, topic_to_queue: Any
) -> None:
    sns = moto_session.client("sns")
    header = iatk.TraceHeader(iatk.new_trace_header().root, True, CALLER_SUB)
    iatk.trace_client(sns, header)
    sns.publish(TopicArn=topic_to_queue["topic"], Message="hello")
    iatk.untrace_client(sns)
    assert trace_header_of(received(moto_session.client("sqs"), topic_to_queue["url"])) == header
    caller(moto_session, header)
    tree = get_trace_tree(header, within=10, session=moto_session, source="xray")
    tree.assert_path(["tester", "AWS::SNS"])
    [node] = tree.find(origin="AWS::SNS")
    assert (node.name, node.inferred, node.aws["topic_arn"]) == ("SNS", True, topic_to_queue["topic"])


def test_an_actively_traced_topic_records_its_segment_and_deliveries(moto_session: Any, topic_to_queue: Any) -> None:
    sns = moto_session.client("sns")
    sns.set_topic_attributes(TopicArn=topic_to_queue["topic"], AttributeName="TracingConfig", AttributeValue="Active")
    header = iatk.TraceHeader(iatk.new_trace_header().root, True, CALLER_SUB)
    iatk.trace_client(sns, header)
    sns.publish(TopicArn=topic_to_queue["topic"], Message="hello")
    iatk.untrace_client(sns)
    delivered = trace_header_of(received(moto_session.client("sqs"), topic_to_queue["url"]))
    caller(moto_session, header)
    tree = get_trace_tree(header, within=10, session=moto_session, source="xray")
    tree.assert_path(["tester", "AWS::SNS::Topic"])
    [topic] = tree.find(origin="AWS::SNS::Topic")
    assert topic.name == topic_to_queue["topic"].rsplit(":", 1)[-1]
    [delivery] = topic.subsegments
    assert (delivery.name, delivery.namespace) == ("SQS", "aws")
    assert (delivered.root, delivered.parent) == (header.root, delivery.id)


def finished(sfn: Any, execution_arn: str) -> dict[str, Any]:
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        described: dict[str, Any] = sfn.describe_execution(executionArn=execution_arn)
        if described["status"] != "RUNNING":
            return described
        time.sleep(0.05)
    raise AssertionError(f"{execution_arn} still running after 20 s")


def test_a_task_call_carries_the_executions_header_under_the_task(
    moto_session: Any, queue: Any, bus_to_queue: Any
) -> None:
    """SendMessage and PutEvents tasks: the queue's message continues the trace under the task's call."""
    url, _ = queue
    definition = {
        "StartAt": "Send",
        "States": {
            "Send": {
                "Type": "Task",
                "Resource": "arn:aws:states:::sqs:sendMessage",
                "Parameters": {"QueueUrl": url, "MessageBody": "direct"},
                "ResultPath": None,
                "Next": "Announce",
            },
            "Announce": {
                "Type": "Task",
                "Resource": "arn:aws:states:::events:putEvents",
                "Parameters": {
                    "Entries": [
                        {"Source": "traced.test", "DetailType": "t", "Detail": {}, "EventBusName": bus_to_queue["bus"]}
                    ]
                },
                "End": True,
            },
        },
    }
    sfn = moto_session.client("stepfunctions")
    arn = sfn.create_state_machine(name=name("Tasks"), definition=json.dumps(definition), roleArn=ROLE)[
        "stateMachineArn"
    ]
    try:
        header = iatk.new_trace_header()
        described = finished(sfn, sfn.start_execution(stateMachineArn=arn, traceHeader=str(header))["executionArn"])
        assert described["status"] == "SUCCEEDED", described
        sqs = moto_session.client("sqs")
        headers = {}
        deadline = time.monotonic() + 10
        while len(headers) < 2 and time.monotonic() < deadline:
            for message in sqs.receive_message(
                QueueUrl=url, MessageSystemAttributeNames=["AWSTraceHeader"], MaxNumberOfMessages=10, WaitTimeSeconds=1
            ).get("Messages", []):
                kind = "direct" if message["Body"] == "direct" else "event"
                headers[kind] = trace_header_of(message)
        tree = get_trace_tree(header, within=10, session=moto_session, source="xray")
        send_call, announce_call = (state.subsegments[0] for state in tree.root.subsegments)
        assert (send_call.name, announce_call.name) == ("SQS", "Events")
        assert (headers["direct"].root, headers["direct"].parent) == (header.root, send_call.id)
        [bus] = tree.find(origin="AWS::Events")
        assert bus.parent_id == announce_call.id
        assert (headers["event"].root, headers["event"].parent) == (header.root, bus.id)
        assert sorted(tuple(s.origin for s in path) for path in tree.paths) == [
            ("AWS::StepFunctions::StateMachine", "AWS::Events"),
            ("AWS::StepFunctions::StateMachine", "AWS::SQS::Queue"),
        ]
    finally:
        sfn.delete_state_machine(stateMachineArn=arn)
