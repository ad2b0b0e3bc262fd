"""The offline TestState: one state of a workflow, answered as AWS's TestState answers it.

moto has no TestState, and its ASL interpreter gets parts of the data flow wrong (a Choice on a
missing path takes its Default, ``States.Format`` trips on an escaped quote, ``States.Array`` drops a
null, Wait path checks are lost, no JSONata, no variables). So on the embedded backend
:func:`iatk.test_state` runs the state on iatk's own evaluator (:mod:`.asl`): every state type,
JSONPath and JSONata, intrinsic functions, variables, the Context object, mocks, Retry and Catch,
and TestState's own validation. Only the service call of a Task that is not mocked goes to moto: a
temporary state machine holds one Task with the state's ``Resource`` and timeouts, its execution's
input is the effective parameters and its output the raw result; it is always deleted.

The seam: :mod:`iatk.states` checks the arguments, calls :func:`check_support` then :func:`run_state`
with an :class:`OfflineRequest` (TestState's request pieces), and builds the ``StateResult`` from the
:class:`Outcome`, whose ``response`` has TestState's response shape (JSON text fields included), so
both backends' answers go through the same parsing. A request TestState refuses raises
:class:`Refused` with TestState's code and message. This module imports nothing of
:mod:`iatk.states` (the core imports it, lazily, on embedded sessions only), so the dependency goes
one way, core to backend.
"""

from __future__ import annotations

import json
import logging
import re
import time
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from iatk._aws import BOTO_ERRORS, AwsContext, calling, wrap
from iatk._json import loads_or_keep
from iatk._tags import TAG_RUN_ID, current_run_id, new_xid
from iatk.exceptions import StateTestError

from .asl.errors import StatesError
from .asl.interpreter import Refused, Run, default_context, run

__all__ = ["OFFLINE_TIMEOUT", "OfflineRequest", "Outcome", "Refused", "check_support", "run_state"]

log = logging.getLogger("iatk.states")  # the states' logger: the records read as they did before

#: Longest wait for one offline execution; TestState's own limit on AWS is five minutes.
OFFLINE_TIMEOUT = 60.0
#: An offline execution still RUNNING after this long gets its history checked for moto's stub mode.
_STUB_CHECK_AFTER = 0.5
#: A cause that is a Python exception's repr (what moto's interpreter records for its own bugs).
_PYTHON_REPR = re.compile(r"^([A-Z][A-Za-z]*(?:Error|Exception))\((.*)\)$", re.DOTALL)


@dataclass(frozen=True)
class OfflineRequest:
    """One state to run, its arguments already checked by :func:`iatk.test_state`.

    Attributes:
        name: The state's name.
        state: Its definition, as deployed.
        input_text: The state's input as JSON text (None: no input, ``{}`` as TestState takes it).
        mock: TestState's ``mock``: ``{"result": <JSON text>}`` or ``{"errorOutput": {"error", "cause"}}``.
        role_arn: The role given, else the state machine's (None: a made-up role, moto does not check).
        retry_count: ``stateConfiguration.retrierRetryCount``: the retries already made.
        machine_arn: The state machine's ARN (for the Context object and messages).
        query_language: ``JSONPath`` or ``JSONata`` (the state's, else the machine's).
        variables_text: TestState's ``variables`` (JSON text of an object), or None.
        context_text: TestState's ``context`` (JSON text), or None.
        config: The rest of ``stateConfiguration`` (``mapIterationFailureCount``, ``errorCausedByState``...).
        inspection_level: ``INFO``, ``DEBUG`` or ``TRACE``.
        inner_states: The names of the states inside the state (a Map's or Parallel's), for validation.
    """

    name: str
    state: dict[str, Any]
    input_text: str | None = None
    mock: Mapping[str, Any] | None = None
    role_arn: str | None = None
    retry_count: int = 0
    machine_arn: str = ""
    query_language: str = "JSONPath"
    variables_text: str | None = None
    context_text: str | None = None
    config: Mapping[str, Any] = field(default_factory=dict)
    inspection_level: str = "DEBUG"
    inner_states: tuple[str, ...] = ()


@dataclass(frozen=True)
class Outcome:
    """What one offline run found: TestState's response, and what the emulator did to get it.

    Attributes:
        response: A TestState response (``status``, ``nextState``, ``output`` as JSON text, ``error``,
            ``cause``, ``inspectionData`` with its values as JSON text).
        raw: The temporary state machines and executions run for a Task's service call (empty when
            the state needed none), and the response.
    """

    response: Mapping[str, Any]
    raw: Mapping[str, Any] = field(default_factory=dict)


def check_support(name: str, query_language: str, config: Mapping[str, Any] | None, **given: Any) -> None:
    """Refuse what the offline emulation cannot do. Everything TestState takes is supported now.

    Kept as the seam's first call (``given``: test_state's arguments by name, None when not given).
    """
    unknown = sorted(
        set(config or {}) - {"retrierRetryCount", "errorCausedByState", "mapIterationFailureCount", "mapItemReaderData"}
    )
    if unknown:
        raise StateTestError(f"state_configuration {', '.join(unknown)} is not a TestState setting")


def _json(text: str | None, default: Any) -> Any:
    if text is None:
        return default
    try:
        return json.loads(text)
    except RecursionError:
        raise Refused("ValidationException", "the JSON nests too deep for the offline TestState to read") from None


def run_state(ctx: AwsContext, request: OfflineRequest) -> Outcome:
    """Run the state on iatk's evaluator; a Task that is not mocked calls its service on moto.

    Raises:
        Refused: TestState would refuse the request (its code and message).
        StateTestError: The embedded backend could not run a Task's service call.
    """
    state_input = _json(request.input_text, {})
    config = dict(request.config or {})
    mock = _mock(request.mock)
    failure_count = config.get("mapIterationFailureCount")
    caused_by = config.get("errorCausedByState")
    if caused_by is not None:
        if mock is None or "errorOutput" not in mock:
            raise Refused(
                "ValidationException", "TestState does not support ErrorCausedByState when an error is not mocked."
            )
        if caused_by not in request.inner_states:
            raise Refused(
                "ValidationException",
                f"ErrorCausedByState '{caused_by}' is not a state of '{request.name}'; its states: "
                f"{', '.join(request.inner_states) or 'none'}",
            )
    execution_name = str(uuid.uuid4())
    retry = request.retry_count if request.state.get("Type") in ("Task", "Parallel", "Map") else None
    runs: list[dict[str, Any]] = []
    outcome = run(
        Run(
            name=request.name,
            state=request.state,
            input=state_input,
            query_language=request.query_language,
            mock=mock,
            variables=_json(request.variables_text, None),
            context=_json(request.context_text, None),
            default_context=default_context(
                state_name=request.name,
                machine_arn=request.machine_arn,
                role_arn=request.role_arn,
                execution_name=execution_name,
                state_input=state_input,
                retry=retry,
            ),
            retry_count=request.retry_count,
            map_iteration_failure_count=None if failure_count is None else int(failure_count),
            error_caused_by_state=caused_by,
            inspection_level=request.inspection_level,
        ),
        lambda state, parameters: _call_task(ctx, request.name, state, parameters, request.role_arn, runs),
    )
    response: dict[str, Any] = {"status": outcome.status}
    if outcome.next_state is not None and outcome.status in ("SUCCEEDED", "CAUGHT_ERROR"):
        response["nextState"] = outcome.next_state
    if outcome.status in ("SUCCEEDED", "CAUGHT_ERROR"):
        response["output"] = json.dumps(outcome.output)
    if outcome.error is not None:
        response["error"] = outcome.error
    if outcome.cause is not None:
        response["cause"] = outcome.cause
    if outcome.inspection:
        response["inspectionData"] = {
            key: value
            if key in ("errorDetails", "maxConcurrency", "toleratedFailureCount", "toleratedFailurePercentage")
            else json.dumps(value)
            for key, value in outcome.inspection.items()
        }
    return Outcome(response=response, raw={"response": response, "executions": runs})


def _mock(mock: Mapping[str, Any] | None) -> dict[str, Any] | None:
    if mock is None:
        return None
    if "result" in mock:
        try:
            return {"result": json.loads(mock["result"])}
        except RecursionError:
            raise Refused("ValidationException", "Mocked result nests too deep to read") from None
        except ValueError:
            raise Refused("ValidationException", "Mocked result must be valid JSON") from None
    return {"errorOutput": dict(mock["errorOutput"])}


# -- a Task's service call, on moto ----------------------------------------------------------------
_TASK_FIELDS = ("Resource", "TimeoutSeconds", "HeartbeatSeconds", "Credentials")


def _call_task(
    ctx: AwsContext, name: str, state: Mapping[str, Any], parameters: Any, role: str | None, runs: list[dict[str, Any]]
) -> Any:
    """The Task's raw result: one execution of a one-Task state machine whose input is the parameters."""
    role = role or f"arn:{ctx.partition}:iam::{ctx.account_id}:role/iatk-state-test"
    task: dict[str, Any] = {k: state[k] for k in _TASK_FIELDS if k in state and isinstance(state[k], (str, int, dict))}
    for key in ("TimeoutSeconds", "HeartbeatSeconds"):
        if isinstance(task.get(key), str):  # a JSONata expression: evaluated by the caller's timeouts only
            task.pop(key)
    task.update({"Type": "Task", "End": True})
    if isinstance(parameters, dict):  # each field read from the execution's input: values stay as they are
        task["Parameters"] = {f"{key}.$": "$['" + key.replace("'", "\\'") + "']" for key in parameters}
    definition = {"Comment": "iatk offline state test (temporary)", "StartAt": name, "States": {name: task}}
    sfn = ctx.stepfunctions
    with calling(f"the embedded backend rejected the temporary state machine for {name!r}", StateTestError):
        created = sfn.create_state_machine(
            name=f"iatk-state-{new_xid()}",
            definition=json.dumps(definition),
            roleArn=role,
            tags=[{"key": TAG_RUN_ID, "value": current_run_id()}],
        )
    temporary = created["stateMachineArn"]
    finished = False
    try:
        with calling(f"cannot run state {name!r} on the embedded backend", StateTestError):
            execution = sfn.start_execution(stateMachineArn=temporary, input=json.dumps(parameters))["executionArn"]
            description = _wait_for_execution(sfn, execution, name, OFFLINE_TIMEOUT, known={name})
            history = _history(sfn, execution)
            finished = True
    finally:
        _delete_temporary(sfn, temporary, raise_errors=finished)
    runs.append(
        {"executionArn": execution, "status": description.get("status"), "definition": definition, "history": history}
    )
    status = description.get("status")
    if status == "SUCCEEDED":
        return loads_or_keep(description.get("output"))
    if status != "FAILED":
        raise StateTestError(f"the offline execution of state {name!r} ended {status}: {description.get('cause')}")
    error, cause = description.get("error") or None, description.get("cause") or None
    if error is None:
        error, cause = _failure(history)
    raise StatesError(str(error or "States.TaskFailed"), _readable_cause(cause))


def _failure(history: list[dict[str, Any]]) -> tuple[str | None, str | None]:
    for event in history:
        if event.get("type") == "ExecutionFailed":
            continue
        for key, details in event.items():
            if key.endswith("EventDetails") and isinstance(details, dict) and "error" in details:
                return details.get("error"), details.get("cause") or None
    return None, None


def _readable_cause(cause: str | None) -> str | None:
    """moto's own exceptions recorded as Python reprs, made to read as a cause."""
    if not cause:
        return cause
    match = _PYTHON_REPR.match(cause.strip())
    if match is None:
        return cause
    message = match.group(2).strip()
    if len(message) >= 2 and message[0] == message[-1] and message[0] in "'\"":
        message = message[1:-1]
    return f"The service integration failed on the embedded backend ({match.group(1)}): {message}"


def _delete_temporary(sfn: Any, arn: str, *, raise_errors: bool) -> None:
    try:
        sfn.delete_state_machine(stateMachineArn=arn)
    except BOTO_ERRORS as err:
        if raise_errors:
            raise wrap(err, f"cannot delete the temporary state machine {arn}", StateTestError) from err
        log.warning("cannot delete the temporary state machine %s: %s", arn, err)  # the first error wins


# -- waiting for the execution -----------------------------------------------------------------
def _history(sfn: Any, execution_arn: str) -> list[dict[str, Any]]:
    events: list[dict[str, Any]] = []
    for page in sfn.get_paginator("get_execution_history").paginate(executionArn=execution_arn):
        events.extend(page.get("events") or [])
    return events


def _wait_for_execution(sfn: Any, execution_arn: str, name: str, timeout: float, *, known: set[str]) -> dict[str, Any]:
    started = time.monotonic()
    deadline = started + timeout
    checked = False
    while True:
        description: dict[str, Any] = sfn.describe_execution(executionArn=execution_arn)
        if description.get("status") != "RUNNING":
            return description
        if not checked and time.monotonic() - started >= _STUB_CHECK_AFTER:
            checked = True  # once, and only when slow: a state runs in tens of milliseconds
            _refuse_stub_executions(sfn, execution_arn, name, known)
        if time.monotonic() >= deadline:
            try:
                sfn.stop_execution(executionArn=execution_arn, error="iatk.Timeout")
            except BOTO_ERRORS:
                log.warning("could not stop the offline execution %s", execution_arn)
            raise StateTestError(
                f"state {name!r} did not finish within {timeout:.0f} s on the embedded backend "
                "(a .sync or .waitForTaskToken Task? mock it)"
            )
        # Most states finish in tens of milliseconds on a local server: poll often at first.
        time.sleep(0.01 if time.monotonic() - started < 1.0 else 0.1)


def _refuse_stub_executions(sfn: Any, execution_arn: str, name: str, known: set[str]) -> None:
    """Fail fast when moto only pretends to run executions (its Step Functions execution mode is off).

    Then an execution stays RUNNING forever and its history is made up, naming states that are not in
    the definition (moto's "A State"). The real interpreter names only the definition's states.
    """
    history = _history(sfn, execution_arn)
    names = {
        details.get("name")
        for event in history
        for key, details in event.items()
        if key in ("stateEnteredEventDetails", "stateExitedEventDetails") and isinstance(details, dict)
    }
    strangers = sorted(str(n) for n in names - known)
    if not strangers:
        return
    try:
        sfn.stop_execution(executionArn=execution_arn, error="iatk.NotExecuted")
    except BOTO_ERRORS:
        log.debug("could not stop the stub execution %s", execution_arn)
    url = str(sfn.meta.endpoint_url).rstrip("/")
    raise StateTestError(
        f"cannot run state {name!r} offline: the server at {url} accepts executions but does not run them "
        f"(its history is made up: states {', '.join(map(repr, strangers))}), as moto does with its Step Functions "
        f"execution mode off. Turn it on: curl -X POST {url}/moto-api/config -d "
        """'{"stepfunctions": {"execute_state_machine": true}}', then create the state machine again (moto """
        "hides the ones made before), with MOTO_PORT set to the server's port in its environment for Tasks that "
        "call services. iatk's embedded backend (iatk.embedded_session(), pytest --iatk-backend=moto) does all that"
    )
