"""Every recursive walker of user input is bounded: a typed error saying how deep is supported, never a
bare RecursionError (issue 22, items 4 and 5). Each input is built in a loop, 1,500 levels deep (or
just past the walker's bound), and also at the bound, where it must still work."""

from __future__ import annotations

import json
from typing import Any

import pytest

import iatk
from iatk._nesting import MAX_NESTING, too_deep
from iatk.matchers import match, pattern, validate_pattern
from iatk.matchers._pattern import MAX_PATTERN_CHARS, MAX_PATTERN_DEPTH

DEEP = 1500


def nested_dict(depth: int, leaf: Any, key: str = "a") -> Any:
    """``{"a": {"a": ... leaf}}`` with ``depth`` objects."""
    node = leaf
    for _ in range(depth):
        node = {key: node}
    return node


def nested_list(depth: int, leaf: Any) -> Any:
    node = leaf
    for _ in range(depth):
        node = [node]
    return node


# -- the measure itself -------------------------------------------------------------------------------


def test_too_deep_measures_without_recursion_and_says_where():
    assert too_deep({"a": [1, {"b": 2}]}, 3) is None
    assert too_deep({"a": [1, {"b": 2}]}, 2) == "$.a[1]"
    assert too_deep(nested_dict(100_000, 1), 10) == "$.a.a.a.a.a.a.a.a…"  # 100,000 deep: still a loop
    assert too_deep(1, 0) is None
    assert too_deep({}, 0) == "$"


def test_a_value_that_contains_itself_is_past_any_bound():
    loop: dict[str, Any] = {}
    loop["self"] = loop
    assert too_deep(loop, MAX_NESTING) is not None


# -- patterns and matchers -----------------------------------------------------------------------------


def test_a_pattern_at_the_bound_is_valid_and_matches():
    raw = nested_dict(MAX_PATTERN_DEPTH - 1, ["x"])  # the leaf list is the last level
    validate_pattern(raw)
    assert pattern(raw).test(nested_dict(MAX_PATTERN_DEPTH - 1, "x")).matched
    assert not pattern(raw).test(nested_dict(MAX_PATTERN_DEPTH - 1, "y")).matched


@pytest.mark.parametrize("depth", [MAX_PATTERN_DEPTH + 1, 200, DEEP])
def test_a_pattern_nested_past_the_bound_is_a_pattern_error(depth):
    with pytest.raises(iatk.PatternError, match=rf"nests deeper than {MAX_PATTERN_DEPTH} levels .*at \$\.a\.a"):
        validate_pattern(nested_dict(depth - 1, ["x"]))


def test_pattern_text_nested_past_what_json_reads_is_a_pattern_error():
    text = '{"a":' * DEEP + '["x"]' + "}" * DEEP
    with pytest.raises(iatk.PatternError, match="nests deeper than"):
        validate_pattern(text)


def test_match_keywords_nested_past_the_bound_are_a_pattern_error():
    with pytest.raises(iatk.PatternError, match="nests deeper than"):
        match(detail=nested_dict(DEEP, "x"))


def test_a_pattern_longer_than_put_rule_takes_is_a_pattern_error():
    values = [f"value-{n:05d}" for n in range(400)]  # ~5,600 characters as JSON
    assert len(json.dumps({"source": values}, separators=(",", ":"))) > MAX_PATTERN_CHARS
    with pytest.raises(iatk.PatternError, match=r"characters as JSON; PutRule takes at most 4096"):
        validate_pattern({"source": values})
    validate_pattern({"source": values[:200]})  # ~2,800: under PutRule's maximum


def test_an_event_with_arrays_nested_1500_deep_is_matched():
    """The evaluator flattens an event's arrays in a loop: a hand-made event cannot crash a wait."""
    event = {"detail": {"tags": nested_list(DEEP, "x"), "items": nested_list(DEEP, {"id": 1})}}
    assert match(detail={"tags": "x"}).test(event).matched
    assert match(detail={"items": {"id": 1}}).test(event).matched
    result = match(detail={"tags": "y"}).test(event)
    assert not result.matched
    assert "expected" in result.reason


def test_a_mismatch_shows_a_value_too_deep_to_render():
    result = match(detail={"x": "y"}).test({"detail": {"x": nested_dict(DEEP, 1)}})
    assert not result.matched
    assert "detail.x" in result.reason


# -- schemas (mock_events) -----------------------------------------------------------------------------


def object_schema(depth: int) -> dict[str, Any]:
    """A JSON Schema whose required property ``a`` nests ``depth`` objects deep."""
    node: dict[str, Any] = {"type": "string"}
    for _ in range(depth):
        node = {"type": "object", "required": ["a"], "properties": {"a": node}}
    return {"$schema": "http://json-schema.org/draft-04/schema#", **node}


def test_a_schema_at_the_bound_generates():
    from iatk.mock_events._schema import MAX_SCHEMA_NODES

    event = iatk.mock_event(schema_text=object_schema(MAX_SCHEMA_NODES - 2))
    assert too_deep(event, MAX_SCHEMA_NODES - 3) is not None  # it is that deep
    assert too_deep(event, MAX_SCHEMA_NODES - 2) is None


@pytest.mark.parametrize("form", ["dict", "json", "yaml"])
def test_a_schema_nested_1500_deep_is_a_schema_error_saying_how_deep_is_supported(form):
    if form == "dict":
        given: Any = object_schema(DEEP)
    elif form == "json":
        given = '{"type":"object","required":["a"],"properties":{"a":' * DEEP + '{"type":"string"}' + "}}" * DEEP
    else:
        given = "".join("  " * i + "a:\n" for i in range(DEEP)) + "  " * DEEP + "b: 1\n"
    with pytest.raises(iatk.SchemaError, match=r"nests (deeper than 300 levels|too deep).*iatk (reads|generates)"):
        iatk.mock_event(schema_text=given)


def test_recursion_through_refs_past_the_bound_is_a_schema_error():
    """$ref chains go deeper than the document: the generator's own bound, a SchemaError naming it."""
    schemas = {f"N{n}": {"type": "object", "required": ["next"], "properties": {"next": {"$ref": f"#/definitions/N{n + 1}"}}}
               for n in range(150)}  # fmt: skip
    schemas["N150"] = {"type": "string"}
    schema = {"$schema": "http://json-schema.org/draft-04/schema#", "definitions": schemas, "$ref": "#/definitions/N0"}
    with pytest.raises(iatk.SchemaError, match=r"deeper than 100 schema nodes"):
        iatk.mock_event(schema_text=schema)


def test_a_deep_dict_given_as_the_wrong_argument_is_named_not_repr_crashed():
    with pytest.raises(iatk.ConfigError, match="needs registry="):
        iatk.mock_event(schema=nested_dict(DEEP, 1))  # type: ignore[arg-type]


# -- state definitions (the offline TestState's evaluator) ------------------------------------------------


def _run_state(state: dict[str, Any], data: Any) -> Any:
    from iatk._backend.moto.asl.interpreter import Run, run

    return run(Run(name="S", state=state, input=data), lambda state, parameters: {"echo": parameters})


def test_a_state_at_the_bound_runs():
    from iatk._backend.moto.asl.interpreter import MAX_STATE_NESTING

    parameters = nested_dict(MAX_STATE_NESTING - 3, "v")  # Parameters and the state itself are two levels
    outcome = _run_state({"Type": "Pass", "Parameters": parameters, "End": True}, {})
    assert outcome.status == "SUCCEEDED"
    assert too_deep(outcome.output, MAX_STATE_NESTING - 4) is not None


@pytest.mark.parametrize(
    ("state", "data", "code", "what"),
    [
        ({"Type": "Pass", "Parameters": nested_dict(DEEP, "v"), "End": True}, {}, "InvalidDefinition", "the state definition"),
        ({"Type": "Choice", "Choices": [{"Next": "X", **nested_dict(DEEP, {"Variable": "$.a", "IsPresent": True}, "Not")}]},
         {}, "InvalidDefinition", "the state definition"),
        ({"Type": "Pass", "End": True}, nested_dict(DEEP, 1), "ValidationException", "the input"),
    ],
)  # fmt: skip
def test_a_state_or_input_nested_1500_deep_is_refused_saying_how_deep_is_supported(state, data, code, what):
    from iatk._backend.moto.asl.interpreter import Refused

    with pytest.raises(Refused) as caught:
        _run_state(state, data)
    assert caught.value.code == code
    assert f"{what} nests deeper than 100 levels" in caught.value.message


def test_a_schema_pattern_with_groups_nested_1500_deep_is_unsupported_not_a_crash():
    schema = {
        "type": "object",
        "required": ["s"],
        "properties": {"s": {"type": "string", "pattern": "(" * DEEP + "a" + ")" * DEEP}},
    }
    with pytest.raises(iatk.SchemaError, match=r"groups nest 1500 deep; iatk reads patterns nested up to 50"):
        iatk.mock_event(schema_text=schema)


def test_overrides_nested_past_the_bound_are_a_config_error():
    with pytest.raises(iatk.ConfigError, match=r"overrides nests deeper than 100 levels .*at overrides\.a\.x\.x"):
        iatk.mock_event(schema_text={"type": "object"}, overrides={"a": nested_dict(DEEP, 1, "x")})
