"""Cleanup leaves nothing: a listener's queue and rule are gone once it is closed.

The test asks SQS and EventBridge directly, not only iatk's tag index. Under ``pytest -n 2`` other
workers open and close their own listeners on the same bus meanwhile, so the before/after lists are
compared with those left out: every difference must be another listener's (``iatk_eb_…``, not
ours), the app's own rules and queues must be exactly as they were, and nothing may be left that
carries this listener's id, by name or by tag.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import iatk

HARNESS = "iatk_eb_"  # every listener's queue and rule are named iatk_eb_<id>...
TAG_ID = "iatk:TestHarness:ID"  # ...and tagged with that id
GONE_WITHIN = 90  # seconds: AWS may still list a deleted queue for up to 60 s (moto: at once)


def rules_on(events: Any, bus: str) -> dict[str, str]:
    """Every rule on the bus: name -> ARN."""
    pages = events.get_paginator("list_rules").paginate(EventBusName=bus)
    return {rule["Name"]: rule["Arn"] for page in pages for rule in page.get("Rules", [])}


def queues_named(sqs: Any, prefix: str) -> dict[str, str]:
    """Every queue of the account (in the region) whose name starts with ``prefix``: name -> URL."""
    pages = sqs.get_paginator("list_queues").paginate(QueueNamePrefix=prefix)
    return {url.rsplit("/", 1)[-1]: url for page in pages for url in page.get("QueueUrls", [])}


def app_only(names: dict[str, str]) -> set[str]:
    """The names that are not a listener's."""
    return {name for name in names if not name.startswith(HARNESS)}


def not_found(call: Callable[[], object], error: type[Exception]) -> bool:
    """Whether ``call`` fails with ``error`` (a client's not-found exception)."""
    try:
        call()
    except error:
        return True
    return False


def harness_id(tags: Callable[[], dict[str, str]]) -> str | None:
    """The harness id tag of a resource; None when it has none or was deleted meanwhile (another worker's)."""
    try:
        return tags().get(TAG_ID)
    except Exception:  # botocore's not-found error; its class differs per service
        return None


def test_closed_listener_leaves_nothing(plugin_stack, iatk_session, iatk_run_id):
    """Once `with Listener(...)` ends, SQS and EventBridge no longer know its queue or rule; the app's are untouched."""
    events = iatk_session.client("events")
    sqs = iatk_session.client("sqs")
    bus = plugin_stack.output("PluginEventBusName")
    app_queues = [plugin_stack.output("PluginResultsUrl")]
    rules_before = rules_on(events, bus)
    queues_before = queues_named(sqs, HARNESS)

    def rule_tags(arn: str) -> dict[str, str]:
        return {t["Key"]: t["Value"] for t in events.list_tags_for_resource(ResourceARN=arn)["Tags"]}

    def queue_tags(url: str) -> dict[str, str]:
        return dict(sqs.list_queue_tags(QueueUrl=url).get("Tags", {}))

    with iatk.Listener(bus, rule=plugin_stack.output("PluginSuccessEventRuleName"), session=iatk_session) as listener:
        rule, queue = listener.rule_name, listener.queue_url.rsplit("/", 1)[-1]
        # While open, the listings and the tags do show it: the checks below are not vacuous.
        assert rule in rules_on(events, bus)
        assert rule not in rules_before
        assert queue in queues_named(sqs, HARNESS)
        assert queue not in queues_before
        assert rule_tags(listener.rule_arn)[TAG_ID] == listener.id
        assert queue_tags(listener.queue_url)[TAG_ID] == listener.id
        assert listener.id in {r.id for r in iatk.find_harness_resources(run_id=iatk_run_id, session=iatk_session)}

    def gone() -> bool | iatk.NotYet:
        answers = {
            "GetQueueUrl: not found": not_found(
                lambda: sqs.get_queue_url(QueueName=queue), sqs.exceptions.QueueDoesNotExist
            ),
            "DescribeRule: not found": not_found(
                lambda: events.describe_rule(Name=rule, EventBusName=bus), events.exceptions.ResourceNotFoundException
            ),
            "ListQueues: not listed": queue not in queues_named(sqs, HARNESS),
            "ListRules: not listed": rule not in rules_on(events, bus),
        }
        return True if all(answers.values()) else iatk.NotYet(answers)

    iatk.wait_until(gone, timeout=GONE_WITHIN, description=f"listener {listener.id}'s queue and rule to be gone")

    rules_after = rules_on(events, bus)
    queues_after = queues_named(sqs, HARNESS)
    # The app's own rules are exactly as before; any other difference is another worker's listener.
    assert app_only(rules_after) == app_only(rules_before)
    assert all(n.startswith(HARNESS) and n != rule for n in set(rules_after) ^ set(rules_before))
    assert all(n != queue for n in set(queues_after) ^ set(queues_before))
    for url in app_queues:
        assert not not_found(lambda url=url: sqs.get_queue_attributes(QueueUrl=url), sqs.exceptions.QueueDoesNotExist)
    # Nothing left that is tagged with this listener's id, whatever its name.
    tagged = [n for n, arn in rules_after.items() if harness_id(lambda arn=arn: rule_tags(arn)) == listener.id]
    tagged += [n for n, url in queues_after.items() if harness_id(lambda url=url: queue_tags(url)) == listener.id]
    assert tagged == []
    indexed = iatk.find_harness_resources(run_id=iatk_run_id, session=iatk_session)
    assert [r for r in indexed if r.id == listener.id] == []
