"""AwsIatk listeners on the embedded moto server: aws-iatk's shapes, and its listener bugs fixed.

Bug numbers are AWS-IATK.md §8's.
"""

from __future__ import annotations

import json
import re
from typing import Any

import pytest

from iatk import _tags
from iatk.compat import AwsIatk, IatkException, RemoveListeners_TagFilter
from iatk.listener import Listener

ID_RE = re.compile(r"iatk_eb_[0-9a-v]{20}")


def ops(calls: list[tuple[str, dict[str, Any]]]) -> list[str]:
    return [name for name, _ in calls]


def test_add_listener_output_and_resources_match_aws_iatk(kit: AwsIatk, app: Any, moto_session: Any):
    """The output has aws-iatk's shape (queue first, then rule) and the resources its names and tags."""
    out = kit.add_listener(app.bus, app.rule, tags={"stage": "compat"})
    try:
        assert ID_RE.fullmatch(out.id)
        assert (out.target_under_test.type, out.target_under_test.physical_id) == ("AWS::Events::EventBus", app.bus)
        assert out.target_under_test.arn == app.bus_arn
        queue, rule = out.components
        assert (queue.type, rule.type) == ("AWS::SQS::Queue", "AWS::Events::Rule")
        assert queue.physical_id.endswith("/" + out.id)
        assert queue.arn.endswith(":" + out.id)
        assert (rule.physical_id, rule.arn.rsplit("/", 1)[1]) == (out.id, out.id)
        tags = moto_session.client("sqs").list_queue_tags(QueueUrl=queue.physical_id)["Tags"]
        assert tags[_tags.TAG_ID] == out.id
        assert tags[_tags.TAG_TYPE] == "EventBridge.Listener"
        assert tags[_tags.TAG_TARGET] == app.bus_arn
        assert _tags.parse_time(tags[_tags.TAG_CREATED]) is not None
        assert tags["stage"] == "compat"
        described = moto_session.client("events").describe_rule(Name=out.id, EventBusName=app.bus)
        assert json.loads(described["EventPattern"]) == {"source": [app.source], "detail-type": ["Placed"]}
        assert described["State"] == "ENABLED"
    finally:
        kit.remove_listeners(ids=[out.id])
    assert app.listener_rules() == []
    assert not app.queue_exists(out.id)


def test_put_targets_failed_entry_is_an_error_and_rolled_back(kit: AwsIatk, app: Any, answer_call: Any):
    """Bug 13: a FailedEntry in PutTargets' response fails add_listener and removes what it made."""
    answer_call(
        "events",
        "PutTargets",
        {
            "FailedEntryCount": 1,
            "FailedEntries": [
                {"TargetId": "x", "ErrorCode": "ConcurrentModificationException", "ErrorMessage": "try again"}
            ],
        },
    )
    with pytest.raises(IatkException, match="PutTargets.*ConcurrentModificationException: try again") as caught:
        kit.add_listener(app.bus, app.rule)
    assert caught.value.error_code == 500
    assert caught.value.aws_code == "ConcurrentModificationException"
    [listener_id] = set(ID_RE.findall(str(caught.value)))
    assert app.listener_rules() == []
    assert not app.queue_exists(listener_id)


def test_unknown_rule_is_404_and_names_the_rules(kit: AwsIatk, app: Any):
    """An unknown rule is a 404 whose message lists the bus's rules (aws-iatk: code 0, raw SDK text)."""
    with pytest.raises(IatkException, match="rule 'Plaed' not found.*Placed") as caught:
        kit.add_listener(app.bus, "Plaed")
    assert caught.value.error_code == 404
    assert app.listener_rules() == []


def test_unknown_target_keeps_its_context(kit: AwsIatk, app: Any):
    """Bugs 2 and 3: the error names the target, the rule and the targets there are, with no typos
    (aws-iatk: 'TagetId: ... was not found', or its context lost in the SDK's OperationError text)."""
    with pytest.raises(IatkException, match="target 'Nope' not found on rule 'Routed'.*Fulfilment") as caught:
        kit.add_listener(app.bus, app.routed_rule, target_id="Nope")
    assert "Taget" not in str(caught.value)
    assert app.listener_rules() == []


def test_schedule_rule_is_explained(kit: AwsIatk, app: Any, moto_session: Any):
    """Bug 13: a schedule-only rule (nothing to copy) is refused with the reason, not an opaque PutRule error."""
    name = f"nightly-{app.bus}"
    moto_session.client("events").put_rule(Name=name, ScheduleExpression="rate(1 day)")
    try:
        with pytest.raises(IatkException, match="schedule rule.*copies event patterns only"):
            kit.add_listener("default", name)
    finally:
        moto_session.client("events").delete_rule(Name=name)


def test_target_id_copies_the_input_transformer(kit: AwsIatk, app: Any):
    """With target_id the listener receives what that target receives (the transformed body)."""
    out = kit.add_listener(app.bus, app.routed_rule, target_id=app.target_id)
    try:
        app.put("Routed", {"orderId": "o-7"})
        events = kit.poll_events(out.id, 2, 10).events
        assert [json.loads(body) for body in events] == [{"order": "o-7", "status": "routed"}]
    finally:
        kit.remove_listeners(ids=[out.id])


def test_poll_events_is_one_receive_per_call(kit: AwsIatk, app: Any, calls: list):
    """poll_events makes one ReceiveMessage (plus one delete when something came); aws-iatk made six."""
    out = kit.add_listener(app.bus, app.rule)
    try:
        calls.clear()
        assert kit.poll_events(out.id, 0, 10).events == []
        assert ops(calls) == ["sqs:ReceiveMessage"]
        wanted = app.put("Placed", {"n": 1})
        calls.clear()
        [body] = kit.poll_events(out.id, 1, 10).events
        assert json.loads(body)["id"] == wanted
        assert json.loads(body)["detail"] == {"n": 1}
        assert ops(calls) == ["sqs:ReceiveMessage", "sqs:DeleteMessageBatch"]
        assert kit.poll_events(out.id, 0, 10).events == []  # an event is handed out once
    finally:
        kit.remove_listeners(ids=[out.id])


def test_a_listener_made_elsewhere_is_attached_once(kit: AwsIatk, app: Any, moto_session: Any, calls: list):
    """A listener this AwsIatk did not make (another process, or aws-iatk's) is found once, then cached."""
    listener = Listener(app.bus, rule=app.rule, session=moto_session).start()
    try:
        wanted = app.put("Placed", {"n": 2})
        calls.clear()
        [body] = kit.poll_events(listener.id, 1, 10).events
        assert json.loads(body)["id"] == wanted
        assert "sqs:GetQueueUrl" in ops(calls)
        calls.clear()
        assert kit.poll_events(listener.id, 0, 10).events == []
        assert ops(calls) == ["sqs:ReceiveMessage"]
        kit.remove_listeners(ids=[listener.id])
        assert app.listener_rules() == []
        assert not app.queue_exists(listener.id)
    finally:
        listener.close()


def test_wait_false_return_is_no_match_and_the_event_is_kept(kit: AwsIatk, app: Any):
    """Bug 6: a matcher returning False does not match (aws-iatk returned True), and the event is kept."""
    out = kit.add_listener(app.bus, app.rule)
    try:
        wanted = app.put("Placed", {"n": 3})
        assert kit.wait_until_event_matched(out.id, lambda body: False, timeout_seconds=1) is False
        [body] = kit.poll_events(out.id, 0, 10).events
        assert json.loads(body)["id"] == wanted
    finally:
        kit.remove_listeners(ids=[out.id])


def test_bool_matcher_filters_and_unmatched_events_stay_for_the_next_call(kit: AwsIatk, app: Any, calls: list):
    """Bug 6: unmatched events are kept (aws-iatk deleted them): a later wait finds them with no new poll."""
    out = kit.add_listener(app.bus, app.rule)
    try:
        first = app.put("Placed", {"hook": "preValidate"})
        second = app.put("Placed", {"hook": "postMetadata"})

        matched: list[str] = []

        def hook_is(name: str) -> Any:
            def check(body: str) -> bool:
                event = json.loads(body)
                if event["detail"]["hook"] != name:
                    return False
                matched.append(event["id"])
                return True

            return check

        assert kit.wait_until_event_matched(out.id, hook_is("postMetadata"), timeout_seconds=5) is True
        calls.clear()
        assert kit.wait_until_event_matched(out.id, hook_is("preValidate"), timeout_seconds=5) is True
        assert ops(calls) == []  # served from what the first wait received
        assert kit.wait_until_event_matched(out.id, hook_is("preValidate"), timeout_seconds=1) is False
        assert kit.poll_events(out.id, 0, 10).events == []  # both were handed out
        assert matched == [second, first]
    finally:
        kit.remove_listeners(ids=[out.id])


def test_wait_events_a_wait_skipped_are_returned_by_poll(kit: AwsIatk, app: Any):
    """An event a wait looked at but did not match is still returned by poll_events."""
    out = kit.add_listener(app.bus, app.rule)
    try:
        skipped = app.put("Placed", {"n": 1})
        matched = app.put("Placed", {"n": 2})

        def second(body: str) -> None:
            assert json.loads(body)["detail"]["n"] == 2

        assert kit.wait_until_event_matched(out.id, second, timeout_seconds=5) is True
        assert [json.loads(b)["id"] for b in kit.poll_events(out.id, 0, 10).events] == [skipped]
        assert kit.wait_until_event_matched(out.id, lambda body: json.loads(body)["id"] == matched, 1) is False
    finally:
        kit.remove_listeners(ids=[out.id])


def test_wait_other_exceptions_propagate(kit: AwsIatk, app: Any):
    """A KeyError in the matcher is a bug in the test: it propagates, as in aws-iatk."""
    out = kit.add_listener(app.bus, app.rule)
    try:
        app.put("Placed", {"n": 1})
        with pytest.raises(KeyError, match="missing"):
            kit.wait_until_event_matched(out.id, lambda body: json.loads(body)["missing"], timeout_seconds=5)
    finally:
        kit.remove_listeners(ids=[out.id])


def test_wait_long_polls_within_its_deadline(kit: AwsIatk, app: Any, calls: list):
    """Bug 6: the wait long-polls sized to the deadline (aws-iatk: fixed 3 s polls past it), then False."""
    out = kit.add_listener(app.bus, app.rule)
    try:
        calls.clear()
        assert kit.wait_until_event_matched(out.id, lambda body: True, timeout_seconds=2) is False
        waits = [params["WaitTimeSeconds"] for name, params in calls if name == "sqs:ReceiveMessage"]
        assert waits
        assert waits[0] == 2
        assert sum(waits) <= 3
    finally:
        kit.remove_listeners(ids=[out.id])


def test_remove_orphan_rule_whose_queue_is_gone(kit: AwsIatk, app: Any, moto_session: Any):
    """Bug 14: a listener rule whose queue was deleted is removed by id (aws-iatk could not)."""
    listener = Listener(app.bus, rule=app.rule, session=moto_session).start()
    moto_session.client("sqs").delete_queue(QueueUrl=listener.queue_url)
    assert app.listener_rules() == [listener.id]
    assert kit.remove_listeners(ids=[listener.id]).message == "success"
    assert app.listener_rules() == []


def test_remove_orphan_rule_by_tags(kit: AwsIatk, app: Any, moto_session: Any):
    """Bug 14: the tag path finds rules too (aws-iatk found listeners through their queues only)."""
    listener = Listener(app.bus, rule=app.rule, tags={"suite": app.bus}, session=moto_session).start()
    moto_session.client("sqs").delete_queue(QueueUrl=listener.queue_url)
    assert kit.remove_listeners(tag_filters=[RemoveListeners_TagFilter("suite", [app.bus])]).message == "success"
    assert app.listener_rules() == []


def test_remove_by_tag_filters_with_values(kit: AwsIatk, app: Any):
    """Filters AND across keys, OR across values; ``(key, value)`` pairs work as in aws-iatk's examples."""
    a = kit.add_listener(app.bus, app.rule, tags={"suite": app.bus, "stage": "a"})
    b = kit.add_listener(app.bus, app.rule, tags={"suite": app.bus, "stage": "b"})
    c = kit.add_listener(app.bus, app.rule, tags={"suite": app.bus, "stage": "c"})
    try:
        kit.remove_listeners(tag_filters=[("suite", app.bus), RemoveListeners_TagFilter("stage", ["a", "c"])])
        assert app.listener_rules() == [b.id]
        assert not app.queue_exists(a.id)
        assert not app.queue_exists(c.id)
        assert app.queue_exists(b.id)
        # Nothing left to match: still a success.
        assert kit.remove_listeners(tag_filters=[("suite", app.bus), ("stage", "a")]).message == "success"
    finally:
        kit.remove_listeners(tag_filters=[RemoveListeners_TagFilter("suite", [app.bus])])
    assert app.listener_rules() == []


def test_remove_unknown_listener_is_404(kit: AwsIatk):
    """An id with neither a queue nor a rule is a 404 in aws-iatk's 'failed to destroy' form."""
    missing = _tags.new_harness_id()
    with pytest.raises(IatkException, match=f"failed to destroy following listener.*{missing}") as caught:
        kit.remove_listeners(ids=[missing])
    assert caught.value.error_code == 404


def test_poll_unknown_listener_is_404(kit: AwsIatk):
    """Polling a listener that does not exist says so, with code 404."""
    with pytest.raises(IatkException, match="queue does not exist") as caught:
        kit.poll_events(_tags.new_harness_id(), 0, 1)
    assert caught.value.error_code == 404
