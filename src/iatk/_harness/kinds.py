"""The kinds of harness resource: for each, how it is found, prepared and deleted, and its order.

:data:`RESOURCE_KINDS` is the one table: discovery (:mod:`.find`) and deletion (:mod:`.delete`) go
through it and name no kind. A new kind (a listener's SNS subscription, say) is its functions here
and one :class:`ResourceKind` entry.

Safety: a resource is deleted only when its *live* tags (read again just before the delete) say it
is iatk's: ``iatk:TestHarness:ID`` equal to its name for a listener's queue or rule,
``iatk:deploy=true`` for a stack. Anything else is skipped, with the reason.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any

from iatk._aws import AwsContext, error_code, is_gone, wrap
from iatk._tags import HARNESS_PREFIX, TAG_DEPLOY, TAG_ID
from iatk.exceptions import AwsError, IatkError, StackError

from .calls import bus_name, pages, parallel, raise_first, retrying
from .resource import QUEUE, RULE, STACK, HarnessResource

__all__ = ["GONE", "KIND_BY_NAME", "KIND_BY_TYPE", "RESOURCE_KINDS", "Outcome", "ResourceKind"]

STACK_GONE_STATES = frozenset({"DELETE_COMPLETE"})
#: The reason a resource already deleted is skipped.
GONE = "already gone"


class Outcome:
    """Per-resource result, filled in phase by phase."""

    __slots__ = ("error", "reason", "state")

    def __init__(self, state: str, reason: str = "", error: IatkError | None = None) -> None:
        self.state = state  # ready | deleted | skipped | failed | planned | pending (a stack deleting)
        self.reason = reason
        self.error = error


Step = Callable[[AwsContext, HarnessResource, bool], Outcome]


@dataclass(frozen=True)
class ResourceKind:
    """One kind of harness resource, and how the cleanup finds and deletes it.

    Attributes:
        name: The short name: ``types=``, ``iatk cleanup --type`` and :attr:`HarnessResource.kind`.
        aws_type: The AWS resource type (aws-iatk's component type); ``types=`` accepts it too.
        order: Deletion order, lowest first (rules, then queues, then stacks); also the order of two
            resources of one harness in a listing (a listener's rule, then its queue).
        find: Every resource of the kind in the context's region that carries iatk's tags.
        delete: ``(ctx, resource, dry_run)``: check the live tags, then delete. The outcome is
            ``deleted``, ``skipped`` (with the reason), ``failed`` (with the error), ``planned`` (a
            dry run) or ``pending`` (the deletion was accepted and is under way).
        prepare: Run on every resource of the kind before any is deleted: ``ready`` goes on to
            ``delete``, any other outcome is final.
        await_pending: ``(ctx, pending, timeout)``: wait for the ``pending`` deletions, with one
            deadline for all, and set each outcome.
        partner: The kind whose resources share these' harness ids (a listener's queue and rule):
            when both kinds are listed, each half the listings missed is probed from the other.
        probe: Find this kind's half of a harness from its partner's resource (None: there is none).
    """

    name: str
    aws_type: str
    order: int
    find: Callable[[AwsContext], list[HarnessResource]]
    delete: Step
    prepare: Step | None = None
    await_pending: Callable[[AwsContext, dict[HarnessResource, Outcome], float], None] | None = None
    partner: str | None = None
    probe: Callable[[AwsContext, HarnessResource], HarnessResource | None] | None = None


# -- tags, read live -----------------------------------------------------------------------------
def _queue_tags(ctx: AwsContext, url: str) -> dict[str, str] | None:
    """The queue's tags; None when the queue is gone."""
    try:
        return dict(retrying(ctx.sqs.list_queue_tags, QueueUrl=url).get("Tags") or {})
    except Exception as err:
        if is_gone(err):
            return None
        raise wrap(err, f"cannot read the tags of queue {url}") from err


def _rule_tags(ctx: AwsContext, arn: str) -> dict[str, str] | None:
    """The rule's tags; None when the rule is gone."""
    try:
        found = retrying(ctx.events.list_tags_for_resource, ResourceARN=arn)
    except Exception as err:
        if is_gone(err):
            return None
        raise wrap(err, f"cannot read the tags of rule {arn}") from err
    return {t["Key"]: t["Value"] for t in found.get("Tags") or []}


def _not_a_harness(resource: HarnessResource, live_tags: Mapping[str, str]) -> str | None:
    """Why a listener's queue or rule must not be deleted, judged on its live tags; None when it is iatk's."""
    if TAG_ID not in live_tags:
        return f"not iatk's: it has no {TAG_ID} tag (only the name looks like a harness)"
    if live_tags[TAG_ID] != resource.id or not resource.id.startswith(HARNESS_PREFIX):
        return f"its {TAG_ID} tag ({live_tags[TAG_ID]!r}) does not match its name ({resource.id!r})"
    return None


def _not_a_test_stack(live_tags: Mapping[str, str]) -> str | None:
    """Why a stack must not be deleted, judged on its live tags; None when iatk deployed it."""
    if live_tags.get(TAG_DEPLOY, "").lower() != "true":
        return f"not a test stack: it has no {TAG_DEPLOY}=true tag"
    return None


# -- queues (a listener's inbox) -----------------------------------------------------------------
def _queue_at(ctx: AwsContext, url: str) -> HarnessResource | None:
    tags = _queue_tags(ctx, url)
    if tags is not None and TAG_ID in tags:
        return HarnessResource.from_queue(url, tags, region=ctx.region, partition=ctx.partition)
    return None


def _queues_at(ctx: AwsContext, urls: Collection[str]) -> list[HarnessResource]:
    return [queue for _, queue in raise_first(parallel(lambda u: _queue_at(ctx, u), urls)) if queue is not None]


def _find_queues(ctx: AwsContext) -> list[HarnessResource]:
    urls: list[str] = []
    try:
        # MaxResults: ListQueues returns a NextToken only when it is given.
        for page in pages(ctx.sqs.list_queues, QueueNamePrefix=HARNESS_PREFIX, MaxResults=1000):
            urls += [u for u in page.get("QueueUrls") or [] if u.rsplit("/", 1)[-1].startswith(HARNESS_PREFIX)]
    except Exception as err:
        raise wrap(err, f"cannot list the {HARNESS_PREFIX}* queues in {ctx.region}") from err
    return _queues_at(ctx, urls)


def _probe_queue(ctx: AwsContext, rule: HarnessResource) -> HarnessResource | None:
    """The queue of ``rule``'s harness (GetQueueUrl by name), when a listing did not show it."""
    try:
        url = str(retrying(ctx.sqs.get_queue_url, QueueName=rule.id)["QueueUrl"])
    except Exception as err:
        if is_gone(err):
            return None
        raise wrap(err, f"cannot look up queue {rule.id!r}") from err
    return _queue_at(ctx, url)


def _live_check(resource: HarnessResource, tags: Mapping[str, str] | None, dry_run: bool) -> Outcome | None:
    """The outcome decided by a resource's live tags (gone, not a harness's, a dry run), or None to go on."""
    if tags is None:
        return Outcome("skipped", GONE)
    problem = _not_a_harness(resource, tags)
    if problem:
        return Outcome("skipped", problem)
    if dry_run:
        return Outcome("planned")
    return None


def _delete_queue(ctx: AwsContext, queue: HarnessResource, dry_run: bool) -> Outcome:
    url = queue.url or ""
    try:
        tags = _queue_tags(ctx, url)
    except IatkError as err:
        return Outcome("failed", error=err)
    verdict = _live_check(queue, tags, dry_run)
    if verdict is not None:
        return verdict
    try:
        retrying(ctx.sqs.delete_queue, QueueUrl=url)
    except Exception as err:
        if is_gone(err):
            return Outcome("skipped", GONE)
        return Outcome("failed", error=wrap(err, f"cannot delete queue {url}"))
    return Outcome("deleted")


# -- rules (a listener's copy of the rule under test) --------------------------------------------
def _event_buses(ctx: AwsContext) -> list[dict[str, str]]:
    buses: list[dict[str, str]] = []
    try:
        for page in pages(ctx.events.list_event_buses):
            buses += [{"Name": b["Name"], "Arn": b["Arn"]} for b in page.get("EventBuses") or []]
        return buses
    except IatkError:
        raise
    except Exception as err:
        raise wrap(err, f"cannot list the event buses in {ctx.region}") from err


def _rules_of(ctx: AwsContext, listed: Collection[tuple[dict[str, Any], str]]) -> list[HarnessResource]:
    found: list[HarnessResource] = []
    for (rule, bus_arn), tags in raise_first(parallel(lambda item: _rule_tags(ctx, item[0]["Arn"]), listed)):
        if tags is not None and TAG_ID in tags and str(rule["Name"]).startswith(HARNESS_PREFIX):
            found.append(HarnessResource.from_rule(rule, tags, bus_arn=bus_arn, region=ctx.region))
    return found


def _find_rules(ctx: AwsContext) -> list[HarnessResource]:
    listed: list[tuple[dict[str, Any], str]] = []
    for bus in _event_buses(ctx):
        try:
            for page in pages(ctx.events.list_rules, NamePrefix=HARNESS_PREFIX, EventBusName=bus["Name"]):
                listed += [(dict(rule), bus["Arn"]) for rule in page.get("Rules") or []]
        except Exception as err:
            if is_gone(err):  # the bus was deleted while we listed
                continue
            raise wrap(err, f"cannot list the {HARNESS_PREFIX}* rules on bus {bus['Name']!r}") from err
    return _rules_of(ctx, listed)


def _probe_rule(ctx: AwsContext, queue: HarnessResource) -> HarnessResource | None:
    """The rule of ``queue``'s harness (DescribeRule on the bus in its Target tag), when a listing did not show it."""
    if not queue.bus:
        return None
    try:
        rule = retrying(ctx.events.describe_rule, Name=queue.id, EventBusName=bus_name(queue.bus))
    except Exception as err:
        if is_gone(err):
            return None
        raise wrap(err, f"cannot look up rule {queue.id!r} on bus {queue.bus}") from err
    found = _rules_of(ctx, [({"Name": rule["Name"], "Arn": rule["Arn"]}, queue.bus)])
    return found[0] if found else None


def _prepare_rule(ctx: AwsContext, rule: HarnessResource, dry_run: bool) -> Outcome:
    """Check the rule's live tags, then remove its targets (the first step of the delete order)."""
    verdict = _live_check(rule, _rule_tags(ctx, rule.arn), dry_run)
    if verdict is not None:
        return verdict
    bus = bus_name(rule.bus or "default")
    try:
        ids: list[str] = []
        for page in pages(ctx.events.list_targets_by_rule, Rule=rule.id, EventBusName=bus):
            ids += [t["Id"] for t in page.get("Targets") or []]
        for start in range(0, len(ids), 100):
            chunk = ids[start : start + 100]
            answer = retrying(ctx.events.remove_targets, Rule=rule.id, EventBusName=bus, Ids=chunk)
            if answer.get("FailedEntryCount"):
                failed = "; ".join(f"{e.get('TargetId')}: {e.get('ErrorMessage')}" for e in answer["FailedEntries"])
                return Outcome("failed", error=AwsError(f"cannot remove the targets of rule {rule.arn}: {failed}"))
    except Exception as err:
        if is_gone(err):
            return Outcome("skipped", GONE)
        return Outcome("failed", error=wrap(err, f"cannot remove the targets of rule {rule.arn}"))
    return Outcome("ready")


def _delete_rule(ctx: AwsContext, rule: HarnessResource, dry_run: bool) -> Outcome:
    # Only prepared rules get here (a dry run stops at "planned" in _prepare_rule).
    try:
        retrying(ctx.events.delete_rule, Name=rule.id, EventBusName=bus_name(rule.bus or "default"))
    except Exception as err:
        if is_gone(err):
            return Outcome("skipped", GONE)
        return Outcome("failed", error=wrap(err, f"cannot delete rule {rule.arn}"))
    return Outcome("deleted")


# -- stacks (deployed by iatk.deploy_stack) ------------------------------------------------------
def _find_stacks(ctx: AwsContext) -> list[HarnessResource]:
    found: list[HarnessResource] = []
    try:
        for page in pages(ctx.cloudformation.describe_stacks):
            for stack in page.get("Stacks") or []:
                if stack.get("StackStatus") in STACK_GONE_STATES or stack.get("ParentId"):
                    continue  # nested stacks inherit the tags but are deleted with their root
                if any(
                    t.get("Key") == TAG_DEPLOY and t.get("Value", "").lower() == "true" for t in stack.get("Tags") or []
                ):
                    found.append(HarnessResource.from_stack(stack, region=ctx.region))
    except Exception as err:
        raise wrap(err, f"cannot list the CloudFormation stacks in {ctx.region}") from err
    return found


def _describe_stack(ctx: AwsContext, arn: str) -> dict[str, Any] | None:
    try:
        stacks = retrying(ctx.cloudformation.describe_stacks, StackName=arn)["Stacks"]
    except Exception as err:
        if error_code(err) == "ValidationError" and "does not exist" in str(err):
            return None
        raise wrap(err, f"cannot describe stack {arn}", StackError) from err
    return dict(stacks[0]) if stacks else None


def _delete_stack(ctx: AwsContext, stack: HarnessResource, dry_run: bool) -> Outcome:
    try:
        found = _describe_stack(ctx, stack.arn)
    except IatkError as err:
        return Outcome("failed", error=err)
    if found is None or found.get("StackStatus") in STACK_GONE_STATES:
        return Outcome("skipped", GONE)
    problem = _not_a_test_stack({t["Key"]: t["Value"] for t in found.get("Tags") or []})
    if problem:
        return Outcome("skipped", problem)
    if found.get("ParentId"):
        return Outcome("skipped", "a nested stack: it is deleted with its root stack")
    if found.get("StackStatus") == "DELETE_IN_PROGRESS":
        return Outcome("skipped", "already being deleted")
    if dry_run:
        return Outcome("planned")
    try:
        retrying(ctx.cloudformation.delete_stack, StackName=stack.arn)
    except Exception as err:
        return Outcome("failed", error=wrap(err, f"cannot delete stack {stack.id!r}", StackError))
    return Outcome("pending")


def _await_stacks(ctx: AwsContext, pending: dict[HarnessResource, Outcome], timeout: float) -> None:
    """Poll DescribeStacks until each deleting stack is gone or failed, with one deadline for all."""
    deadline = time.monotonic() + timeout
    delay = 0.05
    while True:
        for stack, outcome in pending.items():
            if outcome.state != "pending":
                continue
            try:
                found = _describe_stack(ctx, stack.arn)
            except IatkError as err:
                outcome.state, outcome.error = "failed", err
                continue
            status = (found or {}).get("StackStatus", "DELETE_COMPLETE")
            if status == "DELETE_COMPLETE":
                outcome.state = "deleted"
            elif not status.endswith("_IN_PROGRESS"):
                reason = (found or {}).get("StackStatusReason") or "no reason given"
                outcome.state = "failed"
                outcome.error = StackError(f"stack {stack.id!r} ended {status} while being deleted: {reason}")
        if all(o.state != "pending" for o in pending.values()):
            return
        if time.monotonic() + delay > deadline:
            for stack, outcome in pending.items():
                if outcome.state == "pending":
                    outcome.state = "failed"
                    outcome.error = StackError(
                        f"stack {stack.id!r} was still being deleted after {timeout:.0f} s; "
                        "check it in the CloudFormation console, or run the cleanup again later"
                    )
            return
        time.sleep(delay)
        delay = min(delay * 2, 5.0)


# -- the table -----------------------------------------------------------------------------------
#: Every kind, in the order ``types=`` lists them (queue, rule, stack); :attr:`ResourceKind.order`
#: is the deletion order.
RESOURCE_KINDS: tuple[ResourceKind, ...] = (
    ResourceKind("queue", QUEUE, order=1, find=_find_queues, delete=_delete_queue, partner="rule", probe=_probe_queue),
    ResourceKind(
        "rule",
        RULE,
        order=0,
        find=_find_rules,
        prepare=_prepare_rule,
        delete=_delete_rule,
        partner="queue",
        probe=_probe_rule,
    ),
    ResourceKind("stack", STACK, order=2, find=_find_stacks, delete=_delete_stack, await_pending=_await_stacks),
)
KIND_BY_NAME: Mapping[str, ResourceKind] = MappingProxyType({kind.name: kind for kind in RESOURCE_KINDS})
KIND_BY_TYPE: Mapping[str, ResourceKind] = MappingProxyType({kind.aws_type: kind for kind in RESOURCE_KINDS})
