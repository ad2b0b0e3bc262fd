"""The cleanup core's table of resource kinds: discovery and deletion go through it, and only it."""

from __future__ import annotations

from datetime import datetime, timezone

import boto3
import pytest

import iatk.cleanup
from iatk._harness import delete, find, kinds
from iatk._harness.kinds import RESOURCE_KINDS, Outcome, ResourceKind
from iatk._harness.resource import HarnessResource
from iatk.exceptions import ConfigError

SUBSCRIPTION = "AWS::SNS::Subscription"


def test_the_table_has_queue_rule_stack_and_deletes_rules_then_queues_then_stacks():
    """Listed as types= names them; deleted rules first (their targets, then the rule), stacks last."""
    assert [k.name for k in RESOURCE_KINDS] == ["queue", "rule", "stack"]
    assert [k.name for k in sorted(RESOURCE_KINDS, key=lambda k: k.order)] == ["rule", "queue", "stack"]
    assert dict(iatk.cleanup.KINDS) == {k.name: k.aws_type for k in RESOURCE_KINDS}
    assert (kinds.KIND_BY_NAME["queue"].partner, kinds.KIND_BY_NAME["rule"].partner) == ("rule", "queue")


def test_types_accept_short_and_aws_names_and_list_both_when_unknown():
    assert find.chosen_kinds(["queue", "AWS::Events::Rule"]) == {"AWS::SQS::Queue", "AWS::Events::Rule"}
    with pytest.raises(ConfigError, match=r"use queue, rule, stack \(or AWS::SQS::Queue, AWS::Events::Rule, "):
        find.chosen_kinds(["topic"])


@pytest.fixture
def subscription_kind(monkeypatch):
    """A fourth kind, as one more entry in the table (deleted after the queues, before the stacks)."""
    calls: list[tuple[str, str]] = []
    record = HarnessResource(
        arn="arn:aws:sns:us-east-1:123456789012:orders:iatk_eb_subscription0000000",
        type=SUBSCRIPTION,
        id="iatk_eb_subscription0000000",
        region="us-east-1",
        created=datetime(2026, 1, 1, tzinfo=timezone.utc),
    )

    def find_all(ctx):
        calls.append(("find", ctx.region))
        return [record]

    def delete_one(ctx, resource, dry_run):
        calls.append(("delete", resource.id))
        return Outcome("planned" if dry_run else "deleted")

    kind = ResourceKind("subscription", SUBSCRIPTION, order=1, find=find_all, delete=delete_one)
    table = (*RESOURCE_KINDS, kind)
    by_name = {k.name: k for k in table}
    by_type = {k.aws_type: k for k in table}
    for module in (kinds, find, delete):
        for name, value in (("RESOURCE_KINDS", table), ("KIND_BY_NAME", by_name), ("KIND_BY_TYPE", by_type)):
            if hasattr(module, name):
                monkeypatch.setattr(module, name, value)
    return record, calls


def test_a_new_kind_is_found_named_and_deleted_through_the_table(subscription_kind):
    record, calls = subscription_kind
    session = boto3.Session(aws_access_key_id="x", aws_secret_access_key="x", region_name="us-east-1")
    found = iatk.cleanup.find_harness_resources(session=session, types=["subscription"])
    assert found == [record]
    assert record.kind == "subscription"
    report = iatk.cleanup.delete_harness_resources(found, session=session)
    assert report.deleted == (record,)
    assert calls == [("find", "us-east-1"), ("delete", record.id)]


def test_a_type_missing_from_the_table_is_skipped_with_the_reason():
    stray = HarnessResource(arn="arn:aws:sns:us-east-1:1:t", type=SUBSCRIPTION, id="t", region="us-east-1")
    session = boto3.Session(aws_access_key_id="x", aws_secret_access_key="x", region_name="us-east-1")
    report = iatk.cleanup.delete_harness_resources([stray], session=session)
    assert [(s.resource, s.reason) for s in report.skipped] == [(stray, f"unknown resource type {SUBSCRIPTION!r}")]
    assert stray.kind == SUBSCRIPTION
