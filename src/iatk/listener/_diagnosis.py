"""Why a listener's wait may have timed out, beyond "no event matched": checked after a timeout.

- :func:`check_wiring`: the listener's rule, its target and its queue are still as made (a rule
  deleted, disabled or repointed under the listener means no event can arrive);
- :func:`undelivered`: on the embedded backend, the rule targets the server could not deliver since
  the listener started (the event a wait expects is often the effect of another target).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from iatk._aws import error_message, is_gone

from ._teardown import STEP_TIMEOUT, TEARDOWN_ERRORS, Teardown

if TYPE_CHECKING:
    from ._harness import EventBridgeHarness

__all__ = ["UNDELIVERED_SHOWN", "check_wiring", "undelivered"]

#: At most this many undelivered targets are shown in a wait's timeout evidence (the latest).
UNDELIVERED_SHOWN = 5


def check_wiring(harness: EventBridgeHarness) -> list[str]:
    """Whether the rule, its target and the queue are still as made: one line per problem (for a timeout).

    A rule deleted under the listener (another run's cleanup, a sweep, a person), disabled, or
    whose target was removed or repointed means no event can arrive: a wait that timed out says
    so, instead of only "no event matched". Each call has a teardown step's deadline.
    """
    if harness.ctx is None or not harness.started or harness.closed:
        return []
    events, sqs = harness.ctx.events, harness.ctx.sqs
    bus = harness.bus_name or harness.spec.bus
    rule_name = harness.rule_arn or harness.id
    check = Teardown(STEP_TIMEOUT)
    problems: list[str] = []
    cause = "(by another run's cleanup, a sweep, or a person?)"
    try:
        rule: Any = check.call(
            "events:DescribeRule", events, lambda: events.describe_rule(Name=harness.id, EventBusName=bus)
        )
    except TEARDOWN_ERRORS as err:
        rule = None
        if is_gone(err):
            problems.append(
                f"The listener cannot receive events: its rule {rule_name} no longer exists on bus {bus!r}: "
                f"it was deleted under the listener {cause}"
            )
        else:
            problems.append(f"(could not check the listener's rule {rule_name}: {error_message(err)})")
    if rule is not None:
        if rule.get("State", "ENABLED") != "ENABLED":
            problems.append(f"The listener cannot receive events: its rule {rule_name} is {rule.get('State')} {cause}")
        try:
            targets = check.call(
                "events:ListTargetsByRule",
                events,
                lambda: events.list_targets_by_rule(Rule=harness.id, EventBusName=bus).get("Targets", []),
            )
        except TEARDOWN_ERRORS as err:
            problems.append(f"(could not check the listener's target {harness.id}: {error_message(err)})")
        else:
            mine = [target for target in targets if target.get("Id") == harness.id]
            if not mine:
                problems.append(
                    f"The listener cannot receive events: its rule {rule_name} no longer has its target "
                    f"{harness.id} (removed under the listener {cause})"
                )
            elif mine[0].get("Arn") != harness.queue_arn:
                problems.append(
                    f"The listener cannot receive events: its target {harness.id} now sends to "
                    f"{mine[0].get('Arn')}, not to its queue {harness.queue_arn}"
                )
    if harness.queue_url is not None:
        url = harness.queue_url
        try:
            check.call(
                "sqs:GetQueueAttributes",
                sqs,
                lambda: sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"]),
            )
        except TEARDOWN_ERRORS as err:
            if is_gone(err):
                problems.append(
                    f"The listener cannot receive events: its queue {harness.queue_arn} was deleted under the "
                    f"listener {cause}"
                )
            else:
                problems.append(f"(could not check the listener's queue {harness.queue_arn}: {error_message(err)})")
    return problems


def undelivered(harness: EventBridgeHarness) -> list[str]:
    """On the embedded backend: the targets it could not deliver since the listener started (for a timeout).

    Any rule's, on any bus: the event a wait expects is often the effect of another rule's
    target (a function that puts it), and that target's failure is why nothing came. Read from
    the server's record (``GET /iatk-api/undelivered``); empty elsewhere, and when the record
    cannot be read.
    """
    if harness.ctx is None or not harness.ctx.embedded or not harness.ctx.endpoint_url or harness.started_at is None:
        return []
    from iatk._backend.moto.eventbridge import read_undelivered

    missed = read_undelivered(harness.ctx.endpoint_url, since=harness.started_at)
    if not missed:
        return []
    shown = missed[-UNDELIVERED_SHOWN:]
    more = f" ({len(missed) - len(shown)} earlier not shown)" if len(missed) > len(shown) else ""
    head = (
        f"The embedded backend could not deliver {len(missed)} rule target{'s' if len(missed) != 1 else ''} "
        f"since the listener started{more}:"
    )
    return [head, *(f"  {item} (bus {item.bus!r}, event {item.event_id})" for item in shown)]
