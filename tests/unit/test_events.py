"""Event: parsing envelopes and transformed bodies; put_events argument checks (before any AWS call)."""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
import json

import pytest

import iatk
from iatk.events import Event, put_events, subscribe_waits
from iatk.matchers import match

UTC = dt.timezone.utc

MOTO_ENVELOPE = {
    "version": "0",
    "id": "17793124-05d4-b198-2fde-7ededc63b103",
    "detail-type": "plugin-complete",
    "source": "video.plugin",
    "time": "2026-11-22T14:30:52Z",
    "region": "us-east-1",
    "resources": ["arn:aws:s3:::clips"],
    "detail": {"pluginId": "p-1", "size": 3},
}


def test_envelope_fills_the_fields():
    """An envelope body fills every field; moto's missing account is None."""
    received = dt.datetime(2026, 11, 22, 14, 30, 53, 500000, tzinfo=UTC)
    body = json.dumps(MOTO_ENVELOPE)
    event = Event.from_body(body, received_at=received, message_id="sqs-1")
    assert event.id == "17793124-05d4-b198-2fde-7ededc63b103"
    assert event.source == "video.plugin"
    assert event.detail_type == "plugin-complete"
    assert event.detail == {"pluginId": "p-1", "size": 3}
    assert event.time == dt.datetime(2026, 11, 22, 14, 30, 52, tzinfo=UTC)
    assert event.resources == ("arn:aws:s3:::clips",)
    assert event.account is None
    assert event.region == "us-east-1"
    assert event.body == body
    assert event.received_at == received
    assert event.latency is None
    assert event.is_envelope
    assert event.envelope == MOTO_ENVELOPE
    assert event.json() == MOTO_ENVELOPE
    assert event.latency_from_event_time == pytest.approx(1.5)


def test_envelope_with_account_and_odd_values():
    """account is read when present; odd resources and time values give empty/None fields."""
    doc = dict(MOTO_ENVELOPE, account="123456789012", resources="not-a-list", time="yesterday")
    event = Event.from_body(json.dumps(doc))
    assert event.account == "123456789012"
    assert event.resources == ()
    assert event.time is None
    assert event.latency_from_event_time is None


def test_as_dict_is_the_envelope_in_envelope_keys():
    """as_dict() gives the envelope with dashed keys, as a copy."""
    event = Event.from_body(json.dumps(MOTO_ENVELOPE))
    first = event.as_dict()
    assert first == MOTO_ENVELOPE
    first["source"] = "changed"
    assert event.as_dict()["source"] == "video.plugin"


def test_transformed_string_body():
    """A string template's output is kept verbatim; the fields are None; the id is the MessageId."""
    event = Event.from_body('"order 42 shipped"', message_id="m-1")
    assert event.body == '"order 42 shipped"'
    assert event.json() == "order 42 shipped"
    assert event.id == "m-1"
    assert (event.source, event.detail_type, event.detail, event.time) == (None, None, None, None)
    assert (event.account, event.region, event.resources) == (None, None, ())
    assert not event.is_envelope
    assert event.envelope is None
    assert event.as_dict() == {}


def test_transformed_json_body_without_message_id_gets_a_stable_id():
    """Without a MessageId the id is a sha256 of the body: equal bodies, equal ids."""
    body = '{"orderId": 42, "source": "it.app"}'
    first, second = Event.from_body(body), Event.from_body(body)
    assert first.id == second.id == "sha256:" + hashlib.sha256(body.encode()).hexdigest()
    assert Event.from_body('{"orderId": 43}').id != first.id
    assert first.as_dict() == {"orderId": 42, "source": "it.app"}
    assert not first.is_envelope


def test_body_that_is_not_json():
    """A body that is not JSON still makes an Event; json() raises ValueError."""
    event = Event.from_body("plain text", message_id="m-2")
    assert event.as_dict() == {}
    with pytest.raises(ValueError, match="not JSON"):
        event.json()


def test_bytes_body_is_decoded():
    """A bytes body is decoded as UTF-8."""
    assert Event.from_body(json.dumps(MOTO_ENVELOPE).encode()).source == "video.plugin"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2026-11-22T14:30:52Z", dt.datetime(2026, 11, 22, 14, 30, 52, tzinfo=UTC)),
        ("2026-11-22T14:30:52.123Z", dt.datetime(2026, 11, 22, 14, 30, 52, 123000, tzinfo=UTC)),
        ("2026-11-22T14:30:52.5Z", dt.datetime(2026, 11, 22, 14, 30, 52, 500000, tzinfo=UTC)),
        ("2026-11-22T14:30:52.123456789Z", dt.datetime(2026, 11, 22, 14, 30, 52, 123456, tzinfo=UTC)),
        ("2026-11-22T16:30:52+02:00", dt.datetime(2026, 11, 22, 14, 30, 52, tzinfo=UTC)),
        ("2026-11-22T16:30:52+0200", dt.datetime(2026, 11, 22, 14, 30, 52, tzinfo=UTC)),
        ("2026-11-22T14:30:52", dt.datetime(2026, 11, 22, 14, 30, 52, tzinfo=UTC)),
        ("2026-11-22T14:30Z", dt.datetime(2026, 11, 22, 14, 30, tzinfo=UTC)),
        ("2026-13-22T14:30:52Z", None),
        ("", None),
        (1700000000, None),
    ],
)
def test_time_parsing(text, expected):
    """The envelope time becomes an aware UTC datetime; what is not RFC 3339 becomes None."""
    event = Event.from_body(json.dumps(dict(MOTO_ENVELOPE, time=text)))
    assert event.time == expected
    if expected is not None:
        assert event.time is not None
        assert event.time.utcoffset() == dt.timedelta(0)


def test_received_at_defaults_to_now_and_naive_means_utc():
    """received_at defaults to an aware now; a naive value is taken as UTC."""
    before = dt.datetime.now(UTC)
    event = Event.from_body("{}")
    assert before <= event.received_at <= dt.datetime.now(UTC)
    naive = Event.from_body("{}", received_at=dt.datetime(2026, 1, 1, 12, 0))
    assert naive.received_at == dt.datetime(2026, 1, 1, 12, 0, tzinfo=UTC)


def test_with_latency_copies_and_event_is_frozen():
    """with_latency returns a copy with latency set; the Event itself cannot change."""
    event = Event.from_body(json.dumps(MOTO_ENVELOPE))
    timed = event.with_latency(0.25)
    assert timed.latency == 0.25
    assert event.latency is None
    assert timed.id == event.id
    assert timed.json() == event.json()
    with pytest.raises(dataclasses.FrozenInstanceError):
        event.source = "x"  # type: ignore[misc]


def test_events_hash_by_id_and_body():
    """Events with dict details are hashable; two receipts of one event share a hash."""
    body = json.dumps(MOTO_ENVELOPE)
    first = Event.from_body(body)
    again = Event.from_body(body).with_latency(1.0)
    assert hash(first) == hash(again)
    assert len({first, Event.from_body('"x"', message_id="m")}) == 2


def test_from_sqs_message():
    """An SQS ReceiveMessage entry gives its Body and MessageId."""
    event = Event.from_sqs_message({"MessageId": "m-9", "Body": '"hello"', "ReceiptHandle": "r"})
    assert event.id == "m-9"
    assert event.json() == "hello"


def test_hand_built_event_matches_on_its_fields():
    """An Event built from fields, without a body, still has an envelope form for matchers."""
    event = Event(
        id="e-1",
        source="app.orders",
        detail_type="OrderPlaced",
        detail={"orderId": 42},
        time=dt.datetime(2026, 1, 1, tzinfo=UTC),
        resources=("arn:x",),
        account="123456789012",
        region="eu-west-1",
        body="",
        received_at=dt.datetime(2026, 1, 1, 0, 0, 1, tzinfo=UTC),
    )
    assert event.as_dict() == {
        "id": "e-1",
        "source": "app.orders",
        "detail-type": "OrderPlaced",
        "time": "2026-01-01T00:00:00Z",
        "resources": ["arn:x"],
        "account": "123456789012",
        "region": "eu-west-1",
        "detail": {"orderId": 42},
    }
    assert match(source="app.orders", detail={"orderId": 42})(event).matched


def test_summary():
    """summary() shows id, source, detail-type and a truncated body."""
    event = Event.from_body(json.dumps(MOTO_ENVELOPE))
    text = event.summary(width=30)
    assert text.startswith(f"id={event.id} source='video.plugin' detail-type='plugin-complete' body=")
    assert text.endswith("…")
    assert Event.from_body('"x"', message_id="m").summary() == 'id=m (not an EventBridge envelope) body="x"'


# --- put_events: argument checks happen before any AWS call -------------------------------------------


def test_put_events_needs_entries():
    """No entries is a ConfigError."""
    with pytest.raises(iatk.ConfigError, match="at least one entry"):
        put_events()


def test_put_events_rejects_a_list_with_a_hint():
    """A list passed as one entry gets a hint to unpack it."""
    with pytest.raises(iatk.ConfigError, match=r"put_events\(\*entries\)"):
        put_events([{"Source": "a"}])  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("entry", "message"),
    [
        ("text", "entry 0 is a str, expected a dict"),
        ({"Source": "a", "Detial": {}}, "did you mean 'Detail'"),
        ({"source": "a", "colour": "red"}, "unknown key"),
        ({"Source": "a", "Detail": 5}, "Detail of entry 0 .* is a int"),
        ({"Source": "a", "Detail": {"when": object()}}, "is not JSON"),
        ({"Source": "a", "Detail": "{}", "Resources": "arn:x"}, "must be a list of ARNs"),
        ({"Source": "a", "Detail": "{}", "EventBusName": ""}, "EventBusName of entry 0"),
        ({"Source": "a", "Detail": json.dumps({"x": "x" * (256 * 1024)})}, "at most 262144 bytes"),
        # EventBridge takes only a JSON object as Detail (MalformedDetail otherwise).
        (
            {"Source": "a", "Detail": [1, 2]},
            "Detail of entry 0 .* is a list \\(a JSON array\\); EventBridge takes only",
        ),
        ({"Source": "a", "Detail": (1, 2)}, "is a tuple \\(a JSON array\\)"),
        ({"Source": "a", "Detail": {1, 2}}, "is a set; EventBridge takes only a JSON object"),
        ({"Source": "a", "Detail": "[1, 2]"}, "is a list \\(a JSON array\\)"),
        ({"Source": "a", "Detail": '"text"'}, "is a str; EventBridge takes only"),
        ({"Source": "a", "Detail": "42"}, "is a int"),
        ({"Source": "a", "Detail": "null"}, "is null"),
        ({"Source": "a", "Detail": "{not json"}, "is not JSON .*MalformedDetail"),
        ({"Source": "a", "Detail": "[" * 1500 + "]" * 1500}, "nests too deep|nests deeper than 1100"),
        ({"Source": "a", "Detail": '{"a":' * 1200 + "1" + "}" * 1200}, "nests too deep|nests deeper than 1100"),
    ],
)
def test_put_events_checks_entries(entry, message):
    """A malformed entry is a ConfigError naming the entry, pointing to the README's "Putting events"."""
    with pytest.raises(iatk.ConfigError, match=message) as caught:
        put_events(entry)
    assert "section 'Putting events'" in str(caught.value)
    assert "section 'Configuration'" not in str(caught.value)


def test_put_events_refuses_a_detail_nested_past_the_limit_built_as_a_dict():
    """A dict Detail 1,101 levels deep is refused by its depth (measured without recursion), not a RecursionError."""
    detail: dict[str, object] = {"leaf": 1}
    for _ in range(1100):
        detail = {"a": detail}
    with pytest.raises(iatk.ConfigError, match=r"nests deeper than 1100 levels \(at \$\.detail\.a\.a"):
        put_events({"Source": "a", "DetailType": "b", "Detail": detail})


def test_put_events_checks_the_bus():
    """An empty bus is a ConfigError."""
    with pytest.raises(iatk.ConfigError, match="bus must be a bus name or ARN"):
        put_events({"Source": "a", "DetailType": "b", "Detail": "{}"}, bus="")


def test_subscribing_to_waits_imports_no_boto3() -> None:
    """The pytest plugin subscribes to waits for every test: that must not import botocore or boto3."""
    import subprocess
    import sys

    code = (
        "import sys; from iatk.events import subscribe_waits; subscribe_waits(print)(); "
        "print(sorted(m for m in ('boto3', 'botocore', 'iatk.listener') if m in sys.modules))"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60)
    assert done.stdout.strip() == "[]"


def test_unsubscribe_removes_the_callback_and_is_harmless_twice() -> None:
    """subscribe_waits registers the callback where listener waits report; unsubscribing removes it once."""
    from iatk import listener, waiting

    seen: list[tuple[object, object]] = []

    def callback(made: object, record: object) -> None:
        seen.append((made, record))

    unsubscribe = subscribe_waits(callback)
    assert listener.subscribe_waits is subscribe_waits is waiting.subscribe_waits
    waiting.notify_waits("a listener", "a record")  # type: ignore[arg-type]
    assert seen == [("a listener", "a record")]
    unsubscribe()
    unsubscribe()
    waiting.notify_waits("a listener", "another record")  # type: ignore[arg-type]
    assert seen == [("a listener", "a record")]
