"""Step Functions state tests: run one state of a deployed workflow, or walk a path, from a test.

On AWS, :func:`test_state` calls the TestState API with the deployed definition, a ``stateName``, an
input and optionally a mock, and returns a :class:`StateResult` (status, next state, output, error,
inspection data). :func:`walk_states` chains those calls from the start state, following
``next_state``, and returns the path taken.

moto has no TestState. On the embedded backend the state runs on moto's own ASL interpreter instead:
a temporary state machine holds the state, every transition out of it goes to a *recorder* (a Pass
state that wraps the output with the name of the state that would come next), a mocked Task becomes a
chain of Pass states that replays the Task's data flow around the mock's result (or a Fail, or the
matching catcher's route, for a mocked error), and Retry is decided here rather than by moto. One
execution per state (50–100 ms on the embedded server); the temporary state machine is always deleted.

Offline fidelity (the embedded backend):

============================  ==========================================================
field                         offline
============================  ==========================================================
status, next_state            complete (RETRIABLE is decided from the state's Retry)
output, error                 complete (moto's ``States.Runtime`` for an unmatched Choice
                              is reported as ``States.NoChoiceMatched``)
cause                         complete for mocks and Fail states; moto's wording for the
                              errors of real Tasks
inspection.input              complete
inspection.after_input_path,  mocked Task/Map/Parallel: complete; real Task: after_parameters
after_parameters, result,     and result from the execution history; other states: absent
after_result_selector,
after_result_path
inspection.variables          only the variables the state itself assigns
inspection.request/response   absent (TRACE level is AWS only)
============================  ==========================================================

Not offline: JSONata states, reading variables, ``context`` and the Map settings of
``state_configuration`` (moto cannot evaluate them; a :class:`~iatk.exceptions.StateTestError`
says so). A Wait state does not wait offline. A moto server with its Step Functions execution mode
off only pretends to run executions; that is noticed (after half a second) and reported with how to
turn it on, rather than waited out.

Against AWS, a non-AWS endpoint that lacks TestState (moto's HTML 500, ``UnknownOperationException``)
is reported as such, pointing to the emulation.
"""

# ruff: noqa: PT028 - test_state is the API's name, not a pytest test (its __test__ is False)
from __future__ import annotations

import copy
import json
import logging
import threading
import time
import weakref
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any, Union
from urllib.parse import urlsplit

from botocore.exceptions import BotoCoreError, ClientError

from ._aws import AwsContext, aws, wrap
from ._tags import TAG_RUN_ID, current_run_id, new_xid
from .exceptions import ConfigError, MaxStepsReached, StateTestError

if TYPE_CHECKING:
    import boto3

    from .stack import Stack

__all__ = [
    "MaxStepsReached",
    "StateInspection",
    "StatePath",
    "StateResult",
    "StateTester",
    "test_state",
    "walk_states",
]

log = logging.getLogger("iatk.states")

#: A state machine: its ARN, its name, or ``(stack, "LogicalId")``.
StateMachineRef = Union[str, "tuple[Stack, str]"]

STATUSES = ("SUCCEEDED", "FAILED", "RETRIABLE", "CAUGHT_ERROR")
INSPECTION_LEVELS = ("INFO", "DEBUG", "TRACE")
#: TestState takes a mock only for these state types.
MOCKABLE_TYPES = frozenset({"Task", "Map", "Parallel"})
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
_MAX_SHOWN = 1500  # characters of one value in a rendered result


# -- results -----------------------------------------------------------------------------------
_INSPECTION_FIELDS = {
    "input": "input",
    "afterInputPath": "after_input_path",
    "afterParameters": "after_parameters",
    "afterArguments": "after_arguments",
    "result": "result",
    "afterResultSelector": "after_result_selector",
    "afterResultPath": "after_result_path",
    "variables": "variables",
}


@dataclass(frozen=True, slots=True)
class StateInspection:
    """What happened inside the state, stage by stage (TestState's ``inspectionData``, parsed).

    Each stage is the parsed JSON value, or None when TestState did not report it (INFO level, a
    state type without that stage, or offline where the embedded backend cannot see it).

    Attributes:
        input: The state's raw input.
        after_input_path: After ``InputPath``.
        after_parameters: After ``Parameters`` (the request a Task sends).
        after_arguments: After ``Arguments`` (JSONata states).
        result: The Task's result (the service's response, or the mock's).
        after_result_selector: After ``ResultSelector``.
        after_result_path: After ``ResultPath`` (before ``OutputPath``).
        variables: The workflow variables after the state, as a dict.
        error_details: ``catchIndex`` / ``retryIndex`` / ``retryBackoffIntervalSeconds`` when a
            Catch or Retry handled an error.
        request: The HTTP request (TRACE level, HTTP Tasks).
        response: The HTTP response (TRACE level, HTTP Tasks).
        raw: The inspection data as the API returned it (JSON strings unparsed).
    """

    input: Any = None
    after_input_path: Any = None
    after_parameters: Any = None
    after_arguments: Any = None
    result: Any = None
    after_result_selector: Any = None
    after_result_path: Any = None
    variables: Any = None
    error_details: Mapping[str, Any] | None = None
    request: Mapping[str, Any] | None = None
    response: Mapping[str, Any] | None = None
    raw: Mapping[str, Any] = field(default_factory=dict, repr=False, compare=False)

    @classmethod
    def from_api(cls, data: Mapping[str, Any] | None) -> StateInspection:
        """Build from TestState's ``inspectionData`` (its JSON strings are parsed)."""
        if not data:
            return cls()
        values: dict[str, Any] = {name: _parse_json(data.get(key)) for key, name in _INSPECTION_FIELDS.items()}
        for key, name in (("errorDetails", "error_details"), ("request", "request"), ("response", "response")):
            values[name] = dict(data[key]) if isinstance(data.get(key), Mapping) else None
        return cls(**values, raw=dict(data))

    def stages(self) -> Iterator[tuple[str, Any]]:
        """``(name, value)`` for every stage that was reported, in data-flow order."""
        for name in (*_INSPECTION_FIELDS.values(), "error_details", "request", "response"):
            value = getattr(self, name)
            if value is not None:
                yield name, value


@dataclass(frozen=True, slots=True)
class StateResult:
    """The outcome of testing one state.

    Attributes:
        state: The state's name.
        status: ``SUCCEEDED``, ``FAILED``, ``RETRIABLE`` (a Retry would run the state again) or
            ``CAUGHT_ERROR`` (a Catch routed the error to ``next_state``).
        next_state: The state that would run next; None after an end state or a failure.
        output: The state's output, parsed from JSON (None when it failed).
        error: The error name, e.g. ``States.TaskFailed`` (failed, caught or retriable states).
        cause: The error's cause.
        inspection: The data-flow stages, see :class:`StateInspection`.
        state_type: The state's ``Type`` in the definition (``Task``, ``Choice``...).
        offline: True when it ran on the embedded backend's interpreter rather than TestState.
        raw: The TestState response (offline: the execution's description and history).
    """

    state: str
    status: str
    next_state: str | None = None
    output: Any = None
    error: str | None = None
    cause: str | None = None
    inspection: StateInspection = field(default_factory=StateInspection)
    state_type: str | None = None
    offline: bool = False
    raw: Mapping[str, Any] = field(default_factory=dict, repr=False, compare=False)

    @classmethod
    def from_api(cls, state: str, response: Mapping[str, Any], *, state_type: str | None = None) -> StateResult:
        """Build from a TestState response; ``output`` and the inspection stages are parsed."""
        raw = {k: v for k, v in response.items() if k != "ResponseMetadata"}
        return cls(
            state=state,
            status=str(raw.get("status", "")),
            next_state=raw.get("nextState") or None,
            output=_parse_json(raw.get("output")),
            error=raw.get("error") or None,
            cause=raw.get("cause") or None,
            inspection=StateInspection.from_api(raw.get("inspectionData")),
            state_type=state_type,
            raw=raw,
        )

    @property
    def succeeded(self) -> bool:
        """Whether the status is ``SUCCEEDED``."""
        return self.status == "SUCCEEDED"

    def expect_next(self, name: str | None) -> StateResult:
        """Assert the next state is ``name`` (None: the state ends the workflow). Returns self.

        Raises:
            AssertionError: With the whole result shown.
        """
        __tracebackhide__ = True
        if self.next_state != name:
            want = "no next state (an end)" if name is None else f"next state {name!r}"
            raise AssertionError(f"expected {want}, got {self.next_state!r}\n{self.render()}")
        return self

    def expect_output(self, subset: Any) -> StateResult:
        """Assert the output contains ``subset``. Returns self.

        Objects match when every key of ``subset`` is in the output with a matching value (extra
        keys are fine, at every depth); lists match element by element and must have the same
        length; anything else must be equal.

        Raises:
            AssertionError: Naming the first difference, with the whole result shown.
        """
        __tracebackhide__ = True
        if self.status not in ("SUCCEEDED", "CAUGHT_ERROR"):
            raise AssertionError(f"expected an output, but the state ended {self.status}\n{self.render()}")
        mismatch = _subset_mismatch(subset, self.output, "$")
        if mismatch:
            raise AssertionError(f"output does not match: {mismatch}\n{self.render()}")
        return self

    def expect_error(self, code: str, cause: str | None = None) -> StateResult:
        """Assert the state failed, was caught or is retriable with error ``code``. Returns self.

        Args:
            code: The error name, e.g. ``"States.TaskFailed"``.
            cause: When given, a text the cause must contain.

        Raises:
            AssertionError: With the whole result shown.
        """
        __tracebackhide__ = True
        if self.error != code:
            got = f"error {self.error!r}" if self.error else f"no error (status {self.status})"
            raise AssertionError(f"expected error {code!r}, got {got}\n{self.render()}")
        if cause is not None and cause not in (self.cause or ""):
            raise AssertionError(f"expected the cause to contain {cause!r}, got {self.cause!r}\n{self.render()}")
        return self

    def render(self) -> str:
        """A multi-line text of the whole result, as assertion messages show it."""
        kind = f" ({self.state_type})" if self.state_type else ""
        if self.next_state:
            after = f", next {self.next_state!r}"
        elif self.status == "SUCCEEDED":
            after = ", end of the workflow"
        elif self.status == "RETRIABLE":
            after = ", a Retry would run it again"
        else:
            after = ""
        where = " [offline: embedded backend]" if self.offline else ""
        lines = [f"state {self.state!r}{kind} → {self.status}{after}{where}"]
        if self.error or self.cause:
            lines.append(
                f"  error: {self.error}" + (f" — cause: {_show(self.cause, text_as_is=True)}" if self.cause else "")
            )
        lines.append(f"  output: {_show(self.output)}")
        lines.extend(f"  {name}: {_show(value)}" for name, value in self.inspection.stages())
        return "\n".join(lines)

    def __str__(self) -> str:
        return self.render()


class StatePath(list[StateResult]):
    """The states a :func:`walk_states` went through, in order (a ``list`` of :class:`StateResult`)."""

    @property
    def names(self) -> list[str]:
        """The state names, in order (a state retried appears once per attempt)."""
        return [result.state for result in self]

    @property
    def last(self) -> StateResult:
        """The final step."""
        if not self:
            raise IndexError("the path is empty")
        return self[-1]

    def expect_path(self, names: Sequence[str]) -> StatePath:
        """Assert the walk went through exactly ``names``. Returns self.

        Raises:
            AssertionError: With the path and every step shown.
        """
        __tracebackhide__ = True
        if self.names != list(names):
            raise AssertionError(
                f"expected the path {' → '.join(names)}\n     got the path {' → '.join(self.names)}\n{self.render()}"
            )
        return self

    def render(self) -> str:
        """The path on one line, then every step."""
        return " → ".join(self.names) + "\n" + "\n".join(result.render() for result in self)


def _show(value: Any, *, text_as_is: bool = False) -> str:
    """JSON of ``value`` (a str as is with ``text_as_is``), cut to a readable length."""
    text = value if text_as_is and isinstance(value, str) else json.dumps(value, default=str)
    return text if len(text) <= _MAX_SHOWN else text[:_MAX_SHOWN] + f"… ({len(text)} characters)"


def _subset_mismatch(expected: Any, actual: Any, path: str) -> str | None:
    """The first place where ``actual`` does not contain ``expected``, or None."""
    if isinstance(expected, Mapping):
        if not isinstance(actual, Mapping):
            return f"{path}: expected an object, got {_show(actual)}"
        for key, value in expected.items():
            where = f"{path}.{key}"
            if key not in actual:
                return f"{where}: missing (keys there: {', '.join(map(str, actual)) or 'none'})"
            found = _subset_mismatch(value, actual[key], where)
            if found:
                return found
        return None
    if isinstance(expected, (list, tuple)):
        if not isinstance(actual, list) or len(actual) != len(expected):
            return f"{path}: expected a list of {len(expected)}, got {_show(actual)}"
        for index, (want, got) in enumerate(zip(expected, actual, strict=True)):
            found = _subset_mismatch(want, got, f"{path}[{index}]")
            if found:
                return found
        return None
    # 1 == True in Python, but not in JSON
    if expected != actual or isinstance(expected, bool) != isinstance(actual, bool):
        return f"{path}: expected {_show(expected)}, got {_show(actual)}"
    return None


# -- definitions -------------------------------------------------------------------------------
@dataclass(frozen=True)
class _Machine:
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


_machines: weakref.WeakKeyDictionary[Any, dict[str, _Machine]] = weakref.WeakKeyDictionary()
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


def _parse_definition(arn: str, text: str, role_arn: str | None) -> _Machine:
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
    return _Machine(
        arn=arn,
        definition_text=text,
        definition=definition,
        role_arn=role_arn,
        states=states,
        top_level=tuple(definition["States"]),
    )


def _resolve_arn(ctx: AwsContext, state_machine: Any) -> str:
    from .stack import Stack

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


def _machine(ctx: AwsContext, state_machine: Any) -> _Machine:
    arn = _resolve_arn(ctx, state_machine)
    with _machines_lock:
        cached = _machines.get(ctx.session, {}).get(arn)
    if cached is not None:
        return cached
    try:
        described = ctx.stepfunctions.describe_state_machine(stateMachineArn=arn)
    except (ClientError, BotoCoreError) as err:
        raise wrap(err, f"cannot read the definition of state machine {arn}", StateTestError) from err
    machine = _parse_definition(arn, str(described.get("definition") or ""), described.get("roleArn"))
    with _machines_lock:
        _machines.setdefault(ctx.session, {})[arn] = machine
    return machine


# -- request pieces ----------------------------------------------------------------------------
def _json_text(value: Any, what: str) -> str:
    """A str is JSON text already (checked); anything else is serialised."""
    if isinstance(value, str):
        try:
            json.loads(value)
        except ValueError as err:
            raise ConfigError(
                f"{what} is a str but not JSON text ({err}); pass the value itself (a dict, list...) "
                f"or json.dumps(...) it, e.g. {what}={json.dumps(value)!r} for a JSON string"
            ) from err
        return value
    try:
        return json.dumps(value)
    except (TypeError, ValueError) as err:
        raise ConfigError(f"{what} is not JSON-serialisable: {err}") from err


def _parse_json(value: Any) -> Any:
    if not isinstance(value, str):
        return value
    try:
        return json.loads(value)
    except ValueError:
        return value  # e.g. redacted secrets: keep the text


def _mock_request(mock: Mapping[str, Any] | None, state: str, state_type: str | None) -> dict[str, Any] | None:
    if mock is None:
        return None
    if not isinstance(mock, Mapping):
        raise ConfigError(f"mock must be a dict like {{'result': ...}} or {{'error': ..., 'cause': ...}}; got {mock!r}")
    known = {"result", "error", "cause", "field_validation_mode", "fieldValidationMode"}
    unknown = sorted(set(mock) - known)
    if unknown:
        raise ConfigError(
            f"mock for state {state!r} has unknown key(s) {', '.join(unknown)}; use 'result', or 'error' "
            "(with an optional 'cause'), and optionally 'field_validation_mode' (STRICT, PRESENT or NONE)"
        )
    if ("result" in mock) == ("error" in mock):
        raise ConfigError(f"mock for state {state!r} needs exactly one of 'result' or 'error'; got {dict(mock)!r}")
    if "cause" in mock and "error" not in mock:
        raise ConfigError(f"mock for state {state!r}: 'cause' goes with 'error'")
    if state_type not in MOCKABLE_TYPES:
        raise ConfigError(
            f"state {state!r} is a {state_type} state; TestState mocks only Task, Map and Parallel states. "
            "Drop the mock: the state runs as it is."
        )
    request: dict[str, Any]
    if "result" in mock:
        request = {"result": _json_text(mock["result"], "mock['result']")}
    else:
        output = {"error": str(mock["error"])}
        if mock.get("cause") is not None:
            output["cause"] = mock["cause"] if isinstance(mock["cause"], str) else json.dumps(mock["cause"])
        request = {"errorOutput": output}
    mode = mock.get("field_validation_mode", mock.get("fieldValidationMode"))
    if mode is not None:
        request["fieldValidationMode"] = str(mode).upper()
    return request


def _state_configuration(config: Mapping[str, Any] | None) -> dict[str, Any] | None:
    if not config:
        return None
    allowed = {"retrierRetryCount", "errorCausedByState", "mapIterationFailureCount", "mapItemReaderData"}
    unknown = sorted(set(config) - allowed)
    if unknown:
        raise ConfigError(f"state_configuration has unknown key(s) {', '.join(unknown)}; allowed: {sorted(allowed)}")
    result = dict(config)
    if "mapItemReaderData" in result:
        result["mapItemReaderData"] = _json_text(result["mapItemReaderData"], "mapItemReaderData")
    return result


def _level(inspection_level: str) -> str:
    level = str(inspection_level).upper()
    if level not in INSPECTION_LEVELS:
        raise ConfigError(f"inspection_level must be one of {', '.join(INSPECTION_LEVELS)}; got {inspection_level!r}")
    return level


# -- the public calls --------------------------------------------------------------------------
def test_state(
    state_machine: StateMachineRef,
    state: str,
    input: Any = None,
    *,
    mock: Mapping[str, Any] | None = None,
    inspection_level: str = "DEBUG",
    context: Any = None,
    variables: Mapping[str, Any] | None = None,
    role_arn: str | None = None,
    state_configuration: Mapping[str, Any] | None = None,
    reveal_secrets: bool = False,
    session: boto3.Session | None = None,
) -> StateResult:
    """Run one state of a deployed state machine with an input, and return what it did.

    The definition is read from the deployed state machine (DescribeStateMachine, once per ARN per
    session) and sent whole to TestState with ``stateName``. On the embedded backend the state runs
    on moto's interpreter instead (see the module docs for what is complete offline).

    Args:
        state_machine: The state machine's ARN, its name, or ``(stack, "LogicalId")``.
        state: The state's name (nested states of a Parallel or Map too).
        input: The state's input: any JSON value. A ``str`` is taken as JSON text.
        mock: ``{"result": ...}`` or ``{"error": "Code", "cause": "..."}`` in place of the service
            call of a Task, Map or Parallel state; values other than str are serialised. Optional
            ``"field_validation_mode"``: ``STRICT`` (AWS default), ``PRESENT`` or ``NONE``.
        inspection_level: ``INFO``, ``DEBUG`` (default: every data-flow stage) or ``TRACE``.
        context: The Context object (``$$``) to use; AWS accepts it only with a mock.
        variables: Workflow variables visible to the state.
        role_arn: The role TestState assumes (default: the state machine's own role).
        state_configuration: TestState's ``stateConfiguration`` (``retrierRetryCount``,
            ``errorCausedByState``, ``mapIterationFailureCount``, ``mapItemReaderData``).
        reveal_secrets: Ask TestState to show HTTP Task secrets (needs ``states:RevealSecrets``).
        session: The boto3 Session (default: the run's session).

    Returns:
        The :class:`StateResult`; check it with ``expect_next``, ``expect_output``, ``expect_error``.

    Raises:
        StateTestError: Unknown state (the message lists the definition's states), unreadable
            definition, TestState rejected the request (its message kept, ``.code`` set), or the
            state cannot run offline.
        ConfigError: A bad argument (mock shape, a mock on a Choice, inspection level...).

    Example::

        result = iatk.test_state(arn, "Choose hook", {"kind": "postValidate"})
        result.expect_next("Post-validate")
        iatk.test_state(arn, "Post-validate", data, mock={"result": {"Payload": {"valid": True}}})

    IAM permissions: states:DescribeStateMachine, states:TestState, iam:PassRole on the role
    (states:RevealSecrets with ``reveal_secrets``). Offline (moto only): CreateStateMachine,
    StartExecution, DescribeExecution, GetExecutionHistory, DeleteStateMachine.
    """
    ctx = aws(session)
    level = _level(inspection_level)
    machine = _machine(ctx, state_machine)
    definition = machine.state(state)
    state_type = definition.get("Type")
    mock_request = _mock_request(mock, state, state_type)
    config = _state_configuration(state_configuration)
    if ctx.embedded:
        return _run_offline(
            ctx,
            machine=machine,
            name=state,
            original=definition,
            input_value=input,
            mock=mock_request,
            role_arn=role_arn,
            config=config,
            context=context,
            variables=variables,
        )
    request: dict[str, Any] = {"definition": machine.definition_text, "stateName": state, "inspectionLevel": level}
    role = role_arn or machine.role_arn
    if role:
        request["roleArn"] = role
    if input is not None:
        request["input"] = _json_text(input, "input")
    if mock_request is not None:
        request["mock"] = mock_request
    if context is not None:
        request["context"] = _json_text(context, "context")
    if variables is not None:
        request["variables"] = _json_text(variables, "variables")
    if config:
        request["stateConfiguration"] = config
    if reveal_secrets:
        request["revealSecrets"] = True
    client = ctx.stepfunctions
    request = _fit_to_model(client, request, definition, state)
    try:
        response = client.test_state(**request)
    except ClientError as err:
        endpoint = str(client.meta.endpoint_url)
        if not _is_aws_endpoint(endpoint) and _not_implemented(err):
            raise StateTestError(
                f"TestState is not available at {endpoint} (it answered {_answer(err)}): moto and other "
                "emulators do not implement it. Run the state on iatk's emulation instead: the embedded backend "
                "(pytest --iatk-backend=moto, or a session from iatk.embedded_session()), or from the shell "
                f"`iatk test-state --backend moto --endpoint-url {endpoint} ...` for a moto server",
                code=_error_code(err),
            ) from err
        raise wrap(err, f"TestState failed for state {state!r} of {machine.arn}", StateTestError) from err
    except BotoCoreError as err:
        raise wrap(err, f"TestState failed for state {state!r} of {machine.arn}", StateTestError) from err
    return StateResult.from_api(state, response, state_type=state_type)


test_state.__test__ = False  # type: ignore[attr-defined]  # pytest must not collect it when imported


# What endpoints that lack an operation answer: AWS-style codes, or an HTTP status with no JSON body
# (botocore then uses the status as the code: moto's server gives "500" and an HTML page).
_NOT_IMPLEMENTED_CODES = frozenset(
    {"UnknownOperationException", "UnknownOperation", "NotImplemented", "NotImplementedException", "InvalidAction"}
)


def _is_aws_endpoint(url: str) -> bool:
    host = urlsplit(url).hostname or ""
    return host.endswith((".amazonaws.com", ".amazonaws.com.cn", ".api.aws", ".c2s.ic.gov", ".sc2s.sgov.gov"))


def _error_code(err: ClientError) -> str | None:
    code = err.response.get("Error", {}).get("Code")
    return str(code) if code else None


def _not_implemented(err: ClientError) -> bool:
    code = _error_code(err) or ""
    status = int(err.response.get("ResponseMetadata", {}).get("HTTPStatusCode") or 0)
    return code in _NOT_IMPLEMENTED_CODES or status in (404, 501) or (status >= 500 and code.isdigit())


def _answer(err: ClientError) -> str:
    status = err.response.get("ResponseMetadata", {}).get("HTTPStatusCode")
    code = _error_code(err)
    if code and not code.isdigit():
        return f"{code}, HTTP {status}"
    return f"HTTP {status or code} with no AWS error body"


def _fit_to_model(client: Any, request: dict[str, Any], definition: Mapping[str, Any], state: str) -> dict[str, Any]:
    """Drop what an older botocore cannot send: without ``stateName``, send the state alone."""
    members = client.meta.service_model.operation_model("TestState").input_shape.members
    if "stateName" in members:
        return request
    needs = [key for key in ("mock", "context", "stateConfiguration", "variables") if key in request]
    unsupported = [key for key in needs if key not in members]
    if unsupported:
        raise StateTestError(
            f"the installed botocore cannot send TestState's {', '.join(unsupported)} (added in November "
            "2025); upgrade boto3/botocore to use mocks and context"
        )
    fitted = {k: v for k, v in request.items() if k != "stateName"}
    # The single-state form: TestState reports Next as nextState without seeing the other states.
    fitted["definition"] = json.dumps(definition)
    log.debug("botocore has no TestState stateName: sending state %r on its own", state)
    return fitted


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
    up. On AWS, the variables a state reports are passed to the next one.

    Map and Parallel states are one step each: their inner states are not walked. Give them a mock,
    or they run for real (their branches call the real services on AWS).

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
    machine = _machine(ctx, state_machine)
    for name in mocks or {}:
        machine.state(name)  # a typo in a mock's state name fails before anything runs
    current = start if start is not None else str(machine.definition.get("StartAt", ""))
    machine.state(current)
    path = StatePath()
    data, current_vars, retries = input, variables, 0
    while True:
        if len(path) >= max_steps:
            raise MaxStepsReached(path, current, max_steps)
        result = test_state(
            machine.arn,
            current,
            data,
            mock=(mocks or {}).get(current),
            inspection_level=inspection_level,
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
        if not result.offline and isinstance(result.inspection.variables, dict):
            current_vars = result.inspection.variables
        # serialised here: a str output is a JSON string value, not JSON text
        data, current, retries = json.dumps(result.output), result.next_state, 0


class StateTester:
    """:func:`test_state` and :func:`walk_states` bound to one session (the ``iatk_states`` fixture).

    Example::

        def test_routing(iatk_states, iatk_stack):
            workflow = (iatk_stack(), "PluginLifecycleWorkflow")
            iatk_states.test_state(workflow, "Choose hook", {"kind": "postValidate"}).expect_next("Post-validate")
    """

    __test__ = False  # not a test class, whatever pytest's naming rules say

    def __init__(self, session: boto3.Session | None = None) -> None:
        self.session = session

    def test_state(self, state_machine: StateMachineRef, state: str, input: Any = None, **kwargs: Any) -> StateResult:
        """:func:`test_state` with this tester's session."""
        __tracebackhide__ = True
        kwargs.setdefault("session", self.session)
        return test_state(state_machine, state, input, **kwargs)

    def walk_states(self, state_machine: StateMachineRef, input: Any = None, **kwargs: Any) -> StatePath:
        """:func:`walk_states` with this tester's session."""
        __tracebackhide__ = True
        kwargs.setdefault("session", self.session)
        return walk_states(state_machine, input, **kwargs)


# -- offline: moto's interpreter ---------------------------------------------------------------
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
    precomputed: StateResult | None = None

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
    machine: _Machine,
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
        plan.precomputed = StateResult(
            state=name,
            status="RETRIABLE",
            error=error,
            cause=cause,
            inspection=StateInspection(error_details=retry),
            state_type=state_type,
            offline=True,
        )
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


def _check_offline_support(
    machine: _Machine, name: str, original: Mapping[str, Any], config: Mapping[str, Any] | None, **given: Any
) -> None:
    why = "moto's interpreter cannot evaluate them; run this test with --iatk-backend=aws"
    if machine.query_language(original) == "JSONata":
        raise StateTestError(f"state {name!r} uses JSONata, which the embedded backend cannot run offline: {why}")
    for what, value in given.items():
        if value is not None:
            raise StateTestError(f"test_state({what}=...) is not supported on the embedded backend: {why}")
    extra = sorted(set(config or {}) - {"retrierRetryCount"})
    if extra:
        raise StateTestError(f"state_configuration {', '.join(extra)} is not supported on the embedded backend: {why}")


def _run_offline(
    ctx: AwsContext,
    *,
    machine: _Machine,
    name: str,
    original: dict[str, Any],
    input_value: Any,
    mock: Mapping[str, Any] | None,
    role_arn: str | None,
    config: Mapping[str, Any] | None,
    context: Any,
    variables: Any,
) -> StateResult:
    """Run the state on moto's interpreter in a temporary state machine (deleted afterwards)."""
    _check_offline_support(machine, name, original, config, context=context, variables=variables)
    retry_count = int((config or {}).get("retrierRetryCount") or 0)
    plan = _plan_offline(machine, name, original, mock, retry_count)
    if plan.precomputed is not None:  # a mocked error that a Retry takes: nothing to interpret
        given = None if input_value is None else json.loads(_json_text(input_value, "input"))
        return replace(plan.precomputed, inspection=replace(plan.precomputed.inspection, input=given))
    sfn = ctx.stepfunctions
    definition = plan.definition()
    role = role_arn or machine.role_arn or f"arn:{ctx.partition}:iam::{ctx.account_id}:role/iatk-state-test"
    try:
        created = sfn.create_state_machine(
            name=f"iatk-state-{new_xid()}",
            definition=json.dumps(definition),
            roleArn=role,
            tags=[{"key": TAG_RUN_ID, "value": current_run_id()}],
        )
    except (ClientError, BotoCoreError) as err:
        raise wrap(
            err, f"the embedded backend rejected the temporary state machine for {name!r}", StateTestError
        ) from err
    temporary = created["stateMachineArn"]
    finished = False
    try:
        start: dict[str, Any] = {"stateMachineArn": temporary}
        if input_value is not None:
            start["input"] = _json_text(input_value, "input")
        execution = sfn.start_execution(**start)["executionArn"]
        description = _wait_for_execution(sfn, execution, name, OFFLINE_TIMEOUT, known=set(definition["States"]))
        history = _history(sfn, execution)
        finished = True
    except (ClientError, BotoCoreError) as err:
        raise wrap(err, f"cannot run state {name!r} on the embedded backend", StateTestError) from err
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
    except (ClientError, BotoCoreError) as err:
        if raise_errors:
            raise wrap(err, f"cannot delete the temporary state machine {arn}", StateTestError) from err
        log.warning("cannot delete the temporary state machine %s: %s", arn, err)  # the first error wins


def _offline_result(
    name: str,
    *,
    original: Mapping[str, Any],
    plan: _Plan,
    description: Mapping[str, Any],
    events: _Events,
    retry_count: int,
    raw: Mapping[str, Any],
) -> StateResult:
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
        inspection = _mocked_inspection(original, plan, events, error_details)
    else:
        is_task = original.get("Type") == "Task"
        inspection = StateInspection(
            input=events.entered.get(name),
            after_parameters=events.task_parameters if is_task else None,
            result=events.task_result if is_task else None,
            variables=events.assigned.get(name),
            error_details=error_details,
        )
    return StateResult(
        state=name,
        status=status,
        next_state=next_state,
        output=output,
        error=error,
        cause=cause,
        inspection=inspection,
        state_type=original.get("Type"),
        offline=True,
        raw=raw,
    )


def _mocked_inspection(
    original: Mapping[str, Any], plan: _Plan, events: _Events, error_details: dict[str, Any] | None
) -> StateInspection:
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
    return StateInspection(
        input=state_input,
        after_input_path=after_input_path,
        after_parameters=after_parameters,
        result=result,
        after_result_selector=after_selector,
        after_result_path=after_result_path,
        error_details=error_details,
    )


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
            except (ClientError, BotoCoreError):
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
    except (ClientError, BotoCoreError):
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
