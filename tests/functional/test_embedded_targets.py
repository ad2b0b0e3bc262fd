"""EventBridge target delivery on the embedded server (issue 16, items 3 and 5).

Each test builds its own bus, rule and targets with boto3 on the shared server; each asserts what
AWS does, where plain moto does otherwise (noted per test).
"""

from __future__ import annotations

import json
import secrets
import time
from collections.abc import Iterator
from typing import Any

import pytest

from iatk._backend.moto import eventbridge
from iatk._backend.moto.eventbridge import read_undelivered, register_target_deliverer, render_input_template

ACCOUNT = "123456789012"


class Bus:
    """A bus with one rule on ``source: [t.app]`` and helpers to add targets and read queues."""

    def __init__(self, session: Any) -> None:
        self.session = session
        self.events = session.client("events")
        self.sqs = session.client("sqs")
        self.name = f"targets-{secrets.token_hex(4)}"
        self.events.create_event_bus(Name=self.name)
        self.rule = "r"
        self.events.put_rule(Name=self.rule, EventBusName=self.name, EventPattern=json.dumps({"source": ["t.app"]}))

    def queue(self, name: str) -> tuple[str, str]:
        url = self.sqs.create_queue(QueueName=f"{self.name}-{name}")["QueueUrl"]
        arn = self.sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
        return url, arn

    def targets(self, *targets: dict[str, Any]) -> None:
        self.events.put_targets(Rule=self.rule, EventBusName=self.name, Targets=list(targets))

    def put(self, detail: dict[str, Any]) -> dict[str, Any]:
        entry = {"EventBusName": self.name, "Source": "t.app", "DetailType": "thing", "Detail": json.dumps(detail)}
        return self.events.put_events(Entries=[entry])

    def bodies(self, url: str, *, within: float = 3.0) -> list[str]:
        deadline = time.monotonic() + within
        while time.monotonic() < deadline:
            found = self.sqs.receive_message(QueueUrl=url, WaitTimeSeconds=1, MaxNumberOfMessages=10).get("Messages")
            if found:
                return [m["Body"] for m in found]
        return []

    def cleanup(self) -> None:
        ids = [t["Id"] for t in self.events.list_targets_by_rule(Rule=self.rule, EventBusName=self.name)["Targets"]]
        if ids:
            self.events.remove_targets(Rule=self.rule, EventBusName=self.name, Ids=ids)
        self.events.delete_rule(Name=self.rule, EventBusName=self.name)
        self.events.delete_event_bus(Name=self.name)


@pytest.fixture
def bus(moto_session) -> Iterator[Bus]:
    made = Bus(moto_session)
    yield made
    made.cleanup()


def test_envelope_has_account_and_every_field(bus):
    """moto left ``account`` out of what it delivered."""
    url, arn = bus.queue("q")
    bus.targets({"Id": "q", "Arn": arn})
    event_id = bus.put({"n": 1})["Entries"][0]["EventId"]
    [body] = bus.bodies(url)
    event = json.loads(body)
    assert list(event) == ["version", "id", "detail-type", "source", "account", "time", "region", "resources", "detail"]
    assert event["account"] == ACCOUNT
    assert event["id"] == event_id
    assert event["time"].endswith("Z")


def test_input_and_input_path(bus):
    """moto ignored Input and InputPath and delivered the whole envelope."""
    url_const, arn_const = bus.queue("const")
    url_path, arn_path = bus.queue("path")
    bus.targets(
        {"Id": "c", "Arn": arn_const, "Input": '{"fixed": true}'},
        {"Id": "p", "Arn": arn_path, "InputPath": "$.detail.order"},
    )
    bus.put({"order": {"id": "o-1", "lines": 2}})
    assert bus.bodies(url_const) == ['{"fixed": true}']
    assert json.loads(bus.bodies(url_path)[0]) == {"id": "o-1", "lines": 2}


def test_input_transformer_quotes_strings_as_aws(bus):
    """A string put as a JSON value is quoted (moto made ``{"id": o-1}``, and PutEvents failed with 500)."""
    url, arn = bus.queue("q")
    template = '{"id": <id>, "n": <n>, "text": "order <id> of <n>", "rule": <aws.events.rule-name>, "all": <aws.events.event.json>}'
    transformer = {"InputPathsMap": {"id": "$.detail.id", "n": "$.detail.n"}, "InputTemplate": template}
    bus.targets({"Id": "q", "Arn": arn, "InputTransformer": transformer})
    assert bus.put({"id": "o-1", "n": 3})["FailedEntryCount"] == 0
    delivered = json.loads(bus.bodies(url)[0])
    assert delivered["id"] == "o-1"
    assert delivered["n"] == 3
    assert delivered["text"] == "order o-1 of 3"
    assert delivered["rule"] == "r"
    assert delivered["all"]["detail"] == {"id": "o-1", "n": 3}
    assert delivered["all"]["account"] == ACCOUNT


def test_disabled_rule_delivers_nothing(bus):
    """moto ignored a rule's State."""
    url, arn = bus.queue("q")
    bus.targets({"Id": "q", "Arn": arn})
    bus.events.disable_rule(Name=bus.rule, EventBusName=bus.name)
    bus.put({"n": 1})
    assert bus.bodies(url, within=1.5) == []
    bus.events.enable_rule(Name=bus.rule, EventBusName=bus.name)
    bus.put({"n": 2})
    assert json.loads(bus.bodies(url)[0])["detail"] == {"n": 2}


def test_undeliverable_target_never_fails_put_events_or_the_others(bus, embedded):
    """moto failed PutEvents (HTTP 500) on a Lambda target and skipped the targets after it; a missing function or queue is recorded, the others delivered."""
    before, arn_before = bus.queue("before")
    after, arn_after = bus.queue("after")
    started = time.time()
    bus.targets(
        {"Id": "first", "Arn": arn_before},
        {"Id": "fn", "Arn": f"arn:aws:lambda:us-east-1:{ACCOUNT}:function:missing"},
        {"Id": "nowhere", "Arn": f"arn:aws:sqs:us-east-1:{ACCOUNT}:{bus.name}-no-such-queue"},
        {"Id": "last", "Arn": arn_after},
    )
    response = bus.put({"n": 1})
    assert response["FailedEntryCount"] == 0
    assert len(bus.bodies(before)) == 1
    assert len(bus.bodies(after)) == 1
    deadline = time.monotonic() + 5
    misses: list[eventbridge.UndeliveredTarget] = []
    while time.monotonic() < deadline and len(misses) < 2:
        misses = read_undelivered(embedded.url, bus=bus.name, since=started)
        time.sleep(0.05)
    by_target = {m.target_id: m for m in misses}
    assert set(by_target) == {"fn", "nowhere"}
    assert str(by_target["fn"]).startswith("rule r: target fn (arn:aws:lambda:")
    assert "Function not found" in by_target["fn"].reason  # the Lambda deliverer asked the embedded Lambda
    assert by_target["nowhere"].event_id == response["Entries"][0]["EventId"]


def test_another_bus_and_cloudwatch_logs(bus, moto_session):
    """A bus target re-puts the event (resources kept); a log group target logs it."""
    other = Bus(moto_session)
    logs = moto_session.client("logs")
    group = f"/aws/events/{bus.name}"
    logs.create_log_group(logGroupName=group)
    try:
        url, arn = other.queue("q")
        other.targets({"Id": "q", "Arn": arn})
        other_arn = other.events.describe_event_bus(Name=other.name)["Arn"]
        bus.targets(
            {"Id": "bus", "Arn": other_arn},
            {"Id": "logs", "Arn": f"arn:aws:logs:us-east-1:{ACCOUNT}:log-group:{group}:*"},
        )
        bus.put({"n": 7})
        forwarded = json.loads(other.bodies(url)[0])
        assert forwarded["detail"] == {"n": 7}
        assert forwarded["source"] == "t.app"
        messages = [e["message"] for e in logs.filter_log_events(logGroupName=group)["events"]]
        assert [json.loads(m)["detail"] for m in messages] == [{"n": 7}]
    finally:
        other.cleanup()
        logs.delete_log_group(logGroupName=group)


def test_a_registered_deliverer_replaces_the_default(bus):
    """The seam the Lambda runtime uses: register_target_deliverer("lambda", ...)."""
    delivered: list[eventbridge.Delivery] = []
    previous = eventbridge.target_deliverer("lambda")
    register_target_deliverer("lambda", delivered.append, asynchronous=False)
    try:
        bus.targets({"Id": "fn", "Arn": f"arn:aws:lambda:us-east-1:{ACCOUNT}:function:f", "InputPath": "$.detail"})
        bus.put({"n": 5})
    finally:
        assert previous is not None
        register_target_deliverer("lambda", previous.deliver, asynchronous=previous.asynchronous)
    assert [json.loads(d.input) for d in delivered] == [{"n": 5}]
    assert delivered[0].arn.resource_id == "f"
    assert delivered[0].rule_name == "r"


@pytest.mark.parametrize(
    ("template", "values", "expected"),
    [
        ('{"id": <id>}', {"id": "a-1"}, '{"id": "a-1"}'),
        ('{"id": "<id>"}', {"id": "a-1"}, '{"id": "a-1"}'),
        ('{"n": <n>, "t": "n=<n>"}', {"n": 4}, '{"n": 4, "t": "n=4"}'),
        ('"order <id> shipped"', {"id": "a-1"}, '"order a-1 shipped"'),
        ("order <id> shipped", {"id": "a-1"}, "order a-1 shipped"),
        ('{"q": "<s>"}', {"s": 'say "hi"'}, '{"q": "say \\"hi\\""}'),
        ('{"o": <o>}', {"o": {"k": [1, "v"]}}, '{"o": {"k": [1, "v"]}}'),
        ('{"keep": <unknown>}', {}, '{"keep": <unknown>}'),
    ],
)
def test_render_input_template(template, values, expected):
    assert render_input_template(template, values) == expected
    if template.startswith("{") and "<unknown>" not in template:
        json.loads(render_input_template(template, values))  # AWS's rendering is valid JSON
