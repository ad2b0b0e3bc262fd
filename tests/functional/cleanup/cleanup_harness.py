"""Builders for harness-shaped resources, look-alike decoys and account snapshots.

Used by the cleanup tests and imported by their child pytest runs (on PYTHONPATH), so it needs only
boto3 and iatk._tags. Resources are made with plain boto3 calls, the way a listener (or aws-iatk
0.1.0) makes them: a queue and a rule named ``iatk_eb_<xid>``, the rule targeting the queue.
"""

from __future__ import annotations

import json
import secrets
import weakref
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Any

from iatk import _tags
from iatk._aws import IatkSession

REGION = "us-east-1"

PATTERN = json.dumps({"source": ["iatk.cleanup.test"]})
STACK_TEMPLATE = json.dumps({"Resources": {"Queue": {"Type": "AWS::SQS::Queue"}}})
_clients: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def client(session: Any, service: str) -> Any:
    """One cached client per session and service (making clients is most of a builder's cost)."""
    per_session = _clients.setdefault(session, {})
    if service not in per_session:
        per_session[service] = session.client(service)
    return per_session[service]


def bus_arn(session: Any, bus: str = "default") -> str:
    """The ARN of ``bus``, created first when it is not the default bus."""
    events = client(session, "events")
    if bus != "default":
        try:
            return str(events.describe_event_bus(Name=bus)["Arn"])
        except events.exceptions.ResourceNotFoundException:
            return str(events.create_event_bus(Name=bus)["EventBusArn"])
    return str(events.describe_event_bus(Name=bus)["Arn"])


def legacy_tags(harness_id: str, target_arn: str, created: datetime, extra: Mapping[str, str] | None = None) -> dict:
    """aws-iatk 0.1.0's tags: the four TestHarness keys, Created in local time with an offset."""
    local = created.astimezone(timezone(timedelta(hours=-8))).replace(microsecond=0)
    tags = {
        _tags.TAG_ID: harness_id,
        _tags.TAG_TYPE: _tags.LISTENER_TYPE,
        _tags.TAG_TARGET: target_arn,
        _tags.TAG_CREATED: local.isoformat(),
    }
    tags.update(extra or {})
    return tags


def make_queue(session: Any, name: str, tags: Mapping[str, str] | None = None) -> str:
    """Create a queue (with tags, if any); returns its ARN."""
    sqs = client(session, "sqs")
    url = sqs.create_queue(QueueName=name, **({"tags": dict(tags)} if tags else {}))["QueueUrl"]
    return str(sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"])


def make_rule(session: Any, name: str, bus: str = "default", tags: Mapping[str, str] | None = None, target=None) -> str:
    """Create a rule on ``bus`` (with tags, if any), targeting ``target`` (a queue ARN, target id = name)."""
    events = client(session, "events")
    extra: dict[str, Any] = {"Tags": _tags.as_tag_list(tags)} if tags else {}
    arn = events.put_rule(Name=name, EventBusName=bus, EventPattern=PATTERN, **extra)["RuleArn"]
    if target:
        answer = events.put_targets(Rule=name, EventBusName=bus, Targets=[{"Id": name, "Arn": target}])
        assert answer["FailedEntryCount"] == 0, answer
    return str(arn)


def make_harness(
    session: Any,
    *,
    run_id: str | None = None,
    bus: str = "default",
    ttl: timedelta = timedelta(hours=2),
    created: datetime | None = None,
    user_tags: Mapping[str, str] | None = None,
    legacy: bool = False,
    queue: bool = True,
    rule: bool = True,
    harness_id: str | None = None,
    override: Mapping[str, str] | None = None,
) -> str:
    """A listener-shaped queue + rule (+ target), tagged as iatk (or, ``legacy``, aws-iatk) tags them.

    ``override`` replaces tag values after the usual tags are built (to make look-alikes).
    """
    harness_id = harness_id or _tags.new_harness_id()
    target = bus_arn(session, bus)
    moment = created or datetime.now(timezone.utc)
    if legacy:
        tags = legacy_tags(harness_id, target, moment, user_tags)
    else:
        assert run_id, "an iatk harness needs a run id"
        tags = _tags.harness_tags(harness_id, target_arn=target, run_id=run_id, ttl=ttl, now=moment)
        tags.update(user_tags or {})  # user tags without the reserved-key check (decoys use them)
    tags.update(override or {})
    queue_arn = make_queue(session, harness_id, tags) if queue else None
    if rule:
        make_rule(session, harness_id, bus, tags, queue_arn)
    return harness_id


def make_stack(session: Any, name: str, tags: Mapping[str, str] | None = None) -> str:
    """A one-queue CloudFormation stack with these tags; returns its stack id."""
    cfn = client(session, "cloudformation")
    extra = {"Tags": _tags.as_tag_list(tags)} if tags else {}
    return str(cfn.create_stack(StackName=name, TemplateBody=STACK_TEMPLATE, **extra)["StackId"])


def snapshot(session: Any) -> set[tuple[str, str]]:
    """Every queue, rule (``bus/name``) and live stack in the session's account and region."""
    sqs = client(session, "sqs")
    events = client(session, "events")
    cfn = client(session, "cloudformation")
    found: set[tuple[str, str]] = set()
    for url in sqs.list_queues().get("QueueUrls") or []:
        found.add(("queue", url.rsplit("/", 1)[1]))
    for bus in events.list_event_buses()["EventBuses"]:
        for rule in events.list_rules(EventBusName=bus["Name"]).get("Rules") or []:
            found.add(("rule", f"{bus['Name']}/{rule['Name']}"))
    for stack in cfn.describe_stacks()["Stacks"]:
        if stack["StackStatus"] != "DELETE_COMPLETE":
            found.add(("stack", stack["StackName"]))
    return found


def harness_keys(harness_ids: Iterable[str], bus: str = "default", *, queue: bool = True, rule: bool = True) -> set:
    """The snapshot keys of some harnesses' queues and rules."""
    keys: set[tuple[str, str]] = set()
    for harness_id in harness_ids:
        if queue:
            keys.add(("queue", harness_id))
        if rule:
            keys.add(("rule", f"{bus}/{harness_id}"))
    return keys


def stack_queue_keys(session: Any, stack_name: str) -> set[tuple[str, str]]:
    """The snapshot keys of the queue a test stack made (it goes when the stack is deleted)."""
    cfn = client(session, "cloudformation")
    resources = cfn.describe_stack_resources(StackName=stack_name)["StackResources"]
    return {("queue", r["PhysicalResourceId"].rsplit("/", 1)[1]) for r in resources if r.get("PhysicalResourceId")}


@dataclass
class Account:
    """A moto account on the shared server: a session for it, and the same credentials as env vars."""

    id: str
    url: str
    session: IatkSession
    env: dict[str, str] = field(default_factory=dict)

    @property
    def cli(self) -> list[str]:
        """The CLI's AWS options for this server."""
        return ["--endpoint-url", self.url, "--region", REGION]


def new_account(embedded) -> Account:
    """A fresh, empty moto account (its own queues, rules, buses and stacks) on the shared server."""
    account_id = f"{secrets.randbelow(9 * 10**11) + 10**11:012d}"
    sts = embedded.session().client("sts")
    creds = sts.assume_role(RoleArn=f"arn:aws:iam::{account_id}:role/iatk-cleanup-test", RoleSessionName="cleanup")[
        "Credentials"
    ]
    env = {
        "AWS_ACCESS_KEY_ID": creds["AccessKeyId"],
        "AWS_SECRET_ACCESS_KEY": creds["SecretAccessKey"],
        "AWS_SESSION_TOKEN": creds["SessionToken"],
        "AWS_DEFAULT_REGION": REGION,
    }
    session = IatkSession(
        aws_access_key_id=env["AWS_ACCESS_KEY_ID"],
        aws_secret_access_key=env["AWS_SECRET_ACCESS_KEY"],
        aws_session_token=env["AWS_SESSION_TOKEN"],
        region_name=REGION,
        endpoint_url=embedded.url,
        embedded=True,
    )
    assert session.client("sts").get_caller_identity()["Account"] == account_id
    return Account(id=account_id, url=embedded.url, session=session, env=env)
