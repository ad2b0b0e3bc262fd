"""mock_event: sources, event roots, value rules, determinism, overrides, contexts and errors (no AWS)."""

from __future__ import annotations

import ipaddress
import json
import re
import uuid
from collections.abc import Mapping
from datetime import date, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest

from iatk._aws import embedded_boto_session
from iatk.exceptions import ConfigError, SchemaError
from iatk.mock_events import (
    DEFAULT_ACCOUNT,
    RECURSION_LIMIT,
    EventSchema,
    load_schema,
    mock_event,
)

SCHEMAS = Path(__file__).resolve().parents[1] / "data" / "schemas"
TICKET = SCHEMAS / "ticket_created.json"
TRIGGER = SCHEMAS / "plugin_trigger.json"


def gen(schema: Mapping[str, Any], **kwargs: Any) -> Any:
    """Generate from an inline JSON Schema whose root is wrapped as property ``v``; return ``v``."""
    return mock_event(
        schema_text={"type": "object", "required": ["v"], "properties": {"v": schema}},
        seed=kwargs.pop("seed", None),
        **kwargs,
    )["v"]


def openapi(components: dict[str, Any]) -> dict[str, Any]:
    """A minimal OpenAPI 3.0 document holding ``components``."""
    return {
        "openapi": "3.0.0",
        "info": {"title": "t", "version": "1"},
        "paths": {},
        "components": {"schemas": components},
    }


# ---------------------------------------------------------------------------------------------- sources


def test_no_source_is_a_config_error_naming_the_three_ways():
    """Calling without any schema source says which arguments to pass."""
    with pytest.raises(ConfigError, match=r"got none.*registry= and schema=.*schema_file=.*schema_text="):
        mock_event()


def test_two_sources_are_named_in_the_error():
    """Passing a file and text together lists both in the error."""
    with pytest.raises(ConfigError, match=r"got 2: schema_file='a.json'; schema_text=\.\.\."):
        mock_event(schema_file="a.json", schema_text="{}")


def test_registry_and_file_together_are_rejected_before_any_aws_call():
    """registry+schema plus schema_file is ambiguous and fails without touching AWS."""
    with pytest.raises(ConfigError, match=r"registry='r' \+ schema='s'; schema_file="):
        mock_event("r", "s", schema_file=TRIGGER)


def test_registry_without_schema_name():
    """registry= alone asks for schema=."""
    with pytest.raises(ConfigError, match=r"registry='video' needs schema="):
        mock_event(registry="video")


def test_schema_without_registry_hints_at_schema_file_for_paths():
    """schema='x.json' without a registry suggests schema_file=."""
    with pytest.raises(ConfigError, match=r"needs registry=.*use schema_file='events/x.json'"):
        mock_event(schema="events/x.json")


def test_version_alone_needs_registry():
    """version= without registry and schema is an error."""
    with pytest.raises(ConfigError, match="needs registry="):
        mock_event(version="2")


def test_loaded_schema_rejects_other_sources():
    """An EventSchema passed as schema= cannot be combined with another source."""
    loaded = load_schema(schema_file=TRIGGER)
    with pytest.raises(ConfigError, match="already loaded; do not also pass version='1'"):
        mock_event(schema=loaded, version="1")


def test_loaded_schema_is_reused():
    """load_schema's result can be passed back as schema=."""
    loaded = load_schema(schema_file=TRIGGER)
    assert mock_event(schema=loaded, seed=1) == mock_event(schema_file=TRIGGER, seed=1)


def test_schema_text_json_yaml_and_dict_give_the_same_event():
    """schema_text accepts JSON text, YAML text and a parsed dict alike."""
    document = json.loads(TRIGGER.read_text())
    yaml_text = "type: object\nrequired: [eventHook, pluginTitle]\nproperties:\n  eventHook:\n    type: string\n"
    yaml_text += "    enum: [postValidate, preMetadata, postMetadata, preValidate]\n  pluginTitle:\n    type: string\n"
    expected = mock_event(schema_text=json.dumps(document), seed=3)
    assert mock_event(schema_text=document, seed=3) == expected
    assert mock_event(schema_text=yaml_text, seed=3) == expected


def test_yaml_keeps_dates_as_text(tmp_path: Path):
    """A YAML date in an example stays the string it reads as, as JSON would have it."""
    file = tmp_path / "s.yml"
    file.write_text("type: object\nrequired: [d]\nproperties:\n  d:\n    type: string\n    example: 2024-02-29\n")
    assert mock_event(schema_file=file) == {"d": "2024-02-29"}


def test_file_type_is_sniffed_without_a_known_suffix(tmp_path: Path):
    """A schema file named .schema is read as JSON or YAML by content."""
    (tmp_path / "a.schema").write_text('{"type": "object", "required": ["a"], "properties": {"a": {"const": 1}}}')
    (tmp_path / "b.schema").write_text("type: object\nrequired: [b]\nproperties:\n  b:\n    const: 2\n")
    assert mock_event(schema_file=tmp_path / "a.schema") == {"a": 1}
    assert mock_event(schema_file=tmp_path / "b.schema") == {"b": 2}


def test_missing_file_lists_schema_files_next_to_it(tmp_path: Path):
    """A missing schema file names the schema files in its folder, the closest first."""
    for name in ("order_created.json", "order_shipped.yaml", "zzz.json", "notes.txt"):
        (tmp_path / name).write_text("{}")
    with pytest.raises(SchemaError, match=r"not found; schema files in .*: order_shipped\.yaml, order_created\.json"):
        mock_event(schema_file=tmp_path / "order_shiped.yaml")


def test_missing_folder_is_named(tmp_path: Path):
    """A schema file in a folder that does not exist says so."""
    with pytest.raises(SchemaError, match="does not exist"):
        mock_event(schema_file=tmp_path / "nope" / "x.json")


def test_invalid_json_names_line_and_column(tmp_path: Path):
    """Malformed JSON reports the line and column."""
    file = tmp_path / "bad.json"
    file.write_text('{\n  "type": "object",\n  "properties": {,}\n}')
    with pytest.raises(SchemaError, match=r"bad\.json'? is not valid JSON: .* line 3 column 18"):
        mock_event(schema_file=file)


def test_document_must_be_an_object():
    """A schema text holding a list is rejected."""
    with pytest.raises(SchemaError, match="must hold a JSON object"):
        mock_event(schema_text="- a\n- b\n")


def test_registry_type_other_than_the_two_is_rejected():
    """A DescribeSchema response of an unknown Type raises SchemaError."""
    with pytest.raises(SchemaError, match="type 'Avro'; iatk reads OpenApi3 and JSONSchemaDraft4"):
        EventSchema.from_api({"Type": "Avro", "Content": "{}", "SchemaName": "s"}, registry="r")


def test_embedded_backend_refuses_registry_without_network():
    """On the embedded moto backend a registry schema fails fast and explains the file route."""
    session = embedded_boto_session("http://127.0.0.1:9")
    with pytest.raises(ConfigError, match=r"no Schema Registry.*describe-schema.*schema_file="):
        mock_event("discovered-schemas", "Order", session=session)


# ---------------------------------------------------------------------------------------------- roots


def test_openapi_root_defaults_to_awsevent():
    """Without event_ref an OpenAPI document's AWSEvent is the root."""
    event = mock_event(schema_file=TICKET, seed=1)
    assert set(event) >= {"detail", "source", "detail-type"}
    assert "ticketId" in event["detail"]


def test_event_ref_by_name_and_by_pointer_agree():
    """event_ref as a component name and as a JSON pointer pick the same node."""
    by_name = mock_event(schema_file=TICKET, event_ref="Customer", seed=2)
    by_pointer = mock_event(schema_file=TICKET, event_ref="#/components/schemas/Customer", seed=2)
    assert by_name == by_pointer
    assert set(by_name) >= {"customerId", "email", "address"}


def test_unknown_event_ref_lists_components_closest_first():
    """An unknown event_ref lists the components, the nearest name first."""
    with pytest.raises(SchemaError, match=r"event_ref 'Custmer' not found .*components: Customer, "):
        mock_event(schema_file=TICKET, event_ref="Custmer")


def test_openapi_without_awsevent_asks_for_event_ref():
    """Several components and no AWSEvent: the error asks for event_ref and lists them."""
    with pytest.raises(SchemaError, match=r"no 'AWSEvent' component; pass event_ref=.*components: A, B"):
        mock_event(schema_text=openapi({"A": {"type": "object"}, "B": {"type": "object"}}))


def test_openapi_with_a_single_component_uses_it():
    """A lone component is unambiguous and becomes the root."""
    assert mock_event(
        schema_text=openapi({"Only": {"type": "object", "required": ["x"], "properties": {"x": {"const": 1}}}})
    ) == {"x": 1}


def test_json_schema_event_ref_names_a_definition():
    """For JSON Schema, event_ref may name a definitions entry (aws-iatk refused any event_ref)."""
    event = mock_event(schema_file=SCHEMAS / "order_shipped_draft4.json", event_ref="Parcel", seed=1)
    assert set(event) >= {"parcelId", "weightKg", "fragile", "dimensions"}


def test_root_that_is_not_an_object_is_rejected():
    """An event root giving a string asks for the event's schema."""
    with pytest.raises(SchemaError, match="gives a str, not an object"):
        mock_event(schema_text={"type": "string"})


# ---------------------------------------------------------------------------------------------- value hints


@pytest.mark.parametrize(
    ("schema", "expected"),
    [
        ({"type": "string", "example": "ex", "default": "d", "enum": ["e", "d", "ex"]}, "ex"),
        ({"type": "string", "examples": ["exs"], "default": "d", "enum": ["e", "d", "exs"]}, "exs"),
        ({"type": "string", "default": "d", "enum": ["e", "d"]}, "d"),
        ({"type": "string", "enum": ["e", "f"]}, "e"),
        ({"type": "string", "const": "c"}, "c"),
        ({"const": {"k": [1, 2]}}, {"k": [1, 2]}),
        ({"type": "integer", "enum": [2160, 1080]}, 2160),
    ],
)
def test_hints_in_order_example_default_enum_const(schema: dict[str, Any], expected: Any):
    """example, examples[0], default, the first enum value, then const are used as given (without a seed)."""
    assert gen(schema) == expected


def test_example_short_circuits_unsupported_keywords():
    """A node with an example is not looked at further, so `not` there is fine."""
    assert gen({"type": "string", "not": {"const": "x"}, "example": "ok"}) == "ok"


def test_hint_values_are_copies():
    """Mutating a generated value does not change the schema's example."""
    document = {"type": "object", "required": ["v"], "properties": {"v": {"example": {"list": [1]}}}}
    loaded = load_schema(schema_text=document)
    mock_event(schema=loaded)["v"]["list"].append(2)
    assert mock_event(schema=loaded)["v"] == {"list": [1]}


def test_empty_enum_names_the_pointer():
    """enum: [] cannot give a value; the error names the enum's pointer."""
    with pytest.raises(SchemaError, match=r"schema #/properties/v/enum"):
        gen({"enum": []})


# ---------------------------------------------------------------------------------------------- strings


def test_string_formats():
    """Each supported format gives a value of that format."""
    formats = ["date-time", "date", "time", "email", "uuid", "uri", "hostname", "ipv4", "ipv6", "byte", "duration"]
    values = {f: gen({"type": "string", "format": f}) for f in formats}
    datetime.strptime(values["date-time"], "%Y-%m-%dT%H:%M:%SZ")
    date.fromisoformat(values["date"])
    assert re.fullmatch(r"\d{2}:\d{2}:\d{2}Z", values["time"])
    assert re.fullmatch(r"[^@\s]+@example\.com", values["email"])
    assert uuid.UUID(values["uuid"]).version == 4
    assert values["uri"].startswith("https://example.com/")
    assert values["hostname"].endswith(".example.com")
    assert ipaddress.ip_address(values["ipv4"]).version == 4
    assert ipaddress.ip_address(values["ipv6"]).version == 6
    assert re.fullmatch(r"[A-Za-z0-9+/]+=*", values["byte"])
    assert re.fullmatch(r"PT\d+M", values["duration"])


def test_plain_string_reads_as_its_property_name():
    """A plain string is '<property name>-<4 chars>'."""
    assert re.fullmatch(r"pluginTitle-[a-z0-9]{4}", mock_event(schema_file=TRIGGER)["pluginTitle"])


@pytest.mark.parametrize(("low", "high"), [(10, None), (0, 3), (40, 40), (None, 0)])
def test_string_length_bounds(low: int | None, high: int | None):
    """minLength and maxLength are honoured."""
    schema: dict[str, Any] = {"type": "string"}
    if low is not None:
        schema["minLength"] = low
    if high is not None:
        schema["maxLength"] = high
    for seed in range(5):
        value = gen(schema, seed=seed)
        assert (low or 0) <= len(value) <= (high if high is not None else 10**6)


def test_contradictory_lengths_name_the_pointer():
    """minLength above maxLength is reported at its node."""
    with pytest.raises(SchemaError, match=r"minLength 5 is more than maxLength 2 \(schema #/properties/v"):
        gen({"type": "string", "minLength": 5, "maxLength": 2})


@pytest.mark.parametrize(
    "pattern",
    [
        r"^CUST-[0-9]{6}$",
        r"^[A-Z]{3}-\d{4}$",
        r"^[0-9]{5}(-[0-9]{4})?$",
        r"^(arn:aws:[a-z0-9-]+:[a-z]{2}-[a-z]+-\d:\d{12}:.+)$",
        r"^[^\s@]+@[^\s@]+\.[a-z]{2,}$",
        r"^(?:red|green|blue)-\w+$",
        r"^\(\d{3}\) \d{3}-\d{4}$",
        r"[a-f0-9]{8}",
        r"^[\w.-]{1,64}$",
        r"^\x41\u0042[.]$",
        r"^a*b+c?d{2,}$",
        r"^[A-Z][a-z]+( [A-Z][a-z]+)*$",
        r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?Z$",
        r"^[A-Z]{2}[0-9]{2}[A-Z0-9]{11,30}$",
    ],
)
def test_patterns_are_honoured(pattern: str):
    """Strings built for common patterns match them (JSON Schema search semantics)."""
    for seed in range(10):
        value = gen({"type": "string", "pattern": pattern}, seed=seed)
        assert re.search(pattern, value), (pattern, value)


def test_ecma_named_groups_are_understood():
    """ECMA-262's (?<name>...) works although Python spells it (?P<name>...)."""
    value = gen({"type": "string", "pattern": "^(?<area>[0-9]{3})-(?<line>[0-9]{4})$"})
    assert re.fullmatch(r"[0-9]{3}-[0-9]{4}", value)


def test_pattern_with_length_bounds():
    """A pattern and minLength/maxLength are satisfied together."""
    schema = {"type": "string", "pattern": "^[a-z]+$", "minLength": 12, "maxLength": 14}
    for seed in range(10):
        value = gen(schema, seed=seed)
        assert re.fullmatch("[a-z]{12,14}", value)


@pytest.mark.parametrize("pattern", [r"^(?!admin).*$", r"^(a)\1$", r"(?i)^abc$", r"^\p{L}+$"])
def test_unsupported_pattern_names_its_pointer(pattern: str):
    """Lookaround, backreferences, flags and unicode classes raise SchemaError at the pattern's pointer."""
    with pytest.raises(SchemaError, match=r"not supported .* \(schema #/properties/v/pattern, event path \$\.v\)"):
        gen({"type": "string", "pattern": pattern})


def test_unsatisfiable_pattern_and_length():
    """A pattern that cannot meet the length bounds says so and suggests an example."""
    with pytest.raises(SchemaError, match=r"could not build a string matching .*add an `example`"):
        gen({"type": "string", "pattern": "^[0-9]{3}$", "minLength": 5})


def format_errors(schema: Mapping[str, Any], value: Any) -> list[str]:
    """jsonschema's complaints about ``value`` (draft 7, every format it can check)."""
    import jsonschema

    validator = jsonschema.Draft7Validator(schema, format_checker=jsonschema.FormatChecker())
    return [error.message for error in validator.iter_errors(value)]


@pytest.mark.parametrize(
    "schema",
    [
        {"type": "string", "format": "date-time", "pattern": "^2024"},
        {"type": "string", "format": "date-time", "pattern": "Z$"},
        {"type": "string", "format": "date", "pattern": "^20[0-9]{2}-"},
        {"type": "string", "format": "email", "pattern": "@example\\.com$"},
        {"type": "string", "format": "uuid", "pattern": "^[0-9a-f]{8}-"},
        {"type": "string", "format": "ipv4", "pattern": "^192\\."},
        {"type": "string", "format": "date-time", "pattern": "^(?!1999)"},  # lookahead: only checked, never built
    ],
    ids=["date-time ^2024", "date-time Z$", "date", "email", "uuid", "ipv4", "lookahead"],
)
@pytest.mark.parametrize("seed", [None, 0, 1, 5])
def test_a_format_value_that_matches_the_pattern_is_kept(schema: dict[str, Any], seed: int | None):
    """format + pattern: the format's value is used when it matches, so both keywords validate."""
    value = gen(schema, seed=seed)
    assert format_errors(schema, value) == []


@pytest.mark.parametrize(
    "schema",
    [
        {"type": "string", "format": "email", "maxLength": 16},
        {"type": "string", "format": "email", "maxLength": 8},
        {"type": "string", "format": "email", "minLength": 40},
        {"type": "string", "format": "uri", "maxLength": 15},
        {"type": "string", "format": "uri", "minLength": 60},
        {"type": "string", "format": "hostname", "maxLength": 6},
        {"type": "string", "format": "hostname", "minLength": 30, "maxLength": 30},
        {"type": "string", "format": "byte", "minLength": 30},
        {"type": "string", "format": "byte", "maxLength": 4},
    ],
    ids=lambda s: f"{s['format']} {s.get('minLength', 0)}..{s.get('maxLength', '')}",
)
@pytest.mark.parametrize("seed", [None, 0, 3])
def test_length_bounds_keep_the_format(schema: dict[str, Any], seed: int | None):
    """minLength / maxLength resize an email, URI, hostname or base64 value instead of cutting it invalid."""
    import base64

    value = gen(schema, seed=seed)
    assert format_errors(schema, value) == []
    if schema["format"] == "email":
        assert re.fullmatch(r"[^@\s]+@(example\.com|x\.io)", value), value
    if schema["format"] == "uri":
        assert re.fullmatch(r"https://(example\.com|x\.io)/[^/\s]+(/[^/\s]+)*", value), value
    if schema["format"] == "hostname":
        assert re.fullmatch(r"[a-z0-9]([a-z0-9-]*[a-z0-9])?(\.[a-z0-9-]+)*", value), value
    if schema["format"] == "byte":
        assert base64.b64encode(base64.b64decode(value, validate=True)).decode() == value


def test_email_under_max_length_is_still_an_email():
    """An email with maxLength 16 (the old rule cut 'v.abcd@example.com' to 'v.abcd@example.c') keeps its domain."""
    value = gen({"type": "string", "format": "email", "maxLength": 16})
    assert len(value) <= 16
    assert value.endswith(("@example.com", "@x.io"))


def test_a_pattern_no_format_value_can_meet_wins():
    """When no value of the format matches the pattern, the pattern is honoured (the format cannot be)."""
    schema = {"type": "string", "format": "uuid", "pattern": "^ORD-[0-9]{4}$"}
    assert re.fullmatch(r"ORD-[0-9]{4}", gen(schema))


def test_formats_without_a_pattern_or_bounds_draw_as_before():
    """Adding the format-first rule leaves unconstrained values as they were: seeded values are stable."""
    schema = {"type": "string", "format": "email"}
    assert gen(schema, seed=3) == gen(schema, seed=3)
    assert gen(schema, seed=3) == gen({**schema, "maxLength": 200}, seed=3)


# ---------------------------------------------------------------------------------------------- numbers


@pytest.mark.parametrize(
    ("schema", "check"),
    [
        ({"type": "integer", "minimum": 5, "maximum": 5}, lambda v: v == 5),
        ({"type": "integer", "minimum": 0, "maximum": 1, "exclusiveMinimum": True}, lambda v: v == 1),
        ({"type": "integer", "exclusiveMinimum": 0, "exclusiveMaximum": 2}, lambda v: v == 1),
        ({"type": "integer", "minimum": 15, "maximum": 90, "multipleOf": 15}, lambda v: v % 15 == 0 and 15 <= v <= 90),
        ({"type": "integer", "multipleOf": 1.5}, lambda v: isinstance(v, int) and v % 3 == 0),
        ({"type": "integer", "maximum": -1000}, lambda v: -1100 <= v <= -1000),
        ({"type": "number", "minimum": 0, "maximum": 1, "exclusiveMaximum": True}, lambda v: 0 <= v < 1),
        ({"type": "number", "minimum": 0.5, "maximum": 0.5}, lambda v: v == 0.5),
        ({"type": "number", "exclusiveMinimum": 0.1, "maximum": 0.2}, lambda v: 0.1 < v <= 0.2),
        ({"type": "number", "minimum": 0, "maximum": 1, "multipleOf": 0.01}, lambda v: (v / 0.01).is_integer()),
        ({"type": "number", "multipleOf": 0.25, "minimum": 1}, lambda v: (v / 0.25).is_integer() and v >= 1),
        ({"minimum": 3, "maximum": 4}, lambda v: 3 <= v <= 4),
    ],
)
def test_numbers_respect_bounds_and_multiples(schema: dict[str, Any], check: Any):
    """Integers and numbers stay within minimum/maximum (both exclusive styles) and multipleOf."""
    for seed in range(25):
        value = gen(schema, seed=seed)
        assert isinstance(value, int | float)
        assert not isinstance(value, bool)
        assert check(value), (schema, value)


def test_integer_type_gives_ints():
    """type integer never gives a float."""
    assert all(isinstance(gen({"type": "integer"}, seed=s), int) for s in range(10))


def test_impossible_integer_bounds():
    """No integer between 0.2 and 0.8: SchemaError at that node."""
    with pytest.raises(SchemaError, match=r"no integer fits the bounds \(schema #/properties/v"):
        gen({"type": "integer", "minimum": 0.2, "maximum": 0.8})


def test_bad_multiple_of():
    """A zero multipleOf is reported at its pointer."""
    with pytest.raises(SchemaError, match=r"multipleOf must be a positive number.*#/properties/v/multipleOf"):
        gen({"type": "integer", "multipleOf": 0})


# ---------------------------------------------------------------------------------------------- types


def test_json_schema_boolean_is_supported():
    """A draft 4 'boolean' property gives a bool (aws-iatk matched 'bool' and failed)."""
    values = {gen({"type": "boolean"}, seed=s) for s in range(20)}
    assert values == {True, False}


def test_null_type_and_type_lists():
    """type null gives None; a type list gives its first non-null type."""
    assert gen({"type": "null"}) is None
    assert isinstance(gen({"type": ["null", "integer"]}), int)
    assert gen({"type": ["null"]}) is None


def test_nullable_values_are_generated_not_null():
    """OpenAPI nullable: a real value is generated."""
    assert isinstance(gen({"type": "string", "nullable": True}), str)


def test_untyped_property_is_an_empty_object():
    """A property with no type and no hinting keyword (aws-iatk #116) becomes {}."""
    assert gen({}) == {}
    assert gen({"description": "anything"}) == {}
    assert gen(True) == {}


@pytest.mark.parametrize(
    ("schema", "kind"),
    [
        ({"properties": {"a": {"const": 1}}, "required": ["a"]}, dict),
        ({"items": {"type": "integer"}}, list),
        ({"pattern": "^x$"}, str),
        ({"format": "uuid"}, str),
        ({"minimum": 1}, float),
    ],
)
def test_untyped_nodes_are_typed_by_their_keywords(schema: dict[str, Any], kind: type):
    """A node without type takes the type its keywords imply."""
    assert type(gen(schema)) is kind


def test_unknown_type_names_pointer():
    """A misspelt type is an error naming the node and the valid types."""
    with pytest.raises(SchemaError, match=r"unknown type 'bool'.*string, number, integer, boolean.*#/properties/v"):
        gen({"type": "bool"})


# ---------------------------------------------------------------------------------------------- arrays


def test_array_length_honours_min_and_max_items():
    """max(minItems, 1) items, never more than maxItems."""
    assert len(gen({"type": "array", "items": {"type": "integer"}})) == 1
    assert len(gen({"type": "array", "minItems": 4, "items": {"type": "integer"}})) == 4
    assert gen({"type": "array", "maxItems": 0, "items": {"type": "integer"}}) == []
    assert gen({"type": "array"}) == []


def test_unique_items_are_unique():
    """uniqueItems arrays have distinct items."""
    value = gen({"type": "array", "minItems": 6, "uniqueItems": True, "items": {"type": "integer", "maximum": 8}})
    assert len(value) == 6
    assert len({json.dumps(v) for v in value}) == 6


def test_unique_items_that_cannot_be_made():
    """Three unique items from a single enum value is impossible."""
    with pytest.raises(SchemaError, match="cannot make 3 unique items"):
        gen({"type": "array", "minItems": 3, "uniqueItems": True, "items": {"enum": ["only"]}})


def test_tuple_items_and_contains():
    """Tuple-form items are positional; contains puts a matching first item."""
    assert [type(v) for v in gen({"type": "array", "items": [{"type": "string"}, {"type": "boolean"}]})] == [str, bool]
    assert gen({"type": "array", "items": {"type": "integer"}, "contains": {"const": 42}})[0] == 42


def test_contradictory_item_counts():
    """minItems above maxItems is reported."""
    with pytest.raises(SchemaError, match="minItems 3 is more than maxItems 1"):
        gen({"type": "array", "minItems": 3, "maxItems": 1})


# ---------------------------------------------------------------------------------------------- objects


OBJECT = {
    "type": "object",
    "required": ["a", "c"],
    "properties": {
        "a": {"type": "integer"},
        "b": {"type": "string"},
        "c": {"type": "boolean"},
        "d": {"type": "string"},
    },
}


def test_optional_properties_are_included_by_default():
    """Every property, required or not, is generated."""
    assert list(gen(OBJECT)) == ["a", "b", "c", "d"]


def test_skip_optional_leaves_out_every_optional_property():
    """skip_optional keeps only required properties, at every depth."""
    nested = {**OBJECT, "properties": {**OBJECT["properties"], "a": OBJECT}}
    value = gen(nested, skip_optional=True)
    assert list(value) == ["a", "c"]
    assert list(value["a"]) == ["a", "c"]


def test_object_without_required_is_empty_with_skip_optional():
    """With no required list, skip_optional leaves nothing (aws-iatk kept them all)."""
    assert gen({"type": "object", "properties": {"x": {"type": "string"}}}, skip_optional=True) == {}


def test_required_property_missing_from_properties_uses_additional_properties():
    """A required name not in properties takes additionalProperties' schema."""
    value = gen({"type": "object", "required": ["n"], "additionalProperties": {"type": "integer"}})
    assert list(value) == ["n"]
    assert isinstance(value["n"], int)


def test_required_property_blocked_by_additional_properties_false():
    """A required name outside properties with additionalProperties false cannot be made."""
    with pytest.raises(SchemaError, match="required but not in properties, and additionalProperties is false"):
        gen({"type": "object", "required": ["n"], "additionalProperties": False})


def test_map_gets_one_entry_unless_skip_optional():
    """An additionalProperties map gets one additionalProp1 entry, none with skip_optional."""
    schema = {"type": "object", "additionalProperties": {"type": "string", "maxLength": 3}}
    value = gen(schema)
    assert list(value) == ["additionalProp1"]
    assert len(value["additionalProp1"]) <= 3
    assert gen(schema, skip_optional=True) == {}


def test_property_names_pattern_is_used_for_map_keys():
    """propertyNames with a pattern shapes the generated key."""
    value = gen(
        {"type": "object", "propertyNames": {"pattern": "^x-[a-z]{3}$"}, "additionalProperties": {"type": "integer"}}
    )
    assert all(re.fullmatch("x-[a-z]{3}", key) for key in value)
    assert len(value) == 1


def test_min_and_max_properties():
    """minProperties pulls optional properties back in; maxProperties drops optional ones."""
    schema = {**OBJECT, "minProperties": 3}
    assert len(gen(schema, skip_optional=True)) == 3
    assert list(gen({**OBJECT, "maxProperties": 2})) == ["a", "c"]


def test_dependencies_bring_in_required_companions():
    """List-form dependencies add the named properties when the key is present."""
    schema = {
        "type": "object",
        "required": ["card"],
        "properties": {"card": {"type": "string"}, "billing": {"type": "string"}},
    }
    schema["dependencies"] = {"card": ["billing"]}
    assert list(gen(schema, skip_optional=True)) == ["card", "billing"]


def test_schema_form_dependencies_are_unsupported_with_pointer():
    """A schema-form dependency raises at its pointer."""
    schema = {
        "type": "object",
        "required": ["a"],
        "properties": {"a": {"type": "string"}},
        "dependencies": {"a": {"required": ["b"]}},
    }
    with pytest.raises(SchemaError, match=r"schema-form dependency is not supported.*#/properties/v/dependencies/a"):
        gen(schema)


def test_false_property_schema():
    """An optional property whose schema is false is left out; a required one is an error."""
    assert gen({"type": "object", "properties": {"x": False, "y": {"const": 1}}}) == {"y": 1}
    with pytest.raises(SchemaError, match="required property 'x' is `false`"):
        gen({"type": "object", "required": ["x"], "properties": {"x": False}})


# ---------------------------------------------------------------------------------------------- combinators and refs


def test_all_of_merges_properties_required_and_bounds():
    """allOf unions properties and required and tightens bounds."""
    schema = {
        "allOf": [
            {"type": "object", "required": ["a"], "properties": {"a": {"type": "integer", "minimum": 0}}},
            {"required": ["b"], "properties": {"a": {"maximum": 3}, "b": {"type": "string"}}},
        ]
    }
    for seed in range(10):
        value = gen(schema, seed=seed, skip_optional=True)
        assert list(value) == ["a", "b"]
        assert 0 <= value["a"] <= 3


def test_all_of_enum_intersection_and_type_intersection():
    """allOf keeps the enum values every branch allows and the common type."""
    assert gen({"allOf": [{"enum": ["a", "b", "c"]}, {"enum": ["c", "b"]}]}) == "b"
    assert isinstance(gen({"allOf": [{"type": ["number", "string"]}, {"type": "integer"}]}), int)
    with pytest.raises(SchemaError, match="no type in common"):
        gen({"allOf": [{"type": "string"}, {"type": "integer"}]})


def test_all_of_including_itself():
    """An allOf that reaches itself is reported instead of looping."""
    document = {"type": "object", "properties": {"v": {"$ref": "#/definitions/A"}}, "required": ["v"]}
    document["definitions"] = {"A": {"allOf": [{"$ref": "#/definitions/A"}]}}
    with pytest.raises(SchemaError, match="allOf includes itself"):
        mock_event(schema_text=document)


def test_one_of_and_any_of_take_the_first_branch():
    """oneOf and anyOf use their first branch, merged with sibling keywords."""
    assert isinstance(gen({"oneOf": [{"type": "integer"}, {"type": "string"}]}), int)
    assert isinstance(gen({"anyOf": [{"type": "string"}, {"type": "integer"}]}), str)
    value = gen(
        {
            "type": "object",
            "required": ["k"],
            "properties": {"k": {"const": 1}},
            "oneOf": [{"required": ["x"], "properties": {"x": {"const": 2}}}],
        }
    )
    assert value == {"k": 1, "x": 2}


def test_discriminator_names_the_chosen_branch():
    """OpenAPI discriminator: the property is set to the branch's mapping key."""
    components = {
        "Event": {
            "type": "object",
            "required": ["pet"],
            "properties": {
                "pet": {
                    "oneOf": [{"$ref": "#/components/schemas/Cat"}, {"$ref": "#/components/schemas/Dog"}],
                    "discriminator": {"propertyName": "kind", "mapping": {"cat": "#/components/schemas/Cat"}},
                }
            },
        },
        "Cat": {
            "type": "object",
            "required": ["kind", "meows"],
            "properties": {"kind": {"type": "string"}, "meows": {"type": "boolean"}},
        },
        "Dog": {"type": "object", "required": ["kind"], "properties": {"kind": {"type": "string"}}},
    }
    # a Cat is a Dog too (Dog only needs kind), so oneOf can only hold for a Dog: the branch that holds is named
    pet = mock_event(schema_text=openapi(components), event_ref="Event")["pet"]
    assert pet == {"kind": "Dog"}


def test_nested_refs_resolve_with_escaped_names():
    """Refs chain through components, including names with '/' and '~' escaped in pointers."""
    document = {
        "definitions": {
            "a/b": {"$ref": "#/definitions/c~d"},
            "c~d": {"type": "object", "required": ["z"], "properties": {"z": {"const": "deep"}}},
        },
        "type": "object",
        "required": ["v"],
        "properties": {"v": {"$ref": "#/definitions/a~1b"}},
    }
    assert mock_event(schema_text=document) == {"v": {"z": "deep"}}


def test_ref_pointing_nowhere_lists_components():
    """A dangling $ref names itself and the components that exist."""
    document = openapi(
        {
            "AWSEvent": {
                "type": "object",
                "required": ["d"],
                "properties": {"d": {"$ref": "#/components/schemas/Detial"}},
            },
            "Detail": {},
        }
    )
    with pytest.raises(SchemaError, match=r"\$ref '#/components/schemas/Detial' points nowhere; components: Detail"):
        mock_event(schema_text=document)


def test_external_ref_is_unsupported_with_pointer():
    """A $ref to another document raises at the ref's pointer."""
    with pytest.raises(SchemaError, match=r"\$ref 'https://example.com/s.json' .*not supported.*#/properties/v/\$ref"):
        gen({"$ref": "https://example.com/s.json"})


@pytest.mark.parametrize("keyword", ["$dynamicRef", "$recursiveRef"])
def test_unsupported_keywords_name_their_pointer(keyword: str):
    """$dynamicRef / $recursiveRef raise SchemaError naming the keyword's JSON pointer and the way around."""
    schema = {"type": "object", "properties": {"inner": {"type": "string", keyword: "#meta"}}}
    with pytest.raises(
        SchemaError,
        match=rf"`\{keyword}` is not supported.*example.*overrides=.*#/properties/v/properties/inner/\{keyword}, event path \$\.v\.inner",
    ):
        gen(schema)


# ---------------------------------------------------------------------------------------------- recursion


LINKED = {
    "type": "object",
    "required": ["head"],
    "properties": {"head": {"$ref": "#/definitions/Node"}},
    "definitions": {
        "Node": {
            "type": "object",
            "required": ["value"],
            "properties": {"value": {"type": "integer"}, "next": {"$ref": "#/definitions/Node"}},
        }
    },
}


def depth(node: Any, key: str) -> int:
    """How many times ``key`` nests."""
    return 1 + depth(node[key], key) if isinstance(node, dict) and key in node else 0


def test_optional_recursion_is_cut_at_the_limit():
    """An optional recursive property stops after RECURSION_LIMIT visits of the schema."""
    event = mock_event(schema_text=LINKED)
    assert depth(event["head"], "next") == RECURSION_LIMIT - 1


def test_required_recursion_that_cannot_end_is_an_error():
    """A required self-reference raises SchemaError naming the ref and suggesting a fix."""
    document = json.loads(json.dumps(LINKED))
    document["definitions"]["Node"]["required"] = ["value", "next"]
    with pytest.raises(
        SchemaError, match=r"recursion through #/definitions/Node cannot end.*optional or nullable.*overrides="
    ):
        mock_event(schema_text=document)


def test_required_recursion_ends_at_a_nullable_or_later_branch():
    """Required recursion ends with null (nullable) or with a oneOf branch that does not recurse."""
    document = json.loads(json.dumps(LINKED))
    node = document["definitions"]["Node"]
    node["required"] = ["value", "next"]
    node["properties"]["next"] = {"oneOf": [{"$ref": "#/definitions/Node"}, {"type": "null"}]}
    event = mock_event(schema_text=document)
    assert event["head"]["next"]["next"] is None


def test_recursion_in_arrays_ends_with_empty_arrays():
    """Recursive array items stop at an empty array."""
    event = mock_event(
        schema_file=SCHEMAS / "catalog_updated_recursive.json", event_ref="CatalogUpdated", skip_optional=True
    )
    assert event["root"]["children"][0]["children"] == []


def test_override_ends_required_recursion():
    """A non-mapping override stands in for a node that could not be generated."""
    document = json.loads(json.dumps(LINKED))
    document["definitions"]["Node"]["required"] = ["value", "next"]
    event = mock_event(schema_text=document, overrides={"head": {"next": None}})
    assert event["head"]["next"] is None


# ---------------------------------------------------------------------------------------------- determinism


def test_same_seed_same_event_and_different_seeds_differ():
    """A seed reproduces the event exactly; another seed changes it."""
    first = mock_event(schema_file=TICKET, seed=42)
    assert mock_event(schema_file=TICKET, seed=42) == first
    assert mock_event(schema_file=TICKET, seed=43) != first


def leaves(value: Any, path: str = "$") -> dict[str, Any]:
    """Every scalar in a JSON value, by path."""
    if isinstance(value, dict):
        return {k: v for key, item in value.items() for k, v in leaves(item, f"{path}.{key}").items()}
    if isinstance(value, list):
        return {k: v for index, item in enumerate(value) for k, v in leaves(item, f"{path}[{index}]").items()}
    return {path: value}


def test_values_do_not_shift_when_other_parts_change():
    """Each path has its own random stream: skip_optional and overrides leave other values unchanged."""
    full = mock_event(schema_file=TICKET, seed=9)
    minimal = mock_event(schema_file=TICKET, seed=9, skip_optional=True)
    overridden = mock_event(schema_file=TICKET, seed=9, overrides={"detail": {"lines": [], "customer": "c"}})
    assert leaves(minimal["detail"]).items() <= leaves(full["detail"]).items()
    assert {k: v for k, v in overridden["detail"].items() if k not in ("lines", "customer")} == {
        k: v for k, v in full["detail"].items() if k not in ("lines", "customer")
    }


def test_seeded_times_are_fixed_in_2024():
    """With a seed, date-times are reproducible and fall in 2024."""
    event = mock_event(schema_file=TICKET, seed=5)
    assert event["detail"]["createdAt"].startswith("2024-")
    assert event["time"].startswith("2024-")


def test_no_seed_gives_now_and_fresh_ids_but_stable_values():
    """seed=None: times are now, uuids and envelope ids fresh; every choice is the first (all optional fields,
    first enum value and branch), so the other values are the same on each call."""
    before = datetime.now(timezone.utc).replace(microsecond=0)
    first, second = mock_event(schema_file=TICKET), mock_event(schema_file=TICKET)
    created = datetime.strptime(first["detail"]["createdAt"], "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=timezone.utc)
    assert before - timedelta(seconds=1) <= created <= datetime.now(timezone.utc)
    assert first["id"] != second["id"]
    assert first["detail"]["ticketId"] != second["detail"]["ticketId"]
    for key in ("priority", "customer", "lines", "escalationLevel", "slaHours"):
        assert first["detail"][key] == second["detail"][key]


# ---------------------------------------------------------------------------------------------- envelope fields


def test_awsevent_gets_real_envelope_values():
    """An AWSEvent root has source/detail-type from x-amazon-events-*, a uuid id, account, region, version."""
    event = mock_event(schema_file=TICKET, seed=1)
    assert list(event) == ["version", "id", "detail-type", "source", "account", "time", "region", "resources", "detail"]
    assert event["source"] == "com.example.support"
    assert event["detail-type"] == "TicketCreated"
    assert event["version"] == "0"
    assert event["account"] == DEFAULT_ACCOUNT
    assert event["resources"] == []
    assert uuid.UUID(event["id"]).version == 4


def test_envelope_region_comes_from_the_session():
    """The envelope region is the session's region when one is given."""
    import boto3

    session = boto3.Session(aws_access_key_id="x", aws_secret_access_key="x", region_name="eu-west-3")
    assert mock_event(schema_file=TICKET, session=session)["region"] == "eu-west-3"


def test_constrained_envelope_fields_keep_the_schema_value():
    """A source constrained by an enum keeps the enum value over the extension."""
    document = json.loads(TICKET.read_text())
    document["components"]["schemas"]["AWSEvent"]["properties"]["source"] = {"type": "string", "enum": ["from.enum"]}
    assert mock_event(schema_text=document)["source"] == "from.enum"


# ---------------------------------------------------------------------------------------------- overrides


def test_overrides_deep_merge():
    """Mappings merge key by key; lists and scalars replace; new keys are added."""
    overrides = {
        "detail": {"customer": {"address": {"city": "Lyon"}}, "lines": [{"sku": "X"}], "extra": 1},
        "source": "my.app",
    }
    event = mock_event(schema_file=TICKET, seed=1, overrides=overrides)
    plain = mock_event(schema_file=TICKET, seed=1)
    assert event["detail"]["customer"]["address"] == {**plain["detail"]["customer"]["address"], "city": "Lyon"}
    assert event["detail"]["customer"]["email"] == plain["detail"]["customer"]["email"]
    assert event["detail"]["lines"] == [{"sku": "X"}]
    assert event["detail"]["extra"] == 1
    assert event["source"] == "my.app"


def test_override_on_an_optional_object_brings_it_in_complete():
    """With skip_optional, a mapping override on an optional object generates its required fields too."""
    schema = {
        "type": "object",
        "properties": {
            "opt": {"type": "object", "required": ["a", "b"], "properties": {"a": {"const": 1}, "b": {"const": 2}}}
        },
    }
    assert mock_event(schema_text=schema, skip_optional=True, overrides={"opt": {"b": 3}}) == {"opt": {"a": 1, "b": 3}}


def test_override_skips_generating_an_unsupported_node():
    """A value override for a node with an unsupported construct avoids the error."""
    schema = {"type": "object", "required": ["x"], "properties": {"x": {"type": "string", "not": {"const": "a"}}}}
    assert mock_event(schema_text=schema, overrides={"x": "b"}) == {"x": "b"}


def test_overrides_are_copied_not_aliased():
    """Mutating the event does not change the caller's overrides."""
    overrides = {"detail": {"tags": ["a"]}}
    mock_event(schema_file=TICKET, overrides=overrides)["detail"]["tags"].append("b")
    assert overrides == {"detail": {"tags": ["a"]}}


def test_overrides_must_be_a_mapping():
    """A list of overrides is a ConfigError."""
    with pytest.raises(ConfigError, match="overrides must be a mapping"):
        mock_event(schema_file=TRIGGER, overrides=[("a", 1)])  # type: ignore[arg-type]


def test_overrides_must_keep_the_event_json():
    """An override value JSON cannot hold is reported."""
    with pytest.raises(ConfigError, match="non-JSON-serializable"):
        mock_event(schema_file=TRIGGER, overrides={"when": datetime.now(timezone.utc)})


# ---------------------------------------------------------------------------------------------- contexts


def add(key: str, value: Any) -> Any:
    """A context that sets ``key`` (and records the order in 'trail')."""

    def context(event: dict[str, Any]) -> dict[str, Any]:
        event[key] = value
        event.setdefault("trail", []).append(key)
        return event

    return context


@pytest.mark.parametrize("wrap", [list, tuple, iter])
def test_contexts_apply_in_order_from_any_iterable(wrap: Any):
    """A list, a tuple or an iterator of contexts all apply, in order (aws-iatk ignored tuples)."""
    event = mock_event(schema_file=TRIGGER, contexts=wrap([add("a", 1), add("b", 2)]))
    assert event["trail"] == ["a", "b"]
    assert event["a"] == 1
    assert event["b"] == 2


def test_single_context_function():
    """A lone function is taken as one context."""
    assert mock_event(schema_file=TRIGGER, contexts=add("solo", True))["solo"] is True


def test_contexts_run_after_overrides():
    """Contexts see the overridden event."""
    seen: list[str] = []

    def look(event: dict[str, Any]) -> dict[str, Any]:
        seen.append(event["pluginTitle"])
        return event

    mock_event(schema_file=TRIGGER, overrides={"pluginTitle": "mine"}, contexts=[look])
    assert seen == ["mine"]


def test_context_returning_none_says_to_return_the_event():
    """A context that forgets `return event` gets a TypeError saying so, naming the function."""

    def forgetful(event: dict[str, Any]) -> None:
        event["x"] = 1

    with pytest.raises(TypeError, match=r"context .*forgetful returned None: a context must return the event"):
        mock_event(schema_file=TRIGGER, contexts=[forgetful])  # type: ignore[list-item]


def test_context_must_return_a_dict_of_json():
    """A non-dict or non-JSON result names the context."""
    with pytest.raises(TypeError, match="returned a list"):
        mock_event(schema_file=TRIGGER, contexts=[lambda event: [event]])  # type: ignore[list-item,return-value]
    with pytest.raises(TypeError, match="not JSON-serializable"):
        mock_event(schema_file=TRIGGER, contexts=[lambda event: {**event, "s": {1, 2}}])


@pytest.mark.parametrize("contexts", ["not-callables", [1], {"a": 1}])
def test_contexts_must_be_functions(contexts: Any):
    """Strings, mappings or non-callables in contexts are a TypeError before any work."""
    with pytest.raises(TypeError, match="contexts must"):
        mock_event(schema_file=TRIGGER, contexts=contexts)


# ---------------------------------------------------------------------------------------------- more edges


def test_json_schema_unknown_event_ref_lists_definitions():
    """An unknown event_ref in a JSON Schema lists its definitions."""
    with pytest.raises(SchemaError, match=r"event_ref 'Parcels' not found .*components: Parcel, OrderShipped"):
        mock_event(schema_file=SCHEMAS / "order_shipped_draft4.json", event_ref="Parcels")


def test_event_ref_must_be_text():
    """A non-string event_ref is a ConfigError."""
    with pytest.raises(ConfigError, match="event_ref must be a string"):
        mock_event(schema_file=TICKET, event_ref=3)  # type: ignore[arg-type]


def test_nullable_object_ends_required_recursion_with_null():
    """A nullable node whose required child cannot recur further becomes null."""
    document = json.loads(json.dumps(LINKED))
    node = document["definitions"]["Node"]
    node["required"] = ["value", "next"]
    node["type"] = ["object", "null"]
    event = mock_event(schema_text=document)
    assert event["head"]["next"] is None


def test_required_recursion_through_all_of_is_an_error():
    """Recursion that goes through allOf and is required everywhere cannot end."""
    document = {
        "type": "object",
        "required": ["n"],
        "properties": {"n": {"$ref": "#/definitions/N"}},
        "definitions": {
            "N": {"type": "object", "required": ["m"], "properties": {"m": {"allOf": [{"$ref": "#/definitions/N"}]}}}
        },
    }
    with pytest.raises(SchemaError, match="recursion through #/definitions/N cannot end"):
        mock_event(schema_text=document)


def test_unanchored_pattern_is_padded_to_min_length():
    """An unanchored pattern may be followed by more characters to reach minLength."""
    value = gen({"type": "string", "pattern": "[0-9]{3}", "minLength": 8})
    assert len(value) >= 8
    assert re.search("[0-9]{3}", value)


@pytest.mark.parametrize(
    ("pattern", "reason"),
    [
        ("(abc", "missing|unbalanced"),
        ("abc\\", "trailing|bad escape"),
        ("[z-a]", "bad|range"),
        ("[[:alpha:]]", "POSIX"),
        ("[abc", "unterminated"),
    ],
)
def test_broken_or_posix_patterns_are_reported(pattern: str, reason: str):
    """Patterns that cannot be read raise SchemaError at the pattern, whichever parser objects."""
    with pytest.raises(SchemaError, match=rf"(?s)({reason}).*#/properties/v/pattern"):
        gen({"type": "string", "pattern": pattern})


@pytest.mark.parametrize(
    "pattern", [r"^\bword\b$", r"^a\tb$", r"^x+?y*?$", r"^[\d-]{3}$", r"^\Aab\Z", r"^[\x30-\x39]{2}$", r"^(|a)b$"]
)
def test_less_common_regex_syntax(pattern: str):
    """Word boundaries, control escapes, lazy quantifiers, class escapes and empty branches work."""
    for seed in range(5):
        assert re.search(pattern, gen({"type": "string", "pattern": pattern}, seed=seed))


def test_prefix_items_2020_12():
    """prefixItems are positional, items applies after them."""
    value = gen(
        {"type": "array", "prefixItems": [{"const": "a"}, {"const": 1}], "items": {"type": "boolean"}, "minItems": 3}
    )
    assert value[:2] == ["a", 1]
    assert isinstance(value[2], bool)


def test_tuple_too_short_for_min_items():
    """minItems beyond a closed tuple is an error."""
    with pytest.raises(SchemaError, match="needs more items than items/additionalItems allow"):
        gen({"type": "array", "items": [{"const": 1}], "additionalItems": False, "minItems": 2})


def test_all_of_merges_additional_properties_and_items():
    """allOf: additionalProperties false wins; item schemas are combined."""
    schema = {
        "allOf": [
            {
                "type": "object",
                "additionalProperties": {"type": "integer"},
                "properties": {"xs": {"items": {"minimum": 5}}},
            },
            {
                "additionalProperties": False,
                "properties": {"xs": {"type": "array", "items": {"type": "integer", "maximum": 5}}},
            },
        ],
        "required": ["xs"],
    }
    value = gen(schema)
    assert value == {"xs": [5]}


def test_all_of_with_two_one_ofs_meets_both():
    """Two oneOf lists under one allOf: the value meets one branch of each; none that fits both is reported."""
    schema = {
        "allOf": [
            {"oneOf": [{"type": "string", "minLength": 20}, {"type": "integer"}]},
            {"oneOf": [{"type": "string", "maxLength": 3}, {"type": "integer", "minimum": 10}]},
        ]
    }
    for seed in (None, *range(10)):
        value = gen(schema, seed=seed)
        assert isinstance(value, int)
        assert value >= 10
    with pytest.raises(SchemaError, match="no type in common"):
        gen({"allOf": [{"oneOf": [{"type": "string"}]}, {"oneOf": [{"type": "integer"}]}]})


def test_false_schemas_are_unsatisfiable():
    """A `false` schema or allOf branch is reported."""
    document = {
        "type": "object",
        "required": ["x"],
        "properties": {"x": {"$ref": "#/definitions/F"}},
        "definitions": {"F": False},
    }
    with pytest.raises(SchemaError, match=r"the schema is `false`: no value satisfies it \(schema #/definitions/F"):
        mock_event(schema_text=document)
    with pytest.raises(SchemaError, match="minItems 1 needs more items than items/additionalItems allow"):
        gen({"type": "array", "minItems": 1, "items": False})
    with pytest.raises(SchemaError, match="an allOf branch is `false`"):
        gen({"allOf": [False]})


def test_min_properties_against_closed_object():
    """minProperties beyond the declared properties of a closed object is an error."""
    with pytest.raises(SchemaError, match="minProperties 2 cannot be met: additionalProperties is false"):
        gen({"type": "object", "properties": {"a": {"const": 1}}, "additionalProperties": False, "minProperties": 2})


def test_min_properties_fills_with_extra_entries():
    """An open object below minProperties gets additionalPropN entries."""
    assert gen({"type": "object", "minProperties": 2}) == {"additionalProp1": {}, "additionalProp2": {}}


def test_unreadable_and_invalid_files(tmp_path: Path):
    """A binary file, bad YAML and an empty folder are reported clearly."""
    (tmp_path / "bin.json").write_bytes(b"\xff\xfe\x00")
    with pytest.raises(SchemaError, match="cannot read schema file"):
        mock_event(schema_file=tmp_path / "bin.json")
    (tmp_path / "bad.yaml").write_text("a: [1, 2\n")
    with pytest.raises(SchemaError, match="is not valid YAML"):
        mock_event(schema_file=tmp_path / "bad.yaml")
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(SchemaError, match="has no .json/.yaml files"):
        mock_event(schema_file=empty / "x.json")
