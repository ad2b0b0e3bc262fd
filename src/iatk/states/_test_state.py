"""One state through the TestState API: the request, fitting it to the installed botocore, errors.

:func:`test_state` reads the deployed definition (:mod:`._machine`), checks the mock, the input and
the options, and sends the whole definition with ``stateName``. On the embedded backend the state
runs on the offline emulator (:mod:`iatk._backend.moto.states`) instead, imported only then.

Against AWS, a non-AWS endpoint that lacks TestState (moto's HTML 500, ``UnknownOperationException``)
is reported as such, pointing to the emulation.
"""

# ruff: noqa: PT028 - test_state is the API's name, not a pytest test (its __test__ is False)
from __future__ import annotations

import json
import logging
from collections.abc import Mapping
from dataclasses import replace
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from botocore.exceptions import ClientError

from iatk._aws import BOTO_ERRORS, AwsContext, aws, error_code, frameless, wrap
from iatk.exceptions import ConfigError, StateTestError

from ._machine import Machine, StateMachineRef, read_machine
from ._results import StateResult

if TYPE_CHECKING:
    import boto3

__all__ = ["INSPECTION_LEVELS", "MOCKABLE_TYPES", "test_state"]

log = logging.getLogger("iatk.states")

INSPECTION_LEVELS = ("INFO", "DEBUG", "TRACE")
#: TestState takes a mock only for these state types.
MOCKABLE_TYPES = frozenset({"Task", "Map", "Parallel"})


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


# -- the call ----------------------------------------------------------------------------------
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
    on iatk's offline TestState emulator instead (see the module docs for what it covers).

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
    machine = read_machine(ctx, state_machine)
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
            level=level,
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
    except BOTO_ERRORS as err:
        endpoint = str(client.meta.endpoint_url)
        if isinstance(err, ClientError) and not _is_aws_endpoint(endpoint) and _not_implemented(err):
            raise StateTestError(
                f"TestState is not available at {endpoint} (it answered {_answer(err)}): moto and other "
                "emulators do not implement it. Run the state on iatk's emulation instead: the embedded backend "
                "(pytest --iatk-backend=moto, or a session from iatk.embedded_session()), or from the shell "
                f"`iatk test-state --backend moto --endpoint-url {endpoint} ...` for a moto server",
                code=error_code(err),
            ) from frameless(err)
        if isinstance(err, ClientError) and error_code(err) in ("ValidationException", "InvalidDefinition"):
            message = str(err.response.get("Error", {}).get("Message") or "")
            raise _refused(state, machine.arn, str(error_code(err)), message, state_type) from frameless(err)
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


def _not_implemented(err: ClientError) -> bool:
    code = error_code(err) or ""
    status = int(err.response.get("ResponseMetadata", {}).get("HTTPStatusCode") or 0)
    return code in _NOT_IMPLEMENTED_CODES or status in (404, 501) or (status >= 500 and code.isdigit())


def _answer(err: ClientError) -> str:
    status = err.response.get("ResponseMetadata", {}).get("HTTPStatusCode")
    code = error_code(err)
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


# -- refusals ----------------------------------------------------------------------------------
def _hint(code: str | None, message: str, state: str, state_type: str | None) -> str:
    """What to do about a refusal TestState gives (the same on both backends)."""
    if code == "InvalidDefinition" and "Map or Parallel" in message:
        shape = "[<branch 1 result>, <branch 2 result>, ...]" if state_type == "Parallel" else "[<item results>...]"
        return (
            f". TestState runs a {state_type or 'Map or Parallel'} state only with a mock of its result: "
            f"test_state(..., {state!r}, mock={{'result': {shape}}}) or {{'error': 'Code', 'cause': '...'}}; in a "
            f"walk, walk_states(..., mocks={{{state!r}: {{'result': ...}}}}). Test its inner states one by one"
        )
    if "mock is specified" in message or "when a mock is not specified" in message:
        return ". Give the state a mock ({'result': ...} or {'error': ...}) to test it"
    return ""


def _refused(state: str, arn: str, code: str, message: str, state_type: str | None) -> StateTestError:
    return StateTestError(
        f"TestState failed for state {state!r} of {arn}: {code}: {message.rstrip('.')}"
        f"{_hint(code, message, state, state_type)}",
        code=code,
    )


def _inner_states(definition: Mapping[str, Any]) -> tuple[str, ...]:
    names: list[str] = []
    containers = [*(definition.get("Branches") or [])]
    for key in ("ItemProcessor", "Iterator"):
        if isinstance(definition.get(key), Mapping):
            containers.append(definition[key])
    for container in containers:
        states = container.get("States") if isinstance(container, Mapping) else None
        for name, inner in (states or {}).items():
            names.append(name)
            if isinstance(inner, Mapping):
                names.extend(_inner_states(inner))
    return tuple(names)


# -- offline -----------------------------------------------------------------------------------
def _run_offline(
    ctx: AwsContext,
    *,
    machine: Machine,
    name: str,
    original: dict[str, Any],
    input_value: Any,
    mock: Mapping[str, Any] | None,
    role_arn: str | None,
    config: Mapping[str, Any] | None,
    context: Any,
    variables: Any,
    level: str,
) -> StateResult:
    """Run the state on the embedded backend's emulator (moto has no TestState); see the module docs.

    The emulator is imported here, on embedded sessions only: it depends on no part of iatk.states
    (it returns a TestState-shaped response; the result is built here, as from AWS's), so the
    dependency goes one way.
    """
    from iatk._backend.moto import states as emulator

    emulator.check_support(name, machine.query_language(original), config, context=context, variables=variables)
    settings = dict(config or {})
    try:
        outcome = emulator.run_state(
            ctx,
            emulator.OfflineRequest(
                name=name,
                state=original,
                input_text=None if input_value is None else _json_text(input_value, "input"),
                mock=mock,
                role_arn=role_arn or machine.role_arn,
                retry_count=int(settings.pop("retrierRetryCount", 0) or 0),
                machine_arn=machine.arn,
                query_language=machine.query_language(original),
                variables_text=None if variables is None else _json_text(variables, "variables"),
                context_text=None if context is None else _json_text(context, "context"),
                config=settings,
                inspection_level=level,
                inner_states=_inner_states(original),
            ),
        )
    except emulator.Refused as refusal:
        raise _refused(name, machine.arn, refusal.code, refusal.message, original.get("Type")) from None
    result = StateResult.from_api(name, outcome.response, state_type=original.get("Type"))
    return replace(result, offline=True, raw=outcome.raw)
