"""The EventBridge envelope: wrap or complete one, fill an AWSEvent's, seed its id and time; a PutEvents entry."""

from __future__ import annotations

import copy
import json
import os
import random
import re
import uuid
from collections.abc import Iterable, Mapping
from datetime import date, datetime, timezone
from typing import TYPE_CHECKING, Any

from iatk._config import current_settings
from iatk._json import resolve_pointer
from iatk.exceptions import ConfigError, SchemaError

from ._schema import _DETAIL_TYPE_EXT, _SOURCE_EXT, EventSchema
from ._seeded import _seeded_time, _seeded_uuid

if TYPE_CHECKING:
    import boto3

    from ._generate import _Generator

#: The account an envelope gets when none is given (the one moto uses too).
DEFAULT_ACCOUNT = "123456789012"
#: Source and detail-type of an envelope when neither the caller nor the schema names them.
DEFAULT_SOURCE = "iatk.mock"
DEFAULT_DETAIL_TYPE = "iatk.mock"

_ENVELOPE_KEYS = ("version", "id", "detail-type", "source", "account", "time", "region", "resources", "detail")


def merge_overrides(base: dict[str, Any], override: Mapping[str, Any]) -> dict[str, Any]:
    """``override`` deep-merged onto ``base``, as a new dict: mappings merge key by key, any other value replaces.

    How ``mock_event(overrides=...)`` applies its overrides, and how the CLI merges repeated ``--override``.
    """
    out = dict(base)
    for key, value in override.items():
        current = out.get(key)
        if isinstance(value, Mapping) and isinstance(current, dict):
            out[key] = merge_overrides(current, value)
        else:
            out[key] = _plain(value)
    return out


def _plain(value: Any) -> Any:
    """A JSON-shaped deep copy: mappings become dicts and tuples lists."""
    if isinstance(value, Mapping):
        return {key: _plain(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(item) for item in value]
    return copy.deepcopy(value)


def _plain_node(generator: _Generator, node: Any) -> Mapping[str, Any] | None:
    """The schema of an envelope field if it leaves the value free (no example, enum, const, pattern)."""
    seen = 0
    while isinstance(node, Mapping) and "$ref" in node and seen < 10:
        try:
            node = resolve_pointer(generator.document, str(node["$ref"]))
        except (KeyError, ValueError):
            return None
        seen += 1
    if not isinstance(node, Mapping):
        return None
    if any(
        k in node for k in ("example", "examples", "default", "enum", "const", "pattern", "allOf", "oneOf", "anyOf")
    ):
        return None
    return node


def _fill_envelope(
    event: dict[str, Any], generator: _Generator, root: Any, pointer: str, session: boto3.Session | None
) -> None:
    """Give an AWSEvent-shaped event real envelope values where its schema leaves them free."""
    if not isinstance(root, Mapping):
        return
    try:
        merged, _ = generator.merge(root, pointer, "$", ())
    except SchemaError:
        return
    props = merged.get("properties")
    if not isinstance(props, Mapping) or "detail" not in props:
        return
    if sum(key in props for key in _ENVELOPE_KEYS) < 3:
        return
    extension_root = merged if (_SOURCE_EXT in merged or _DETAIL_TYPE_EXT in merged) else None
    source = (extension_root or {}).get(_SOURCE_EXT) or generator.schema.source
    detail_type = (extension_root or {}).get(_DETAIL_TYPE_EXT) or generator.schema.detail_type
    # the id and time are drawn from the seed and the schema: two schemas with one seed differ there
    rng = random.Random(f"{generator.seed}|{generator.digest}|{generator.salt}|envelope")
    event_id = _seeded_uuid(rng, fresh=generator.fresh)
    moment = generator.now if generator.fresh else _seeded_time(rng)
    values: dict[str, Any] = {
        "version": "0",
        "id": event_id,
        "account": _session_account(session),
        "region": _default_region(session),
    }
    time_field = _plain_node(generator, props.get("time"))
    if (
        "time" in event
        and time_field is not None
        and time_field.get("type", "string") == "string"
        and time_field.get("format") in (None, "date-time")
        and not time_field.get("maxLength")
    ):
        event["time"] = moment.strftime("%Y-%m-%dT%H:%M:%SZ")
    if isinstance(source, str):
        values["source"] = source
    if isinstance(detail_type, str):
        values["detail-type"] = detail_type
    for key, value in values.items():
        field = _plain_node(generator, props.get(key))
        if key in event and field is not None and _free_string(field, value):
            event[key] = value
    resources = _plain_node(generator, props.get("resources"))
    if "resources" in event and resources is not None and not resources.get("minItems"):
        event["resources"] = []
    ordered = {key: event.pop(key) for key in _ENVELOPE_KEYS if key in event}  # EventBridge's order
    ordered.update(event)
    event.clear()
    event.update(ordered)


def _free_string(field: Mapping[str, Any], value: str) -> bool:
    if field.get("type", "string") != "string" or field.get("format"):
        return False
    return int(field.get("minLength", 0)) <= len(value) <= int(field.get("maxLength", len(value)))


def _session_account(session: boto3.Session | None) -> str:
    """The session's account (one STS call, cached per session); :data:`DEFAULT_ACCOUNT` without a session.

    Only an explicit session is asked, so an event from a file needs no AWS; when the call fails
    (no credentials, no network) the default stands.
    """
    if session is None:
        return DEFAULT_ACCOUNT
    from iatk._aws import BOTO_ERRORS, read_account
    from iatk.exceptions import IatkError

    try:
        return read_account(session, timeout=2.0)
    except IatkError:
        return DEFAULT_ACCOUNT
    except BOTO_ERRORS:
        return DEFAULT_ACCOUNT


def _default_region(session: boto3.Session | None = None) -> str:
    if session is not None and session.region_name:
        return str(session.region_name)
    return (
        current_settings().region or os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION") or "us-east-1"
    )


def _now_text() -> str:
    return datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def _time_text(value: datetime | date | str) -> str:
    if isinstance(value, datetime):
        moment = value if value.tzinfo else value.replace(tzinfo=timezone.utc)
        return moment.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
    if isinstance(value, date):
        return f"{value.isoformat()}T00:00:00Z"
    return str(value)


def _is_envelope(value: Mapping[str, Any]) -> bool:
    return "detail" in value and all(key in _ENVELOPE_KEYS or key == "replay-name" for key in value)


def eventbridge_envelope(
    detail_or_event: Mapping[str, Any],
    source: str | None = None,
    detail_type: str | None = None,
    *,
    schema: EventSchema | Mapping[str, Any] | None = None,
    account: str | None = None,
    region: str | None = None,
    time: datetime | str | None = None,
    resources: Iterable[str] | None = None,
    event_id: str | None = None,
    session: boto3.Session | None = None,
) -> dict[str, Any]:
    """Wrap a detail in an EventBridge event, or complete an event's envelope. No AWS call.

    A mapping is taken as an event when it has ``detail`` and only envelope keys (``version``,
    ``id``, ``detail-type``, ``source``, ``account``, ``time``, ``region``, ``resources``,
    ``detail``); anything else is a detail. For each field the first of these wins: the argument,
    the event's own non-empty value, the schema's ``x-amazon-events-*`` (source and detail-type),
    then the default: ``DEFAULT_SOURCE`` / ``DEFAULT_DETAIL_TYPE``, a uuid4 ``id``, ``time`` now
    (RFC 3339, UTC), ``account`` :data:`DEFAULT_ACCOUNT`, ``region`` the session's (else the
    configured one, else ``us-east-1``), ``version`` ``"0"``, ``resources`` ``[]``.

    A detail-only schema gets its source and detail-type from the arguments, or from
    ``schema=`` when that schema carries the ``x-amazon-events-*`` extensions::

        trigger = iatk.load_schema(schema_file="schemas/plugin_trigger.json")
        event = iatk.eventbridge_envelope(iatk.mock_event(schema=trigger), "video.plugin", "PluginTriggered")

    Args:
        detail_or_event: The detail, or an event to complete (not modified).
        source: The event's source.
        detail_type: The event's detail-type.
        schema: An :class:`EventSchema` or schema document to read ``x-amazon-events-*`` from.
        account: The account id.
        region: The region.
        time: A datetime (naive is taken as UTC) or an RFC 3339 text.
        resources: Resource ARNs.
        event_id: The event id.
        session: Only its region is read.

    Returns:
        A new event dict, keys in EventBridge's order.
    """
    if not isinstance(detail_or_event, Mapping):
        raise ConfigError(f"eventbridge_envelope takes a detail or event dict; got {type(detail_or_event).__name__}")
    base = _plain(detail_or_event) if _is_envelope(detail_or_event) else {"detail": _plain(detail_or_event)}
    loaded = EventSchema.from_document(schema) if isinstance(schema, Mapping) else schema
    schema_source = loaded.source if loaded is not None else None
    schema_detail_type = loaded.detail_type if loaded is not None else None
    event: dict[str, Any] = {
        "version": base.get("version") or "0",
        "id": event_id or base.get("id") or str(uuid.uuid4()),
        "detail-type": detail_type or base.get("detail-type") or schema_detail_type or DEFAULT_DETAIL_TYPE,
        "source": source or base.get("source") or schema_source or DEFAULT_SOURCE,
        "account": account or base.get("account") or DEFAULT_ACCOUNT,
        "time": _time_text(time) if time else base.get("time") or _now_text(),
        "region": region or base.get("region") or _default_region(session),
        "resources": list(resources) if resources is not None else base.get("resources") or [],
        "detail": base.get("detail") if base.get("detail") is not None else {},
    }
    event.update({k: v for k, v in base.items() if k not in event})
    return event


def seeded_envelope(
    event: Mapping[str, Any],
    source: str | None = None,
    detail_type: str | None = None,
    *,
    seed: int | None,
    schema: EventSchema | Mapping[str, Any] | None = None,
    session: boto3.Session | None = None,
) -> dict[str, Any]:
    """:func:`eventbridge_envelope`, with an id and time that depend only on ``seed`` (None: fresh ones).

    What ``iatk mock-event --envelope --seed N`` prints, so an event made with a seed is
    reproducible envelope included. An AWSEvent's own (seeded) id and time stay.
    """
    event_id: str | None = None
    moment: datetime | None = None
    if seed is not None:
        own = event if _is_envelope(event) else {}  # an AWSEvent's own (seeded) id and time stay
        seeded_id, seeded_time = _seeded_envelope_fields(seed)
        event_id = None if own.get("id") else seeded_id
        moment = None if own.get("time") else seeded_time
    return eventbridge_envelope(
        event, source, detail_type, schema=schema, session=session, event_id=event_id, time=moment
    )


def _seeded_envelope_fields(seed: int) -> tuple[str, datetime]:
    """An envelope id and time that depend only on the seed (an event made with --seed is reproducible)."""
    rng = random.Random(f"iatk mock-event envelope {seed}")  # a str seed hashes the same in every process
    event_id = _seeded_uuid(rng)
    return event_id, _seeded_time(rng)


def _parse_time(value: Any) -> datetime:
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=timezone.utc)
    text = str(value).strip()
    found = re.match(r"^(\d{4}-\d{2}-\d{2})[Tt ](\d{2}:\d{2}:\d{2})(\.\d+)?([Zz]|[+-]\d{2}:?\d{2})?$", text)
    if not found:
        raise ConfigError(f"event time {value!r} is not RFC 3339 (like 2024-05-01T12:00:00Z)")
    fraction = (found.group(3) or "")[:7].ljust(7, "0") if found.group(3) else ""
    zone = found.group(4) or "Z"
    zone = "+00:00" if zone in ("Z", "z") else zone if ":" in zone else f"{zone[:3]}:{zone[3:]}"
    return datetime.fromisoformat(f"{found.group(1)}T{found.group(2)}{fraction}{zone}")


def to_put_events_entry(
    event: Mapping[str, Any], bus: str = "default", *, trace_header: str | None = None
) -> dict[str, Any]:
    """Turn an EventBridge event (envelope) into a ``PutEvents`` entry (aws-iatk #115).

    Args:
        event: An event with ``source``, ``detail-type`` and a ``detail`` object, as returned by
            :func:`mock_event` for an ``AWSEvent`` schema or by :func:`eventbridge_envelope`.
        bus: ``EventBusName``: a bus name or ARN.
        trace_header: Optional X-Ray ``TraceHeader``.

    Returns:
        ``{"Source", "DetailType", "Detail" (JSON text), "Resources", "EventBusName"}``, plus
        ``"Time"`` (an aware datetime) when the event has a time, and ``"TraceHeader"`` when given.

    Raises:
        ConfigError: The event lacks source, detail-type or an object detail; its source begins
            with ``aws.`` (EventBridge refuses those from PutEvents: the message says what to use);
            its detail is not JSON-serializable, or its time is not RFC 3339.
    """
    given: Any = event  # checked at run time: callers pass JSON they built
    if not isinstance(given, Mapping) or not isinstance(given.get("detail"), Mapping):
        raise ConfigError(
            "to_put_events_entry needs an EventBridge event with a 'detail' object; wrap a detail first with "
            "iatk.eventbridge_envelope(detail, source=..., detail_type=...)"
        )
    missing = [key for key in ("source", "detail-type") if not isinstance(event.get(key), str) or not event.get(key)]
    if missing:
        raise ConfigError(
            f"to_put_events_entry: the event has no {' or '.join(missing)}; complete it with "
            "iatk.eventbridge_envelope(event, source=..., detail_type=...)"
        )
    if str(event["source"]).startswith("aws."):
        from iatk.events import aws_source_advice

        raise ConfigError(f"to_put_events_entry: {aws_source_advice([str(event['source'])])}")
    try:
        detail = json.dumps(event["detail"], separators=(",", ":"))
    except (TypeError, ValueError) as err:
        raise ConfigError(f"to_put_events_entry: the detail is not JSON-serializable: {err}") from err
    entry: dict[str, Any] = {
        "Source": event["source"],
        "DetailType": event["detail-type"],
        "Detail": detail,
        "Resources": [str(r) for r in event.get("resources") or []],
        "EventBusName": bus,
    }
    if event.get("time"):
        entry["Time"] = _parse_time(event["time"])
    if trace_header:
        entry["TraceHeader"] = trace_header
    return entry
