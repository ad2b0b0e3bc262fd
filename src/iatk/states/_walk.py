"""A path through a workflow: :func:`walk_states` chains :func:`test_state` from the start state."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from iatk._aws import aws
from iatk.exceptions import ConfigError, MaxStepsReached

from ._machine import StateMachineRef, read_machine
from ._results import StatePath
from ._test_state import test_state

if TYPE_CHECKING:
    import boto3

__all__ = ["walk_states"]


def walk_states(
    state_machine: StateMachineRef,
    input: Any = None,
    *,
    mocks: Mapping[str, Mapping[str, Any]] | None = None,
    start: str | None = None,
    max_steps: int = 50,
    variables: Mapping[str, Any] | None = None,
    inspection_level: str = "DEBUG",
    role_arn: str | None = None,
    session: boto3.Session | None = None,
) -> StatePath:
    """Run state after state through TestState, following ``next_state``, and return the path.

    It starts at ``StartAt`` (or ``start``) and stops after an end state, a ``FAILED`` state, or
    ``max_steps``. A ``CAUGHT_ERROR`` goes on to the catcher's state. A ``RETRIABLE`` state is run
    again with ``retrierRetryCount`` one higher (so the path shows each attempt) until its Retry gives
    up. The workflow variables go along: those given, then after each step the variables it reports
    (what it assigned with ``Assign`` added), on both backends. A machine that assigns variables is
    walked at DEBUG level at least, since TestState reports variables only there.

    Map and Parallel states are one step each: their inner states are not walked, and TestState runs
    them only with a mock (``mocks={"Fan out": {"result": [...]}}``); without one the walk stops with
    TestState's ``InvalidDefinition`` refusal, as on AWS.

    Args:
        state_machine: The state machine's ARN, its name, or ``(stack, "LogicalId")``.
        input: The first state's input (any JSON value; a ``str`` is JSON text).
        mocks: State name → mock (see :func:`test_state`), so Tasks need not touch real services.
        start: The state to start from (default: the definition's ``StartAt``).
        max_steps: The most states to run.
        variables: Variables visible to the first state.
        inspection_level: ``INFO``, ``DEBUG`` or ``TRACE`` for every step.
        role_arn: The role TestState assumes (default: the state machine's role).
        session: The boto3 Session (default: the run's session).

    Returns:
        A :class:`StatePath` (a list of :class:`StateResult`); ``.names`` is the path taken.

    Raises:
        MaxStepsReached: ``max_steps`` states ran and the walk had not ended (a loop?). A
            :class:`~iatk.exceptions.StateTestError`; its ``.path`` is the path so far, and its
            message shows it.
        StateTestError: An unknown state in ``start`` or ``mocks``, or any error of :func:`test_state`.

    Example::

        path = iatk.walk_states(arn, {"kind": "postValidate"}, mocks={"Post-validate": {"result": {}}})
        path.expect_path(["Load inputs", "Choose hook", "Post-validate", "Wait for plugin"])

    IAM permissions: as :func:`test_state`.
    """
    if max_steps < 1:
        raise ConfigError(f"max_steps must be at least 1; got {max_steps}")
    ctx = aws(session)
    machine = read_machine(ctx, state_machine)
    for name in mocks or {}:
        machine.state(name)  # a typo in a mock's state name fails before anything runs
    current = start if start is not None else str(machine.definition.get("StartAt", ""))
    machine.state(current)
    path = StatePath()
    data, current_vars, retries = input, variables, 0
    level = inspection_level
    if str(level).upper() == "INFO" and '"Assign"' in machine.definition_text:
        level = "DEBUG"  # variables are in the inspection data only
    while True:
        if len(path) >= max_steps:
            raise MaxStepsReached(path, current, max_steps)
        result = test_state(
            machine.arn,
            current,
            data,
            mock=(mocks or {}).get(current),
            inspection_level=level,
            variables=current_vars,
            role_arn=role_arn,
            state_configuration={"retrierRetryCount": retries} if retries else None,
            session=ctx.session,
        )
        path.append(result)
        if result.status == "RETRIABLE":
            retries += 1
            continue
        if result.status == "FAILED" or not result.next_state:
            return path
        if isinstance(result.inspection.variables, dict):
            current_vars = result.inspection.variables
        # serialised here: a str output is a JSON string value, not JSON text
        data, current, retries = json.dumps(result.output), result.next_state, 0
