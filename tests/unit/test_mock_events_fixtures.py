"""Every fixture schema gives events that validate against it, with a real JSON Schema validator."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from iatk.context_generation import eventbridge_event_context
from iatk.mock_events import EventSchema, load_schema, mock_event, to_json_schema

SCHEMAS = Path(__file__).resolve().parents[1] / "data" / "schemas"

#: (file, event_ref, a path inside the event that an override sets)
FIXTURES = [
    ("ticket_created.json", None, ("detail", "customer", "address", "city")),
    ("order_shipped_draft4.json", None, ("detail", "warehouse", "code")),
    ("payment_processed.json", None, ("amount", "currency")),
    ("catalog_updated_recursive.json", "CatalogUpdated", ("root", "name")),
    ("plugin_trigger.json", None, ("pluginTitle",)),
    ("video_published.yaml", None, ("detail", "title")),
    ("aws_instance_state_change.json", None, ("detail", "instance-id")),
    ("combinators_2020_12.json", None, ("owner", "name")),
]
OVERRIDE_VALUES = {
    "city": "Lyon",
    "code": "LYS",
    "currency": "EUR",
    "name": "Books",
    "pluginTitle": "thumbnails",
    "title": "Launch",
    "instance-id": "i-0123abcd",
}
SEEDS = [None, 0, 1, 2, 3, 17, 2024]
# jsonschema's checker for every format it knows (date, time, uuid, ipv4... not only the draft's own)
FORMATS = jsonschema.FormatChecker()


def validator(schema: EventSchema, event_ref: str | None) -> Any:
    """A validator for the schema's event root, of the draft its $schema names."""
    document = to_json_schema(schema, event_ref)
    cls = jsonschema.validators.validator_for(document)
    cls.check_schema(document)
    return cls(document, format_checker=FORMATS)


def problems(check: Any, event: dict[str, Any]) -> list[str]:
    """Validation errors as 'path: message' lines."""
    return [f"{'/'.join(map(str, e.absolute_path))}: {e.message}" for e in check.iter_errors(event)]


@pytest.fixture(scope="module", params=FIXTURES, ids=[f[0] for f in FIXTURES])
def fixture(request: pytest.FixtureRequest) -> tuple[EventSchema, str | None, tuple[str, ...], Any]:
    """One fixture schema, loaded, with its event_ref, an override path and its validator."""
    name, event_ref, path = request.param
    loaded = load_schema(schema_file=SCHEMAS / name)
    return loaded, event_ref, path, validator(loaded, event_ref)


def test_every_schema_file_is_a_fixture():
    """FIXTURES lists exactly the schema files in tests/data/schemas, so a new file cannot go unchecked."""
    files = sorted(p.name for p in SCHEMAS.iterdir() if p.suffix in {".json", ".yaml", ".yml"})
    listed = sorted(name for name, _, _ in FIXTURES)
    assert listed == files, f"add the new schema files to FIXTURES: {sorted(set(files) - set(listed))}"
    assert len(set(listed)) == len(FIXTURES), "a file is listed twice"
    assert all(p.is_file() for p in SCHEMAS.iterdir() if not p.name.startswith(".")), "no sub-folders expected"


@pytest.mark.parametrize("skip_optional", [False, True], ids=["all", "required-only"])
@pytest.mark.parametrize("seed", SEEDS)
def test_generated_event_validates(fixture: Any, seed: int | None, skip_optional: bool):
    """The event validates against its own schema, for several seeds, with and without skip_optional."""
    loaded, event_ref, _, check = fixture
    event = mock_event(schema=loaded, event_ref=event_ref, seed=seed, skip_optional=skip_optional)
    assert problems(check, event) == []
    json.dumps(event)  # plain JSON, as it would travel


@pytest.mark.parametrize("skip_optional", [False, True], ids=["all", "required-only"])
def test_event_with_overrides_and_contexts_validates(fixture: Any, skip_optional: bool):
    """A schema-valid override and a context that returns the event keep the event valid."""
    loaded, event_ref, path, check = fixture
    overrides: dict[str, Any] = {}
    cursor = overrides
    for key in path[:-1]:
        cursor = cursor.setdefault(key, {})
    cursor[path[-1]] = OVERRIDE_VALUES[path[-1]]
    calls: list[str] = []

    def record(event: dict[str, Any]) -> dict[str, Any]:
        calls.append("record")
        return event

    event = mock_event(
        schema=loaded, event_ref=event_ref, seed=5, skip_optional=skip_optional, overrides=overrides, contexts=(record,)
    )
    value: Any = event
    for key in path:
        value = value[key]
    assert value == OVERRIDE_VALUES[path[-1]]
    assert calls == ["record"]
    assert problems(check, event) == []


def test_aws_envelopes_stay_valid_through_the_aws_iatk_context():
    """eventbridge_event_context keeps an AWSEvent-rooted event valid (it only fills empty fields)."""
    for name in ("ticket_created.json", "order_shipped_draft4.json", "video_published.yaml"):
        loaded = load_schema(schema_file=SCHEMAS / name)
        event = mock_event(schema=loaded, contexts=[eventbridge_event_context], overrides={"source": ""})
        assert isinstance(event["source"], str)
        assert event["source"]  # the emptied field was filled (the default itself is the context's own test)
        assert problems(validator(loaded, None), event) == []


def test_validator_catches_a_broken_event():
    """The validation used above really checks: a wrong type and a missing field are reported."""
    loaded = load_schema(schema_file=SCHEMAS / "ticket_created.json")
    event = mock_event(schema=loaded, seed=1)
    event["detail"]["lines"][0]["quantity"] = "many"
    del event["detail"]["customer"]["email"]
    event["detail"]["assigneeId"] = None  # nullable: still fine
    found = problems(validator(loaded, None), event)
    assert any("quantity" in line for line in found)
    assert any("'email' is a required property" in line for line in found)
    assert not any("assigneeId" in line for line in found)


def test_plugin_trigger_fixture_is_the_example_apps_contract():
    """The example app's trigger: both fields required, eventHook from its four hooks."""
    document = json.loads((SCHEMAS / "plugin_trigger.json").read_text())
    assert document["required"] == ["eventHook", "pluginTitle"]
    hooks = {"postValidate", "preMetadata", "postMetadata", "preValidate"}
    assert set(document["properties"]["eventHook"]["enum"]) == hooks
    event = mock_event(schema_file=SCHEMAS / "plugin_trigger.json", overrides={"eventHook": "preMetadata"})
    assert set(event) == {"eventHook", "pluginTitle"}
    assert event["eventHook"] == "preMetadata"


# -- issue 19: many seeds, boundary mode and mock_events, checked by an independent validator ---------

from hypothesis import (  # noqa: E402
    HealthCheck,
    given,
    settings,
    strategies as st,
)

from iatk.mock_events import mock_events, strategy  # noqa: E402


def _checker(name: str, event_ref: str | None) -> Any:
    document = to_json_schema(load_schema(schema_file=SCHEMAS / name), event_ref)
    cls = jsonschema.validators.validator_for(document)
    return cls(document, format_checker=cls.FORMAT_CHECKER)


CHECKERS = {name: (_checker(name, ref), ref) for name, ref, _ in FIXTURES}
LOADED = {name: load_schema(schema_file=SCHEMAS / name) for name, _, _ in FIXTURES}


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    name=st.sampled_from(sorted(CHECKERS)),
    seed=st.one_of(st.none(), st.integers(min_value=0, max_value=2**32 - 1)),
    skip_optional=st.booleans(),
)
def test_every_schema_validates_over_many_seeds(name: str, seed: int | None, skip_optional: bool):
    """Property: for every fixture schema and any seed, the event is valid (jsonschema, formats checked)."""
    check, ref = CHECKERS[name]
    event = mock_event(schema=LOADED[name], event_ref=ref, seed=seed, skip_optional=skip_optional)
    assert problems(check, event) == []


@pytest.mark.parametrize("name", sorted(CHECKERS))
def test_boundary_events_validate(name: str):
    """Boundary mode's edges (least, most, every enum value) are valid too."""
    check, ref = CHECKERS[name]
    for event in mock_events(8, schema=LOADED[name], event_ref=ref, boundary=True, seed=1):
        assert problems(check, event) == []


@pytest.mark.parametrize("name", sorted(CHECKERS))
def test_strategy_draws_valid_events(name: str):
    """strategy(): every event Hypothesis draws validates."""
    check, ref = CHECKERS[name]

    @settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
    @given(event=strategy(schema=LOADED[name], event_ref=ref))
    def run(event: dict[str, Any]) -> None:
        assert problems(check, event) == []

    run()
