"""What a listener reads from EventBridge before it creates anything: the bus, the rule to copy, its target.

Each lookup says what exists when a name is wrong (the buses, the rules closest first, the target
ids). Also the ARN helpers and :class:`StepFailed`, the failure of a creation step that is not a
botocore error.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

from iatk._aws import BOTO_ERRORS, error_code, error_message, frameless, is_gone
from iatk._text import closest_first
from iatk.events import bus_names
from iatk.exceptions import ListenerError

if TYPE_CHECKING:
    from iatk._aws import AwsContext

__all__ = ["Failure", "StepFailed", "arn_parts", "copy_rule", "find_target", "locate_bus", "plain_target", "split_rule"]

log = logging.getLogger("iatk.listener")

#: Builds the error for a failed lookup step: ``failure(step, botocore error)``.
Failure = Callable[[str, BaseException], ListenerError]


class StepFailed(Exception):
    """A creation step failed without a botocore error (a FailedEntries response, a canary timeout)."""

    def __init__(self, message: str, code: str | None = None) -> None:
        super().__init__(message)
        self.code = code


def arn_parts(arn: str) -> tuple[str, str, str, str]:
    """``(partition, region, account, resource)`` of an ARN."""
    parts = arn.split(":", 5)
    if len(parts) != 6 or parts[0] != "arn":
        raise ListenerError(f"not an ARN: {arn!r}")
    return parts[1], parts[3], parts[4], parts[5]


def split_rule(rule: str) -> tuple[str | None, str]:
    """``(bus or None, rule name)`` from a rule name, a rule ARN, or CloudFormation's ``bus|rule`` id."""
    if rule.startswith("arn:"):
        resource = arn_parts(rule)[3]
        pieces = resource.split("/")
        if pieces[0] != "rule" or len(pieces) not in (2, 3):
            raise ListenerError(f"rule={rule!r} is an ARN but not an EventBridge rule ARN (arn:...:rule/[bus/]name)")
        return (pieces[1] if len(pieces) == 3 else "default"), pieces[-1]
    if "|" in rule:  # Ref of an AWS::Events::Rule on a custom bus
        bus, _, name = rule.partition("|")
        return bus, name
    return None, rule


def plain_target(target: Mapping[str, Any]) -> dict[str, Any]:
    """Only the parts of a target a listener copies: Input, InputPath, InputTransformer."""
    return {key: target[key] for key in ("Input", "InputPath", "InputTransformer") if target.get(key) is not None}


def locate_bus(ctx: AwsContext, bus: str, failure: Failure) -> tuple[str, str]:
    """``(name, ARN)`` of the bus given by name or ARN (DescribeEventBus); an unknown bus lists the buses."""
    __tracebackhide__ = True
    try:
        found = ctx.events.describe_event_bus(Name=bus)
    except BOTO_ERRORS as err:
        if is_gone(err):
            raise ListenerError(
                f"event bus {bus!r} not found in {ctx.region}. {_list_buses(ctx)}",
                code=error_code(err),
            ) from frameless(err)
        raise failure("events:DescribeEventBus", err) from frameless(err)
    return found["Name"], found["Arn"]


def _list_buses(ctx: AwsContext) -> str:
    try:
        names = bus_names(ctx)
    except BOTO_ERRORS as err:
        return f"(the buses could not be listed: {error_message(err)})"
    if not names:
        return "There are no buses there."
    return f"The buses there: {', '.join(names)}. Pass one of these names, or a bus ARN."


def copy_rule(ctx: AwsContext, rule: str, *, bus_name: str, bus_arn: str, failure: Failure) -> tuple[str, str]:
    """The copied rule's name and event pattern text (DescribeRule).

    An unknown rule lists the rules on the bus; a rule without an event pattern (a schedule) is refused.
    """
    __tracebackhide__ = True
    rule_bus, rule_name = split_rule(rule)
    if rule_bus is not None and rule_bus not in (bus_name, bus_arn):
        raise ListenerError(
            f"rule={rule!r} belongs to bus {rule_bus!r}, but the listener is for bus "
            f"{bus_name!r}: pass bus={rule_bus!r}"
        )
    try:
        found = ctx.events.describe_rule(Name=rule_name, EventBusName=bus_name)
    except BOTO_ERRORS as err:
        if is_gone(err):
            raise ListenerError(
                f"rule {rule_name!r} not found on bus {bus_name!r} ({ctx.region}). "
                f"{_list_rules(ctx, bus_name, rule_name)}",
                code=error_code(err),
            ) from frameless(err)
        raise failure("events:DescribeRule", err) from frameless(err)
    pattern = found.get("EventPattern")
    if not pattern:
        schedule = found.get("ScheduleExpression")
        kind = f"a schedule rule ({schedule})" if schedule else "a rule without an event pattern"
        raise ListenerError(
            f"rule {rule_name!r} on bus {bus_name!r} is {kind}: a listener copies event patterns only. "
            "Pass pattern={...} to listen for the events you expect instead."
        )
    if found.get("State") not in (None, "ENABLED"):
        log.info("rule %s is %s; the listener's copy is enabled", rule_name, found.get("State"))
    return rule_name, pattern


def _list_rules(ctx: AwsContext, bus_name: str, wanted: str) -> str:
    try:
        names = [
            rule["Name"]
            for page in ctx.events.get_paginator("list_rules").paginate(EventBusName=bus_name)
            for rule in page.get("Rules", [])
            if not rule["Name"].startswith("iatk_eb_")
        ]
    except BOTO_ERRORS as err:
        return f"(the rules could not be listed: {error_message(err)})"
    if not names:
        return "The bus has no rules (other than iatk's)."
    shown = closest_first(wanted, names)[:30]
    more = f" and {len(names) - len(shown)} more" if len(names) > len(shown) else ""
    return f"Rules on that bus, closest first: {', '.join(shown)}{more}."


def find_target(ctx: AwsContext, rule_name: str, wanted: str, *, bus_name: str, failure: Failure) -> dict[str, Any]:
    """The Input / InputPath / InputTransformer of the rule's target ``wanted`` (ListTargetsByRule).

    An unknown target lists the rule's target ids.
    """
    __tracebackhide__ = True
    ids: list[str] = []
    try:
        pages = ctx.events.get_paginator("list_targets_by_rule").paginate(Rule=rule_name, EventBusName=bus_name)
        for page in pages:
            for target in page.get("Targets", []):
                if target["Id"] == wanted:
                    return plain_target(dict(target))
                ids.append(target["Id"])
    except BOTO_ERRORS as err:
        raise failure("events:ListTargetsByRule", err) from frameless(err)
    listed = ", ".join(ids) if ids else "(none)"
    raise ListenerError(
        f"target {wanted!r} not found on rule {rule_name!r} (bus {bus_name!r}). "
        f"Its targets: {listed}. Pass one of these ids as target=, or leave target out to get whole events."
    )
