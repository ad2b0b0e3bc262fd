"""The offline TestState: one state of a workflow run on moto's own ASL interpreter.

moto has no TestState. On the embedded backend :func:`iatk.test_state` runs the state here instead:
a temporary state machine holds the state, every transition out of it goes to a *recorder* (a Pass
state that wraps the output with the name of the state that would come next), a mocked Task becomes a
chain of Pass states that replays the Task's data flow around the mock's result (or a Fail, or the
matching catcher's route, for a mocked error), and Retry is decided here rather than by moto. One
execution per state (50–100 ms on the embedded server); the temporary state machine is always deleted.
:mod:`iatk.states` documents what is complete offline.

The seam: :mod:`iatk.states` checks the arguments, calls :func:`check_support` then :func:`run_state`
with an :class:`OfflineRequest` (TestState's request pieces), and builds the ``StateResult`` from the
:class:`Outcome`. This module imports nothing of :mod:`iatk.states` (the core imports it, lazily, on
embedded sessions only), so the dependency goes one way, core to backend.
"""

from __future__ import annotations

import copy
import json
import logging
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from iatk._aws import BOTO_ERRORS, AwsContext, calling, wrap
from iatk._tags import TAG_RUN_ID, current_run_id, new_xid
from iatk.exceptions import StateTestError

__all__ = ["OFFLINE_TIMEOUT", "OfflineRequest", "Outcome", "check_support", "run_state"]

log = logging.getLogger("iatk.states")  # the states' logger: the records read as they did before

#: Longest wait for one offline execution; TestState's own limit on AWS is five minutes.
OFFLINE_TIMEOUT = 60.0
#: An offline execution still RUNNING after this long gets its history checked for moto's stub mode.
_STUB_CHECK_AFTER = 0.5

_PREFIX = "__iatk_"
_NEXT_KEY = "__iatk_next"
_OUTPUT_KEY = "__iatk_output"
_CAUGHT_KEY = "__iatk_caught"
# Errors a wildcard in ErrorEquals never matches (ASL: they end the execution).
_UNCATCHABLE = frozenset({"States.Runtime", "States.DataLimitExceeded"})


@dataclass(frozen=True)
class OfflineRequest:
    """One state to run, its arguments already checked by :func:`iatk.test_state`.

    Attributes:
        name: The state's name.
        state: Its definition, as deployed.
        input_text: The state's input as JSON text (None: no input).
        mock: TestState's ``mock``: ``{"result": <JSON text>}`` or ``{"errorOutput": {"error", "cause"}}``.
        role_arn: The role given, else the state machine's (None: a made-up role, moto does not check).
        retry_count: ``stateConfiguration.retrierRetryCount``: the retries already made.
    """

    name: str
    state: dict[str, Any]
    input_text: str | None = None
    mock: Mapping[str, Any] | None = None
    role_arn: str | None = None
    retry_count: int = 0


@dataclass(frozen=True)
class Outcome:
    """What one offline run found, in ``StateResult``'s terms (the caller adds the state and its type).

    Attributes:
        status: ``SUCCEEDED``, ``FAILED``, ``RETRIABLE`` or ``CAUGHT_ERROR``.
        next_state: The state that would run next.
        output: The state's output, parsed.
        error: The error name.
        cause: The error's cause.
        stages: ``StateInspection``'s fields by name (``input``, ``after_parameters``...).
        raw: The execution's ARN, status, temporary definition and history (empty when nothing ran).
    """

    status: str
    next_state: str | None = None
    output: Any = None
    error: str | None = None
    cause: str | None = None
    stages: Mapping[str, Any] = field(default_factory=dict)
    raw: Mapping[str, Any] = field(default_factory=dict)


# -- Catch and Retry, decided here -------------------------------------------------------------
def _error_matches(patterns: Sequence[Any], error: str) -> bool:
    for pattern in patterns:
        if pattern == error:
            return True
        if pattern == "States.ALL" and error not in _UNCATCHABLE:
            return True
        if pattern == "States.TaskFailed" and error not in _UNCATCHABLE and error != "States.Timeout":
            return True
    return False


def _first_match(handlers: Any, error: str) -> tuple[int, dict[str, Any]] | None:
    for index, handler in enumerate(handlers or []):
        if isinstance(handler, dict) and _error_matches(handler.get("ErrorEquals") or [], error):
            return index, handler
    return None


def _retry_decision(definition: Mapping[str, Any], error: str, count: int) -> dict[str, Any] | None:
    """errorDetails for a Retry that would run the state again after ``count`` retries, else None."""
    found = _first_match(definition.get("Retry"), error)
    if found is None:
        return None
    index, retrier = found
    if count >= int(retrier.get("MaxAttempts", 3)):
        return None
    interval = float(retrier.get("IntervalSeconds", 1)) * float(retrier.get("BackoffRate", 2.0)) ** count
    if retrier.get("MaxDelaySeconds") is not None:
        interval = min(interval, float(retrier["MaxDelaySeconds"]))
    return {"retryIndex": index, "retryBackoffIntervalSeconds": int(interval)}


# -- the temporary definition ------------------------------------------------------------------
def _rebase(path: Any, base: str) -> Any:
    """A reference path on the state's input, made to act on ``base`` ("$.i") of the helper's input."""
    if path is None or not isinstance(path, str):
        return path
    if path == "$":
        return base
    if path.startswith(("$.", "$[")):
        return base + path[1:]
    return path  # $$ context paths and variables are not under the input


@dataclass
class _Plan:
    """A temporary definition and how to read its execution back."""

    states: dict[str, Any] = field(default_factory=dict)
    start: str | None = None
    chain: list[str] = field(default_factory=list)
    mocked: bool = False
    precomputed: Outcome | None = None

    def add(self, name: str, state: dict[str, Any]) -> None:
        if self.chain:
            self.states[self.chain[-1]]["Next"] = name
        if self.start is None:
            self.start = name
        self.chain.append(name)
        self.states[name] = state

    def recorder(self, target: str | None, caught: int | None = None) -> str:
        """A terminal Pass that outputs ``{__iatk_next: target, __iatk_output: <its input>}``."""
        name = f"{_PREFIX}to_{len(self.states)}"
        parameters: dict[str, Any] = {_NEXT_KEY: target, f"{_OUTPUT_KEY}.$": "$"}
        if caught is not None:
            parameters[_CAUGHT_KEY] = caught
        self.states[name] = {"Type": "Pass", "Parameters": parameters, "End": True}
        return name

    def route(self, state: dict[str, Any]) -> None:
        """Point every transition of ``state`` (Next, End, Choices, Default, Catch) at recorders."""
        if state.get("Type") in ("Succeed", "Fail"):
            return
        if state.pop("End", False):
            state["Next"] = self.recorder(None)
        elif "Next" in state:
            state["Next"] = self.recorder(state["Next"])
        for rule in state.get("Choices") or []:
            if isinstance(rule, dict) and "Next" in rule:
                rule["Next"] = self.recorder(rule["Next"])
        if "Default" in state:
            state["Default"] = self.recorder(state["Default"])
        for index, catcher in enumerate(state.get("Catch") or []):
            if isinstance(catcher, dict) and "Next" in catcher:
                catcher["Next"] = self.recorder(catcher["Next"], caught=index)

    def definition(self) -> dict[str, Any]:
        return {"Comment": "iatk offline state test (temporary)", "StartAt": self.start, "States": self.states}


def _input_stages(plan: _Plan, original: Mapping[str, Any]) -> None:
    """Pass states that replay InputPath and Parameters of a mocked state, for fidelity and inspection."""
    plan.add(f"{_PREFIX}input", {"Type": "Pass", "Parameters": {"i.$": "$"}})
    input_path = _rebase(original.get("InputPath", "$"), "$.i")
    if "InputPath" in original:
        plan.add(f"{_PREFIX}input_path", {"Type": "Pass", "InputPath": input_path, "ResultPath": "$.ip"})
    # A Map's Parameters select each item (not the whole input), and Parameters naming the task
    # token or the Map item exist only inside a real Task or Map: those are not replayed.
    parameters = original.get("Parameters") if original.get("Type") in ("Task", "Parallel") else None
    if isinstance(parameters, (dict, list)) and not any(key in json.dumps(parameters) for key in ("$$.Task", "$$.Map")):
        plan.add(
            f"{_PREFIX}parameters",
            {"Type": "Pass", "InputPath": input_path, "Parameters": parameters, "ResultPath": "$.p"},
        )


def _plan_offline(
    name: str,
    original: dict[str, Any],
    mock: Mapping[str, Any] | None,
    retry_count: int,
) -> _Plan:
    plan = _Plan()
    state_type = original.get("Type")
    if mock is None:
        state = copy.deepcopy(original)
        state.pop("Retry", None)  # decided here: moto would sleep between attempts
        if state_type == "Wait":  # offline a Wait does not wait; it keeps its data flow
            state = {k: v for k, v in state.items() if k in ("Comment", "InputPath", "OutputPath", "Next", "End")}
            state["Type"] = "Pass"
        plan.route(state)
        plan.add(name, state)
        return plan

    plan.mocked = True
    _input_stages(plan, original)
    if "result" in mock:
        plan.add(f"{_PREFIX}result", {"Type": "Pass", "Result": json.loads(mock["result"]), "ResultPath": "$.r"})
        if original.get("ResultSelector") is not None:
            selector = {
                "Type": "Pass",
                "InputPath": "$.r",
                "Parameters": original["ResultSelector"],
                "ResultPath": "$.r",
            }
            plan.add(f"{_PREFIX}result_selector", selector)
        if not ("ResultPath" in original and original["ResultPath"] is None):
            result_path = _rebase(original.get("ResultPath", "$"), "$.i")
            plan.add(f"{_PREFIX}result_path", {"Type": "Pass", "InputPath": "$.r", "ResultPath": result_path})
        final: dict[str, Any] = {"Type": "Pass", "InputPath": "$.i", "OutputPath": original.get("OutputPath", "$")}
        final.update({k: original[k] for k in ("Next", "End") if k in original})
        plan.route(final)
        plan.add(name, final)
        return plan

    error_output = mock["errorOutput"]
    error, cause = str(error_output["error"]), error_output.get("cause")
    retry = _retry_decision(original, error, retry_count)
    if retry is not None:
        plan.precomputed = Outcome(status="RETRIABLE", error=error, cause=cause, stages={"error_details": retry})
        return plan
    caught = _first_match(original.get("Catch"), error)
    if caught is None:
        fail: dict[str, Any] = {"Type": "Fail", "Error": error}
        if cause is not None:
            fail["Cause"] = cause
        plan.add(name, fail)
        return plan
    index, catcher = caught
    payload = {"Error": error, **({"Cause": cause} if cause is not None else {})}
    plan.add(f"{_PREFIX}error", {"Type": "Pass", "Result": payload, "ResultPath": "$.r"})
    if not ("ResultPath" in catcher and catcher["ResultPath"] is None):
        result_path = _rebase(catcher.get("ResultPath", "$"), "$.i")
        plan.add(f"{_PREFIX}result_path", {"Type": "Pass", "InputPath": "$.r", "ResultPath": result_path})
    plan.add(name, {"Type": "Pass", "InputPath": "$.i", "Next": plan.recorder(catcher.get("Next"), caught=index)})
    return plan


# -- the run -----------------------------------------------------------------------------------
def check_support(name: str, query_language: str, config: Mapping[str, Any] | None, **given: Any) -> None:
    """Refuse what moto's interpreter cannot run: JSONata, ``context``/``variables``, most of ``config``.

    ``given`` holds test_state's arguments by name (``context=..., variables=...``); None is not given.
    """
    why = "moto's interpreter cannot evaluate them; run this test with --iatk-backend=aws"
    if query_language == "JSONata":
        raise StateTestError(f"state {name!r} uses JSONata, which the embedded backend cannot run offline: {why}")
    for what, value in given.items():
        if value is not None:
            raise StateTestError(f"test_state({what}=...) is not supported on the embedded backend: {why}")
    extra = sorted(set(config or {}) - {"retrierRetryCount"})
    if extra:
        raise StateTestError(f"state_configuration {', '.join(extra)} is not supported on the embedded backend: {why}")


def run_state(ctx: AwsContext, request: OfflineRequest) -> Outcome:
    """Run the state on moto's interpreter in a temporary state machine (deleted afterwards).

    Call :func:`check_support` first: this runs what it lets through.
    """
    name, original, mock, retry_count = request.name, request.state, request.mock, request.retry_count
    plan = _plan_offline(name, original, mock, retry_count)
    if plan.precomputed is not None:  # a mocked error that a Retry takes: nothing to interpret
        given = None if request.input_text is None else json.loads(request.input_text)
        return replace(plan.precomputed, stages={**plan.precomputed.stages, "input": given})
    sfn = ctx.stepfunctions
    definition = plan.definition()
    role = request.role_arn or f"arn:{ctx.partition}:iam::{ctx.account_id}:role/iatk-state-test"
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
            start: dict[str, Any] = {"stateMachineArn": temporary}
            if request.input_text is not None:
                start["input"] = request.input_text
            execution = sfn.start_execution(**start)["executionArn"]
            description = _wait_for_execution(sfn, execution, name, OFFLINE_TIMEOUT, known=set(definition["States"]))
            history = _history(sfn, execution)
            finished = True
    finally:
        _delete_temporary(sfn, temporary, raise_errors=finished)
    raw = {"executionArn": execution, "status": description.get("status"), "definition": definition, "history": history}
    return _offline_result(
        name,
        original=original,
        plan=plan,
        description=description,
        events=_Events(history),
        retry_count=retry_count,
        raw=raw,
    )


def _delete_temporary(sfn: Any, arn: str, *, raise_errors: bool) -> None:
    try:
        sfn.delete_state_machine(stateMachineArn=arn)
    except BOTO_ERRORS as err:
        if raise_errors:
            raise wrap(err, f"cannot delete the temporary state machine {arn}", StateTestError) from err
        log.warning("cannot delete the temporary state machine %s: %s", arn, err)  # the first error wins


# -- reading the execution back ----------------------------------------------------------------
def _offline_result(
    name: str,
    *,
    original: Mapping[str, Any],
    plan: _Plan,
    description: Mapping[str, Any],
    events: _Events,
    retry_count: int,
    raw: Mapping[str, Any],
) -> Outcome:
    status = str(description.get("status"))
    next_state: str | None = None
    output: Any = None
    error: str | None = None
    cause: str | None = None
    caught: Any = None
    if status == "SUCCEEDED":
        output = _parse_json(description.get("output"))
        if isinstance(output, dict) and _NEXT_KEY in output and _OUTPUT_KEY in output:
            next_state, caught, output = output[_NEXT_KEY], output.get(_CAUGHT_KEY), output[_OUTPUT_KEY]
        if caught is not None:
            status = "CAUGHT_ERROR"
            mocked_error = plan.states.get(f"{_PREFIX}error", {}).get("Result")
            if mocked_error is not None:
                error, cause = mocked_error.get("Error"), mocked_error.get("Cause")
            elif events.failure is not None:
                error, cause = events.failure
    elif status == "FAILED":
        error, cause = description.get("error") or None, description.get("cause") or None
        if error is None and events.failure is not None:
            error, cause = events.failure
        error, cause = _translate_moto_error(name, error, cause)
    else:
        raise StateTestError(f"the offline execution of state {name!r} ended {status}: {description.get('cause')}")

    error_details: dict[str, Any] | None = {"catchIndex": caught} if caught is not None else None
    if not plan.mocked and error is not None:
        retry = _retry_decision(original, error, retry_count)
        if retry is not None:
            status, next_state, output, error_details = "RETRIABLE", None, None, retry

    if plan.mocked:
        stages = _mocked_stages(original, plan, events, error_details)
    else:
        is_task = original.get("Type") == "Task"
        stages = {
            "input": events.entered.get(name),
            "after_parameters": events.task_parameters if is_task else None,
            "result": events.task_result if is_task else None,
            "variables": events.assigned.get(name),
            "error_details": error_details,
        }
    return Outcome(
        status=status, next_state=next_state, output=output, error=error, cause=cause, stages=stages, raw=raw
    )


def _mocked_stages(
    original: Mapping[str, Any], plan: _Plan, events: _Events, error_details: dict[str, Any] | None
) -> dict[str, Any]:
    """The stages of a mocked state, read from its helper states' outputs.

    A stage the state does not have passes the previous value on (as TestState reports it); a stage
    after the point where the run failed stays None.
    """

    def stage(helper: str, key: str, present: bool, previous: Any) -> Any:
        name = f"{_PREFIX}{helper}"
        if name in plan.states:
            return events.stage(name, key)
        return None if present else previous

    state_input = events.entered.get(f"{_PREFIX}input")
    after_input_path = stage("input_path", "ip", "InputPath" in original, state_input)
    # Parameters that are not replayed (a Map's, or naming $$.Task / $$.Map) stay unknown.
    after_parameters = stage("parameters", "p", "Parameters" in original, after_input_path)
    result = events.stage(f"{_PREFIX}result", "r")
    after_selector = stage("result_selector", "r", original.get("ResultSelector") is not None, result)
    if f"{_PREFIX}result_path" in plan.states:
        after_result_path = events.stage(f"{_PREFIX}result_path", "i")
    else:  # ResultPath null (the state's, or a catcher's) keeps the input
        reached = f"{_PREFIX}result" in events.exited or f"{_PREFIX}error" in events.exited
        after_result_path = state_input if reached else None
    return {
        "input": state_input,
        "after_input_path": after_input_path,
        "after_parameters": after_parameters,
        "result": result,
        "after_result_selector": after_selector,
        "after_result_path": after_result_path,
        "error_details": error_details,
    }


def _translate_moto_error(name: str, error: str | None, cause: str | None) -> tuple[str | None, str | None]:
    """Give moto's interpreter errors the names AWS uses, or say what moto cannot do."""
    if error != "States.Runtime" or not cause:
        return error, cause
    if "No branching option reached" in cause:
        return "States.NoChoiceMatched", f"no Choices rule matched the input of state {name!r}, and it has no Default"
    if "'NoneType' object is not callable" in cause:
        raise StateTestError(
            f"state {name!r} failed on moto with {cause!r}: moto fails so when a state reads a variable or "
            "evaluates JSONata, which its interpreter cannot do offline; run this test with --iatk-backend=aws"
        )
    return error, cause


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


# -- the execution's history -------------------------------------------------------------------
class _Events:
    """The history of one offline execution, by state name."""

    def __init__(self, events: list[dict[str, Any]]) -> None:
        self.entered: dict[str, Any] = {}
        self.exited: dict[str, Any] = {}
        self.assigned: dict[str, dict[str, Any]] = {}
        self.task_parameters: Any = None
        self.task_result: Any = None
        self.failure: tuple[str | None, str | None] | None = None
        for event in events:
            kind = str(event.get("type", ""))
            if "stateEnteredEventDetails" in event:
                details = event["stateEnteredEventDetails"]
                self.entered.setdefault(details.get("name"), _parse_json(details.get("input")))
            elif "stateExitedEventDetails" in event:
                details = event["stateExitedEventDetails"]
                self.exited[details.get("name")] = _parse_json(details.get("output"))
                if details.get("assignedVariables"):
                    self.assigned[details.get("name")] = {
                        key: _parse_json(value) for key, value in details["assignedVariables"].items()
                    }
            elif kind == "TaskScheduled":
                self.task_parameters = _parse_json(event.get("taskScheduledEventDetails", {}).get("parameters"))
            elif kind == "TaskSucceeded":
                self.task_result = _parse_json(event.get("taskSucceededEventDetails", {}).get("output"))
            elif kind != "ExecutionFailed" and self.failure is None:
                for key, details in event.items():
                    if key.endswith("EventDetails") and isinstance(details, dict) and "error" in details:
                        self.failure = (details.get("error"), details.get("cause") or None)

    def stage(self, name: str, key: str) -> Any:
        value = self.exited.get(name)
        return value.get(key) if isinstance(value, dict) else None


def _parse_json(value: Any) -> Any:
    """JSON text parsed; anything else, or text that is not JSON, as it is (as iatk.states reads values)."""
    if not isinstance(value, str):
        return value
    try:
        return json.loads(value)
    except ValueError:
        return value
