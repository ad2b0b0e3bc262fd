"""Fixtures for the listener's functional tests, on the process's shared embedded moto server.

The server is shared with other test modules, so nothing here resets it: every test gets its own bus
and rule names (a random suffix), and leftovers are checked by the listener's own id.
"""

from __future__ import annotations

import json
import secrets
from collections.abc import Callable, Iterator
from contextlib import ExitStack
from dataclasses import dataclass
from typing import Any

import pytest
from botocore.exceptions import ClientError

from iatk._aws import aws


@dataclass
class App:
    """A tiny deployed "app": a custom bus with a rule and target, and a rule on the default bus."""

    session: Any
    suffix: str
    bus: str
    bus_arn: str
    source: str
    rule: str
    routed_rule: str
    default_rule: str
    schedule_rule: str
    target_id: str
    time_target_id: str

    def put(
        self,
        detail_type: str,
        detail: dict[str, Any] | None = None,
        *,
        source: str | None = None,
        bus: str | None = None,
    ) -> str:
        """Put one event on the app's bus (or ``bus``); return its id."""
        from iatk.events import put_events

        entry = {"Source": source or self.source, "DetailType": detail_type, "Detail": detail or {}}
        return put_events(entry, bus=bus or self.bus, session=self.session)[0]


@pytest.fixture
def session(moto_session: Any) -> Any:
    """The process's embedded-server session (shared: clients are costly to build).

    Event hooks that tests register on its clients (``sqs_calls``, ``fail_call``, ``answer_call``) are
    removed at the test's teardown.
    """
    return moto_session


@pytest.fixture
def app(session: Any) -> Iterator[App]:
    """A custom bus ``orders-<x>`` with rules OrderPlaced, OrderShipped and OrderRouted (two transformed
    targets), plus a pattern rule and a schedule rule on the default bus."""
    suffix = secrets.token_hex(4)
    events = session.client("events")
    sqs = session.client("sqs")
    bus = f"orders-{suffix}"
    source = f"shop.{suffix}"
    bus_arn = events.create_event_bus(Name=bus)["EventBusArn"]
    pattern = json.dumps({"source": [source], "detail-type": ["OrderPlaced"]})
    events.put_rule(Name="OrderPlaced", EventBusName=bus, EventPattern=pattern)
    shipped = json.dumps({"source": [source], "detail-type": ["OrderShipped"]})
    events.put_rule(Name="OrderShipped", EventBusName=bus, EventPattern=shipped)
    schedule_rule = f"Nightly-{suffix}"  # schedules exist only on the default bus
    events.put_rule(Name=schedule_rule, ScheduleExpression="rate(1 day)")
    default_rule = f"OrderPlaced-{suffix}"
    events.put_rule(Name=default_rule, EventPattern=pattern)
    # The transformed targets sit on their own rule: moto cannot transform an event that lacks a
    # mapped path, and it inserts string values unquoted (so the template quotes them itself).
    routed = json.dumps({"source": [source], "detail-type": ["OrderRouted"]})
    events.put_rule(Name="OrderRouted", EventBusName=bus, EventPattern=routed)
    sink = sqs.create_queue(QueueName=f"app-sink-{suffix}")["QueueUrl"]
    sink_arn = sqs.get_queue_attributes(QueueUrl=sink, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    transformer = {
        "InputPathsMap": {"order": "$.detail.orderId", "src": "$.source"},
        "InputTemplate": '{"order": "<order>", "from": "<src>"}',
    }
    time_only = {"InputPathsMap": {"when": "$.time"}, "InputTemplate": '"placed at <when>"'}
    events.put_targets(
        Rule="OrderRouted",
        EventBusName=bus,
        Targets=[
            {"Id": "Fulfilment", "Arn": sink_arn, "InputTransformer": transformer},
            {"Id": "Audit", "Arn": sink_arn, "InputTransformer": time_only},
        ],
    )
    yield App(
        session=session,
        suffix=suffix,
        bus=bus,
        bus_arn=bus_arn,
        source=source,
        rule="OrderPlaced",
        routed_rule="OrderRouted",
        default_rule=default_rule,
        schedule_rule=schedule_rule,
        target_id="Fulfilment",
        time_target_id="Audit",
    )
    events.remove_targets(Rule="OrderRouted", EventBusName=bus, Ids=["Fulfilment", "Audit"])
    for name in ("OrderPlaced", "OrderShipped", "OrderRouted"):
        events.delete_rule(Name=name, EventBusName=bus)
    events.delete_rule(Name=default_rule)
    events.delete_rule(Name=schedule_rule)
    events.delete_event_bus(Name=bus)
    sqs.delete_queue(QueueUrl=sink)


@pytest.fixture
def sqs_calls(session: Any) -> Callable[[], list[str]]:
    """Record the SQS operations the test's session makes; call the fixture's value to read and reset."""
    seen: list[str] = []

    def record(model: Any, **_: Any) -> None:
        seen.append(model.name)

    client = aws(session).sqs
    client.meta.events.register("before-call.sqs", record)

    def take() -> list[str]:
        taken = list(seen)
        seen.clear()
        return taken

    yield take
    client.meta.events.unregister("before-call.sqs", record)


@pytest.fixture
def fail_call(session: Any) -> Iterator[Callable[..., None]]:
    """``fail_call("events", "PutTargets")`` makes that call on iatk's client fail (at the AWS boundary).

    The failure is a botocore ClientError with the given code, raised before the request is sent;
    it is removed at teardown, or earlier with ``fail_call.undo()``.
    """
    undo: list[Callable[[], None]] = []

    def install(service: str, operation: str, code: str = "AccessDeniedException") -> None:
        def refuse(**_: Any) -> None:
            raise ClientError({"Error": {"Code": code, "Message": f"injected {code}"}}, operation)

        client = aws(session).client(service)
        event = f"before-call.{service}.{operation}"
        client.meta.events.register(event, refuse)
        undo.append(lambda: client.meta.events.unregister(event, refuse))

    def remove_all() -> None:
        while undo:
            undo.pop()()

    install.undo = remove_all  # type: ignore[attr-defined]
    yield install
    remove_all()


@pytest.fixture
def answer_call(session: Any) -> Iterator[Callable[..., None]]:
    """``answer_call("events", "PutTargets", {...})`` answers that call with an AWS-shaped response."""
    from iatk.testing import answer_call as answering

    with ExitStack() as stack:

        def install(service: str, operation: str, parsed: dict[str, Any]) -> None:
            stack.enter_context(answering(session, service, operation, parsed))

        yield install


@pytest.fixture
def leftovers(session: Any) -> Callable[[str, str], list[str]]:
    """``leftovers(listener_id, bus)``: what still exists of a listener (its queue, its rule)."""

    def find(listener_id: str, bus: str) -> list[str]:
        found = []
        queues = session.client("sqs").list_queues(QueueNamePrefix=listener_id).get("QueueUrls", [])
        found += [url for url in queues if url.endswith("/" + listener_id)]
        rules = session.client("events").list_rules(NamePrefix=listener_id, EventBusName=bus).get("Rules", [])
        found += [rule["Arn"] for rule in rules]
        return found

    return find
