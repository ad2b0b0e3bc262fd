"""Cases with known answers, run offline and through the AWS path: both must answer as TestState does.

Each case names its source: the Amazon States Language specification (states-language.net, by
section), the Step Functions developer guide (by page), or "recorded from TestState" (a response
AWS's TestState API returned for that definition and request). Offline, the state runs on the
embedded backend; on the AWS path, botocore's Stubber answers TestState with the AWS-shaped response
the case expects, so the request iatk sends is checked and the answer goes through the same parsing.
Both results must be the same.
"""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any

import boto3
import botocore.session
import pytest
from botocore.stub import Stubber

from iatk._aws import aws
from iatk.exceptions import StateTestError
from iatk.states import StateInspection, StateResult, test_state

ROLE = "arn:aws:iam::123456789012:role/x"
SPEC = "ASL specification"
GUIDE = "Step Functions developer guide"
RECORDED = "recorded from TestState"
ISSUE = "recorded from TestState (issue 18)"

_CORE = botocore.session.get_session()


@dataclass(frozen=True)
class Case:
    id: str
    source: str
    state: dict[str, Any]
    input: Any = None
    options: dict[str, Any] = field(default_factory=dict)
    #: TestState's response (output as a value, inspection as values), or None for a refusal
    response: dict[str, Any] | None = None
    #: (code, message) of TestState's refusal
    refused: tuple[str, str] | None = None
    query_language: str | None = None


TASK = "arn:aws:states:::lambda:invoke"
HELLO = {"Value": "HelloWorld"}
NESTED = {
    "initialData": {"fieldFromInput": "value from input", "otherField": "other"},
    "unrelatedData": {"someOtherField": 1234},
}
TWO_BRANCHES = [
    {"StartAt": "B1", "States": {"B1": {"Type": "Pass", "End": True}}},
    {"StartAt": "B2", "States": {"B2": {"Type": "Pass", "End": True}}},
]

CASES = [
    # -- issue item 1: Wait path checks ------------------------------------------------------------
    Case(
        "wait-seconds-path-negative",
        f"{ISSUE}; {SPEC}, Wait State",
        {"Type": "Wait", "SecondsPath": "$.input.waitSeconds", "End": True},
        {"input": {"waitSeconds": -1}},
        response={
            "status": "FAILED",
            "error": "States.Runtime",
            "cause": "The SecondsPath parameter references a negative value: $.input.waitSeconds == -1",
            "inspectionData": {
                "input": {"input": {"waitSeconds": -1}},
                "afterInputPath": {"input": {"waitSeconds": -1}},
            },
        },
    ),
    Case(
        "wait-seconds-path-not-an-integer",
        f"{ISSUE}; {SPEC}, Wait State",
        {"Type": "Wait", "SecondsPath": "$.s", "End": True},
        {"s": 1.5},
        response={
            "status": "FAILED",
            "error": "States.Runtime",
            "cause": "The SecondsPath parameter cannot be parsed as a long value: $.s == 1.5",
            "inspectionData": {"input": {"s": 1.5}, "afterInputPath": {"s": 1.5}},
        },
    ),
    Case(
        "wait-timestamp-path-not-iso8601",
        f"{ISSUE}; {SPEC}, Wait State (timestamps)",
        {"Type": "Wait", "TimestampPath": "$.expirydate", "End": True},
        {"expirydate": "2016-12-05 21:29:29Z"},
        response={
            "status": "FAILED",
            "error": "States.Runtime",
            "cause": "The TimestampPath parameter does not reference a valid ISO-8601 extended offset date-time "
            "format string: $.expirydate == 2016-12-05 21:29:29Z",
            "inspectionData": {"input": {"expirydate": "2016-12-05 21:29:29Z"}},
        },
    ),
    Case(
        "wait-timestamp-path-valid",
        f"{SPEC}, Wait State (example: TimestampPath)",
        {"Type": "Wait", "TimestampPath": "$.expirydate", "Next": "After"},
        {"expirydate": "2016-03-14T01:59:00Z"},
        response={"status": "SUCCEEDED", "nextState": "After", "output": {"expirydate": "2016-03-14T01:59:00Z"}},
    ),
    # -- issue item 2: uncaught States.* errors --------------------------------------------------
    Case(
        "task-failed-does-not-catch-timeout",
        f"{ISSUE}; {SPEC}, Errors (States.TaskFailed matches any error but States.Timeout)",
        {"Type": "Task", "Resource": TASK, "Catch": [{"ErrorEquals": ["States.TaskFailed"], "Next": "H"}], "End": True},
        {},
        {"mock": {"error": "States.Timeout"}},
        response={"status": "FAILED", "error": "States.Timeout", "inspectionData": {"input": {}}},
    ),
    Case(
        "retry-max-attempts-zero",
        f"{ISSUE}; {SPEC}, Retrying after error (MaxAttempts 0: never retried)",
        {
            "Type": "Task",
            "Resource": TASK,
            "Retry": [{"ErrorEquals": ["States.Timeout"], "MaxAttempts": 0}],
            "End": True,
        },
        {},
        {"mock": {"error": "States.Timeout", "cause": "took too long"}},
        response={
            "status": "FAILED",
            "error": "States.Timeout",
            "cause": "took too long",
            "inspectionData": {"input": {}, "errorDetails": {"retryIndex": 0}},
        },
    ),
    Case(
        "states-all-catches-a-custom-error",
        f"{SPEC}, Fallback states (Catch, ResultPath)",
        {
            "Type": "Task",
            "Resource": TASK,
            "Catch": [{"ErrorEquals": ["States.ALL"], "ResultPath": "$.err", "Next": "H"}],
            "End": True,
        },
        {"a": 1},
        {"mock": {"error": "Custom.Boom", "cause": "why"}},
        response={
            "status": "CAUGHT_ERROR",
            "nextState": "H",
            "error": "Custom.Boom",
            "cause": "why",
            "output": {"a": 1, "err": {"Error": "Custom.Boom", "Cause": "why"}},
            "inspectionData": {"input": {"a": 1}, "errorDetails": {"catchIndex": 0}},
        },
    ),
    # -- issue item 3: exhausted retry -----------------------------------------------------------
    Case(
        "retry-exhausted-keeps-error-details",
        RECORDED,
        {
            "QueryLanguage": "JSONata",
            "Type": "Task",
            "Resource": TASK,
            "Arguments": {"FunctionName": "foo", "Payload": "bar"},
            "Retry": [{"ErrorEquals": ["MockException"], "IntervalSeconds": 1, "MaxAttempts": 5, "BackoffRate": 2.0}],
            "End": True,
        },
        {"Values": ["first", "second", "third"]},
        {
            "mock": {"error": "MockException", "cause": "Mock the cause of the error."},
            "state_configuration": {"retrierRetryCount": 5},
        },
        response={
            "status": "FAILED",
            "error": "MockException",
            "cause": "Mock the cause of the error.",
            "inspectionData": {
                "afterArguments": {"FunctionName": "foo", "Payload": "bar"},
                "errorDetails": {"retryIndex": 0},
                "input": {"Values": ["first", "second", "third"]},
            },
        },
    ),
    Case(
        "retry-below-max-is-retriable-with-backoff",
        RECORDED,
        {
            "QueryLanguage": "JSONata",
            "Type": "Task",
            "Resource": TASK,
            "Arguments": {"FunctionName": "foo", "Payload": "bar"},
            "Retry": [{"ErrorEquals": ["MockException"], "IntervalSeconds": 1, "MaxAttempts": 5, "BackoffRate": 2.0}],
            "End": True,
        },
        {"Values": ["first", "second", "third"]},
        {
            "mock": {"error": "MockException", "cause": "Mock the cause of the error."},
            "state_configuration": {"retrierRetryCount": 4},
        },
        response={
            "status": "RETRIABLE",
            "error": "MockException",
            "cause": "Mock the cause of the error.",
            "inspectionData": {
                "afterArguments": {"FunctionName": "foo", "Payload": "bar"},
                "errorDetails": {"retryBackoffIntervalSeconds": 16, "retryIndex": 0},
                "input": {"Values": ["first", "second", "third"]},
            },
        },
    ),
    # -- issue item 4: mock shapes ---------------------------------------------------------------
    Case(
        "parallel-mock-item-count",
        RECORDED,
        {"Type": "Parallel", "Branches": TWO_BRANCHES, "End": True},
        {},
        {"mock": {"result": [{"only": 1}]}},
        refused=(
            "ValidationException",
            "Mocked result must contain the same number of items as number of Parallel branches.",
        ),
    ),
    Case(
        "parallel-mock-not-an-array",
        RECORDED,
        {"Type": "Parallel", "Branches": TWO_BRANCHES, "End": True},
        {},
        {"mock": {"result": {"only": 1}}},
        refused=("ValidationException", "Mocked result must be an array."),
    ),
    Case(
        "map-mock-not-an-array",
        RECORDED,
        {"Type": "Map", "ItemProcessor": {"StartAt": "P", "States": {"P": {"Type": "Pass", "End": True}}}, "End": True},
        [1, 2],
        {"mock": {"result": {"only": 1}}},
        refused=("ValidationException", "Mocked result must be an array."),
    ),
    Case(
        "parallel-mocked-io",
        RECORDED,
        {
            "Type": "Parallel",
            "InputPath": "$.parallelInput",
            "ResultPath": "$.parallelResult",
            "OutputPath": "$",
            "Branches": TWO_BRANCHES,
            "End": True,
        },
        {"parallelInput": {"data": "input_value"}},
        {"mock": {"result": [{"branch1": "result"}, {"branch2": "result"}]}},
        response={
            "status": "SUCCEEDED",
            "output": {
                "parallelInput": {"data": "input_value"},
                "parallelResult": [{"branch1": "result"}, {"branch2": "result"}],
            },
            "inspectionData": {
                "afterResultPath": {
                    "parallelInput": {"data": "input_value"},
                    "parallelResult": [{"branch1": "result"}, {"branch2": "result"}],
                },
                "afterResultSelector": [{"branch1": "result"}, {"branch2": "result"}],
                "input": {"parallelInput": {"data": "input_value"}},
            },
        },
    ),
    # -- issue item 5: unmocked Map and Parallel ---------------------------------------------------
    Case(
        "unmocked-parallel",
        RECORDED,
        {"Type": "Parallel", "Branches": TWO_BRANCHES, "End": True},
        {},
        refused=(
            "InvalidDefinition",
            "TestState API does not support Map or Parallel states. Supported state types include: [Task, Wait, Pass, Succeed, Fail, Choice]",
        ),
    ),
    Case(
        "unmocked-map",
        RECORDED,
        {"Type": "Map", "ItemProcessor": {"StartAt": "P", "States": {"P": {"Type": "Pass", "End": True}}}, "End": True},
        [1],
        refused=(
            "InvalidDefinition",
            "TestState API does not support Map or Parallel states. Supported state types include: [Task, Wait, Pass, Succeed, Fail, Choice]",
        ),
    ),
    # -- issue item 6: moto's interpreter bugs ---------------------------------------------------
    Case(
        "choice-variable-missing",
        f"{ISSUE}; {SPEC}, Choice Rules",
        {
            "Type": "Choice",
            "Choices": [{"Variable": "$.type", "StringEquals": "Private", "Next": "Private"}],
            "Default": "Other",
        },
        {"value": 1},
        response={
            "status": "FAILED",
            "error": "States.Runtime",
            "cause": "Invalid path '$.type': The choice state's condition path references an invalid value.",
            "inspectionData": {"input": {"value": 1}, "afterInputPath": {"value": 1}},
        },
    ),
    Case(
        "format-with-escaped-quote",
        f"{SPEC}, Intrinsic Functions (States.Format, escapes)",
        {"Type": "Pass", "Parameters": {"greeting.$": "States.Format('{}\\'s order {}', $.name, $.n)"}, "End": True},
        {"name": "Ana", "n": 3},
        response={"status": "SUCCEEDED", "output": {"greeting": "Ana's order 3"}},
    ),
    Case(
        "array-keeps-null",
        f"{GUIDE}, Intrinsic functions (States.Array)",
        {"Type": "Pass", "Parameters": {"a.$": "States.Array('x', null, 1, $.b)"}, "End": True},
        {"b": True},
        response={"status": "SUCCEEDED", "output": {"a": ["x", None, 1, True]}},
    ),
    Case(
        "result-path-on-a-non-object",
        f"{SPEC}, ResultPath (States.ResultPathMatchFailure)",
        {"Type": "Pass", "Result": 1, "ResultPath": "$.x", "End": True},
        '"a string"',
        response={"status": "FAILED", "error": "States.ResultPathMatchFailure"},
    ),
    Case(
        "choice-no-match-no-default",
        f"{SPEC}, Choice State (States.NoChoiceMatched)",
        {"Type": "Choice", "Choices": [{"Variable": "$.n", "NumericGreaterThan": 0, "Next": "Pos"}]},
        {"n": -1},
        response={"status": "FAILED", "error": "States.NoChoiceMatched"},
    ),
    # -- issue item 7: inspection data -----------------------------------------------------------
    Case(
        "pass-io-inspection",
        RECORDED,
        {
            "Type": "Pass",
            "InputPath": "$.initialData",
            "Parameters": {"staticValue": "some value", "inputValue.$": "$.fieldFromInput"},
            "ResultPath": "$.modifiedData",
            "End": True,
        },
        NESTED,
        response={
            "status": "SUCCEEDED",
            "output": {**NESTED, "modifiedData": {"staticValue": "some value", "inputValue": "value from input"}},
            "inspectionData": {
                "afterInputPath": {"fieldFromInput": "value from input", "otherField": "other"},
                "afterParameters": {"staticValue": "some value", "inputValue": "value from input"},
                "afterResultPath": {
                    **NESTED,
                    "modifiedData": {"staticValue": "some value", "inputValue": "value from input"},
                },
                "afterResultSelector": {"staticValue": "some value", "inputValue": "value from input"},
                "input": NESTED,
            },
        },
    ),
    Case(
        "pass-result-inspection",
        RECORDED,
        {"Type": "Pass", "Result": {"resultKey": "result value"}, "End": True},
        HELLO,
        response={
            "status": "SUCCEEDED",
            "output": {"resultKey": "result value"},
            "inspectionData": {
                "afterResultPath": {"resultKey": "result value"},
                "afterResultSelector": {"resultKey": "result value"},
                "input": HELLO,
                "result": {"resultKey": "result value"},
            },
        },
    ),
    Case(
        "fail-inspection",
        RECORDED,
        {"Type": "Fail", "Error": "SomeFailure", "Cause": "This state machines raises a 'SomeFailure' failure."},
        HELLO,
        response={
            "status": "FAILED",
            "error": "SomeFailure",
            "cause": "This state machines raises a 'SomeFailure' failure.",
            "inspectionData": {"afterInputPath": HELLO, "input": HELLO},
        },
    ),
    Case(
        "succeed-inspection",
        RECORDED,
        {"Type": "Succeed"},
        HELLO,
        response={"status": "SUCCEEDED", "output": HELLO, "inspectionData": {"afterInputPath": HELLO, "input": HELLO}},
    ),
    Case(
        "choice-inspection",
        RECORDED,
        {
            "Type": "Choice",
            "Choices": [
                {"Not": {"Variable": "$.type", "StringEquals": "Private"}, "Next": "Public"},
                {"Variable": "$.value", "NumericEquals": 0, "Next": "ValueIsZero"},
                {
                    "And": [
                        {"Variable": "$.value", "NumericGreaterThanEquals": 20},
                        {"Variable": "$.value", "NumericLessThan": 30},
                    ],
                    "Next": "ValueInTwenties",
                },
            ],
            "Default": "DefaultState",
        },
        {"type": "Private", "value": 22},
        response={
            "status": "SUCCEEDED",
            "nextState": "ValueInTwenties",
            "output": {"type": "Private", "value": 22},
            "inspectionData": {
                "afterInputPath": {"type": "Private", "value": 22},
                "input": {"type": "Private", "value": 22},
            },
        },
    ),
    Case(
        "fail-cause-path-intrinsic",
        f"{GUIDE}, Fail state (CausePath with an intrinsic function)",
        {"Type": "Fail", "ErrorPath": "$.code", "CausePath": "States.Format('order {} failed', $.id)"},
        {"code": "Order.Failed", "id": 7},
        response={"status": "FAILED", "error": "Order.Failed", "cause": "order 7 failed"},
    ),
    # -- issue item 8: JSONata, variables, context -----------------------------------------------
    Case(
        "jsonata-task-catch-states",
        RECORDED,
        {
            "QueryLanguage": "JSONata",
            "Type": "Task",
            "Resource": TASK,
            "Arguments": {"FunctionName": "foo", "Payload": "bar"},
            "Catch": [
                {"ErrorEquals": ["MockException"], "Output": "{% $states.errorOutput %}", "Next": "HandleMockError"},
                {"ErrorEquals": ["States.TaskFailed"], "Output": "{% $states.input %}", "Next": "HandleThreshold"},
            ],
            "End": True,
        },
        HELLO,
        {"mock": {"error": "MockException", "cause": "Mock the cause of the error."}},
        response={
            "status": "CAUGHT_ERROR",
            "nextState": "HandleMockError",
            "error": "MockException",
            "cause": "Mock the cause of the error.",
            "output": {"Error": "MockException", "Cause": "Mock the cause of the error."},
            "inspectionData": {
                "afterArguments": {"FunctionName": "foo", "Payload": "bar"},
                "errorDetails": {"catchIndex": 0},
                "input": HELLO,
            },
        },
    ),
    Case(
        "jsonata-parallel-mocked",
        RECORDED,
        {
            "Type": "Parallel",
            "QueryLanguage": "JSONata",
            "Arguments": "{% $states.input.parallelInput %}",
            "Output": {"parallelInput": "{% $states.input.parallelInput %}", "parallelResult": "{% $states.result %}"},
            "Branches": TWO_BRANCHES,
            "End": True,
        },
        {"parallelInput": {"data": "input_value"}},
        {"mock": {"result": [{"branch1": "result"}, {"branch2": "result"}]}},
        response={
            "status": "SUCCEEDED",
            "output": {
                "parallelInput": {"data": "input_value"},
                "parallelResult": [{"branch1": "result"}, {"branch2": "result"}],
            },
            "inspectionData": {"input": {"parallelInput": {"data": "input_value"}}},
        },
    ),
    Case(
        "jsonata-pass-variables",
        RECORDED,
        {
            "Type": "Pass",
            "QueryLanguage": "JSONata",
            "Assign": {"var_constant_1": 10},
            "Output": {
                "ja_var_access": "{% $var_input_value %}",
                "ja_expr": "{% $sum($states.input.input_values) + $var_constant_1 %}",
            },
            "End": True,
        },
        {"input_values": [1, 2, 3]},
        {"variables": {"var_input_value": "test_value", "var_constant_1": 10}},
        response={
            "status": "SUCCEEDED",
            "output": {"ja_var_access": "test_value", "ja_expr": 16},
            "inspectionData": {
                "input": {"input_values": [1, 2, 3]},
                "variables": {"var_input_value": "test_value", "var_constant_1": 10},
            },
        },
    ),
    Case(
        "jsonata-constants-are-not-expressions",
        RECORDED,
        {
            "Type": "Pass",
            "QueryLanguage": "JSONata",
            "Output": {
                "constant_not_jsonata": " {% states.input %} ",
                "constant_jp_input.$": "$",
                "constant_if": "States.Format('Format:{}', 101)",
                "constant_lst": [None, 0, 0.1, True, [], {"constant": 0}, "$states.input"],
            },
            "End": True,
        },
        {"input_values": [1, 2, 3]},
        response={
            "status": "SUCCEEDED",
            "output": {
                "constant_not_jsonata": " {% states.input %} ",
                "constant_jp_input.$": "$",
                "constant_if": "States.Format('Format:{}', 101)",
                "constant_lst": [None, 0, 0.1, True, [], {"constant": 0}, "$states.input"],
            },
            "inspectionData": {"input": {"input_values": [1, 2, 3]}},
        },
    ),
    Case(
        "task-context-object",
        RECORDED,
        {
            "Type": "Task",
            "Resource": TASK,
            "Parameters": {"FunctionName.$": "$.FunctionName", "Payload": {"Input.$": "$"}},
            "ResultSelector": {"ContextObjectValue.$": "$$.Execution.Input.values", "LambdaOutput.$": "$"},
            "End": True,
        },
        {"FunctionName": "lambda_function_name", "Payload": {"input-value": 0}},
        {
            "mock": {"result": {"pokemon": ["charizard", "pikachu", "bulbasaur"]}},
            "context": {
                "Execution": {
                    "Id": "arn:aws:states:::execution:MyStateMachine:execution-name-12345",
                    "Input": {
                        "input-value": 0,
                        "message": "test data",
                        "values": ["charizard", "pikachu", "bulbasaur"],
                    },
                    "Name": "execution-name-12345",
                    "RoleArn": "arn:aws:iam:::role/StepFunctionsRole",
                    "StartTime": "2025-01-01T00:00:00.000Z",
                },
                "State": {"EnteredTime": "2025-01-01T00:00:00.000Z", "Name": "MyTaskState", "RetryCount": 0},
                "StateMachine": {"Id": "arn:aws:states:::stateMachine:MyStateMachine", "Name": "MyStateMachine"},
            },
        },
        response={
            "status": "SUCCEEDED",
            "output": {
                "ContextObjectValue": ["charizard", "pikachu", "bulbasaur"],
                "LambdaOutput": {"pokemon": ["charizard", "pikachu", "bulbasaur"]},
            },
            "inspectionData": {
                "afterInputPath": {"FunctionName": "lambda_function_name", "Payload": {"input-value": 0}},
                "afterParameters": {
                    "Payload": {"Input": {"FunctionName": "lambda_function_name", "Payload": {"input-value": 0}}},
                    "FunctionName": "lambda_function_name",
                },
                "result": {"pokemon": ["charizard", "pikachu", "bulbasaur"]},
                "input": {"FunctionName": "lambda_function_name", "Payload": {"input-value": 0}},
            },
        },
    ),
    Case(
        "context-field-not-allowed",
        RECORDED,
        {"Type": "Task", "Resource": TASK, "End": True},
        {},
        {"mock": {"result": {}}, "context": {"Pokedex": {}}},
        refused=("ValidationException", "Invalid Context object provided: Field 'Pokedex' is not allowed"),
    ),
    Case(
        "context-map-not-allowed",
        RECORDED,
        {"Type": "Task", "Resource": TASK, "End": True},
        {},
        {"mock": {"result": {}}, "context": {"Map": {"Item": {}}}},
        refused=(
            "ValidationException",
            "Invalid Context object provided: 'Map' field is not supported when mocking a Context object",
        ),
    ),
    Case(
        "map-tolerated-failures-exceeded-is-caught",
        RECORDED,
        {
            "Type": "Map",
            "QueryLanguage": "JSONata",
            "Items": "{% $states.input.Values %}",
            "ItemProcessor": {
                "ProcessorConfig": {"Mode": "INLINE"},
                "StartAt": "T",
                "States": {"T": {"Type": "Pass", "End": True}},
            },
            "Catch": [
                {"ErrorEquals": ["MockException"], "Next": "HandleMockError"},
                {"ErrorEquals": ["States.ExceedToleratedFailureThreshold"], "Next": "HandleThreshold"},
            ],
            "ToleratedFailureCount": 1,
            "End": True,
        },
        {"Values": ["first", "second", "third"]},
        {"mock": {"result": [0, 0, 1]}, "state_configuration": {"mapIterationFailureCount": 2}},
        response={
            "status": "CAUGHT_ERROR",
            "nextState": "HandleThreshold",
            "error": "States.ExceedToleratedFailureThreshold",
            "cause": "The specified tolerated failure threshold was exceeded",
            "output": {
                "Error": "States.ExceedToleratedFailureThreshold",
                "Cause": "The specified tolerated failure threshold was exceeded",
            },
            "inspectionData": {
                "errorDetails": {"catchIndex": 1},
                "input": {"Values": ["first", "second", "third"]},
                "maxConcurrency": 0,
                "toleratedFailureCount": 1,
            },
        },
    ),
    Case(
        "map-failure-count-without-mock",
        RECORDED,
        {"Type": "Map", "ItemProcessor": {"StartAt": "P", "States": {"P": {"Type": "Pass", "End": True}}}, "End": True},
        [1],
        {"state_configuration": {"mapIterationFailureCount": 1}},
        refused=(
            "ValidationException",
            "TestState does not support MapIterationFailureCount when a mock is not specified.",
        ),
    ),
    Case(
        "wait-seconds-inspection",
        f"{SPEC}, Wait State (Seconds)",
        {"Type": "Wait", "Seconds": 1, "End": True},
        {},
        response={"status": "SUCCEEDED", "output": {}, "inspectionData": {"input": {}, "afterInputPath": {}}},
    ),
]

#: TestState inspection values are JSON text, except these.
_NOT_JSON = ("errorDetails", "maxConcurrency", "toleratedFailureCount", "toleratedFailurePercentage")


def _machine(case: Case) -> dict[str, Any]:
    name = "StateName"
    states: dict[str, Any] = {name: case.state}
    targets = {case.state.get("Next"), case.state.get("Default")}
    targets |= {rule.get("Next") for rule in case.state.get("Choices") or []}
    targets |= {catcher.get("Next") for catcher in case.state.get("Catch") or []}
    for target in sorted(t for t in targets if t):
        states[target] = {"Type": "Succeed"}
    return {"StartAt": name, "States": states}


def _aws_response(response: Mapping[str, Any]) -> dict[str, Any]:
    shaped = {k: v for k, v in response.items() if k not in ("output", "inspectionData")}
    if "output" in response:
        shaped["output"] = json.dumps(response["output"])
    if "inspectionData" in response:
        shaped["inspectionData"] = {
            k: v if k in _NOT_JSON else json.dumps(v) for k, v in response["inspectionData"].items()
        }
    return shaped


def _check(result: StateResult, expected: Mapping[str, Any]) -> None:
    assert result.status == expected["status"]
    assert result.next_state == expected.get("nextState")
    assert result.output == expected.get("output")
    assert result.error == expected.get("error")
    if "cause" in expected:
        assert result.cause == expected["cause"]
    wanted = StateInspection.from_api(_aws_response(expected).get("inspectionData"))
    for stage, value in wanted.stages():
        assert getattr(result.inspection, stage) == value, stage


@pytest.fixture(scope="module")
def aws_session() -> boto3.Session:
    return boto3.Session(
        aws_access_key_id="x", aws_secret_access_key="x", region_name="us-east-1", botocore_session=_CORE
    )


@pytest.fixture
def offline(sfn_session) -> Iterator[Any]:
    sfn = sfn_session.client("stepfunctions")
    created: list[str] = []

    def make(case: Case) -> str:
        arn = sfn.create_state_machine(
            name=f"case-{case.id}-{uuid.uuid4().hex[:6]}", definition=json.dumps(_machine(case)), roleArn=ROLE
        )["stateMachineArn"]
        created.append(arn)
        return arn

    yield make
    for arn in created:
        sfn.delete_state_machine(stateMachineArn=arn)


def _on_aws(session: boto3.Session, case: Case, arn: str) -> Any:
    """Run the case through the AWS path, TestState answered by the Stubber; returns the result or the error."""
    definition = json.dumps(_machine(case))
    client = aws(session).stepfunctions
    with Stubber(client) as stub:
        stub.add_response(
            "describe_state_machine",
            {
                "stateMachineArn": arn,
                "name": arn.rsplit(":", 1)[-1],
                "definition": definition,
                "roleArn": ROLE,
                "type": "STANDARD",
                "creationDate": datetime(2026, 1, 1, tzinfo=timezone.utc),
            },
            {"stateMachineArn": arn},
        )
        expected_request: dict[str, Any] = {
            "definition": definition,
            "stateName": "StateName",
            "roleArn": ROLE,
            "inspectionLevel": "DEBUG",
        }
        if case.input is not None:
            expected_request["input"] = case.input if isinstance(case.input, str) else json.dumps(case.input)
        options = case.options
        if "mock" in options:  # TestState's mock: the result as JSON text, or the error output
            mock = options["mock"]
            expected_request["mock"] = (
                {"result": json.dumps(mock["result"])}
                if "result" in mock
                else {"errorOutput": {k: mock[k] for k in ("error", "cause") if k in mock}}
            )
        for key in ("context", "variables"):
            if key in options:
                expected_request[key] = json.dumps(options[key])
        if "state_configuration" in options:
            expected_request["stateConfiguration"] = options["state_configuration"]
        if case.refused:
            stub.add_client_error("test_state", case.refused[0], case.refused[1], 400, expected_params=expected_request)
        else:
            assert case.response is not None
            stub.add_response("test_state", _aws_response(case.response), expected_request)
        try:
            return test_state(arn, "StateName", case.input, session=session, **case.options)
        except StateTestError as err:
            return err
        finally:
            stub.assert_no_pending_responses()


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_both_backends_answer_as_teststate(case: Case, offline, sfn_session, aws_session) -> None:
    """Offline and through the AWS path (recorded answer), the result is TestState's."""
    arn = offline(case)
    if case.refused:
        with pytest.raises(StateTestError) as caught:
            test_state(arn, "StateName", case.input, session=sfn_session, **case.options)
        code, message = case.refused
        assert caught.value.code == code
        assert f"{code}: {message.rstrip('.')}" in str(caught.value)
        on_aws = _on_aws(aws_session, case, arn)
        assert isinstance(on_aws, StateTestError)
        assert (on_aws.code, str(on_aws)) == (caught.value.code, str(caught.value))
        return
    assert case.response is not None
    result = test_state(arn, "StateName", case.input, session=sfn_session, **case.options)
    _check(result, case.response)
    on_aws = _on_aws(aws_session, case, arn)
    assert isinstance(on_aws, StateResult), on_aws
    _check(on_aws, case.response)
    assert (on_aws.status, on_aws.next_state, on_aws.output, on_aws.error) == (
        result.status,
        result.next_state,
        result.output,
        result.error,
    )


#: The cases moto's own interpreter answers wrongly (why iatk evaluates states itself).
MOTO_WRONG = {
    "choice-variable-missing": "moto takes the Default",
    "format-with-escaped-quote": "moto fails with an IndexError",
    "array-keeps-null": "moto drops the null",
    "result-path-on-a-non-object": "moto fails with States.Runtime (a TypeError)",
}


@pytest.mark.parametrize(
    "case",
    [
        pytest.param(c, marks=pytest.mark.xfail(strict=True, reason=MOTO_WRONG[c.id]), id=c.id)
        for c in CASES
        if c.id in MOTO_WRONG
    ],
)
def test_plain_moto_answers_these_wrongly(case: Case, sfn_session) -> None:
    """The same state in an execution on moto's interpreter: not TestState's answer (xfail, strict).

    Each case passes offline above because iatk does not use moto's interpreter for it; this test
    fails (as expected) while moto keeps the bug, and turns into an XPASS failure once moto fixes it.
    """
    sfn = sfn_session.client("stepfunctions")
    arn = sfn.create_state_machine(
        name=f"plain-{case.id}-{uuid.uuid4().hex[:6]}", definition=json.dumps(_machine(case)), roleArn=ROLE
    )["stateMachineArn"]
    try:
        data = case.input if isinstance(case.input, str) else json.dumps(case.input)
        execution = sfn.start_execution(stateMachineArn=arn, input=data)["executionArn"]
        for _ in range(500):
            described = sfn.describe_execution(executionArn=execution)
            if described["status"] != "RUNNING":
                break
            time.sleep(0.01)
    finally:
        sfn.delete_state_machine(stateMachineArn=arn)
    assert case.response is not None
    expected = case.response
    assert described["status"] == expected["status"]
    if expected["status"] == "FAILED":
        assert (described.get("error"), described.get("cause")) == (
            expected["error"],
            expected.get("cause", described.get("cause")),
        )
    else:
        assert json.loads(described["output"]) == expected["output"]
