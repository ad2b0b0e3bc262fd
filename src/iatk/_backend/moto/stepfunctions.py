"""CloudFormation's state machines, made executable on moto's Step Functions interpreter (MOTO.md §1b).

moto serves Step Functions from its interpreter's backend while execution mode is on, and that
backend does not see the state machines CloudFormation creates: they sit in the other backend,
where nothing runs. Two ways round it, one per side of the server:

- in the process that runs the server (iatk's own), :func:`mirror_cfn_state_machines` copies each
  one into the interpreter's backend as CloudFormation creates, updates or deletes it;
- from the client, after a deploy, :func:`make_state_machines_executable` checks that each one is
  there and, on a moto server iatk did not start, creates the missing copies itself.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from typing import Any, Protocol

from iatk._aws import AwsContext

from .control import set_stepfunctions_execution

STATE_MACHINE = "AWS::StepFunctions::StateMachine"
NESTED_STACK = "AWS::CloudFormation::Stack"


class StackResourceLike(Protocol):
    """What this module reads of a stack's resource (:class:`iatk.StackResource` is one)."""

    @property
    def logical_id(self) -> str: ...

    @property
    def physical_id(self) -> str | None: ...

    @property
    def type(self) -> str: ...


class StackLike(Protocol):
    """What this module reads of a deployed stack (:class:`iatk.Stack` is one): no import of iatk.stack."""

    @property
    def resources(self) -> Sequence[StackResourceLike]: ...

    def nested(self, logical_id: str) -> StackLike: ...


def mirror_cfn_state_machines() -> None:
    """Make the state machines CloudFormation creates executable at once, in this process (idempotent).

    Why: with execution mode on, moto serves Step Functions from its interpreter's backend, and
    CloudFormation creates state machines in the other one, where nothing runs (MOTO.md §1b). Rather
    than switching execution mode off to read them (server-wide, so a run in another xdist worker
    could fail meanwhile), the server copies each one into the interpreter's backend as CloudFormation
    creates, updates or deletes it: same name, same ARN, same definition and role.
    """
    from moto.core.config import default_user_config
    from moto.stepfunctions.models import StateMachine

    if getattr(StateMachine, "_iatk_mirrored", False):
        return
    create = StateMachine.create_from_cloudformation_json.__func__  # type: ignore[attr-defined]
    update = StateMachine.update_from_cloudformation_json.__func__  # type: ignore[attr-defined]
    delete = StateMachine.delete_from_cloudformation_json.__func__  # type: ignore[attr-defined]

    def interpreter(account_id: str, region_name: str) -> Any:
        if not default_user_config.get("stepfunctions", {}).get("execute_state_machine"):
            return None
        from moto.stepfunctions.parser.models import stepfunctions_parser_backends

        return stepfunctions_parser_backends[account_id][region_name]

    def mirror(machine: Any, account_id: str, region_name: str) -> None:
        backend = interpreter(account_id, region_name)
        if backend is None or backend is getattr(machine, "backend", None):
            return
        backend.delete_state_machine(machine.arn)  # an update replaces the copy
        backend.create_state_machine(
            name=machine.name,
            definition=machine.definition,
            roleArn=machine.roleArn,
            tracingConfiguration=machine.tracingConfiguration,
            sm_type=getattr(machine, "type", None),
        )

    def created(
        cls: Any, resource_name: str, cloudformation_json: Any, account_id: str, region_name: str, **kw: Any
    ) -> Any:
        machine = create(cls, resource_name, cloudformation_json, account_id, region_name, **kw)
        mirror(machine, account_id, region_name)
        return machine

    def updated(
        cls: Any, original: Any, new_name: str, cloudformation_json: Any, account_id: str, region_name: str
    ) -> Any:
        machine = update(cls, original, new_name, cloudformation_json, account_id, region_name)
        if machine.arn != original.arn:
            backend = interpreter(account_id, region_name)
            if backend is not None:
                backend.delete_state_machine(original.arn)
        mirror(machine, account_id, region_name)
        return machine

    def deleted(cls: Any, resource_name: str, template: Any, account_id: str, region_name: str) -> None:
        delete(cls, resource_name, template, account_id, region_name)
        backend = interpreter(account_id, region_name)
        if backend is not None and resource_name.startswith("arn:"):
            backend.delete_state_machine(resource_name)

    StateMachine.create_from_cloudformation_json = classmethod(created)  # type: ignore[method-assign,assignment,arg-type]
    StateMachine.update_from_cloudformation_json = classmethod(updated)  # type: ignore[method-assign,assignment]
    StateMachine.delete_from_cloudformation_json = classmethod(deleted)  # type: ignore[method-assign,assignment]
    StateMachine._iatk_mirrored = True  # type: ignore[attr-defined]


_sfn_lock = threading.Lock()


def _executable(sfn: Any, arn: str) -> bool:
    """True when the interpreter's backend (execution mode on) already has this state machine."""
    try:
        sfn.describe_state_machine(stateMachineArn=arn)
    except sfn.exceptions.StateMachineDoesNotExist:
        return False
    return True


def state_machine_arns(stack: StackLike) -> list[str]:
    """The ARNs of the stack's state machines, nested stacks' too, in CloudFormation's order."""
    machines: list[str] = []

    def collect(current: StackLike) -> None:
        for resource in current.resources:
            if resource.type == STATE_MACHINE and resource.physical_id:
                machines.append(resource.physical_id)
            elif resource.type == NESTED_STACK and resource.physical_id:
                collect(current.nested(resource.logical_id))

    collect(stack)
    return machines


def make_state_machines_executable(ctx: AwsContext, stack: StackLike) -> list[str]:
    """Re-create a stack's state machines where moto's interpreter can run them (MOTO.md §1b).

    moto serves Step Functions from its interpreter backend while execution mode is on, and that
    backend does not see state machines made by CloudFormation. An iatk server copies them there as
    they are created (:func:`mirror_cfn_state_machines`), so this only checks. On a server without
    that (a moto server iatk did not start), with execution mode briefly off it reads each definition
    (already resolved by CloudFormation), then creates the same state machine (same name, hence same
    ARN) in the interpreter's backend. Returns the ARNs.
    """
    machines = state_machine_arns(stack)
    if not machines:
        return []
    url = str(ctx.endpoint_url)
    sfn: Any = ctx.stepfunctions
    # An iatk server copies them as CloudFormation creates them (mirror_cfn_state_machines): then
    # there is nothing to do, and execution mode is never switched off under another worker's runs.
    missing = [arn for arn in machines if not _executable(sfn, arn)]
    if not missing:
        return machines
    with _sfn_lock:
        set_stepfunctions_execution(url, enabled=False)
        try:
            described = [sfn.describe_state_machine(stateMachineArn=arn) for arn in missing]
        finally:
            set_stepfunctions_execution(url, enabled=True)
        for machine in described:
            extra: dict[str, Any] = {}
            if machine.get("tracingConfiguration"):
                extra["tracingConfiguration"] = machine["tracingConfiguration"]
            sfn.create_state_machine(
                name=machine["name"],
                definition=machine["definition"],
                roleArn=machine["roleArn"],
                type=machine.get("type", "STANDARD"),
                **extra,
            )
    return machines


def name_unnamed_executions() -> None:
    """``StartExecution`` without a ``name`` gets a fresh one (a UUID), as on AWS (idempotent).

    Why: moto's interpreter backend builds the execution ARN from the name as given, so every
    unnamed execution is ``…:None``: the second one raises ``ExecutionAlreadyExists``, or, while the
    first still runs, returns that one and nothing new runs. (moto's other backend already names
    them; the fix belongs upstream in ``StepFunctionsParserBackend.start_execution``.)
    """
    import functools
    import uuid

    from moto.stepfunctions.parser.models import StepFunctionsParserBackend

    if getattr(StepFunctionsParserBackend, "_iatk_names_executions", False):
        return
    original = StepFunctionsParserBackend.start_execution

    @functools.wraps(original)
    def start_execution(self: Any, state_machine_arn: str, name: Any = None, *args: Any, **kwargs: Any) -> Any:
        return original(self, state_machine_arn, name or str(uuid.uuid4()), *args, **kwargs)

    StepFunctionsParserBackend.start_execution = start_execution  # type: ignore[method-assign]
    StepFunctionsParserBackend._iatk_names_executions = True  # type: ignore[attr-defined]
