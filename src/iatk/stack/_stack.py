"""Reading a deployed stack: :class:`Stack` (outputs, resources, physical ids, nested stacks).

A :class:`Stack` is lazy and cached: the first look-up makes one DescribeStacks call, the first
resource look-up one ListStackResources walk; later look-ups make none (``refresh()`` forgets both).
When a resource look-up is the first one, the two reads run at once: one round trip of wall time,
and the stack's status is still checked before the list is used.
"""

from __future__ import annotations

import contextlib
import difflib
import re
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import TYPE_CHECKING, Any

from iatk._aws import AwsContext, aws, calling, error_code, frameless, wrap
from iatk._text import closest
from iatk.exceptions import (
    ConfigError,
    ResourceNotInStack,
    StackError,
    StackNotFound,
    StackNotReady,
    StackOutputNotFound,
)

if TYPE_CHECKING:
    import boto3

#: Stable states a test can read from. ROLLBACK_COMPLETE ends in _COMPLETE but means "failed".
READY_STATES = frozenset(
    {"CREATE_COMPLETE", "UPDATE_COMPLETE", "UPDATE_ROLLBACK_COMPLETE", "IMPORT_COMPLETE", "IMPORT_ROLLBACK_COMPLETE"}
)
NESTED_STACK = "AWS::CloudFormation::Stack"


@dataclass(frozen=True, slots=True)
class StackResource:
    """One resource of a stack, as CloudFormation lists it."""

    logical_id: str
    physical_id: str | None
    type: str
    status: str
    stack_name: str

    @classmethod
    def from_api(cls, item: Mapping[str, Any], stack_name: str) -> StackResource | None:
        """Build from a ListStackResources summary; None for moto's entries without a logical id."""
        logical_id = item.get("LogicalResourceId")
        if not logical_id:  # moto lists unsupported types (QueuePolicy) with every field missing
            return None
        physical = item.get("PhysicalResourceId")
        if isinstance(physical, str) and physical.startswith("<moto."):  # moto's repr for EventBus
            physical = None
        return cls(
            logical_id=logical_id,
            physical_id=physical or None,
            type=item.get("ResourceType", ""),
            status=item.get("ResourceStatus", ""),
            stack_name=stack_name,
        )


class Stack:
    """A deployed CloudFormation stack, read lazily.

    Args:
        name: Stack name, stack id or stack ARN.
        session: The boto3 Session (default: the run's session).

    Example::

        stack = iatk.Stack("plugin-tester")
        stack.outputs["PluginLifecycleWorkflow"]
        stack.physical_id("PluginSuccessRule")
        stack.physical_id("Child/Queue")          # inside the nested stack "Child"

    IAM permissions: cloudformation:DescribeStacks, cloudformation:ListStackResources
    (cloudformation:ListStacks and GetTemplate only to explain errors).
    """

    def __init__(self, name: str, session: boto3.Session | None = None) -> None:
        if not name or not isinstance(name, str):
            raise ConfigError(f"Stack needs a stack name, id or ARN; got {name!r}")
        self._ref = name
        self._session = session
        self._lock = threading.Lock()
        self._description: dict[str, Any] | None = None
        self._resources: tuple[StackResource, ...] | None = None
        self._nested: dict[str, Stack] = {}
        self._template: dict[str, Any] | None = None

    def __repr__(self) -> str:
        return f"Stack({self._ref!r})"

    @property
    def _aws(self) -> AwsContext:
        return aws(self._session)

    # -- description ---------------------------------------------------------------------------
    def _describe(self) -> dict[str, Any]:
        with self._lock:
            if self._description is None:
                self._description = self._fetch_description()
            return self._description

    def _fetch_description(self) -> dict[str, Any]:
        cfn = self._aws.cloudformation
        try:
            stacks = cfn.describe_stacks(StackName=self._ref)["Stacks"]
        except Exception as err:
            if error_code(err) == "ValidationError" and "does not exist" in str(err):
                raise StackNotFound(self._not_found_message(), code="ValidationError") from frameless(err)
            raise wrap(err, f"cannot describe stack {self._ref!r}", StackError) from err
        if not stacks:
            raise StackNotFound(self._not_found_message())
        return dict(stacks[0])

    def _not_found_message(self) -> str:
        names: list[str] = []
        try:
            paginator = self._aws.cloudformation.get_paginator("list_stacks")
            for page in paginator.paginate():
                names += [s["StackName"] for s in page["StackSummaries"] if s["StackStatus"] != "DELETE_COMPLETE"]
        except Exception:  # noqa: S110 - the list only enriches the message
            pass
        close = closest(self._ref, names, n=5, cutoff=0.4)
        where = f"region {self._aws.region}"
        if close:
            hint = "did you mean: " + ", ".join(close)
        elif names:
            hint = "stacks here: " + ", ".join(sorted(names)[:20])
        else:
            hint = "there are no stacks here"
        return f"stack {self._ref!r} not found in {where}; {hint}. Check --iatk-stack, the region and the profile."

    def _ready(self) -> dict[str, Any]:
        description = self._describe()
        status = description.get("StackStatus", "")
        if status not in READY_STATES:
            reason = description.get("StackStatusReason") or "no reason given"
            raise StackNotReady(
                f"stack {description.get('StackName', self._ref)!r} is {status} ({reason}); "
                f"iatk reads stacks in one of: {', '.join(sorted(READY_STATES))}. Wait for the deploy, or fix it."
            )
        return description

    @property
    def name(self) -> str:
        """The stack's name (also when it was given by id or ARN)."""
        return str(self._describe().get("StackName", self._ref))

    @property
    def arn(self) -> str:
        """The stack's id, which is its ARN."""
        return str(self._describe()["StackId"])

    @property
    def status(self) -> str:
        """The stack status, e.g. ``CREATE_COMPLETE`` (as of the last read)."""
        return str(self._describe().get("StackStatus", ""))

    def refresh(self) -> Stack:
        """Forget what was read, so the next access reads the stack again."""
        with self._lock:
            self._description = None
            self._resources = None
            self._nested.clear()
            self._template = None
            return self

    # -- outputs -------------------------------------------------------------------------------
    @property
    def outputs(self) -> Mapping[str, str]:
        """Output key → value (read-only)."""
        outputs = self._ready().get("Outputs") or []
        return MappingProxyType({o["OutputKey"]: o.get("OutputValue", "") for o in outputs})

    def output(self, key: str) -> str:
        """The value of output ``key``; :class:`StackOutputNotFound` lists the outputs that exist."""
        outputs = self.outputs
        if key in outputs:
            return outputs[key]
        existing = ", ".join(sorted(outputs)) or "(none)"
        close = closest(key, outputs, n=3)
        hint = f" Did you mean {' or '.join(repr(c) for c in close)}?" if close else ""
        raise StackOutputNotFound(f"stack {self.name!r} has no output {key!r}; its outputs are: {existing}.{hint}")

    # -- resources -----------------------------------------------------------------------------
    @property
    def resources(self) -> tuple[StackResource, ...]:
        """Every resource of this stack (not of nested stacks), in CloudFormation's order."""
        with self._lock:
            fresh = self._description is None and self._resources is None
        if fresh:
            self._read_both()
        self._ready()
        with self._lock:
            if self._resources is None:
                self._resources = self._build_resources(self._list_resources())
            return self._resources

    def _read_both(self) -> None:
        """DescribeStacks and the ListStackResources walk at once (a fresh Stack's first resource look-up).

        The list is kept only when the description says the stack is ready; when the listing fails,
        it is read again on the usual path, which raises its error.
        """
        listing: list[list[Mapping[str, Any]]] = []

        def list_them() -> None:
            with contextlib.suppress(Exception):  # a failed listing is read again (and raised) on the usual path
                listing.append(self._list_resources())

        thread = threading.Thread(target=list_them, name=f"iatk-stack-resources {self._ref}", daemon=True)
        thread.start()
        try:
            description = self._fetch_description()
        finally:
            thread.join()
        with self._lock:
            if self._description is None:
                self._description = description
            ready = str(self._description.get("StackStatus", "")) in READY_STATES
            if listing and ready and self._resources is None:
                self._resources = self._build_resources(listing[0])

    def _list_resources(self) -> list[Mapping[str, Any]]:
        items: list[Mapping[str, Any]] = []
        name = (self._description or {}).get("StackName", self._ref)
        with calling(f"cannot list the resources of stack {name!r}", StackError):
            paginator = self._aws.cloudformation.get_paginator("list_stack_resources")
            for page in paginator.paginate(StackName=self._ref):
                items += page["StackResourceSummaries"]
        return items

    def _build_resources(self, items: list[Mapping[str, Any]]) -> tuple[StackResource, ...]:
        name = str((self._description or {}).get("StackName", self._ref))
        found = (StackResource.from_api(item, name) for item in items)
        return tuple(resource for resource in found if resource is not None)

    def resource(self, logical_id: str) -> StackResource:
        """The resource ``logical_id`` (``"Child/Queue"`` looks inside nested stack ``Child``)."""
        head, _, rest = logical_id.partition("/")
        if rest:
            return self.nested(head).resource(rest)
        for resource in self.resources:
            if resource.logical_id == logical_id:
                return resource
        ids = [r.logical_id for r in self.resources]
        ranked = sorted(ids, key=lambda i: (-difflib.SequenceMatcher(None, logical_id.lower(), i.lower()).ratio(), i))
        close = closest(logical_id, ids)
        hint = f" Did you mean {close[0]!r}?" if close else ""
        raise ResourceNotInStack(
            f"stack {self.name!r} has no resource {logical_id!r}.{hint} "
            f"Its logical ids, closest first: {', '.join(ranked) or '(none)'}."
        )

    def _single_resource(self, logical_id: str) -> StackResource | None:
        """One DescribeStackResource, for a Stack with no resource list yet (else None: use the list).

        Any error (an unknown id; moto answers one with HTTP 500) and a resource that is not complete
        give None, so the full path explains what exists or what state the stack is in.
        """
        with self._lock:
            listed = self._resources is not None
        if listed or "/" in logical_id:
            return None
        try:
            detail = self._aws.cloudformation.describe_stack_resource(StackName=self._ref, LogicalResourceId=logical_id)
        except Exception:
            return None
        item = detail.get("StackResourceDetail", {})
        if not str(item.get("ResourceStatus", "")).endswith("_COMPLETE") or str(item.get("ResourceStatus")).startswith(
            "DELETE"
        ):
            return None
        return StackResource.from_api(item, str(item.get("StackName", self._ref)))

    def nested(self, logical_id: str) -> Stack:
        """The nested stack created by resource ``logical_id`` (an ``AWS::CloudFormation::Stack``)."""
        with self._lock:
            cached = self._nested.get(logical_id)
        if cached is not None:
            return cached
        resource = self.resource(logical_id)
        if resource.type != NESTED_STACK or not resource.physical_id:
            raise ResourceNotInStack(
                f"{logical_id!r} in stack {self.name!r} is a {resource.type or 'resource'}, not a nested stack "
                f"({NESTED_STACK}); use physical_id({logical_id!r}) for its id"
            )
        child = Stack(resource.physical_id, session=self._session)
        with self._lock:
            return self._nested.setdefault(logical_id, child)

    def physical_id(self, logical_id: str, *, check_status: bool = True) -> str:
        """The physical id of ``logical_id`` (a queue's URL, a rule's name, a state machine's ARN...).

        ``"Child/Queue"`` follows the nested stack ``Child``. Raises :class:`ResourceNotInStack`
        with the logical ids that exist, closest first.

        Args:
            logical_id: The resource's logical id, or ``"Nested/LogicalId"``.
            check_status: Raise :class:`StackNotReady` when the stack is not in a ready ``*_COMPLETE``
                state (the default). With False, the first look-up on a fresh Stack is one
                DescribeStackResource and only the resource's own status is checked: aws-iatk's
                ``get_physical_id_from_stack`` does this, and the drop-in keeps its one call.

        IAM permissions:
            ``cloudformation:DescribeStacks`` and ``cloudformation:ListStackResources``
            (``check_status=False``: ``cloudformation:DescribeStackResource``).
        """
        # With check_status, two reads for a fresh Stack, made at once (see resources): DescribeStacks
        # (status, cached) and the ListStackResources walk (cached for every later look-up). A single
        # DescribeStackResource cannot stand in for both: its StackResourceDetail has the resource's
        # status but not the stack's, and a resource is already CREATE_COMPLETE while its stack is
        # CREATE_IN_PROGRESS.
        if not check_status:
            single = self._single_resource(logical_id)
            if single is not None and single.physical_id:
                return single.physical_id
        resource = self.resource(logical_id)
        if resource.physical_id:
            return resource.physical_id
        fallback = self._name_from_template(resource)
        if fallback:
            return fallback
        raise StackError(
            f"{logical_id!r} in stack {self.name!r} ({resource.type}, {resource.status}) has no physical id; "
            "moto gives none for EventBus: output its name or ARN from the template instead"
        )

    def _name_from_template(self, resource: StackResource) -> str | None:
        # moto reports EventBus physical ids as null; the template's literal Name is the same value.
        if resource.type != "AWS::Events::EventBus":
            return None
        stack = self if resource.stack_name == self.name else Stack(resource.stack_name, session=self._session)
        with self._lock:
            if stack._template is None:
                try:
                    body: Any = stack._aws.cloudformation.get_template(StackName=stack._ref)["TemplateBody"]
                except Exception:
                    return None
                stack._template = _parse_body(body) if isinstance(body, str) else dict(body)
        props = (stack._template.get("Resources", {}).get(resource.logical_id) or {}).get("Properties") or {}
        return stack._resolve_simple(props.get("Name"))

    def _resolve_simple(self, value: Any) -> str | None:
        """A literal, or a ``Fn::Sub`` over parameters and pseudo parameters; None for anything else."""
        if isinstance(value, str):
            return value
        if not (isinstance(value, dict) and isinstance(value.get("Fn::Sub"), str)):
            return None
        description = self._describe()
        names = {p["ParameterKey"]: p.get("ParameterValue", "") for p in description.get("Parameters") or []}
        arn_parts = str(description.get("StackId", "")).split(":")
        names.update(
            {
                "AWS::StackName": str(description.get("StackName", "")),
                "AWS::Region": arn_parts[3] if len(arn_parts) > 4 else self._aws.region,
                "AWS::AccountId": arn_parts[4] if len(arn_parts) > 4 else "",
            }
        )
        unresolved: list[str] = []

        def substitute(found: re.Match[str]) -> str:
            if found.group(1) in names:
                return str(names[found.group(1)])
            unresolved.append(found.group(1))
            return ""

        text = re.sub(r"\$\{([^}!]+)\}", substitute, value["Fn::Sub"])
        return None if unresolved else text

    # -- lifecycle -----------------------------------------------------------------------------
    def delete(self, *, wait: bool = True, timeout: float = 900.0) -> None:
        """Delete the stack (and wait until it is gone).

        IAM permissions: cloudformation:DeleteStack, cloudformation:DescribeStacks.
        """
        arn = self.arn
        with calling(f"cannot delete stack {self.name!r}", StackError):
            self._aws.cloudformation.delete_stack(StackName=arn)
        if wait:
            wait_for_stack(self._aws, arn, timeout=timeout, goal="DELETE")
        self.refresh()


def _parse_body(text: str) -> dict[str, Any]:
    from iatk._templates import parse_template

    return parse_template(text)


def wait_for_stack(
    ctx: AwsContext,
    stack_id: str,
    *,
    timeout: float,
    goal: str,
    on_poll: Callable[[Mapping[str, Any]], None] | None = None,
) -> dict[str, Any]:
    """Poll DescribeStacks with capped backoff until the stack leaves *_IN_PROGRESS (``on_poll``: each description)."""
    deadline = time.monotonic() + timeout
    delay = 0.05
    while True:
        with calling(f"cannot read stack {stack_id!r}", StackError):
            description = dict(ctx.cloudformation.describe_stacks(StackName=stack_id)["Stacks"][0])
        if on_poll is not None:
            on_poll(description)
        if not str(description.get("StackStatus", "")).endswith("_IN_PROGRESS"):
            return description
        if time.monotonic() + delay > deadline:
            raise StackNotReady(
                f"stack {stack_id!r} still {description.get('StackStatus')} after {timeout:.0f} s ({goal})"
            )
        time.sleep(delay)
        delay = min(delay * 2, 5.0)
