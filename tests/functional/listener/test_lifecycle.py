"""Listener creation, resources, rollback and teardown, on the embedded moto server."""

from __future__ import annotations

import json
import sys
from typing import Any

import pytest

from iatk import _tags
from iatk.exceptions import ConfigError, ListenerError, PatternError
from iatk.listener import Listener
from iatk.matchers import match


def test_copies_a_rule_on_the_default_bus(app: Any, session: Any) -> None:
    """A listener copying a default-bus rule gets the events that rule matches and no others."""
    with Listener("default", rule=app.default_rule, session=session) as listener:
        wanted = app.put("OrderPlaced", {"orderId": 1}, bus="default")
        app.put("OrderCancelled", {"orderId": 1}, bus="default")
        app.put("OrderPlaced", {"orderId": 2}, source="someone.else", bus="default")
        event = listener.expect_event(within=2)
        listener.expect_no_event(during=0)
    assert event.id == wanted
    assert event.detail == {"orderId": 1}
    assert [e.id for e in listener.events] == [wanted]


@pytest.mark.parametrize("by", ["name", "arn"])
def test_copies_a_rule_on_a_custom_bus(app: Any, session: Any, by: str) -> None:
    """A rule on a custom bus is copied whether the bus is given by name or by ARN."""
    bus = app.bus if by == "name" else app.bus_arn
    with Listener(bus, rule=app.rule, session=session) as listener:
        assert listener.bus_name == app.bus
        assert listener.bus_arn == app.bus_arn
        assert listener.pattern == {"source": [app.source], "detail-type": ["OrderPlaced"]}
        wanted = app.put("OrderPlaced", {"orderId": 7})
        app.put("OrderShipped", {"orderId": 7})
        event = listener.expect_event(match(detail={"orderId": 7}), within=2)
        listener.expect_no_event(during=0)
    assert event.id == wanted
    assert event.source == app.source
    assert len(listener.events) == 1


@pytest.mark.parametrize("form", ["arn", "cloudformation"])
def test_rule_can_be_given_as_arn_or_cloudformation_id(app: Any, session: Any, form: str) -> None:
    """rule= also takes the rule ARN, or CloudFormation's ``bus|rule`` physical id."""
    arn = session.client("events").describe_rule(Name=app.rule, EventBusName=app.bus)["Arn"]
    rule = arn if form == "arn" else f"{app.bus}|{app.rule}"
    with Listener(app.bus, rule=rule, session=session) as listener:
        wanted = app.put("OrderPlaced", {"orderId": 3})
        assert listener.expect_event(within=2).id == wanted


def test_rule_of_another_bus_is_refused(app: Any, session: Any) -> None:
    """A rule ARN whose bus differs from bus= is an error that names the right bus."""
    with pytest.raises(ListenerError, match=f"belongs to bus '{app.bus}'.*pass bus='{app.bus}'"):
        Listener("default", rule=f"{app.bus}|{app.rule}", session=session).start()


def test_copies_the_targets_input_transformer(app: Any, session: Any) -> None:
    """With target=, the test sees what the real target sees: the transformed body, not an envelope."""
    with Listener(app.bus, rule=app.routed_rule, target=app.target_id, session=session) as listener:
        assert "InputTransformer" in listener.target_input
        app.put("OrderRouted", {"orderId": 41})
        app.put("OrderRouted", {"orderId": 42})
        event = listener.expect_event(lambda e: e.json()["order"] == "42", within=2)
    assert event.json() == {"order": "42", "from": app.source}
    assert not event.is_envelope
    assert event.source is None
    assert json.loads(event.body) == {"order": "42", "from": app.source}


def test_pattern_listener(app: Any, session: Any) -> None:
    """pattern= listens for what the pattern matches, with EventBridge operators."""
    pattern = {"source": [app.source], "detail": {"total": [{"numeric": [">", 100]}]}}
    with Listener(app.bus, pattern=pattern, session=session) as listener:
        app.put("OrderPlaced", {"total": 50})
        big = app.put("OrderPlaced", {"total": 150})
        assert listener.expect_event(within=2).id == big
        listener.expect_no_event(during=0)
    assert listener.pattern == pattern


def test_resources_policy_encryption_retention_and_tags(app: Any, session: Any) -> None:
    """Queue and rule are named by the id, tagged, and the policy lets only the new rule send."""
    with Listener(app.bus, rule=app.rule, tags={"team": "checkout"}, ttl="30m", session=session) as listener:
        assert _tags.is_harness_id(listener.id)
        sqs = session.client("sqs")
        events = session.client("events")
        attributes = sqs.get_queue_attributes(QueueUrl=listener.queue_url, AttributeNames=["All"])["Attributes"]
        queue_tags = sqs.list_queue_tags(QueueUrl=listener.queue_url)["Tags"]
        rule = events.describe_rule(Name=listener.id, EventBusName=app.bus)
        rule_tags = _tags.from_tag_list(events.list_tags_for_resource(ResourceARN=listener.rule_arn)["Tags"])
        targets = events.list_targets_by_rule(Rule=listener.id, EventBusName=app.bus)["Targets"]
        resources = listener.resources
        arns = listener.arns
    assert listener.queue_url.endswith("/" + listener.id)
    assert attributes["QueueArn"] == listener.queue_arn
    assert attributes["SqsManagedSseEnabled"] == "true"
    assert attributes["MessageRetentionPeriod"] == "3600"
    policy = json.loads(attributes["Policy"])
    assert policy["Id"] == f"Write_Permission_for_Rule_rule/{app.bus}/{listener.id}"
    assert policy["Statement"] == [
        {
            "Sid": "eblistener",
            "Effect": "Allow",
            "Principal": {"Service": "events.amazonaws.com"},
            "Action": "sqs:SendMessage",
            "Resource": listener.queue_arn,
            "Condition": {"ArnEquals": {"aws:SourceArn": listener.rule_arn}},
        }
    ]
    assert rule["Arn"] == listener.rule_arn
    assert rule["State"] == "ENABLED"
    assert json.loads(rule["EventPattern"]) == {"source": [app.source], "detail-type": ["OrderPlaced"]}
    assert targets == [{"Id": listener.id, "Arn": listener.queue_arn}]
    for tags in (queue_tags, rule_tags):
        assert tags[_tags.TAG_ID] == listener.id
        assert tags[_tags.TAG_TYPE] == "EventBridge.Listener"
        assert tags[_tags.TAG_TARGET] == app.bus_arn
        assert tags[_tags.TAG_RUN_ID] == _tags.current_run_id()
        assert tags["team"] == "checkout"
        created = _tags.parse_time(tags[_tags.TAG_CREATED])
        expires = _tags.parse_time(tags[_tags.TAG_EXPIRES])
        assert created is not None
        assert expires is not None
        assert (expires - created).total_seconds() == 1800
    assert [r.type for r in resources] == ["AWS::SQS::Queue", "AWS::Events::Rule"]
    assert resources[0].physical_id == listener.queue_url
    assert arns == (listener.queue_arn, listener.rule_arn)
    assert listener.arns == ()  # closed: nothing left


def test_close_removes_everything_and_is_idempotent(app: Any, session: Any, leftovers: Any) -> None:
    """close() removes target, rule and queue; a second close() does nothing and does not fail."""
    listener = Listener(app.bus, rule=app.rule, session=session).start()
    assert len(leftovers(listener.id, app.bus)) == 2
    listener.close()
    assert leftovers(listener.id, app.bus) == []
    assert listener.resources == ()
    listener.close()
    assert listener.closed
    with pytest.raises(ListenerError, match="is closed"):
        listener.poll()
    with pytest.raises(ListenerError, match="is closed; make a new Listener"):
        listener.start()


def test_the_with_block_cleans_up_when_the_test_fails(app: Any, session: Any, leftovers: Any) -> None:
    """An exception inside ``with Listener(...)`` still removes everything, and the exception is kept."""
    with pytest.raises(ZeroDivisionError), Listener(app.bus, rule=app.rule, session=session) as listener:
        _ = 1 / 0
    assert leftovers(listener.id, app.bus) == []


@pytest.mark.parametrize(("operation", "step"), [("PutRule", "events:PutRule"), ("PutTargets", "events:PutTargets")])
def test_a_failure_half_way_leaves_nothing_behind(
    app: Any, session: Any, fail_call: Any, leftovers: Any, operation: str, step: str
) -> None:
    """A failing step rolls back what was made and names the step and the AWS error code."""
    fail_call("events", operation, "AccessDeniedException")
    listener = Listener(app.bus, rule=app.rule, session=session)
    with pytest.raises(ListenerError) as caught:
        listener.start()
    assert caught.value.code == "AccessDeniedException"
    assert f"step {step} failed: AccessDeniedException: injected" in str(caught.value)
    assert "Everything it had created was removed." in str(caught.value)
    assert leftovers(listener.id, app.bus) == []
    assert not listener.started
    with pytest.raises(ListenerError, match="failed to start and was rolled back; make a new Listener"):
        listener.start()


def test_put_targets_failed_entries_are_checked(app: Any, session: Any, answer_call: Any, leftovers: Any) -> None:
    """PutTargets' FailedEntries (HTTP 200) count as a failure: rolled back, with the entry's error code."""
    answer_call(
        "events",
        "PutTargets",
        {
            "FailedEntryCount": 1,
            "FailedEntries": [
                {"TargetId": "x", "ErrorCode": "ConcurrentModificationException", "ErrorMessage": "busy"}
            ],
        },
    )
    listener = Listener(app.bus, rule=app.rule, session=session)
    with pytest.raises(ListenerError, match="PutTargets rejected the target: ConcurrentModificationException: busy"):
        listener.start()
    assert leftovers(listener.id, app.bus) == []


def test_close_errors_are_aggregated_and_retried(app: Any, session: Any, fail_call: Any, leftovers: Any) -> None:
    """close() tries every step, reports each failure with its code, and a second close() finishes."""
    listener = Listener(app.bus, rule=app.rule, session=session).start()
    fail_call("events", "DeleteRule", "ThrottlingException")
    fail_call("sqs", "DeleteQueue", "AWS.SimpleQueueService.NonExistentQueueX")
    with pytest.raises(ListenerError) as caught:
        listener.close()
    text = str(caught.value)
    assert "events:DeleteRule: ThrottlingException" in text
    assert "sqs:DeleteQueue: AWS.SimpleQueueService.NonExistentQueueX" in text
    assert caught.value.code == "ThrottlingException"
    assert listener.rule_arn in text
    assert not listener.closed
    fail_call.undo()
    listener.close()
    assert listener.closed
    assert leftovers(listener.id, app.bus) == []


def test_unknown_bus_lists_the_buses(app: Any, session: Any) -> None:
    """An unknown bus is a ListenerError that lists the buses that exist."""
    with pytest.raises(
        ListenerError, match=r"event bus 'nope' not found in us-east-1\. The buses there: .*default"
    ) as caught:
        Listener("nope", pattern={"source": ["x"]}, session=session).start()
    assert app.bus in str(caught.value)
    assert caught.value.code == "ResourceNotFoundException"


def test_unknown_rule_lists_the_rules_on_the_bus(app: Any, session: Any) -> None:
    """An unknown rule is a ListenerError listing the bus's rules, closest first."""
    with pytest.raises(
        ListenerError, match=r"rule 'OrderPlace' not found on bus .* closest first: OrderPlaced, "
    ) as caught:
        Listener(app.bus, rule="OrderPlace", session=session).start()
    assert "OrderShipped" in str(caught.value)
    assert "OrderRouted" in str(caught.value)


def test_unknown_target_lists_the_target_ids(app: Any, session: Any, leftovers: Any) -> None:
    """An unknown target is a ListenerError listing the rule's target ids; nothing is created."""
    listener = Listener(app.bus, rule=app.routed_rule, target="Shipping", session=session)
    with pytest.raises(ListenerError, match="target 'Shipping' not found.*Its targets: Fulfilment, Audit"):
        listener.start()
    assert leftovers(listener.id, app.bus) == []


def test_schedule_rule_is_refused_clearly(app: Any, session: Any) -> None:
    """A schedule-only rule has no pattern to copy: the error says so and suggests pattern=."""
    with pytest.raises(ListenerError, match=r"is a schedule rule \(rate\(1 day\)\).*Pass pattern="):
        Listener("default", rule=app.schedule_rule, session=session).start()


@pytest.mark.parametrize(
    ("kwargs", "error", "fragment"),
    [
        ({}, ListenerError, "exactly one of rule= .* got neither"),
        ({"rule": "r", "pattern": {"source": ["x"]}}, ListenerError, "got both"),
        ({"pattern": {"source": ["x"]}, "target": "t"}, ListenerError, "needs rule="),
        ({"pattern": {"source": "x"}}, PatternError, "source"),
        ({"pattern": {"source": ["x"]}, "tags": {"iatk:run-id": "mine"}}, ConfigError, "reserved tag key"),
        ({"pattern": {"source": ["x"]}, "retention": 10}, ListenerError, "retention"),
        ({"pattern": {"source": ["x"]}, "buffer": 0}, ConfigError, "buffer"),
    ],
)
def test_bad_arguments_fail_before_any_call(
    session: Any, sqs_calls: Any, kwargs: dict[str, Any], error: type[Exception], fragment: str
) -> None:
    """Argument errors (rule/pattern, bad pattern, reserved tag...) are raised before any AWS call."""
    with pytest.raises(error, match=fragment):
        Listener("default", session=session, **kwargs)
    assert sqs_calls() == []


def test_properties_before_start_say_what_to_do(session: Any) -> None:
    """Reading the queue URL of a listener that is not started says to call start()."""
    listener = Listener("default", pattern={"source": ["x"]}, session=session)
    with pytest.raises(ListenerError, match="not started.*call start"):
        _ = listener.queue_url
    assert listener.resources == ()
    assert "not started" in repr(listener)


def test_canary_readiness_on_a_copied_rule(app: Any, session: Any) -> None:
    """With a canary, the rule also matches the listener's canary, which never reaches the test."""
    with Listener(app.bus, rule=app.rule, readiness="canary", session=session) as listener:
        pattern = json.loads(
            session.client("events").describe_rule(Name=listener.id, EventBusName=app.bus)["EventPattern"]
        )
        wanted = app.put("OrderPlaced", {"orderId": 5})
        event = listener.expect_event(within=2)
        listener.expect_no_event(during=0)
    assert pattern == {
        "$or": [
            {"source": [app.source], "detail-type": ["OrderPlaced"]},
            {"source": ["iatk.canary"], "detail-type": [f"iatk.canary {listener.id}"]},
        ]
    }
    assert event.id == wanted
    assert [e.id for e in listener.events] == [wanted]


def test_canary_through_a_transformer_carrying_the_marker(app: Any, session: Any) -> None:
    """A transformer that reads detail fields shows the canary's marker, so the canary is filtered out."""
    with Listener(app.bus, rule=app.routed_rule, target=app.target_id, readiness="canary", session=session) as listener:
        app.put("OrderRouted", {"orderId": 9})
        event = listener.expect_event(within=2)
        listener.expect_no_event(during=0)
    assert event.json() == {"order": "9", "from": app.source}
    assert len(listener.events) == 1


def test_canary_with_a_transformer_that_hides_the_marker(app: Any, session: Any) -> None:
    """A transformer that shows only the time gets its canary through a plain target, then is switched."""
    with Listener(
        app.bus, rule=app.routed_rule, target=app.time_target_id, readiness="canary", session=session
    ) as listener:
        targets = session.client("events").list_targets_by_rule(Rule=listener.id, EventBusName=app.bus)["Targets"]
        app.put("OrderRouted", {"orderId": 1})
        event = listener.expect_event(within=2)
        listener.expect_no_event(during=0)
    assert targets[0]["InputTransformer"]["InputTemplate"] == '"placed at <when>"'
    assert event.body.startswith('"placed at ')
    assert len(listener.events) == 1


def test_other_listeners_canaries_never_reach_a_broad_listener(app: Any, session: Any) -> None:
    """A listener whose pattern also matches canaries (anything-but) does not see another listener's canary."""
    with Listener(app.bus, pattern={"source": [{"anything-but": "zzz"}]}, session=session) as broad:
        with Listener(app.bus, pattern={"source": ["other"]}, readiness="canary", session=session):
            pass
        wanted = app.put("OrderPlaced", {"orderId": 3})
        assert broad.expect_event(within=2).id == wanted
        broad.expect_no_event(during=0)
    assert [event.id for event in broad.events] == [wanted]


def test_a_pattern_naming_the_canary_source_gets_other_canaries(app: Any, session: Any) -> None:
    """Canaries do reach a matching queue: a pattern that names source iatk.canary receives them."""
    with Listener(app.bus, pattern={"source": ["iatk.canary"]}, session=session) as watcher:
        with Listener(app.bus, pattern={"source": ["other"]}, readiness="canary", session=session) as other:
            pass
        event = watcher.expect_event(within=2)
    assert event.source == "iatk.canary"
    assert event.detail_type == f"iatk.canary {other.id}"


def test_other_canaries_are_dropped_from_transformed_bodies_too(app: Any, session: Any) -> None:
    """A copied catch-all rule whose transformer shows the detail: another listener's canary is dropped
    (while the app's own target, copied from, does receive it)."""
    events = session.client("events")
    sqs = session.client("sqs")
    sink = sqs.get_queue_url(QueueName=f"app-sink-{app.suffix}")["QueueUrl"]
    sink_arn = sqs.get_queue_attributes(QueueUrl=sink, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    broad_rule = f"Everything-{app.suffix}"
    events.put_rule(Name=broad_rule, EventBusName=app.bus, EventPattern=json.dumps({"source": [{"prefix": ""}]}))
    transformer = {"InputPathsMap": {"d": "$.detail"}, "InputTemplate": '{"payload": <d>}'}
    events.put_targets(
        Rule=broad_rule, EventBusName=app.bus, Targets=[{"Id": "All", "Arn": sink_arn, "InputTransformer": transformer}]
    )
    try:
        with Listener(app.bus, rule=broad_rule, target="All", session=session) as broad:
            with Listener(app.bus, pattern={"source": ["other"]}, readiness="canary", session=session) as other:
                pass
            app.put("OrderPlaced", {"orderId": 4})
            event = broad.expect_event(within=2)
            broad.expect_no_event(during=0)
        sunk = sqs.receive_message(QueueUrl=sink, MaxNumberOfMessages=10, WaitTimeSeconds=1).get("Messages", [])
    finally:
        events.remove_targets(Rule=broad_rule, EventBusName=app.bus, Ids=["All"])
        events.delete_rule(Name=broad_rule, EventBusName=app.bus)
    assert event.json() == {"payload": {"orderId": 4}}
    assert len(broad.events) == 1
    assert {"payload": {"iatk-canary": other.id}} in [json.loads(m["Body"]) for m in sunk]


def test_an_event_that_carries_the_listener_id_is_not_taken_for_its_canary(app: Any, session: Any) -> None:
    """With a canary, a test's own event may carry the listener id (to correlate): it still arrives."""
    with Listener(app.bus, rule=app.rule, readiness="canary", session=session) as listener:
        wanted = app.put("OrderPlaced", {"ref": listener.id})
        assert listener.expect_event(within=2).id == wanted


def test_an_interrupt_during_start_still_rolls_back(app: Any, session: Any, leftovers: Any) -> None:
    """A KeyboardInterrupt half way through start() removes what was made, then propagates."""
    from iatk._aws import aws

    def interrupt(**_: Any) -> None:
        raise KeyboardInterrupt

    client = aws(session).events
    client.meta.events.register("before-call.events.PutTargets", interrupt)
    listener = Listener(app.bus, rule=app.rule, session=session)
    try:
        with pytest.raises(KeyboardInterrupt):
            listener.start()
    finally:
        client.meta.events.unregister("before-call.events.PutTargets", interrupt)
    assert leftovers(listener.id, app.bus) == []


def test_a_close_failure_does_not_hide_the_tests_own_error(app: Any, session: Any, fail_call: Any) -> None:
    """When the with-block fails and close() fails too, the test's error propagates and notes the close error."""
    fail_call("sqs", "DeleteQueue", "AccessDenied")  # start() does not delete queues
    with pytest.raises(ZeroDivisionError) as caught, Listener(app.bus, rule=app.rule, session=session) as listener:
        _ = 1 / 0
    assert not listener.closed
    if sys.version_info >= (3, 11):  # add_note() is 3.11+; 3.10 only logs the close error
        notes = caught.value.__notes__
        assert "closing the listener failed" in notes[0]
        assert "sqs:DeleteQueue: AccessDenied" in notes[0]
    fail_call.undo()
    listener.close()
    assert listener.closed


@pytest.mark.parametrize(
    ("rule", "fragment"),
    [
        ("arn:aws:sqs:us-east-1:123456789012:q", "not an EventBridge rule ARN"),
        ("arn:broken", "not an ARN"),
    ],
)
def test_bad_rule_arns_are_explained(session: Any, rule: str, fragment: str) -> None:
    """rule= with an ARN that is not a rule ARN says what form it takes."""
    with pytest.raises(ListenerError, match=fragment):
        Listener("default", rule=rule, session=session).start()


def test_attach_to_an_existing_listener(app: Any, session: Any, leftovers: Any) -> None:
    """attach(id) finds another process's listener: its queue, bus, rule and target; close() removes them."""
    made = Listener(app.bus, rule=app.routed_rule, target=app.target_id, session=session).start()
    attached = Listener.attach(made.id, session=session)
    assert attached.started
    assert (attached.queue_url, attached.queue_arn) == (made.queue_url, made.queue_arn)
    assert (attached.bus_name, attached.bus_arn, attached.rule_arn) == (app.bus, app.bus_arn, made.rule_arn)
    assert attached.pattern == made.pattern
    assert attached.target_input == made.target_input
    app.put("OrderRouted", {"orderId": 8})
    assert attached.expect_event(within=2).json() == {"order": "8", "from": app.source}
    attached.close()
    assert leftovers(made.id, app.bus) == []
    made.close()  # what it made is already gone: nothing to do, no error
    assert made.closed


def test_attach_explains_unknown_and_malformed_ids(session: Any) -> None:
    """attach() says when the id is not a listener id, and when no such listener exists."""
    with pytest.raises(ListenerError, match="is not a listener id"):
        Listener.attach("my-queue", session=session)
    with pytest.raises(ListenerError, match="its queue does not exist"):
        Listener.attach(_tags.new_harness_id(), session=session)
