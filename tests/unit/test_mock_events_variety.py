"""Issue 19: events valid where keywords must be met together, no wrong refusals, variety across seeds,
boundary mode, mock_events, strategy(), and aws.* sources refused for PutEvents."""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import jsonschema
import pytest
from hypothesis import HealthCheck, given, settings

import iatk
from iatk.exceptions import ConfigError, SchemaError
from iatk.mock_events import load_schema, mock_event, mock_events, strategy, to_json_schema, to_put_events_entry

SCHEMAS = Path(__file__).resolve().parents[1] / "data" / "schemas"
SEEDS = [None, *range(40)]


def wrapped(node: Mapping[str, Any]) -> dict[str, Any]:
    return {"type": "object", "required": ["v"], "properties": {"v": node}}


def valid(document: Mapping[str, Any], event: Any) -> list[str]:
    cls = jsonschema.validators.validator_for(document)
    return [error.message for error in cls(document, format_checker=cls.FORMAT_CHECKER).iter_errors(event)]


# -- 1. keywords that construction alone misses: the event is valid, or the generator says why not

HARD = [
    {"allOf": [{"type": "string", "pattern": "^s3://[a-z]+/[a-z/]*/$"}, {"pattern": ".*/logs/.*"}]},
    {
        "allOf": [
            {"type": "string", "pattern": "^[A-Z]{3}-"},
            {"oneOf": [{"pattern": "-[0-9]{4}$"}, {"pattern": "^XYZ"}]},
        ]
    },
    {"allOf": [{"type": "integer", "multipleOf": 2}, {"multipleOf": 3}]},
    {"allOf": [{"type": "number", "multipleOf": 0.5}, {"multipleOf": 0.3}, {"maximum": 20}]},
    {"allOf": [{"type": "integer", "minimum": 0, "exclusiveMaximum": 50}, {"exclusiveMaximum": 10}]},
    {
        "oneOf": [
            {"type": "object", "properties": {"a": {"type": "string"}}},
            {"type": "object", "properties": {"a": {"type": "string"}}, "required": ["a"]},
        ]
    },
    {"oneOf": [{"type": "integer", "minimum": 0}, {"type": "integer", "maximum": 100}]},
    {"oneOf": [{"type": "string"}, {"type": "string", "maxLength": 8}]},
    {"type": "string", "enum": [None, "x"]},
    {"type": "integer", "enum": ["1", 2.5, 3]},
    {"type": "string", "example": 5, "enum": ["a", "b"]},
    {"type": "string", "maxLength": 3, "default": "too long"},
    {"allOf": [{"type": "string", "minLength": 4}, {"type": "string", "maxLength": 6}, {"not": {"const": "abcd"}}]},
]


@pytest.mark.parametrize("node", HARD, ids=range(len(HARD)))
def test_hard_combinations_give_valid_events(node: dict[str, Any]):
    document = wrapped(node)
    for seed in SEEDS:
        event = mock_event(schema_text=document, seed=seed)
        assert valid(document, event) == [], (seed, event)


def test_the_issues_minimal_cases():
    s3 = wrapped({"allOf": [{"type": "string", "pattern": "^s3://[a-z]+/[a-z/]*/$"}, {"pattern": ".*/logs/.*"}]})
    assert "/logs/" in mock_event(schema_text=s3)["v"]
    six = wrapped({"allOf": [{"type": "integer", "multipleOf": 2}, {"multipleOf": 3}]})
    assert all(mock_event(schema_text=six, seed=seed)["v"] % 6 == 0 for seed in SEEDS)
    assert mock_event(schema_text=wrapped({"type": "string", "enum": [None, "x"]}))["v"] == "x"


UNSATISFIABLE = [
    ({"type": "string", "enum": [None, 1]}, "#/properties/v/enum"),
    ({"allOf": [{"type": "string", "pattern": "^a+$"}, {"pattern": "^b+$"}]}, "#/properties/v/pattern"),
    ({"type": "string", "maxLength": 2, "not": {"type": "string"}}, "#/properties/v/not"),
    ({"oneOf": [{"type": "integer"}, {"type": "integer", "minimum": -1e12}]}, "#/properties/v/oneOf"),
    ({"type": "array", "uniqueItems": True, "minItems": 3, "items": {"type": "boolean"}}, "#/properties/v"),
]


@pytest.mark.parametrize(("node", "where"), UNSATISFIABLE, ids=range(len(UNSATISFIABLE)))
def test_unsatisfiable_schemas_say_which_keyword_and_pointer(node: dict[str, Any], where: str):
    with pytest.raises(SchemaError) as caught:
        mock_event(schema_text=wrapped(node))
    assert where in str(caught.value)


# -- 2. no wrong refusals


def test_root_type_list_with_object_gives_an_object():
    document = {"type": ["array", "object"], "properties": {"a": {"type": "string"}}, "required": ["a"]}
    for seed in SEEDS:
        event = mock_event(schema_text=document, seed=seed)
        assert isinstance(event, dict)
        assert valid(document, event) == []


@pytest.mark.parametrize(
    "node",
    [
        {"type": "string", "not": {"enum": ["a", "b"]}},
        {"type": "integer", "minimum": 0, "maximum": 3, "not": {"enum": [0, 1, 2]}},
        {"type": "object", "properties": {"k": {"type": "string"}}, "not": {"required": ["k"]}},
        {"not": {"type": "null"}},
        {"type": "array", "uniqueItems": True, "minItems": 2, "items": {"enum": ["x", "y"]}},
        {"oneOf": [{"type": "integer"}, {"type": "number"}]},  # a non-integer number: only the second
        {
            "type": "object",
            "minProperties": 2,
            "patternProperties": {"^x-[a-z]+$": {"type": "integer"}},
            "additionalProperties": False,
        },
        {
            "type": "object",
            "minProperties": 3,
            "maxProperties": 3,
            "patternProperties": {"^[0-9]{2}$": {"const": True}},
        },
        {
            "type": "object",
            "properties": {"k": {"enum": ["a", "b"]}},
            "required": ["k"],
            "if": {"properties": {"k": {"const": "a"}}},
            "then": {"required": ["n"]},
            "else": {"maxProperties": 1},
        },
    ],
)
def test_satisfiable_schemas_are_not_refused(node: dict[str, Any]):
    document = wrapped(node)
    for seed in SEEDS:
        assert valid(document, mock_event(schema_text=document, seed=seed)) == []


def test_a_ref_with_siblings_applies_both_in_2020_12():
    document = {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "type": "object",
        "required": ["o"],
        "properties": {"o": {"$ref": "#/$defs/o", "required": ["email"]}},
        "$defs": {"o": {"type": "object", "properties": {"email": {"type": "string", "format": "email"}}}},
    }
    for seed in SEEDS:
        event = mock_event(schema_text=document, seed=seed, skip_optional=True)
        assert "email" in event["o"]


# -- 4. variety


TICKET = SCHEMAS / "ticket_created.json"


def test_seeds_vary_every_choice():
    """Over 20 seeds: array lengths, optional fields, enum values and branches all change."""
    document = wrapped(
        {
            "type": "object",
            "properties": {
                "xs": {"type": "array", "items": {"type": "integer"}, "maxItems": 6},
                "opt1": {"type": "string"},
                "opt2": {"type": "integer"},
                "color": {"enum": ["red", "green", "blue", "black"]},
                "shape": {"oneOf": [{"type": "integer"}, {"type": "string"}, {"type": "boolean"}]},
            },
        }
    )
    values = [mock_event(schema_text=document, seed=seed)["v"] for seed in range(20)]
    assert len({len(v.get("xs", [])) for v in values}) >= 4
    assert len({tuple(sorted(v)) for v in values}) >= 4
    assert {v["color"] for v in values if "color" in v} == {"red", "green", "blue", "black"}
    assert {type(v["shape"]).__name__ for v in values if "shape" in v} == {"int", "str", "bool"}
    assert mock_event(schema_text=document, seed=3) == mock_event(schema_text=document, seed=3)


def test_two_schemas_with_one_seed_get_different_envelope_ids_and_times():
    first = mock_event(schema_file=TICKET, seed=1)
    second = mock_event(schema_file=SCHEMAS / "aws_instance_state_change.json", seed=1)
    assert first["id"] != second["id"]
    assert first["time"] != second["time"]
    assert mock_event(schema_file=TICKET, seed=1)["id"] == first["id"]


def test_mock_events_gives_n_distinct_events():
    events = mock_events(12, schema_file=TICKET, seed=5)
    assert len(events) == 12
    assert len({json.dumps(event["detail"], sort_keys=True) for event in events}) == 12
    assert mock_events(3, schema_file=TICKET, seed=5) == events[:3]
    assert len(mock_events(3, schema_file=TICKET)) == 3


def test_mock_events_says_when_the_schema_has_fewer_events():
    document = {
        "type": "object",
        "required": ["b"],
        "properties": {"b": {"type": "boolean"}},
        "additionalProperties": False,
    }
    assert len(mock_events(2, schema_text=document, seed=0)) == 2
    with pytest.raises(SchemaError, match="only 2 distinct events"):
        mock_events(3, schema_text=document, seed=0)
    with pytest.raises(ConfigError, match="positive"):
        mock_events(0, schema_text=document)


def test_boundary_mode_gives_the_edges():
    node = {
        "type": "object",
        "required": ["n", "f", "s", "xs", "e"],
        "properties": {
            "n": {"type": "integer", "minimum": -5, "maximum": 17},
            "f": {"type": "number", "exclusiveMinimum": 0, "maximum": 2.5},
            "s": {"type": "string", "minLength": 2, "maxLength": 9},
            "xs": {"type": "array", "items": {"type": "integer"}, "maxItems": 4},
            "e": {"enum": ["a", "b", "c"]},
            "opt": {"type": "string"},
        },
    }
    document = wrapped(node)
    events = [event["v"] for event in mock_events(6, schema_text=document, boundary=True, seed=0)]
    assert {event["n"] for event in events} == {-5, 17}
    assert max(event["f"] for event in events) == 2.5
    assert 0 < min(event["f"] for event in events) < 1e-300
    assert {len(event["s"]) for event in events} == {2, 9}
    assert {len(event["xs"]) for event in events} == {0, 4}
    assert {event["e"] for event in events} == {"a", "b", "c"}
    assert {"opt" in event for event in events} == {True, False}
    assert all(valid(document, {"v": event}) == [] for event in events)


def test_envelope_region_and_account_come_from_the_session(monkeypatch: pytest.MonkeyPatch):
    """An explicit session gives the envelope its region and account (STS, answered by in-process moto)."""
    from iatk.testing import moto_session

    monkeypatch.setenv("MOTO_ACCOUNT_ID", "210987654321")
    with moto_session("eu-west-3") as session:
        event = mock_event(schema_file=TICKET, seed=1, session=session)
    assert event["region"] == "eu-west-3"
    assert event["account"] == "210987654321"
    # without an explicit session, no AWS call: the default account
    assert mock_event(schema_file=TICKET, seed=1)["account"] == iatk.mock_events.DEFAULT_ACCOUNT


# -- 5. strategy()


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(event=strategy(schema_file=TICKET, overrides={"detail": {"priority": "urgent"}}))
def test_strategy_takes_mock_events_arguments(event: dict[str, Any]):
    assert event["detail"]["priority"] == "urgent"
    assert event["source"]


def test_strategy_fails_early_on_a_schema_it_cannot_generate():
    with pytest.raises(SchemaError, match="enum"):
        strategy(schema_text=wrapped({"type": "string", "enum": [1]}))


def test_strategy_events_validate_against_a_large_schema():
    loaded = load_schema(schema_file=SCHEMAS / "combinators_2020_12.json")
    document = to_json_schema(loaded)

    @settings(max_examples=50, deadline=None, suppress_health_check=[HealthCheck.too_slow])
    @given(event=strategy(schema=loaded))
    def run(event: dict[str, Any]) -> None:
        assert valid(document, event) == []

    run()


# -- 3. aws.* sources


def test_to_put_events_entry_refuses_aws_sources_with_what_to_do():
    event = mock_event(schema_file=SCHEMAS / "aws_instance_state_change.json", seed=1)
    assert event["source"] == "aws.ec2"
    with pytest.raises(ConfigError) as caught:
        to_put_events_entry(event)
    text = str(caught.value)
    assert "refuses PutEvents entries whose source begins with 'aws.'" in text
    assert "test.aws.ec2" in text
    entry = to_put_events_entry(iatk.eventbridge_envelope(event, source="test.aws.ec2"))
    assert entry["Source"] == "test.aws.ec2"
    assert json.loads(entry["Detail"]) == event["detail"]


def test_cli_count_and_boundary(capsys: pytest.CaptureFixture[str]):
    from iatk.cli import main

    assert main(["mock-event", "--schema-file", str(TICKET), "--count", "4", "--seed", "2"]) == 0
    printed = json.loads(capsys.readouterr().out)
    assert printed == mock_events(4, schema_file=TICKET, seed=2)
    assert (
        main(["mock-event", "--schema-file", str(SCHEMAS / "plugin_trigger.json"), "--count", "4", "--boundary"]) == 0
    )
    hooks = {event["eventHook"] for event in json.loads(capsys.readouterr().out)}
    assert hooks == {"postValidate", "preMetadata", "postMetadata", "preValidate"}
    assert main(["mock-event", "--schema-file", str(TICKET), "--boundary"]) == 2
    assert "--boundary goes with --count" in capsys.readouterr().err
