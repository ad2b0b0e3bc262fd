"""One state, as TestState runs it: its data flow, its mock, its Retry and Catch, its inspection data.

:func:`run` takes a :class:`Run` (the state, its input, the mock, the variables, the Context object,
the retries made) and a function that performs a Task's service call (the effective parameters in,
the result out, a :class:`~.errors.StatesError` for a failed call), and returns an :class:`Outcome`
with TestState's fields: status, next state, output, error, cause and inspection data (by the API's
names: ``afterInputPath``, ``afterArguments``...), reported for the stages each state type has, as
TestState reports them. What TestState refuses raises :class:`Refused` with TestState's error code
and message.
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any

from iatk._nesting import MAX_NESTING, nesting_message, too_deep

from . import jsonata
from .choice import matches, parse_timestamp
from .errors import StatesError, compact
from .paths import MISSING, Scope, read, read_or_missing, set_result
from .payload import apply_template

__all__ = ["Outcome", "Refused", "Run", "TaskCall", "default_context", "run"]

#: The service call of a Task that is not mocked: (the state, its effective parameters) → its result.
TaskCall = Callable[[Mapping[str, Any], Any], Any]

# Errors a wildcard in ErrorEquals never matches (ASL: they end the execution).
_UNCATCHABLE = frozenset({"States.Runtime", "States.DataLimitExceeded"})
_THRESHOLD = "States.ExceedToleratedFailureThreshold"


class Refused(Exception):
    """TestState would refuse the request: ``code`` (``ValidationException``, ``InvalidDefinition``) and message."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message


@dataclass(frozen=True)
class Run:
    """One state to run, with TestState's request pieces (parsed)."""

    name: str
    state: Mapping[str, Any]
    input: Any
    query_language: str = "JSONPath"
    mock: Mapping[str, Any] | None = None  # {"result": <JSON text>} or {"errorOutput": {"error", "cause"}}
    variables: Mapping[str, Any] | None = None
    context: Any = None  # the Context object given (None: the default one)
    default_context: Any = None
    retry_count: int = 0
    map_iteration_failure_count: int | None = None
    error_caused_by_state: str | None = None
    inspection_level: str = "DEBUG"


@dataclass
class Outcome:
    """What TestState answers (``inspection`` by the API's field names; empty at INFO level)."""

    status: str
    next_state: str | None = None
    output: Any = None
    error: str | None = None
    cause: str | None = None
    inspection: dict[str, Any] = field(default_factory=dict)


def default_context(
    *, state_name: str, machine_arn: str, role_arn: str | None, execution_name: str, state_input: Any, retry: int | None
) -> dict[str, Any]:
    """The Context object TestState makes when none is given."""
    now = datetime.now(timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z")
    arn_parts = machine_arn.split(":")
    machine_name = arn_parts[-1] if len(arn_parts) >= 7 else machine_arn
    prefix = ":".join(arn_parts[:5]) if len(arn_parts) >= 7 else "arn:aws:states:us-east-1:123456789012"
    state: dict[str, Any] = {"Name": state_name, "EnteredTime": now}
    if retry is not None:
        state["RetryCount"] = retry
    return {
        "Execution": {
            "Id": f"{prefix}:express:{machine_name}:{execution_name}",
            "Input": state_input,
            "Name": execution_name,
            "RoleArn": role_arn,
            "StartTime": now,
        },
        "StateMachine": {"Id": machine_arn, "Name": machine_name},
        "State": state,
    }


class _Env:
    """The run's data: the request, the scope paths read, what was assigned, what to report."""

    def __init__(self, request: Run) -> None:
        self.request = request
        self.state = request.state
        self.jsonata = (self.state.get("QueryLanguage") or request.query_language) == "JSONata"
        self.variables: dict[str, Any] = dict(request.variables or {})
        context = request.context if request.context is not None else request.default_context
        self.scope = Scope(context=context, variables=self.variables)
        self.context = context
        self.assigned: dict[str, Any] = {}
        self.stages: dict[str, Any] = {}

    def report(self, stage: str, value: Any) -> None:
        self.stages[stage] = value

    # -- JSONPath fields ------------------------------------------------------------------------
    def path(self, name: str, value: Any) -> Any:
        """``InputPath``/``OutputPath``: absent is ``$``, null is ``{}``."""
        if name not in self.state:
            return value
        path = self.state[name]
        if path is None:
            return {}
        return read(str(path), value, self.scope)

    # -- JSONata fields -------------------------------------------------------------------------
    def bindings(self, **states: Any) -> dict[str, Any]:
        return {**self.variables, "states": {**states, "context": self.context}}

    def assign(self, holder: Mapping[str, Any], document: Any, bindings: Mapping[str, Any] | None) -> None:
        """Evaluate ``holder``'s Assign (with the variables as they were before the state)."""
        if "Assign" not in holder:
            return
        template = holder["Assign"]
        if not isinstance(template, dict):
            raise StatesError("States.Runtime", f"Assign must be an object; got {compact(template)}")
        if bindings is not None:
            values = jsonata.evaluate_template(template, bindings, field="Assign")
        else:
            values = apply_template(template, document, self.scope)
        self.assigned.update(values)


# -- Retry and Catch ---------------------------------------------------------------------------
def _error_matches(patterns: Any, error: str) -> bool:
    for pattern in patterns or []:
        if pattern == error:
            return True
        if pattern == "States.ALL" and error not in _UNCATCHABLE:
            return True
        if pattern == "States.TaskFailed" and error not in _UNCATCHABLE and error != "States.Timeout":
            return True
    return False


def _first_match(handlers: Any, error: str) -> tuple[int, Mapping[str, Any]] | None:
    for index, handler in enumerate(handlers or []):
        if isinstance(handler, Mapping) and _error_matches(handler.get("ErrorEquals"), error):
            return index, handler
    return None


def _backoff(retrier: Mapping[str, Any], count: int) -> int:
    interval = float(retrier.get("IntervalSeconds", 1)) * float(retrier.get("BackoffRate", 2.0)) ** count
    if retrier.get("MaxDelaySeconds") is not None:
        interval = min(interval, float(retrier["MaxDelaySeconds"]))
    return int(interval)


def _handle_error(env: _Env, err: StatesError, state_input: Any) -> Outcome:
    """A failed Task, Parallel or Map: RETRIABLE, CAUGHT_ERROR or FAILED, as its Retry and Catch say."""
    details: dict[str, Any] = {}
    retried = _first_match(env.state.get("Retry"), err.error)
    if retried is not None:
        index, retrier = retried
        if env.request.retry_count < int(retrier.get("MaxAttempts", 3)):
            details = {"retryIndex": index, "retryBackoffIntervalSeconds": _backoff(retrier, env.request.retry_count)}
            env.report("errorDetails", details)
            return Outcome("RETRIABLE", error=err.error, cause=err.cause)
        details["retryIndex"] = index  # exhausted: TestState still names the retrier
    caught = _first_match(env.state.get("Catch"), err.error)
    if caught is None:
        if details:
            env.report("errorDetails", details)
        return Outcome("FAILED", error=err.error, cause=err.cause)
    index, catcher = caught
    details["catchIndex"] = index
    env.report("errorDetails", details)
    error_output = {"Error": err.error, "Cause": err.cause if err.cause is not None else ""}
    env.assigned.clear()  # what the failed attempt assigned does not count
    try:
        if env.jsonata:
            bindings = env.bindings(input=state_input, errorOutput=error_output)
            output = (
                jsonata.evaluate_template(catcher["Output"], bindings, field="Output")
                if "Output" in catcher
                else error_output
            )
            env.assign(catcher, None, bindings)
        else:
            env.assign(catcher, error_output, None)
            output = set_result(state_input, catcher.get("ResultPath", "$"), error_output)
            env.report("afterResultPath", output)
    except StatesError as inner:
        return Outcome("FAILED", error=inner.error, cause=inner.cause)
    return Outcome("CAUGHT_ERROR", next_state=catcher.get("Next"), output=output, error=err.error, cause=err.cause)


# -- refusals (TestState's validation) ---------------------------------------------------------
#: The fields each state type cannot do without (the States Language), as AWS's schema check names them.
_REQUIRED: dict[str, tuple[tuple[str, ...], ...]] = {
    "Task": (("Resource",),),
    "Choice": (("Choices",),),
    "Parallel": (("Branches",),),
    "Map": (("ItemProcessor", "Iterator"),),  # either: Iterator is the older name
}


def _schema_failure(fields: list[str], where: str) -> Refused:
    return Refused(
        "InvalidDefinition",
        f"Invalid State Machine Definition: 'SCHEMA_VALIDATION_FAILED: These fields are required: "
        f"[{', '.join(fields)}] at {where}'",
    )


def _validate_shape(request: Run) -> None:
    """Refuse a state that lacks what its type requires, as AWS's definition check does."""
    state = request.state
    where = f"/States/{request.name}"
    missing = [
        alternatives[0]
        for alternatives in _REQUIRED.get(str(state.get("Type")), ())
        if not any(state.get(name) not in (None, []) for name in alternatives)
    ]
    if missing:
        raise _schema_failure(missing, where)
    if state.get("Type") == "Choice":
        for index, rule in enumerate(state.get("Choices") or []):
            if isinstance(rule, Mapping) and "Next" not in rule:
                raise _schema_failure(["Next"], f"{where}/Choices[{index}]")


def _validate(request: Run) -> None:
    _validate_shape(request)
    state_type = request.state.get("Type")
    mock = request.mock
    if request.map_iteration_failure_count is not None and mock is None:
        raise Refused(
            "ValidationException", "TestState does not support MapIterationFailureCount when a mock is not specified."
        )
    if state_type in ("Map", "Parallel") and mock is None:
        raise Refused(
            "InvalidDefinition",
            "TestState API does not support Map or Parallel states. "
            "Supported state types include: [Task, Wait, Pass, Succeed, Fail, Choice]",
        )
    if request.context is not None and mock is None:
        raise Refused("ValidationException", "TestState does not support Context when a mock is not specified.")
    if state_type == "Task" and mock is None:
        resource = str(request.state.get("Resource", ""))
        if ":activity:" in resource or resource.endswith((".sync", ".sync:2", ".waitForTaskToken")):
            raise Refused(
                "ValidationException",
                "TestState supports Activity tasks and the .sync and .waitForTaskToken integration patterns "
                "only when a mock is specified.",
            )
    if request.context is not None:
        _validate_context(request)
    if mock is None or "result" not in mock:
        return
    result = mock["result"]
    if state_type == "Parallel":
        if not isinstance(result, list):
            raise Refused("ValidationException", "Mocked result must be an array.")
        if len(result) != len(request.state.get("Branches") or []):
            raise Refused(
                "ValidationException",
                "Mocked result must contain the same number of items as number of Parallel branches.",
            )
    if state_type == "Map":
        if request.state.get("ResultWriter") is not None:
            if not isinstance(result, dict):
                raise Refused("ValidationException", "Mocked result must be a JSON object.")
        elif not isinstance(result, list):
            raise Refused("ValidationException", "Mocked result must be an array.")
        failures = request.map_iteration_failure_count
        if failures is not None and isinstance(result, list) and failures > len(result):
            raise Refused(
                "ValidationException",
                "Map iteration failure count must be less than or equal to the number of Map iterations",
            )


_CONTEXT_FIELDS = {
    "Execution": {"Id", "Input", "Name", "RoleArn", "StartTime", "RedriveCount", "RedriveTime"},
    "State": {"EnteredTime", "Name", "RetryCount"},
    "StateMachine": {"Id", "Name"},
    "Task": {"Token"},
}


def _validate_context(request: Run) -> None:
    context = request.context
    invalid = "Invalid Context object provided: "
    if not isinstance(context, dict):
        raise Refused("ValidationException", f"{invalid}the Context object must be a JSON object")
    resource = str(request.state.get("Resource", ""))
    for key, value in context.items():
        if key == "Map":
            raise Refused("ValidationException", f"{invalid}'Map' field is not supported when mocking a Context object")
        if key not in _CONTEXT_FIELDS:
            raise Refused("ValidationException", f"{invalid}Field '{key}' is not allowed")
        if key == "Task" and not (
            request.state.get("Type") == "Task" and (".sync" in resource or resource.endswith(".waitForTaskToken"))
        ):
            raise Refused(
                "ValidationException",
                f"{invalid}Context object contains 'Task' when state is not a Task state with a '.sync' or "
                "'.waitForTaskToken' service integration pattern",
            )
        if not isinstance(value, dict):
            raise Refused("ValidationException", f"{invalid}{key} must be an object")
        for inner, item in value.items():
            if inner not in _CONTEXT_FIELDS[key]:
                raise Refused("ValidationException", f"{invalid}Field '{inner}' is not allowed")
            if inner in ("Id", "Name", "RoleArn", "StartTime", "EnteredTime", "Token") and not isinstance(item, str):
                raise Refused("ValidationException", f"{invalid}{key}.{inner} must be a string")


# -- the state types ---------------------------------------------------------------------------
#: A state, its input, variables, context and mocked result nest at most this many levels of objects
#: and arrays: the evaluator's walkers (payload templates, Choice rules, JSONata values) recurse.
MAX_STATE_NESTING = MAX_NESTING


def _check_nesting(request: Run) -> None:
    for what, value, code in (
        ("the state definition", request.state, "InvalidDefinition"),
        ("the input", request.input, "ValidationException"),
        ("the variables", request.variables, "ValidationException"),
        ("the context", request.context, "ValidationException"),
        ("the mocked result", (request.mock or {}).get("result"), "ValidationException"),
    ):
        where = too_deep(value, MAX_STATE_NESTING)
        if where is not None:
            raise Refused(code, nesting_message(what, where, MAX_STATE_NESTING))


def run(request: Run, call_task: TaskCall) -> Outcome:
    """Run the state of ``request``; ``call_task`` performs the service call of a Task without a mock."""
    _check_nesting(request)
    _validate(request)
    env = _Env(request)
    state_type = request.state.get("Type")
    runner = _RUNNERS.get(str(state_type))
    if runner is None:
        raise Refused("InvalidDefinition", f"Unknown state type {state_type!r}")
    try:
        outcome = runner(env, call_task)
    except StatesError as err:  # a failure outside Retry and Catch's reach: input processing, Output...
        outcome = Outcome("FAILED", error=err.error, cause=err.cause)
    if outcome.status in ("SUCCEEDED", "CAUGHT_ERROR"):
        env.variables.update(env.assigned)
    if env.variables or "Assign" in request.state:
        env.report("variables", dict(env.variables))
    if request.inspection_level != "INFO":
        outcome.inspection = {k: copy.deepcopy(v) for k, v in env.stages.items()}
    return outcome


def _next(env: _Env) -> str | None:
    return None if env.state.get("End") else env.state.get("Next")


def _finish_jsonpath(env: _Env, after_result_path: Any) -> Outcome:
    output = env.path("OutputPath", after_result_path)
    return Outcome("SUCCEEDED", next_state=_next(env), output=output)


def _finish_jsonata(
    env: _Env, bindings: Mapping[str, Any], default: Any, holder: Mapping[str, Any] | None = None
) -> Any:
    holder = env.state if holder is None else holder
    output = jsonata.evaluate_template(holder["Output"], bindings, field="Output") if "Output" in holder else default
    env.assign(holder, None, bindings)
    return output


def _pass(env: _Env, call_task: TaskCall) -> Outcome:
    state_input = env.request.input
    env.report("input", state_input)
    if env.jsonata:
        bindings = env.bindings(input=state_input)
        output = _finish_jsonata(env, bindings, state_input)
        return Outcome("SUCCEEDED", next_state=_next(env), output=output)
    effective = env.path("InputPath", state_input)
    if "Parameters" in env.state:
        effective = apply_template(env.state["Parameters"], effective, env.scope)
    if "Result" in env.state:
        result = copy.deepcopy(env.state["Result"])
        env.report("result", result)
    else:  # TestState reports the input stages only for a Pass without Result
        env.report("afterInputPath", env.path("InputPath", state_input))
        env.report("afterParameters", effective)
        result = effective
    env.assign(env.state, result, None)
    env.report("afterResultSelector", result)
    after = set_result(state_input, env.state.get("ResultPath", "$"), result)
    env.report("afterResultPath", after)
    return _finish_jsonpath(env, after)


def _succeed(env: _Env, call_task: TaskCall) -> Outcome:
    state_input = env.request.input
    env.report("input", state_input)
    if env.jsonata:
        output = _finish_jsonata(env, env.bindings(input=state_input), state_input)
        return Outcome("SUCCEEDED", output=output)
    effective = env.path("InputPath", state_input)
    env.report("afterInputPath", effective)
    return Outcome("SUCCEEDED", output=env.path("OutputPath", effective))


def _fail(env: _Env, call_task: TaskCall) -> Outcome:
    state_input = env.request.input
    env.report("input", state_input)
    state = env.state
    if env.jsonata:
        bindings = env.bindings(input=state_input)
        error = jsonata.evaluate_template(state.get("Error"), bindings, field="Error") if "Error" in state else None
        cause = jsonata.evaluate_template(state.get("Cause"), bindings, field="Cause") if "Cause" in state else None
    else:
        env.report("afterInputPath", state_input)
        error = _fail_field(env, "Error", state_input)
        cause = _fail_field(env, "Cause", state_input)
    return Outcome(
        "FAILED",
        error=None if error is None else str(error),
        cause=None if cause is None else (cause if isinstance(cause, str) else compact(cause)),
    )


def _fail_field(env: _Env, name: str, state_input: Any) -> Any:
    from . import intrinsics

    if f"{name}Path" in env.state:
        expression = str(env.state[f"{name}Path"])
        if intrinsics.is_call(expression):
            value = intrinsics.evaluate(expression, state_input, env.scope)
        else:
            value = read_or_missing(expression, state_input, env.scope)
            if value is MISSING:
                raise StatesError(
                    "States.Runtime",
                    f"The JSONPath '{expression}' specified for the field '{name}Path' could not be found"
                    f" in the input '{compact(state_input)}'",
                )
        if not isinstance(value, str):
            raise StatesError(
                "States.Runtime", f"The {name}Path '{expression}' does not reference a string: {compact(value)}"
            )
        return value
    return env.state.get(name)


def _choice(env: _Env, call_task: TaskCall) -> Outcome:
    state_input = env.request.input
    env.report("input", state_input)
    if env.jsonata:
        bindings = env.bindings(input=state_input)
        for rule in env.state.get("Choices") or []:
            if matches(rule, state_input, env.scope, jsonata_bindings=bindings):
                output = _finish_jsonata(env, bindings, state_input, rule)
                return Outcome("SUCCEEDED", next_state=rule.get("Next"), output=output)
        if "Default" not in env.state:
            return _no_choice(env)
        output = _finish_jsonata(env, bindings, state_input)
        return Outcome("SUCCEEDED", next_state=env.state["Default"], output=output)
    effective = env.path("InputPath", state_input)
    env.report("afterInputPath", effective)
    for rule in env.state.get("Choices") or []:
        if matches(rule, effective, env.scope, jsonata_bindings=None):
            env.assign(rule, effective, None)
            return Outcome("SUCCEEDED", next_state=rule.get("Next"), output=env.path("OutputPath", effective))
    if "Default" not in env.state:
        return _no_choice(env)
    env.assign(env.state, effective, None)
    return Outcome("SUCCEEDED", next_state=env.state["Default"], output=env.path("OutputPath", effective))


def _no_choice(env: _Env) -> Outcome:
    return Outcome(
        "FAILED",
        error="States.NoChoiceMatched",
        cause=f"No Choice rule matched the input of state '{env.request.name}', and it has no Default.",
    )


def _wait(env: _Env, call_task: TaskCall) -> Outcome:
    state_input = env.request.input
    env.report("input", state_input)
    state = env.state
    if env.jsonata:
        bindings = env.bindings(input=state_input)
        if "Seconds" in state:
            seconds = jsonata.evaluate_template(state["Seconds"], bindings, field="Seconds")
            if not isinstance(seconds, int) or isinstance(seconds, bool) or seconds < 0:
                raise StatesError(
                    jsonata.QUERY_ERROR,
                    f"The Seconds field must evaluate to a non-negative integer; got {compact(seconds)}",
                )
        if "Timestamp" in state:
            stamp = jsonata.evaluate_template(state["Timestamp"], bindings, field="Timestamp")
            if parse_timestamp(stamp) is None:
                raise StatesError(
                    jsonata.QUERY_ERROR,
                    "The Timestamp field does not evaluate to a valid ISO-8601 extended offset date-time format "
                    f"string: {compact(stamp)}",
                )
        output = _finish_jsonata(env, bindings, state_input)
        return Outcome("SUCCEEDED", next_state=_next(env), output=output)
    effective = env.path("InputPath", state_input)
    env.report("afterInputPath", effective)
    if "SecondsPath" in state:
        path = str(state["SecondsPath"])
        seconds = read_or_missing(path, effective, env.scope)
        if seconds is MISSING:
            raise StatesError("States.Runtime", f"The SecondsPath parameter does not reference an input value: {path}")
        if not isinstance(seconds, int) or isinstance(seconds, bool):
            raise StatesError(
                "States.Runtime",
                f"The SecondsPath parameter cannot be parsed as a long value: {path} == {compact(seconds)}",
            )
        if seconds < 0:
            raise StatesError(
                "States.Runtime", f"The SecondsPath parameter references a negative value: {path} == {seconds}"
            )
    if "TimestampPath" in state:
        path = str(state["TimestampPath"])
        stamp = read_or_missing(path, effective, env.scope)
        if stamp is MISSING:
            raise StatesError(
                "States.Runtime", f"The TimestampPath parameter does not reference an input value: {path}"
            )
        if parse_timestamp(stamp) is None:
            shown = stamp if isinstance(stamp, str) else compact(stamp)
            raise StatesError(
                "States.Runtime",
                "The TimestampPath parameter does not reference a valid ISO-8601 extended offset date-time "
                f"format string: {path} == {shown}",
            )
    env.assign(state, effective, None)
    return Outcome("SUCCEEDED", next_state=_next(env), output=env.path("OutputPath", effective))


def _mocked_error(env: _Env) -> StatesError | None:
    mock = env.request.mock
    if mock is None or "errorOutput" not in mock:
        return None
    error_output = mock["errorOutput"]
    return StatesError(str(error_output.get("error", "")), error_output.get("cause"))


def _execute(env: _Env, call_task: TaskCall) -> Outcome:
    """Task, Parallel and Map: input processing, the (mocked) work, then result processing."""
    state_input = env.request.input
    state_type = env.state.get("Type")
    env.report("input", state_input)
    if env.jsonata:
        return _execute_jsonata(env, call_task, state_input)
    effective = env.path("InputPath", state_input)
    if state_type != "Parallel":
        env.report("afterInputPath", effective)
    if state_type == "Map":
        _map_items_jsonpath(env, effective)
    elif "Parameters" in env.state:
        effective = apply_template(env.state["Parameters"], effective, env.scope)
    if state_type == "Task":
        env.report("afterParameters", effective)
    try:
        result = _work(env, call_task, effective)
        if state_type == "Task":
            env.report("result", result)
        env.assign(env.state, result, None)
        selected = (
            apply_template(env.state["ResultSelector"], result, env.scope) if "ResultSelector" in env.state else result
        )
        env.report("afterResultSelector", selected)
        after = set_result(state_input, env.state.get("ResultPath", "$"), selected)
        env.report("afterResultPath", after)
    except StatesError as err:
        return _handle_error(env, err, state_input)
    return _finish_jsonpath(env, after)


def _execute_jsonata(env: _Env, call_task: TaskCall, state_input: Any) -> Outcome:
    state_type = env.state.get("Type")
    bindings = env.bindings(input=state_input)
    arguments: Any = state_input
    if "Arguments" in env.state:
        arguments = jsonata.evaluate_template(env.state["Arguments"], bindings, field="Arguments")
        if state_type == "Task":
            env.report("afterArguments", arguments)
    if state_type == "Map":
        _map_items_jsonata(env, bindings, state_input)
    try:
        result = _work(env, call_task, arguments)
        if state_type == "Task":
            env.report("result", result)
        output = _finish_jsonata(env, env.bindings(input=state_input, result=result), result)
    except StatesError as err:
        return _handle_error(env, err, state_input)
    return Outcome("SUCCEEDED", next_state=_next(env), output=output)


def _work(env: _Env, call_task: TaskCall, effective: Any) -> Any:
    """The mock's result or error, or the Task's service call; a Map's tolerated failures checked."""
    mocked = _mocked_error(env)
    if mocked is not None:
        raise mocked
    mock = env.request.mock
    if mock is not None:
        result = copy.deepcopy(mock["result"])
        if env.state.get("Type") == "Map":
            _tolerated_failures(env, result)
        return result
    return call_task(env.state, effective)


def _map_settings(env: _Env, bindings: Mapping[str, Any] | None, document: Any) -> None:
    state = env.state
    concurrency: Any = 0
    if "MaxConcurrencyPath" in state:
        concurrency = read(str(state["MaxConcurrencyPath"]), document, env.scope)
    elif "MaxConcurrency" in state:
        concurrency = state["MaxConcurrency"]
        if bindings is not None:
            concurrency = jsonata.evaluate_template(concurrency, bindings, field="MaxConcurrency")
    env.report("maxConcurrency", concurrency)
    for name, stage in (
        ("ToleratedFailureCount", "toleratedFailureCount"),
        ("ToleratedFailurePercentage", "toleratedFailurePercentage"),
    ):
        if f"{name}Path" in state:
            env.report(stage, read(str(state[f"{name}Path"]), document, env.scope))
        elif name in state:
            value = state[name]
            if bindings is not None:
                value = jsonata.evaluate_template(value, bindings, field=name)
            env.report(stage, value)


def _map_items_jsonpath(env: _Env, effective: Any) -> None:
    items_path = str(env.state.get("ItemsPath", "$"))
    items = read(items_path, effective, env.scope)
    if not isinstance(items, list):
        raise StatesError("States.Runtime", f'Reference path "{items_path}" must point to array.')
    env.report("afterItemsPath", items)
    selector = env.state.get("ItemSelector", env.state.get("Parameters"))
    if selector is not None:
        selected = []
        for index, item in enumerate(items):
            context = copy.deepcopy(env.context) if isinstance(env.context, dict) else {}
            context["Map"] = {"Item": {"Index": index, "Value": item}}
            selected.append(apply_template(selector, effective, Scope(context=context, variables=env.variables)))
        env.report("afterItemSelector", selected)
    _map_settings(env, None, effective)


def _map_items_jsonata(env: _Env, bindings: Mapping[str, Any], state_input: Any) -> None:
    items: Any = state_input
    if "Items" in env.state:
        items = jsonata.evaluate_template(env.state["Items"], bindings, field="Items")
    if not isinstance(items, list):
        raise StatesError(jsonata.QUERY_ERROR, f"The Items field must evaluate to a JSON array; got {compact(items)}")
    _map_settings(env, bindings, state_input)


def _tolerated_failures(env: _Env, result: Any) -> None:
    failures = env.request.map_iteration_failure_count
    if not failures:
        return
    count = env.stages.get("toleratedFailureCount")
    percentage = env.stages.get("toleratedFailurePercentage")
    if count is None and percentage is None:
        return
    total = len(result) if isinstance(result, list) else 0
    exceeded = (count is not None and failures > count) or (
        percentage is not None and total and failures * 100.0 / total > float(percentage)
    )
    if exceeded:
        raise StatesError(_THRESHOLD, "The specified tolerated failure threshold was exceeded")


_Runner = Callable[[_Env, TaskCall], Outcome]
_RUNNERS: dict[str, _Runner] = {
    "Pass": _pass,
    "Succeed": _succeed,
    "Fail": _fail,
    "Choice": _choice,
    "Wait": _wait,
    "Task": _execute,
    "Parallel": _execute,
    "Map": _execute,
}
