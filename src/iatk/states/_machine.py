"""The deployed state machine a state test reads: its ARN, its definition, every state by name.

:func:`read_machine` resolves an ARN, a name or ``(stack, "LogicalId")``, reads the definition once
per ARN per session (DescribeStateMachine) and indexes its states, nested ones too, so an unknown
state name is refused with the list of the states there are.
"""

from __future__ import annotations

import json
import threading
import weakref
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Union

from iatk._aws import AwsContext, calling
from iatk.exceptions import ConfigError, StateTestError

if TYPE_CHECKING:
    from iatk.stack import Stack

__all__ = ["Machine", "StateMachineRef", "read_machine"]

#: A state machine: its ARN, its name, or ``(stack, "LogicalId")``.
StateMachineRef = Union[str, "tuple[Stack, str]"]


@dataclass(frozen=True)
class Machine:
    """A deployed definition, parsed, with every state (nested ones too) by name."""

    arn: str
    definition_text: str
    definition: dict[str, Any]
    role_arn: str | None
    states: dict[str, dict[str, Any]]  # every state, nested ones too, by name
    top_level: tuple[str, ...]

    def state(self, name: str) -> dict[str, Any]:
        found = self.states.get(name)
        if found is not None:
            return found
        nested = [n for n in self.states if n not in self.top_level]
        listing = ", ".join(repr(n) for n in self.top_level)
        extra = f"; inside Parallel/Map: {', '.join(repr(n) for n in nested)}" if nested else ""
        raise StateTestError(
            f"state machine {self.arn} has no state {name!r}. Its states: {listing}{extra}. "
            "State names are case-sensitive."
        )

    def query_language(self, state: Mapping[str, Any]) -> str:
        return str(state.get("QueryLanguage") or self.definition.get("QueryLanguage") or "JSONPath")


_machines: weakref.WeakKeyDictionary[Any, dict[str, Machine]] = weakref.WeakKeyDictionary()
_machines_lock = threading.Lock()


def _index_states(states: Mapping[str, Any], found: dict[str, dict[str, Any]]) -> None:
    for name, state in states.items():
        if not isinstance(state, dict):
            continue
        found.setdefault(name, state)
        for branch in state.get("Branches") or []:
            if isinstance(branch, dict):
                _index_states(branch.get("States") or {}, found)
        for key in ("ItemProcessor", "Iterator"):
            inner = state.get(key)
            if isinstance(inner, dict):
                _index_states(inner.get("States") or {}, found)


def _parse_definition(arn: str, text: str, role_arn: str | None) -> Machine:
    try:
        definition = json.loads(text)
    except ValueError as err:
        raise StateTestError(f"the definition of state machine {arn} is not valid JSON ({err})") from err
    if not isinstance(definition, dict) or not isinstance(definition.get("States"), dict):
        raise StateTestError(
            f"the definition of state machine {arn} has no 'States' object; "
            f"is {arn} a state machine ARN (not an alias, version or activity)?"
        )
    states: dict[str, dict[str, Any]] = {}
    _index_states(definition["States"], states)
    return Machine(
        arn=arn,
        definition_text=text,
        definition=definition,
        role_arn=role_arn,
        states=states,
        top_level=tuple(definition["States"]),
    )


def _resolve_arn(ctx: AwsContext, state_machine: Any) -> str:
    from iatk.stack import Stack

    if isinstance(state_machine, tuple) and len(state_machine) == 2 and isinstance(state_machine[0], Stack):
        stack, logical_id = state_machine
        return str(stack.physical_id(str(logical_id)))
    if isinstance(state_machine, str) and state_machine:
        if state_machine.startswith("arn:"):
            return state_machine
        return f"arn:{ctx.partition}:states:{ctx.region}:{ctx.account_id}:stateMachine:{state_machine}"
    if isinstance(state_machine, Stack):
        raise ConfigError(
            f"test_state got the stack {state_machine.name!r} without a logical id; "
            "pass (stack, 'WorkflowLogicalId') or the state machine's ARN"
        )
    raise ConfigError(
        f"state_machine must be an ARN, a state machine name, or (stack, 'LogicalId'); got {state_machine!r}"
    )


def read_machine(ctx: AwsContext, state_machine: Any) -> Machine:
    """The state machine ``state_machine`` names, its definition read once per ARN per session."""
    arn = _resolve_arn(ctx, state_machine)
    with _machines_lock:
        cached = _machines.get(ctx.session, {}).get(arn)
    if cached is not None:
        return cached
    with calling(f"cannot read the definition of state machine {arn}", StateTestError):
        described = ctx.stepfunctions.describe_state_machine(stateMachineArn=arn)
    machine = _parse_definition(arn, str(described.get("definition") or ""), described.get("roleArn"))
    with _machines_lock:
        _machines.setdefault(ctx.session, {})[arn] = machine
    return machine
