"""find_harness_resources and cleanup: records, filters, order, safety, retries, error aggregation."""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone

import pytest
from botocore.stub import Stubber
from cleanup_harness import bus_arn, make_harness, make_queue, make_rule, snapshot

import iatk
from iatk import _tags
from iatk import cleanup as cleanup_module
from iatk._aws import aws
from iatk.cleanup import (
    LEGACY_TTL,
    CleanupProgress,
    CleanupReport,
    HarnessResource,
    cleanup,
    delete_harness_resources,
    find_harness_resources,
)
from iatk.exceptions import CleanupError, ConfigError


def test_records_carry_arn_ids_tags_times_bus_and_url(account):
    """A listener's queue and rule come back as frozen records with ARN, id, run, times, bus and URL."""
    created = datetime(2026, 1, 2, 3, 4, 5, tzinfo=timezone.utc)
    harness_id = make_harness(account.session, run_id="run-x", bus="orders", created=created, ttl=timedelta(hours=1))
    rule, queue = find_harness_resources(session=account.session)
    bus = f"arn:aws:events:us-east-1:{account.id}:event-bus/orders"
    assert (rule.kind, rule.type, rule.id) == ("rule", "AWS::Events::Rule", harness_id)
    assert rule.arn == f"arn:aws:events:us-east-1:{account.id}:rule/orders/{harness_id}"
    assert (queue.kind, queue.type, queue.id) == ("queue", "AWS::SQS::Queue", harness_id)
    assert queue.arn == f"arn:aws:sqs:us-east-1:{account.id}:{harness_id}"
    assert queue.url.endswith(f"/{account.id}/{harness_id}")
    for record in (rule, queue):
        assert record.bus == bus
        assert record.run_id == "run-x"
        assert record.created == created
        assert record.expires == created + timedelta(hours=1)
        assert record.is_expired()
        assert not record.legacy
        assert record.tags[_tags.TAG_ID] == harness_id
    with pytest.raises(AttributeError):
        rule.id = "other"  # frozen
    assert json.loads(json.dumps(queue.to_dict()))["expires"] == "2026-01-02T04:04:05Z"


def test_aws_iatk_resources_expire_after_the_legacy_ttl(account):
    """aws-iatk 0.1.0's resources (no run id, no expiry) expire LEGACY_TTL (2 h) after their Created tag."""
    old = datetime.now(timezone.utc) - timedelta(hours=3)
    young = datetime.now(timezone.utc) - timedelta(minutes=10)
    old_id = make_harness(account.session, legacy=True, created=old)
    make_harness(account.session, legacy=True, created=young)
    found = find_harness_resources(session=account.session)
    assert len(found) == 4
    assert all(r.legacy and r.run_id is None for r in found)
    assert timedelta(hours=2) == LEGACY_TTL
    expired = find_harness_resources(expired=True, session=account.session)
    assert {r.id for r in expired} == {old_id}
    assert expired[0].expires == old.replace(microsecond=0) + LEGACY_TTL


def test_types_filter_and_order(account):
    """types= limits the kinds; results are oldest first, each rule next to its queue."""
    first = make_harness(account.session, run_id="r", created=datetime.now(timezone.utc) - timedelta(hours=1))
    second = make_harness(account.session, run_id="r")
    found = find_harness_resources(session=account.session)
    assert [(r.kind, r.id) for r in found] == [("rule", first), ("queue", first), ("rule", second), ("queue", second)]
    assert {r.kind for r in find_harness_resources(session=account.session, types=["queue"])} == {"queue"}
    assert {r.kind for r in find_harness_resources(session=account.session, types=("AWS::Events::Rule",))} == {"rule"}


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"run_id": ""}, "run_id must be a non-empty string"),
        ({"older_than": "two hours"}, "older_than"),
        ({"older_than": -5}, "must not be negative"),
        ({"tags": {"team": 3}}, "tags must map"),
        ({"tags": ["team"]}, "tags must be a mapping"),
        ({"types": ["bucket"]}, "unknown resource type 'bucket'"),
    ],
)
def test_invalid_filters_fail_before_any_aws_call(kwargs, message):
    """Bad filters raise ConfigError before a session is even resolved."""
    with pytest.raises(ConfigError, match=message):
        find_harness_resources(**kwargs)
    with pytest.raises(ConfigError, match=message):
        cleanup(expired=True, **kwargs)


def test_cleanup_without_a_filter_is_refused():
    """cleanup() with no filter raises ConfigError (everything=True is the explicit way)."""
    with pytest.raises(ConfigError, match="cleanup needs a filter"):
        cleanup()


def test_orphan_rule_whose_queue_is_gone_is_removed(account):
    """A harness rule whose queue was deleted is still found and removed (aws-iatk bug 14)."""
    harness_id = make_harness(account.session, run_id="run-o")
    sqs = account.session.client("sqs")
    sqs.delete_queue(QueueUrl=sqs.get_queue_url(QueueName=harness_id)["QueueUrl"])
    report = cleanup(run_id="run-o", session=account.session)
    assert [(r.kind, r.id) for r in report.deleted] == [("rule", harness_id)]
    assert snapshot(account.session) == set()


def test_rule_targets_are_removed_first_even_foreign_ones(account):
    """All targets of a harness rule are removed before the rule is deleted (DeleteRule needs that)."""
    harness_id = make_harness(account.session, run_id="run-t")
    other = make_queue(account.session, "user-queue")
    account.session.client("events").put_targets(Rule=harness_id, Targets=[{"Id": "extra", "Arn": other}])
    report = cleanup(run_id="run-t", session=account.session)
    assert {r.kind for r in report.deleted} == {"rule", "queue"}
    assert snapshot(account.session) == {("queue", "user-queue")}


def test_already_gone_is_skipped_not_failed(account):
    """Deleting records whose resources are already gone reports them as skipped, not failed."""
    make_harness(account.session, run_id="run-g")
    found = find_harness_resources(run_id="run-g", session=account.session)
    first = delete_harness_resources(found, session=account.session)
    second = delete_harness_resources(found, session=account.session)
    assert len(first.deleted) == 2
    assert second.ok
    assert not second.deleted
    assert [s.reason for s in second.skipped] == ["already gone", "already gone"]


def test_forged_record_for_an_untagged_resource_is_skipped(account):
    """Live tags decide: a hand-made record for an untagged look-alike is skipped and the queue stays."""
    name = _tags.new_harness_id()
    make_queue(account.session, name)
    url = account.session.client("sqs").get_queue_url(QueueName=name)["QueueUrl"]
    forged = HarnessResource(
        arn=f"arn:aws:sqs:us-east-1:{account.id}:{name}",
        type="AWS::SQS::Queue",
        id=name,
        region="us-east-1",
        tags={_tags.TAG_ID: name, _tags.TAG_RUN_ID: "run-f"},
        url=url,
    )
    report = delete_harness_resources([forged], session=account.session)
    assert report.skipped[0].reason.startswith("not iatk's: it has no iatk:TestHarness:ID tag")
    assert snapshot(account.session) == {("queue", name)}


def test_stacks_only_with_the_deploy_tag_and_after_listeners(account, data_dir):
    """deploy_stack's stacks are found and deleted (nested ones with their root) after the listeners."""
    stack = iatk.deploy_stack(
        data_dir / "templates" / "app.yaml", "cleanup-app", {"Stage": "c"}, session=account.session
    )
    run_id = account.session.client("cloudformation").describe_stacks(StackName=stack.arn)["Stacks"][0]["Tags"]
    run_id = {t["Key"]: t["Value"] for t in run_id}[_tags.TAG_RUN_ID]
    make_harness(account.session, run_id=run_id)
    found = find_harness_resources(run_id=run_id, session=account.session)
    assert [r.kind for r in found if r.kind == "stack"] == ["stack"]  # the nested child is not listed
    events: list[CleanupProgress] = []
    report = cleanup(run_id=run_id, session=account.session, progress=events.append)
    assert [p.resource.kind for p in events] == ["rule", "queue", "stack"]
    assert [p.done for p in events] == [1, 2, 3]
    assert {p.total for p in events} == {3}
    assert report.ok
    assert len(report.deleted) == 3
    status = account.session.client("cloudformation").describe_stacks(StackName=stack.arn)["Stacks"][0]
    assert status["StackStatus"] == "DELETE_COMPLETE"


def _stub_rule(account, harness_id):
    """A harness rule, and a Stubber on iatk's events client for this session (AWS error shapes)."""
    events = aws(account.session).events
    arn = f"arn:aws:events:us-east-1:{account.id}:rule/{harness_id}"
    tags = [{"Key": _tags.TAG_ID, "Value": harness_id}]
    record = HarnessResource(
        arn=arn, type="AWS::Events::Rule", id=harness_id, region="us-east-1", bus=bus_arn(account.session)
    )
    stubber = Stubber(events)
    stubber.add_response("list_tags_for_resource", {"Tags": tags}, {"ResourceARN": arn})
    stubber.add_response("list_targets_by_rule", {}, {"Rule": harness_id, "EventBusName": "default"})
    return record, stubber


def test_throttling_is_retried(account, monkeypatch):
    """ThrottlingException is retried with backoff; the delete then succeeds."""
    monkeypatch.setattr(cleanup_module, "RETRY_BASE", 0.001)
    record, stubber = _stub_rule(account, _tags.new_harness_id())
    for _ in range(2):
        stubber.add_client_error("delete_rule", "ThrottlingException", "Rate exceeded", 400)
    stubber.add_response("delete_rule", {})
    with stubber:
        report = delete_harness_resources([record], session=account.session)
    stubber.assert_no_pending_responses()
    assert report.deleted == (record,)


def test_throttling_retries_are_bounded(account, monkeypatch):
    """After RETRY_ATTEMPTS throttled tries the deletion fails with the AWS code kept."""
    monkeypatch.setattr(cleanup_module, "RETRY_BASE", 0.001)
    record, stubber = _stub_rule(account, _tags.new_harness_id())
    for _ in range(cleanup_module.RETRY_ATTEMPTS):
        stubber.add_client_error("delete_rule", "TooManyRequestsException", "Slow down", 429)
    with stubber:
        report = delete_harness_resources([record], session=account.session, check=False)
    stubber.assert_no_pending_responses()
    assert report.failed[0].code == "TooManyRequestsException"


def test_throttled_listings_are_retried(account, monkeypatch):
    """ListQueues, ListEventBuses, ListRules, DescribeStacks and ListTargetsByRule are retried on throttling too."""
    from botocore.exceptions import ClientError

    monkeypatch.setattr(cleanup_module, "RETRY_BASE", 0.001)
    harness_id = make_harness(account.session, run_id="run-t")
    throttled: list[str] = []

    def throttle_once(service, operation):
        def refuse(model, **_):
            if operation not in throttled:
                throttled.append(operation)
                raise ClientError({"Error": {"Code": "ThrottlingException", "Message": "Rate exceeded"}}, operation)

        aws(account.session).client(service).meta.events.register(f"before-call.{service}.{operation}", refuse)
        return lambda: (
            aws(account.session).client(service).meta.events.unregister(f"before-call.{service}.{operation}", refuse)
        )

    listings = [
        ("sqs", "ListQueues"),
        ("events", "ListEventBuses"),
        ("events", "ListRules"),
        ("cloudformation", "DescribeStacks"),
        ("events", "ListTargetsByRule"),
    ]
    undo = [throttle_once(service, operation) for service, operation in listings]
    try:
        report = cleanup(run_id="run-t", session=account.session)
    finally:
        for remove in undo:
            remove()
    assert sorted(throttled) == sorted(operation for _, operation in listings)
    assert sorted((r.kind, r.id) for r in report.deleted) == [("queue", harness_id), ("rule", harness_id)]
    assert snapshot(account.session) == set()


def test_failures_are_aggregated_after_everything_was_tried(account):
    """A failed rule deletion does not stop the queues: one CleanupError lists it, with the report."""
    harness_id = make_harness(account.session, run_id="run-e", rule=False)
    queues = find_harness_resources(run_id="run-e", session=account.session)
    rule, stubber = _stub_rule(account, _tags.new_harness_id())
    stubber.add_client_error("delete_rule", "AccessDeniedException", "not allowed to events:DeleteRule", 400)
    with stubber, pytest.raises(CleanupError) as caught:
        delete_harness_resources([rule, *queues], session=account.session)
    err = caught.value
    assert [arn for arn, _ in err.failures] == [rule.arn]
    assert "not allowed to events:DeleteRule" in str(err)
    assert err.failures[0][1].code == "AccessDeniedException"
    report: CleanupReport = err.report
    assert [r.id for r in report.deleted] == [harness_id]
    assert not report.ok
    assert report.summary() == "deleted 1, skipped 0, failed 1"
    assert snapshot(account.session) == set()


def test_join_finds_a_rule_that_list_rules_does_not_show_yet(account):
    """When ListRules lags, the queue's Target tag leads to the rule (DescribeRule), so both are found."""
    harness_id = make_harness(account.session, run_id="run-j")
    events = aws(account.session).events
    rule = account.session.client("events").describe_rule(Name=harness_id)
    tags = account.session.client("events").list_tags_for_resource(ResourceARN=rule["Arn"])["Tags"]
    stubber = Stubber(events)
    default_bus = {"Name": "default", "Arn": bus_arn(account.session)}
    stubber.add_response("list_event_buses", {"EventBuses": [default_bus]})
    stubber.add_response("list_rules", {"Rules": []})  # the lagging listing
    stubber.add_response("describe_rule", {"Name": harness_id, "Arn": rule["Arn"]})
    stubber.add_response("list_tags_for_resource", {"Tags": tags})
    with stubber:
        found = find_harness_resources(run_id="run-j", session=account.session)
    stubber.assert_no_pending_responses()
    assert [(r.kind, r.id) for r in found] == [("rule", harness_id), ("queue", harness_id)]


def test_join_finds_a_queue_that_list_queues_does_not_show_yet(account):
    """When ListQueues lags, the rule's name leads to the queue (GetQueueUrl), so both are found."""
    harness_id = make_harness(account.session, run_id="run-k")
    sqs = aws(account.session).sqs
    url = account.session.client("sqs").get_queue_url(QueueName=harness_id)["QueueUrl"]
    tags = account.session.client("sqs").list_queue_tags(QueueUrl=url)["Tags"]
    stubber = Stubber(sqs)
    stubber.add_response("list_queues", {"QueueUrls": []})  # the lagging listing
    stubber.add_response("get_queue_url", {"QueueUrl": url}, {"QueueName": harness_id})
    stubber.add_response("list_queue_tags", {"Tags": tags}, {"QueueUrl": url})
    with stubber:
        found = find_harness_resources(run_id="run-k", session=account.session)
    stubber.assert_no_pending_responses()
    assert [(r.kind, r.id) for r in found] == [("rule", harness_id), ("queue", harness_id)]


def test_listing_errors_raise_with_the_aws_code(account):
    """A listing that fails (e.g. no permission) raises AwsError: no partial, misleading result."""
    stubber = Stubber(aws(account.session).sqs)
    stubber.add_client_error("list_queues", "AccessDenied", "no sqs:ListQueues", 403)
    with stubber, pytest.raises(iatk.AwsError, match="cannot list the iatk_eb_\\* queues") as caught:
        find_harness_resources(session=account.session)
    assert caught.value.code == "AccessDenied"


def test_report_merges_and_serialises(account):
    """Reports add up (one per region) and turn into JSON."""
    make_harness(account.session, run_id="run-m")
    make_rule(account.session, _tags.new_harness_id())  # untagged: never listed
    planned = cleanup(run_id="run-m", dry_run=True, session=account.session)
    merged = planned + CleanupReport()
    assert merged.dry_run
    assert len(merged.planned) == 2
    data = json.loads(json.dumps(merged.to_dict()))
    assert data["ok"] is True
    assert {item["kind"] for item in data["planned"]} == {"rule", "queue"}


def test_finds_and_removes_what_a_listener_made(account):
    """A started iatk.Listener's rule and queue are found by run id with its id, and cleanup removes them."""
    from iatk.listener import Listener

    before = snapshot(account.session)
    listener = Listener("default", pattern={"source": ["cleanup.test"]}, session=account.session, ttl="1h").start()
    run_id = _tags.current_run_id()
    found = find_harness_resources(run_id=run_id, session=account.session)
    assert [(r.kind, r.id) for r in found] == [("rule", listener.id), ("queue", listener.id)]
    assert {r.arn for r in found} == set(listener.arns)
    assert all(r.expires - r.created == timedelta(hours=1) for r in found)
    report = cleanup(run_id=run_id, session=account.session)
    assert len(report.deleted) == 2
    assert snapshot(account.session) == before


def test_the_module_is_callable_like_the_function(account):
    """`iatk.cleanup(...)` works even after `import iatk.cleanup` bound the module on the package."""
    import importlib

    module = importlib.import_module("iatk.cleanup")
    make_harness(account.session, run_id="run-c")
    report = module(run_id="run-c", session=account.session)
    assert isinstance(report, CleanupReport)
    assert len(report.deleted) == 2
