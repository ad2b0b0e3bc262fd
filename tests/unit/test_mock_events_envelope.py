"""eventbridge_envelope, to_put_events_entry, to_json_schema and the aws-iatk context (no AWS)."""

from __future__ import annotations

import json
import uuid
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.stub import Stubber

from iatk.context_generation import eventbridge_event_context
from iatk.exceptions import ConfigError
from iatk.mock_events import (
    DEFAULT_ACCOUNT,
    DEFAULT_DETAIL_TYPE,
    DEFAULT_SOURCE,
    eventbridge_envelope,
    load_schema,
    mock_event,
    to_json_schema,
    to_put_events_entry,
)

SCHEMAS = Path(__file__).resolve().parents[1] / "data" / "schemas"
ENVELOPE_ORDER = ["version", "id", "detail-type", "source", "account", "time", "region", "resources", "detail"]


# ---------------------------------------------------------------------------------------------- envelope


def test_detail_is_wrapped_with_defaults():
    """A detail gets every envelope field, in EventBridge's order."""
    before = datetime.now(timezone.utc).replace(microsecond=0)
    event = eventbridge_envelope({"eventHook": "preValidate"}, "video.plugin", "PluginTriggered")
    assert list(event) == ENVELOPE_ORDER
    assert event["detail"] == {"eventHook": "preValidate"}
    assert (event["source"], event["detail-type"], event["version"]) == ("video.plugin", "PluginTriggered", "0")
    assert event["account"] == DEFAULT_ACCOUNT
    assert event["resources"] == []
    assert uuid.UUID(event["id"]).version == 4
    stamp = datetime.strptime(event["time"], "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=timezone.utc)
    assert before - timedelta(seconds=1) <= stamp <= datetime.now(timezone.utc)


def test_without_source_the_defaults_are_iatk_mock():
    """No source anywhere: DEFAULT_SOURCE and DEFAULT_DETAIL_TYPE."""
    event = eventbridge_envelope({})
    assert (event["source"], event["detail-type"]) == (DEFAULT_SOURCE, DEFAULT_DETAIL_TYPE)


def test_schema_extensions_name_a_detail_only_event():
    """A detail-only schema carrying x-amazon-events-* gives source and detail-type via schema=."""
    loaded = load_schema(schema_file=SCHEMAS / "payment_processed.json")
    event = eventbridge_envelope(mock_event(schema=loaded, seed=1), schema=loaded)
    assert (event["source"], event["detail-type"]) == ("com.example.payments", "PaymentProcessed")
    assert eventbridge_envelope({}, schema=json.loads((SCHEMAS / "payment_processed.json").read_text()))["source"] == (
        "com.example.payments"
    )


def test_precedence_argument_then_event_then_schema_then_default():
    """Arguments beat the event's values, which beat the schema's extensions."""
    loaded = load_schema(schema_file=SCHEMAS / "ticket_created.json")
    event = {"detail": {}, "source": "from.event", "detail-type": ""}
    done = eventbridge_envelope(event, detail_type=None, schema=loaded)
    assert (done["source"], done["detail-type"]) == ("from.event", "TicketCreated")
    assert eventbridge_envelope(event, "from.arg", schema=loaded)["source"] == "from.arg"


def test_an_event_is_completed_not_rewrapped_and_not_mutated():
    """An envelope is completed in a new dict; the input is left as it was; extra envelope keys survive."""
    event = {"detail": {"a": 1}, "id": "fixed", "replay-name": "r1"}
    done = eventbridge_envelope(event, account="111122223333", region="eu-north-1", resources=["arn:x"])
    assert done["detail"] == {"a": 1}
    assert done["id"] == "fixed"
    assert done["replay-name"] == "r1"
    assert (done["account"], done["region"], done["resources"]) == ("111122223333", "eu-north-1", ["arn:x"])
    assert event == {"detail": {"a": 1}, "id": "fixed", "replay-name": "r1"}


def test_a_detail_with_a_detail_key_stays_a_detail():
    """A mapping with 'detail' plus non-envelope keys is a detail, not an event."""
    payload = {"detail": "text", "orderId": "o-1"}
    assert eventbridge_envelope(payload)["detail"] == payload


def test_time_argument_forms():
    """A datetime (naive = UTC, aware converted) or a text sets the time."""
    naive = datetime(2024, 5, 1, 12, 0, 0)
    aware = datetime(2024, 5, 1, 14, 0, 0, tzinfo=timezone(timedelta(hours=2)))
    assert eventbridge_envelope({}, time=naive)["time"] == "2024-05-01T12:00:00Z"
    assert eventbridge_envelope({}, time=aware)["time"] == "2024-05-01T12:00:00Z"
    assert eventbridge_envelope({}, time="2020-01-01T00:00:00Z")["time"] == "2020-01-01T00:00:00Z"


def test_region_from_session():
    """The region is the session's when no region is given."""
    session = boto3.Session(aws_access_key_id="x", aws_secret_access_key="x", region_name="ap-south-2")
    assert eventbridge_envelope({}, session=session)["region"] == "ap-south-2"


def test_envelope_rejects_non_mappings():
    """A list is neither a detail nor an event."""
    with pytest.raises(ConfigError, match="takes a detail or event dict"):
        eventbridge_envelope([1, 2])  # type: ignore[arg-type]


# ---------------------------------------------------------------------------------------------- PutEvents entry


def test_put_events_entry_shape():
    """The entry has Source, DetailType, Detail as compact JSON, Resources, Time and EventBusName."""
    event = eventbridge_envelope(
        {"b": [1, 2], "a": "é"}, "app", "Thing", time="2024-05-01T12:00:00Z", resources=["arn:r"]
    )
    entry = to_put_events_entry(event, bus="orders")
    assert entry == {
        "Source": "app",
        "DetailType": "Thing",
        "Detail": '{"b":[1,2],"a":"\\u00e9"}',
        "Resources": ["arn:r"],
        "EventBusName": "orders",
        "Time": datetime(2024, 5, 1, 12, tzinfo=timezone.utc),
    }
    assert json.loads(entry["Detail"]) == event["detail"]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2023-10-18T21:08:04.782196-07:00", datetime(2023, 10, 19, 4, 8, 4, 782196, tzinfo=timezone.utc)),
        ("2023-10-18T21:08:04.123456789Z", datetime(2023, 10, 18, 21, 8, 4, 123456, tzinfo=timezone.utc)),
        ("2023-10-18T21:08:04+0530", datetime(2023, 10, 18, 15, 38, 4, tzinfo=timezone.utc)),
        ("2023-10-18 21:08:04", datetime(2023, 10, 18, 21, 8, 4, tzinfo=timezone.utc)),
    ],
)
def test_put_events_entry_parses_rfc3339_times(text: str, expected: datetime):
    """Times with offsets, nanoseconds (aws-iatk's output) or no zone become aware datetimes."""
    assert to_put_events_entry({"source": "s", "detail-type": "d", "detail": {}, "time": text})["Time"] == expected


def test_put_events_entry_without_time_or_resources():
    """No time: no Time key (EventBridge stamps it); trace header passes through."""
    entry = to_put_events_entry({"source": "s", "detail-type": "d", "detail": {}}, trace_header="Root=1-abc")
    assert "Time" not in entry
    assert entry["Resources"] == []
    assert entry["TraceHeader"] == "Root=1-abc"


def test_put_events_entry_refuses_a_bare_detail():
    """A detail without an envelope is refused with the fix."""
    with pytest.raises(ConfigError, match=r"needs an EventBridge event with a 'detail' object.*eventbridge_envelope"):
        to_put_events_entry({"eventHook": "postValidate"})


def test_put_events_entry_needs_source_and_detail_type():
    """An empty source or detail-type names what is missing."""
    with pytest.raises(ConfigError, match="has no source or detail-type"):
        to_put_events_entry({"detail": {}, "source": "", "detail-type": None})


def test_put_events_entry_bad_time_and_detail():
    """A time that is not RFC 3339 and a detail that is not JSON are ConfigErrors."""
    with pytest.raises(ConfigError, match="not RFC 3339"):
        to_put_events_entry({"source": "s", "detail-type": "d", "detail": {}, "time": "yesterday"})
    with pytest.raises(ConfigError, match="not JSON-serializable"):
        to_put_events_entry({"source": "s", "detail-type": "d", "detail": {"x": object()}})


def test_put_events_entry_passes_botocore_validation():
    """botocore accepts the entry for PutEvents (checked by the Stubber's parameter validation)."""
    client = boto3.Session(aws_access_key_id="x", aws_secret_access_key="x", region_name="us-east-1").client("events")
    entry = to_put_events_entry(mock_event(schema_file=SCHEMAS / "ticket_created.json", seed=3), bus="support")
    with Stubber(client) as stub:
        stub.add_response("put_events", {"FailedEntryCount": 0, "Entries": [{"EventId": "e1"}]}, {"Entries": [entry]})
        assert client.put_events(Entries=[entry])["FailedEntryCount"] == 0


# ---------------------------------------------------------------------------------------------- to_json_schema


def test_openapi_nullable_becomes_a_type_list():
    """nullable: true adds null to type and enum; a typeless nullable node accepts null."""
    document = {
        "openapi": "3.0.0",
        "components": {
            "schemas": {
                "E": {
                    "type": "object",
                    "properties": {
                        "a": {"type": "string", "nullable": True, "enum": ["x"]},
                        "b": {"allOf": [{"$ref": "#/components/schemas/B"}], "nullable": True},
                        "example": {"type": "integer"},
                    },
                },
                "B": {"type": "object"},
            }
        },
    }
    converted = to_json_schema(document, "E")
    props = converted["x-iatk-document"]["components"]["schemas"]["E"]["properties"]
    assert props["a"] == {"type": ["string", "null"], "nullable": True, "enum": ["x", None]}
    assert props["b"]["anyOf"][0] == {"type": "null"}
    assert props["example"] == {"type": "integer"}  # a property named like a keyword is still a schema
    import jsonschema

    jsonschema.Draft4Validator(converted).validate({"a": None, "b": None, "example": 3})
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.Draft4Validator(converted).validate({"example": "three"})


def test_json_schema_root_is_returned_as_a_copy():
    """A JSON Schema document without event_ref comes back equal but not the same object."""
    loaded = load_schema(schema_file=SCHEMAS / "plugin_trigger.json")
    converted = to_json_schema(loaded)
    assert converted == loaded.document
    assert converted is not loaded.document


def test_openapi_31_uses_the_2020_12_dialect():
    """OpenAPI 3.1 documents are validated as JSON Schema 2020-12."""
    document = {"openapi": "3.1.0", "components": {"schemas": {"AWSEvent": {"type": ["object"]}}}}
    assert to_json_schema(document)["$schema"] == "https://json-schema.org/draft/2020-12/schema"


# ---------------------------------------------------------------------------------------------- aws-iatk context


def test_context_fills_falsy_fields_in_place():
    """eventbridge_event_context fills missing or falsy envelope fields with aws-iatk's defaults, in place."""
    event: dict[str, Any] = {"detail": {"k": 1}, "source": "", "resources": [], "account": "999999999999"}
    result = eventbridge_event_context(event)
    assert result is event
    assert (event["source"], event["detail-type"], event["region"]) == ("source", "detail-type", "us-east-1")
    assert event["account"] == "999999999999"
    assert event["version"] == "0"
    assert event["resources"] == []
    assert event["detail"] == {"k": 1}
    assert uuid.UUID(event["id"])
    assert event["time"].endswith("Z")  # aws-iatk wrote local time without a zone


def test_context_keeps_filled_fields():
    """Non-empty values, including a time from a date-time field, are kept."""
    event = {
        "version": "1",
        "id": "i",
        "detail-type": "T",
        "source": "S",
        "account": "A",
        "time": "2020-01-01T00:00:00Z",
    }
    event |= {"region": "R", "resources": ["r"]}
    assert eventbridge_event_context(dict(event)) == event


def test_context_refuses_none():
    """None (a previous context forgot to return) is a TypeError, not a silent pass."""
    with pytest.raises(TypeError, match="takes the event dict; got NoneType"):
        eventbridge_event_context(None)  # type: ignore[arg-type]
