"""The offline evaluator's parts, without a server: intrinsic functions, paths, Choice rules, JSONata.

Expected values follow the Amazon States Language specification and the developer guide's pages
on intrinsic functions, Choice rules and JSONata.
"""

from __future__ import annotations

import base64
import hashlib
from typing import Any

import pytest

from iatk._backend.moto.asl import intrinsics, jsonata
from iatk._backend.moto.asl.choice import matches
from iatk._backend.moto.asl.errors import StatesError
from iatk._backend.moto.asl.interpreter import Refused, Run, run
from iatk._backend.moto.asl.paths import Scope, read, set_result

DOC = {"a": {"b": [1, 2, 3]}, "s": "x,y,,z", "n": 4, "items": [{"p": 1}, {"p": 5}], "nil": None}


@pytest.mark.parametrize(
    ("call", "expected"),
    [
        ("States.Format('{} and {}', $.n, $.s)", "4 and x,y,,z"),
        ("States.Format('braces \\{\\} {}', 'ok')", "braces {} ok"),
        ("States.Format('it\\'s {}', true)", "it's true"),
        ("States.StringToJson('{\"k\": [1]}')", {"k": [1]}),
        ("States.JsonToString($.a)", '{"b":[1,2,3]}'),
        ("States.Array(1, null, $.nil, 'x')", [1, None, None, "x"]),
        ("States.ArrayPartition($.a.b, 2)", [[1, 2], [3]]),
        ("States.ArrayContains($.a.b, 2)", True),
        ("States.ArrayContains($.a.b, 9)", False),
        ("States.ArrayRange(1, 9, 2)", [1, 3, 5, 7, 9]),
        ("States.ArrayGetItem($.a.b, 1)", 2),
        ("States.ArrayLength($.a.b)", 3),
        ("States.ArrayUnique(States.Array(1, 1, 'a', 'a', 2))", [1, "a", 2]),
        ("States.Base64Encode('Data to encode')", base64.b64encode(b"Data to encode").decode()),
        ("States.Base64Decode('RGF0YSB0byBlbmNvZGU=')", "Data to encode"),
        ("States.Hash('input data', 'SHA-1')", hashlib.sha1(b"input data").hexdigest()),
        ("States.JsonMerge($.a, States.StringToJson('{\"c\": 1}'), false)", {"b": [1, 2, 3], "c": 1}),
        ("States.MathAdd($.n, -1)", 3),
        ("States.StringSplit($.s, ',')", ["x", "y", "z"]),
        ("States.MathRandom(1, 2)", 1),
    ],
)
def test_intrinsic_functions(call: str, expected: Any) -> None:
    assert intrinsics.evaluate(call, DOC, Scope()) == expected


def test_uuid_and_seeded_random() -> None:
    first, second = intrinsics.evaluate("States.UUID()", {}), intrinsics.evaluate("States.UUID()", {})
    assert len(first) == 36
    assert first != second
    assert intrinsics.evaluate("States.MathRandom(0, 1000, 7)", {}) == intrinsics.evaluate(
        "States.MathRandom(0, 1000, 7)", {}
    )


@pytest.mark.parametrize(
    "call",
    [
        "States.Format('{} {}', 1)",
        "States.ArrayGetItem($.a.b, 5)",
        "States.ArrayRange(1, 2, 0)",
        "States.JsonMerge($.a, $.a, true)",
        "States.Hash('x', 'SHA-3')",
        "States.Nope(1)",
        "States.StringToJson('not json')",
    ],
)
def test_bad_intrinsic_calls_fail_with_intrinsic_failure(call: str) -> None:
    with pytest.raises(StatesError) as caught:
        intrinsics.evaluate(call, DOC, Scope())
    assert caught.value.error == "States.IntrinsicFailure"


class TestPaths:
    def test_definite_indefinite_context_and_variables(self) -> None:
        scope = Scope(context={"Execution": {"Name": "e"}}, variables={"v": {"k": [7]}})
        assert read("$.a.b[1]", DOC, scope) == 2
        assert read("$['a']['b'][-1]", DOC, scope) == 3
        assert read("$.items[*].p", DOC, scope) == [1, 5]
        assert read("$.items[?(@.p > 2)]", DOC, scope) == [{"p": 5}]
        assert read("$$.Execution.Name", DOC, scope) == "e"
        assert read("$v.k[0]", DOC, scope) == 7
        assert read("$.nil", DOC, scope) is None

    def test_a_missing_path_and_an_undefined_variable(self) -> None:
        with pytest.raises(StatesError, match="No results for path: \\$\\['a'\\]\\['zz'\\]"):
            read("$.a.zz", DOC)
        with pytest.raises(StatesError, match="variable 'nope'"):
            read("$nope", DOC)

    def test_result_path_creates_fields_and_refuses_non_objects(self) -> None:
        assert set_result({"x": 1}, "$.y.z", 2) == {"x": 1, "y": {"z": 2}}
        assert set_result({"x": 1}, None, 2) == {"x": 1}
        with pytest.raises(StatesError) as caught:
            set_result({"x": 1}, "$.x.y", 2)
        assert caught.value.error == "States.ResultPathMatchFailure"


@pytest.mark.parametrize(
    ("rule", "expected"),
    [
        ({"Variable": "$.n", "NumericEquals": 4}, True),
        ({"Variable": "$.n", "NumericGreaterThanPath": "$.a.b[2]"}, True),
        ({"Variable": "$.n", "StringEquals": "4"}, False),  # a type mismatch is false, not an error
        ({"Variable": "$.s", "StringMatches": "x,*z"}, True),
        ({"Variable": "$.s", "StringMatches": "x\\*"}, False),
        ({"Variable": "$.t", "TimestampLessThan": "2030-01-01T00:00:00Z"}, True),
        ({"Variable": "$.t", "IsTimestamp": True}, True),
        ({"Variable": "$.zz", "IsPresent": False}, True),
        ({"Variable": "$.nil", "IsNull": True}, True),
        ({"Variable": "$.n", "IsNumeric": True}, True),
        ({"Variable": "$.b", "BooleanEquals": True}, True),
        ({"And": [{"Variable": "$.n", "NumericLessThan": 5}, {"Not": {"Variable": "$.n", "NumericEquals": 3}}]}, True),
        ({"Or": [{"Variable": "$.n", "NumericLessThan": 0}, {"Variable": "$.s", "IsString": False}]}, False),
    ],
)
def test_choice_rules(rule: dict[str, Any], expected: bool) -> None:
    document = {**DOC, "t": "2020-05-01T10:00:00.123+02:00", "b": True}
    assert matches(rule, document, Scope(), jsonata_bindings=None) is expected


def test_a_choice_on_a_missing_path_is_a_runtime_error() -> None:
    with pytest.raises(StatesError, match="references an invalid value"):
        matches({"Variable": "$.zz", "NumericEquals": 1}, DOC, Scope(), jsonata_bindings=None)


def test_a_jsonata_condition_must_be_a_boolean() -> None:
    with pytest.raises(StatesError) as caught:
        matches({"Condition": "{% 1 %}"}, {}, Scope(), jsonata_bindings={"states": {}})
    assert caught.value.error == "States.QueryEvaluationError"


class TestJsonata:
    def test_only_whole_strings_are_expressions(self) -> None:
        assert jsonata.is_expression("{% 1 %}")
        assert not jsonata.is_expression(" {% 1 %}")
        assert jsonata.evaluate_template({"a": ["{% 1 + 1 %}", "$.x"]}, {}, field="Output") == {"a": [2, "$.x"]}

    def test_null_is_a_value_and_undefined_is_an_error(self) -> None:
        assert jsonata.evaluate("{% $v %}", {"v": None}, field="Output") is None
        with pytest.raises(StatesError, match="returned nothing"):
            jsonata.evaluate("{% $states.input.missing %}", {"states": {"input": {}}}, field="Output")


def _run(state: dict[str, Any], data: Any, **kwargs: Any) -> Any:
    return run(Run(name="S", state=state, input=data, **kwargs), lambda s, p: {"echo": p})


class TestInterpreter:
    def test_jsonpath_assign_reads_the_result_and_old_variables(self) -> None:
        """Assign sees the Task's result ($) and the variables as they were before the state."""
        state = {"Type": "Task", "Resource": "r", "Assign": {"got.$": "$.echo", "prev.$": "$count"}, "End": True}
        outcome = _run(state, {"k": 1}, variables={"count": 3}, mock={"result": {"echo": "hi"}})
        assert outcome.inspection["variables"] == {"count": 3, "got": "hi", "prev": 3}

    def test_jsonata_output_sees_the_variables_before_assign(self) -> None:
        state = {"Type": "Pass", "QueryLanguage": "JSONata", "Assign": {"x": 2}, "Output": "{% $x %}", "End": True}
        outcome = _run(state, {}, variables={"x": 1})
        assert (outcome.output, outcome.inspection["variables"]) == (1, {"x": 2})

    def test_an_unmocked_task_calls_the_service_with_its_effective_parameters(self) -> None:
        state = {
            "Type": "Task",
            "Resource": "r",
            "InputPath": "$.in",
            "Parameters": {"v.$": "$.v"},
            "ResultPath": "$.out",
            "End": True,
        }
        outcome = _run(state, {"in": {"v": 5}})
        assert outcome.output == {"in": {"v": 5}, "out": {"echo": {"v": 5}}}
        assert outcome.inspection["result"] == {"echo": {"v": 5}}

    @pytest.mark.parametrize("seconds", [-1, 1.5, "3"])
    def test_a_jsonata_wait_needs_a_non_negative_integer(self, seconds: Any) -> None:
        state = {"Type": "Wait", "QueryLanguage": "JSONata", "Seconds": "{% $states.input.s %}", "End": True}
        outcome = _run(state, {"s": seconds})
        assert (outcome.status, outcome.error) == ("FAILED", "States.QueryEvaluationError")

    def test_info_level_reports_no_inspection_data(self) -> None:
        outcome = _run({"Type": "Pass", "End": True}, {"a": 1}, inspection_level="INFO")
        assert outcome.inspection == {}

    def test_unmocked_sync_tasks_are_refused(self) -> None:
        with pytest.raises(Refused) as caught:
            _run({"Type": "Task", "Resource": "arn:aws:states:::states:startExecution.sync:2", "End": True}, {})
        assert caught.value.code == "ValidationException"


@pytest.mark.parametrize(
    ("state", "fields", "where"),
    [
        ({"Type": "Choice", "Default": "E"}, "Choices", "/States/S"),
        ({"Type": "Choice", "Choices": [], "Default": "E"}, "Choices", "/States/S"),
        ({"Type": "Task", "End": True}, "Resource", "/States/S"),
        ({"Type": "Parallel", "End": True}, "Branches", "/States/S"),
        ({"Type": "Map", "End": True}, "ItemProcessor", "/States/S"),
        (
            {"Type": "Choice", "Choices": [{"Variable": "$.a", "NumericEquals": 1}], "Default": "E"},
            "Next",
            "/States/S/Choices[0]",
        ),
    ],
)
def test_a_state_missing_what_its_type_requires_is_refused_as_aws_does(
    state: dict[str, Any], fields: str, where: str
) -> None:
    """AWS's definition check: InvalidDefinition 'SCHEMA_VALIDATION_FAILED: These fields are required: [...] at ...'."""
    with pytest.raises(Refused) as caught:
        run(Run(name="S", state=state, input={"a": 1}), lambda *_: None)
    assert caught.value.code == "InvalidDefinition"
    assert caught.value.message == (
        f"Invalid State Machine Definition: 'SCHEMA_VALIDATION_FAILED: These fields are required: [{fields}] at {where}'"
    )
