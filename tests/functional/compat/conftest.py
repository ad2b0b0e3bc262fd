"""Fixtures for the aws-iatk drop-in's functional tests, on the process's shared embedded moto server.

The server is shared with other test modules, so nothing here resets it: every test gets its own bus
(a random suffix), and AWS calls are recorded or answered with botocore hooks on the clients iatk
uses (removed at teardown).
"""

from __future__ import annotations

import json
import secrets
from collections.abc import Callable, Iterator
from contextlib import ExitStack
from dataclasses import dataclass
from typing import Any

import pytest

from iatk._aws import aws
from iatk.compat import AwsIatk


@pytest.fixture
def kit(moto_session: Any) -> AwsIatk:
    """The drop-in on the embedded server, as a suite would build it: ``AwsIatk(session=...)``."""
    return AwsIatk(session=moto_session)


@dataclass
class App:
    """A tiny deployed "app": a custom bus with a plain rule and a rule with a transformed target."""

    session: Any
    bus: str
    bus_arn: str
    source: str
    rule: str
    routed_rule: str
    target_id: str

    def put(self, detail_type: str, detail: dict[str, Any] | None = None) -> str:
        """Put one event on the app's bus; returns its id."""
        response = self.session.client("events").put_events(
            Entries=[
                {
                    "EventBusName": self.bus,
                    "Source": self.source,
                    "DetailType": detail_type,
                    "Detail": json.dumps(detail or {}),
                }
            ]
        )
        assert response["FailedEntryCount"] == 0, response
        return str(response["Entries"][0]["EventId"])

    def listener_rules(self) -> list[str]:
        """The names of the listener rules (``iatk_eb_…``) on the app's bus."""
        rules = self.session.client("events").list_rules(EventBusName=self.bus, NamePrefix="iatk_eb_")["Rules"]
        return [rule["Name"] for rule in rules]

    def queue_exists(self, name: str) -> bool:
        urls = self.session.client("sqs").list_queues(QueueNamePrefix=name).get("QueueUrls", [])
        return any(url.endswith("/" + name) for url in urls)


@pytest.fixture
def app(moto_session: Any) -> Iterator[App]:
    """Bus ``compat-<x>`` with rule Placed (source + detail-type Placed) and rule Routed, whose target
    Fulfilment has an InputTransformer."""
    suffix = secrets.token_hex(4)
    events = moto_session.client("events")
    sqs = moto_session.client("sqs")
    bus = f"compat-{suffix}"
    source = f"shop.{suffix}"
    bus_arn = events.create_event_bus(Name=bus)["EventBusArn"]
    events.put_rule(
        Name="Placed", EventBusName=bus, EventPattern=json.dumps({"source": [source], "detail-type": ["Placed"]})
    )
    events.put_rule(
        Name="Routed", EventBusName=bus, EventPattern=json.dumps({"source": [source], "detail-type": ["Routed"]})
    )
    sink = sqs.create_queue(QueueName=f"compat-sink-{suffix}")["QueueUrl"]
    sink_arn = sqs.get_queue_attributes(QueueUrl=sink, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    events.put_targets(
        Rule="Routed",
        EventBusName=bus,
        Targets=[
            {
                "Id": "Fulfilment",
                "Arn": sink_arn,
                "InputTransformer": {
                    "InputPathsMap": {"order": "$.detail.orderId"},
                    "InputTemplate": '{"order": "<order>", "status": "routed"}',
                },
            }
        ],
    )
    yield App(moto_session, bus, bus_arn, source, "Placed", "Routed", "Fulfilment")
    for name in events.list_rules(EventBusName=bus)["Rules"]:
        targets = events.list_targets_by_rule(Rule=name["Name"], EventBusName=bus)["Targets"]
        if targets:
            events.remove_targets(Rule=name["Name"], EventBusName=bus, Ids=[t["Id"] for t in targets])
        events.delete_rule(Name=name["Name"], EventBusName=bus)
    events.delete_event_bus(Name=bus)
    sqs.delete_queue(QueueUrl=sink)


@pytest.fixture
def calls(moto_session: Any) -> Iterator[list[tuple[str, dict[str, Any]]]]:
    """Every AWS call iatk's clients make during the test, as ``("sqs:ReceiveMessage", api_params)``."""
    seen: list[tuple[str, dict[str, Any]]] = []
    ctx = aws(moto_session)
    clients = [ctx.client(name) for name in ("sqs", "events", "xray", "cloudformation")]

    def record(model: Any, params: dict[str, Any], **_: Any) -> None:
        seen.append((f"{model.service_model.service_id.hyphenize()}:{model.name}", dict(params)))

    for client in clients:
        client.meta.events.register("before-parameter-build", record)
    yield seen
    for client in clients:
        client.meta.events.unregister("before-parameter-build", record)


@pytest.fixture
def answer_call(moto_session: Any) -> Iterator[Callable[[str, str, dict[str, Any]], None]]:
    """``answer_call("events", "PutTargets", {...})``: iatk's client gets that AWS-shaped response instead
    of calling the server (a botocore ``before-call`` hook, the AWS boundary)."""
    from iatk.testing import answer_call as answering

    with ExitStack() as stack:

        def install(service: str, operation: str, parsed: dict[str, Any]) -> None:
            stack.enter_context(answering(moto_session, service, operation, parsed))

        yield install
