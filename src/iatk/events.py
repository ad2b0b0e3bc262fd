"""EventBridge events as iatk sees them: the parsed :class:`Event`, and :func:`put_events`.

An :class:`Event` is built from the body of an SQS message that a listener received. When the rule's
target delivers the whole event, the body is the EventBridge envelope (``version``, ``id``,
``detail-type``, ``source``, ``account``, ``time``, ``region``, ``resources``, ``detail``) and the
fields are filled from it. When the target transforms the event (``Input``, ``InputPath``,
``InputTransformer``) the body is whatever the transformation made, for example ``"order 42 shipped"``
or ``{"orderId": 42}``: it is kept verbatim in :attr:`Event.body`, and the envelope fields are None.

This module imports no boto3 until :func:`put_events` is called.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import decimal
import difflib
import hashlib
import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import cached_property
from typing import TYPE_CHECKING, Any

from ._text import truncate
from .exceptions import ConfigError, PutEventsError, frameless
from .waiting import subscribe_waits

if TYPE_CHECKING:
    import boto3

    from ._aws import AwsContext

__all__ = ["MAX_ENTRIES_PER_CALL", "MAX_REQUEST_BYTES", "Event", "put_events", "subscribe_waits"]

#: PutEvents takes at most this many entries per call.
MAX_ENTRIES_PER_CALL = 10
#: PutEvents rejects a request whose entries add up to more than this (AWS's entry-size formula).
MAX_REQUEST_BYTES = 256 * 1024

# Keys that only an EventBridge envelope carries together; a transformed body rarely has all three.
_ENVELOPE_MARKERS = ("id", "source", "detail-type")
_NOT_JSON: Any = object()
_BODY_PREVIEW = 160

# Python 3.10's fromisoformat takes only what isoformat() writes; EventBridge writes "...Z".
_TIME_RE = re.compile(
    r"^(?P<date>\d{4}-\d{2}-\d{2})[Tt ](?P<clock>\d{2}:\d{2}(?::\d{2})?)"
    r"(?:[.,](?P<fraction>\d+))?(?P<zone>[Zz]|[+-]\d{2}:?\d{2})?$"
)


def _parse_time(value: Any) -> dt.datetime | None:
    """An aware UTC datetime from an RFC 3339 string, or None when it is not one."""
    if not isinstance(value, str):
        return None
    found = _TIME_RE.match(value.strip())
    if found is None:
        return None
    fraction = (found["fraction"] or "")[:6].ljust(6, "0") if found["fraction"] else ""
    zone = found["zone"] or "+00:00"
    if zone in ("Z", "z"):
        zone = "+00:00"
    elif ":" not in zone:
        zone = f"{zone[:3]}:{zone[3:]}"
    text = f"{found['date']}T{found['clock']}{'.' + fraction if fraction else ''}{zone}"
    try:
        return dt.datetime.fromisoformat(text).astimezone(dt.timezone.utc)
    except ValueError:
        return None


def _aware_utc(moment: dt.datetime) -> dt.datetime:
    """``moment`` in UTC; a naive datetime is taken to be UTC already."""
    if moment.tzinfo is None:
        return moment.replace(tzinfo=dt.timezone.utc)
    return moment.astimezone(dt.timezone.utc)


def _loads(body: str) -> Any:
    try:
        return json.loads(body)
    except ValueError:
        return _NOT_JSON


def _is_envelope(parsed: Any) -> bool:
    return isinstance(parsed, dict) and all(key in parsed for key in _ENVELOPE_MARKERS)


def _optional_str(value: Any) -> str | None:
    return None if value is None else str(value)


@dataclass(frozen=True)
class Event:
    """One event received by a listener (or built by a test), read-only.

    Build it with :meth:`from_body`. The envelope fields are None when the body is not an EventBridge
    envelope (a target with an input transformation); :attr:`body` always holds the raw SQS body.
    ``detail`` and :meth:`json` share the parsed body: treat them as read-only.

    Attributes:
        id: The EventBridge event id; for a transformed body, the SQS MessageId (or a sha256 of the
            body when no MessageId is known), so duplicates can still be recognised.
        source: The envelope's ``source``.
        detail_type: The envelope's ``detail-type``.
        detail: The envelope's ``detail`` (usually a dict).
        time: The envelope's ``time``, as an aware UTC datetime.
        resources: The envelope's ``resources``.
        account: The envelope's ``account`` (moto leaves it out: None there).
        region: The envelope's ``region``.
        body: The SQS message body, verbatim.
        received_at: When iatk received it (aware UTC).
        latency: Seconds from the start of the wait that returned it to its receipt; None outside a
            wait. See also :attr:`latency_from_event_time`.
    """

    id: str
    source: str | None
    detail_type: str | None
    detail: Any
    time: dt.datetime | None
    resources: tuple[str, ...]
    account: str | None
    region: str | None
    body: str
    received_at: dt.datetime
    latency: float | None = None

    # Events are deduplicated by id; ``detail`` is usually a dict, which the generated hash cannot take.
    def __hash__(self) -> int:
        return hash((self.id, self.body))

    @classmethod
    def from_body(
        cls,
        body: str | bytes,
        *,
        received_at: dt.datetime | None = None,
        message_id: str | None = None,
    ) -> Event:
        """Parse an SQS message body into an Event.

        Args:
            body: The message body. An EventBridge envelope fills the fields; anything else (a
                transformed target's output, even text that is not JSON) is kept in ``body`` only.
            received_at: When it was received; defaults to now. A naive datetime is taken as UTC.
            message_id: The SQS MessageId, used as the id when the body is not an envelope.

        Returns:
            The Event. Never raises on odd bodies: a missing envelope key gives a None field.
        """
        text = body.decode("utf-8", errors="replace") if isinstance(body, bytes) else body
        received = _aware_utc(received_at) if received_at is not None else dt.datetime.now(dt.timezone.utc)
        parsed = _loads(text)
        if _is_envelope(parsed):
            resources = parsed.get("resources")
            event = cls(
                id=str(parsed["id"]),
                source=_optional_str(parsed.get("source")),
                detail_type=_optional_str(parsed.get("detail-type")),
                detail=parsed.get("detail"),
                time=_parse_time(parsed.get("time")),
                resources=tuple(str(item) for item in resources) if isinstance(resources, list) else (),
                account=_optional_str(parsed.get("account")),
                region=_optional_str(parsed.get("region")),
                body=text,
                received_at=received,
            )
        else:
            fallback = message_id or "sha256:" + hashlib.sha256(text.encode("utf-8")).hexdigest()
            event = cls(
                id=fallback,
                source=None,
                detail_type=None,
                detail=None,
                time=None,
                resources=(),
                account=None,
                region=None,
                body=text,
                received_at=received,
            )
        event.__dict__["_parsed"] = parsed  # seed the cache: the body was parsed once already
        return event

    @classmethod
    def from_sqs_message(cls, message: Mapping[str, Any], *, received_at: dt.datetime | None = None) -> Event:
        """Parse one message of an SQS ``ReceiveMessage`` response (its ``Body`` and ``MessageId``)."""
        return cls.from_body(str(message.get("Body", "")), received_at=received_at, message_id=message.get("MessageId"))

    @cached_property
    def _parsed(self) -> Any:
        return _loads(self.body)

    def json(self) -> Any:
        """The parsed body (a dict for an envelope; any JSON value for a transformed target).

        Raises:
            ValueError: The body is not JSON.
        """
        parsed = self._parsed
        if parsed is _NOT_JSON:
            raise ValueError(f"the body of event {self.id} is not JSON: {truncate(self.body, _BODY_PREVIEW)!r}")
        return parsed

    @property
    def envelope(self) -> dict[str, Any] | None:
        """The parsed body when it is an EventBridge envelope, else None."""
        parsed = self._parsed
        return parsed if _is_envelope(parsed) else None

    @property
    def is_envelope(self) -> bool:
        """True when the body is an EventBridge envelope (the target did not transform the event)."""
        return _is_envelope(self._parsed)

    def as_dict(self) -> dict[str, Any]:
        """The event in envelope form (``detail-type`` etc.), which matchers look at.

        Returns:
            A shallow copy of the envelope; for an Event built by hand without a body, the envelope
            made from its fields; for a transformed body that is a JSON object, that object; else ``{}``.
        """
        parsed = self._parsed
        if _is_envelope(parsed):
            return dict(parsed)
        if self.source is not None or self.detail_type is not None:
            made: dict[str, Any] = {"id": self.id, "source": self.source, "detail-type": self.detail_type}
            if self.time is not None:
                made["time"] = self.time.strftime("%Y-%m-%dT%H:%M:%SZ")
            made["resources"] = list(self.resources)
            for key, value in (("account", self.account), ("region", self.region)):
                if value is not None:
                    made[key] = value
            made["detail"] = self.detail
            return made
        if isinstance(parsed, dict):
            return dict(parsed)
        return {}

    def with_latency(self, seconds: float) -> Event:
        """A copy with :attr:`latency` set (the listener's waits use it)."""
        return dataclasses.replace(self, latency=seconds)

    @property
    def latency_from_event_time(self) -> float | None:
        """Seconds from the event's own ``time`` to its receipt, when the time is known.

        EventBridge's ``time`` has whole seconds, so this can be up to a second too long.
        """
        if self.time is None:
            return None
        return (self.received_at - self.time).total_seconds()

    def summary(self, width: int = _BODY_PREVIEW) -> str:
        """One line for messages: id, source, detail-type and the start of the body."""
        preview = truncate(self.body.replace("\n", " "), width)
        if self.is_envelope:
            return f"id={self.id} source={self.source!r} detail-type={self.detail_type!r} body={preview}"
        return f"id={self.id} (not an EventBridge envelope) body={preview}"


# --- put_events -------------------------------------------------------------------------------------

_PUT_KEYS = ("Source", "DetailType", "Detail", "Resources", "Time", "EventBusName", "TraceHeader")
_FROM_ENVELOPE = {
    "source": "Source",
    "detail-type": "DetailType",
    "detail_type": "DetailType",
    "detail": "Detail",
    "resources": "Resources",
    "time": "Time",
}
# EventBridge assigns these itself; an envelope handed to put_events (a captured or mock event) has them.
_ENVELOPE_ASSIGNED = frozenset({"version", "id", "account", "region", "replay-name"})


def _json_default(value: Any) -> Any:
    if isinstance(value, dt.datetime):
        return _aware_utc(value).isoformat().replace("+00:00", "Z")
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, decimal.Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    if isinstance(value, (set, frozenset)):
        return sorted(value, key=repr)
    raise TypeError(f"{type(value).__name__} is not JSON serialisable")


def _entry_label(index: int, entry: Mapping[str, Any]) -> str:
    return f"entry {index} (source {entry.get('Source')!r}, detail-type {entry.get('DetailType')!r})"


def _to_put_entry(index: int, raw: Any, bus: str) -> dict[str, Any]:
    """One PutEvents entry from a PutEvents-form dict, an envelope-form dict or an Event."""
    if isinstance(raw, Event):
        raw = raw.as_dict()
    if not isinstance(raw, Mapping):
        hint = " (pass entries as separate arguments: put_events(*entries))" if isinstance(raw, (list, tuple)) else ""
        raise ConfigError(f"put_events: entry {index} is a {type(raw).__name__}, expected a dict{hint}")
    keys = list(raw)
    if any(key in _PUT_KEYS for key in keys):
        unknown = [key for key in keys if key not in _PUT_KEYS]
        if unknown:
            close = difflib.get_close_matches(str(unknown[0]), _PUT_KEYS, n=1)
            did_you_mean = f"; did you mean {close[0]!r}?" if close else ""
            raise ConfigError(
                f"put_events: entry {index} has unknown key(s) {unknown}{did_you_mean} "
                f"PutEvents entries take {', '.join(_PUT_KEYS)} (or use envelope keys: source, detail-type, detail)"
            )
        entry = dict(raw)
    else:
        unknown = [key for key in keys if key not in _FROM_ENVELOPE and key not in _ENVELOPE_ASSIGNED]
        if unknown:
            raise ConfigError(
                f"put_events: entry {index} has unknown key(s) {unknown}. Use PutEvents keys "
                f"({', '.join(_PUT_KEYS)}) or envelope keys (source, detail-type, detail, resources, time)"
            )
        entry = {_FROM_ENVELOPE[key]: value for key, value in raw.items() if key in _FROM_ENVELOPE}
    entry.setdefault("EventBusName", bus)
    detail = entry.get("Detail")
    if isinstance(detail, (Mapping, list, tuple)):
        try:
            entry["Detail"] = json.dumps(detail, default=_json_default, separators=(",", ":"))
        except (TypeError, ValueError) as err:
            raise ConfigError(f"put_events: the Detail of {_entry_label(index, entry)} is not JSON: {err}") from err
    elif detail is not None and not isinstance(detail, str):
        raise ConfigError(
            f"put_events: the Detail of {_entry_label(index, entry)} is a {type(detail).__name__}; "
            "give a dict (or a JSON object as a string)"
        )
    resources = entry.get("Resources")
    if resources is not None:
        if isinstance(resources, str) or not isinstance(resources, Sequence):
            raise ConfigError(f"put_events: Resources of {_entry_label(index, entry)} must be a list of ARNs")
        entry["Resources"] = [str(item) for item in resources]
    if not isinstance(entry["EventBusName"], str) or not entry["EventBusName"]:
        raise ConfigError(f"put_events: EventBusName of {_entry_label(index, entry)} must be a bus name or ARN")
    return entry


def _entry_size(entry: Mapping[str, Any]) -> int:
    """AWS's PutEvents entry-size formula (Time counts 14 bytes; strings count their UTF-8 bytes)."""
    size = 14 if entry.get("Time") is not None else 0
    for key in ("Source", "DetailType", "Detail"):
        value = entry.get(key)
        if isinstance(value, str):
            size += len(value.encode("utf-8"))
    for resource in entry.get("Resources") or ():
        size += len(str(resource).encode("utf-8"))
    return size


def _batches(entries: Sequence[Mapping[str, Any]]) -> list[range]:
    """Consecutive index ranges of at most 10 entries and 256 KiB each."""
    batches: list[range] = []
    start, size = 0, 0
    for index, entry in enumerate(entries):
        entry_size = _entry_size(entry)
        if entry_size > MAX_REQUEST_BYTES:
            raise ConfigError(
                f"put_events: {_entry_label(index, entry)} is {entry_size} bytes; "
                f"EventBridge takes at most {MAX_REQUEST_BYTES} bytes per event"
            )
        if index > start and (index - start >= MAX_ENTRIES_PER_CALL or size + entry_size > MAX_REQUEST_BYTES):
            batches.append(range(start, index))
            start, size = index, 0
        size += entry_size
    batches.append(range(start, len(entries)))
    return batches


def _sent_and_pending(sent: Sequence[str], pending: range | None) -> str:
    parts = [f"Already sent (not undone): {len(sent)} event(s){': ' + ', '.join(sent) if sent else ''}."]
    if pending is not None and len(pending):
        parts.append(f"Not attempted: entries {pending.start}–{pending.stop - 1}.")
    return " ".join(parts)


def bus_names(ctx: AwsContext, *, max_pages: int = 20) -> list[str]:
    """The names of the region's event buses, for "unknown bus" messages (paged, at most ``max_pages`` × 100).

    Raises botocore's errors as they are: callers decide how to say that the list is unavailable.
    """
    names: list[str] = []
    token: str | None = None
    for _ in range(max_pages):  # 20 pages of 100: far more buses than an account has
        kwargs: dict[str, Any] = {"Limit": 100, **({"NextToken": token} if token else {})}
        page = ctx.events.list_event_buses(**kwargs)
        names += [bus["Name"] for bus in page.get("EventBuses", [])]
        token = page.get("NextToken")
        if not token:
            break
    return names


def _buses_hint(ctx: AwsContext) -> str:
    """`` Buses here: a, b.`` for an unknown-bus error (empty when they cannot be listed)."""
    from botocore.exceptions import BotoCoreError, ClientError

    try:
        names = bus_names(ctx)
    except (ClientError, BotoCoreError):
        return ""
    return f" Buses in {ctx.region}: {', '.join(names)}." if names else ""


def put_events(
    *entries: Mapping[str, Any] | Event, bus: str = "default", session: boto3.Session | None = None
) -> list[str]:
    """Put events on an EventBridge bus, in batches, and fail loudly on any rejected entry.

    Example::

        ids = iatk.put_events(
            {"Source": "app.orders", "DetailType": "OrderPlaced", "Detail": {"orderId": 42}},
            bus="orders",
        )

    Args:
        *entries: PutEvents entries (``Source``, ``DetailType``, ``Detail``, ``Resources``, ``Time``,
            ``TraceHeader``, ``EventBusName``); ``Detail`` may be a dict or list (JSON-encoded for
            you; datetimes and Decimals too). Envelope-form dicts (``source``, ``detail-type``,
            ``detail``, ``resources``, ``time``; ``id``/``version``/``account``/``region`` are
            ignored, EventBridge assigns them) and :class:`Event` objects are converted.
        bus: The bus name or ARN for entries without ``EventBusName``.
        session: The boto3 Session; default: the run's session.

    Returns:
        The event ids, in the order of ``entries``.

    Raises:
        ConfigError: No entries, or an entry that is not a dict, has unknown keys, or is too large
            (checked before any call).
        PutEventsError: EventBridge rejected entries (``.failed`` lists ``(index, entry, error code,
            message)``) or the call failed (unknown bus: ``.code == "ResourceNotFoundException"``).
            Raised after the first batch that failed; the message lists the ids already sent.

    IAM permissions:
        ``events:PutEvents`` (and ``events:ListEventBuses``, only to list the buses when a bus is unknown).
    """
    __tracebackhide__ = True
    if not entries:
        raise ConfigError("put_events needs at least one entry, e.g. put_events({'Source': ..., 'DetailType': ...})")
    given: Any = bus  # checked at runtime: callers may not be typed
    if not isinstance(given, str) or not given:
        raise ConfigError(f"put_events: bus must be a bus name or ARN, got {bus!r}")
    prepared = [_to_put_entry(index, raw, bus) for index, raw in enumerate(entries)]
    batches = _batches(prepared)

    from botocore.exceptions import BotoCoreError, ClientError

    from ._aws import aws, error_code, error_message

    ctx = aws(session)
    sent: list[str] = []
    for number, batch in enumerate(batches):
        pending = range(batch.stop, len(prepared)) if number + 1 < len(batches) else None
        buses = sorted({str(prepared[index]["EventBusName"]) for index in batch})
        try:
            chunk: list[Any] = [prepared[index] for index in batch]  # dicts checked above, not TypedDicts
            response = ctx.events.put_events(Entries=chunk)
        except (ClientError, BotoCoreError) as err:
            code = error_code(err)
            what = f"PutEvents failed for entries {batch.start}–{batch.stop - 1} on bus {', '.join(map(repr, buses))}"
            if code == "ResourceNotFoundException":
                hint = (
                    f" The bus does not exist in {ctx.region}: pass bus= (or EventBusName) "
                    f"the name or ARN of an existing bus.{_buses_hint(ctx)}"
                )
            else:
                hint = ""
            failure = PutEventsError(f"{what}: {error_message(err)}.{hint} {_sent_and_pending(sent, pending)}")
            failure.code = code
            raise failure from frameless(err)
        results = response.get("Entries", [])
        failed: list[tuple[int, Any, str, str]] = []
        for position, index in enumerate(batch):
            result: Mapping[str, Any] = results[position] if position < len(results) else {}
            event_id = result.get("EventId")
            if event_id and not result.get("ErrorCode"):
                sent.append(str(event_id))
            else:
                failed.append(
                    (
                        index,
                        prepared[index],
                        str(result.get("ErrorCode") or "NoResult"),
                        str(result.get("ErrorMessage") or ""),
                    )
                )
        if failed:
            lines = [
                f"PutEvents rejected {len(failed)} of {len(prepared)} entries on bus {', '.join(map(repr, buses))}:"
            ]
            lines += [f"  - {_entry_label(index, entry)}: {code}: {message}" for index, entry, code, message in failed]
            lines.append(_sent_and_pending(sent, pending))
            raise PutEventsError("\n".join(lines), failed=failed)
    return sent
