"""Putting events: entries built from PutEvents-form dicts, envelopes or Events, batched within
PutEvents' limits, and every rejected entry reported.

This module imports no boto3 until :func:`put_events` is called.
"""

from __future__ import annotations

import datetime as dt
import decimal
import json
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from iatk._nesting import too_deep
from iatk._text import closest
from iatk.exceptions import ConfigError, PutEventsError

from ._event import Event, aware_utc

if TYPE_CHECKING:
    import boto3

    from iatk._aws import AwsContext

#: PutEvents takes at most this many entries per call.
MAX_ENTRIES_PER_CALL = 10
#: PutEvents rejects a request whose entries add up to more than this (AWS's entry-size formula).
MAX_REQUEST_BYTES = 256 * 1024
#: PutEvents reads a Detail's JSON up to this many levels deep (the PutEvents API reference).
MAX_DETAIL_NESTING = 1100
#: The README section every error of put_events points to.
HELP_SECTION = "Putting events"

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


def is_aws_source(source: Any) -> bool:
    """Whether EventBridge keeps ``source`` for AWS services (``aws.``...): PutEvents refuses it."""
    return isinstance(source, str) and source.startswith("aws.")


def aws_source_advice(sources: Sequence[str]) -> str:
    """What to do instead of putting an event with an AWS service's source."""
    first = sources[0]
    test = f"test.{first}"
    return (
        f"EventBridge refuses PutEvents entries whose source begins with 'aws.' ({', '.join(map(repr, sources))}): "
        "only AWS services send those. Put the event with a test source that your rule also matches, e.g. "
        f'source {test!r} with the rule\'s pattern {{"source": ["{first}", "{test}"]}} (or '
        f'{{"source": [{{"prefix": "{first}"}}, {{"prefix": "test.{first}"}}]}}); with a mock event: '
        f"iatk.eventbridge_envelope(event, source={test!r})"
    )


def _json_default(value: Any) -> Any:
    if isinstance(value, dt.datetime):
        return aware_utc(value).isoformat().replace("+00:00", "Z")
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, decimal.Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    if isinstance(value, (set, frozenset)):
        return sorted(value, key=repr)
    raise TypeError(f"{type(value).__name__} is not JSON serialisable")


def _bad(message: str) -> ConfigError:
    return ConfigError(message, help_section=HELP_SECTION)


def _check_detail_object(value: Any, label: str) -> None:
    """A Detail must be a JSON object, nested no deeper than PutEvents reads.

    The depth is checked first, for any value: whether Python's JSON decoder could read a deep text
    at all depends on the recursion limit, so the answer must not.
    """
    where = too_deep(value, MAX_DETAIL_NESTING, root="$.detail")
    if where is not None:
        raise _bad(
            f"put_events: the Detail of {label} nests deeper than {MAX_DETAIL_NESTING} levels (at {where}); "
            f"PutEvents reads JSON at most {MAX_DETAIL_NESTING} levels deep"
        )
    if not isinstance(value, Mapping):
        kind = (
            "null"
            if value is None
            else f"a {type(value).__name__} (a JSON array)"
            if isinstance(value, (list, tuple))
            else f"a {type(value).__name__}"
        )
        raise _bad(
            f"put_events: the Detail of {label} is {kind}; EventBridge takes only a JSON object as Detail "
            '(it answers MalformedDetail): wrap the value, e.g. {"items": [...]}'
        )


def _entry_label(index: int, entry: Mapping[str, Any]) -> str:
    return f"entry {index} (source {entry.get('Source')!r}, detail-type {entry.get('DetailType')!r})"


def _to_put_entry(index: int, raw: Any, bus: str) -> dict[str, Any]:
    """One PutEvents entry from a PutEvents-form dict, an envelope-form dict or an Event."""
    if isinstance(raw, Event):
        raw = raw.as_dict()
    if not isinstance(raw, Mapping):
        hint = " (pass entries as separate arguments: put_events(*entries))" if isinstance(raw, (list, tuple)) else ""
        raise _bad(f"put_events: entry {index} is a {type(raw).__name__}, expected a dict{hint}")
    keys = list(raw)
    if any(key in _PUT_KEYS for key in keys):
        unknown = [key for key in keys if key not in _PUT_KEYS]
        if unknown:
            close = closest(str(unknown[0]), _PUT_KEYS)
            did_you_mean = f"; did you mean {close[0]!r}?" if close else ""
            raise _bad(
                f"put_events: entry {index} has unknown key(s) {unknown}{did_you_mean} "
                f"PutEvents entries take {', '.join(_PUT_KEYS)} (or use envelope keys: source, detail-type, detail)"
            )
        entry = dict(raw)
    else:
        unknown = [key for key in keys if key not in _FROM_ENVELOPE and key not in _ENVELOPE_ASSIGNED]
        if unknown:
            raise _bad(
                f"put_events: entry {index} has unknown key(s) {unknown}. Use PutEvents keys "
                f"({', '.join(_PUT_KEYS)}) or envelope keys (source, detail-type, detail, resources, time)"
            )
        entry = {_FROM_ENVELOPE[key]: value for key, value in raw.items() if key in _FROM_ENVELOPE}
    entry.setdefault("EventBusName", bus)
    detail = entry.get("Detail")
    label = _entry_label(index, entry)
    if isinstance(detail, Mapping):
        _check_detail_object(detail, label)
        try:
            entry["Detail"] = json.dumps(detail, default=_json_default, separators=(",", ":"))
        except RecursionError:
            raise _bad(f"put_events: the Detail of {label} nests too deep for Python's JSON encoder") from None
        except (TypeError, ValueError) as err:
            raise _bad(f"put_events: the Detail of {label} is not JSON: {err}") from err
    elif isinstance(detail, str):
        try:
            parsed = json.loads(detail)
        except RecursionError:
            raise _bad(f"put_events: the Detail of {label} nests too deep for Python's JSON decoder") from None
        except ValueError as err:
            raise _bad(
                f"put_events: the Detail of {label} is not JSON ({err}); EventBridge takes a JSON object "
                "(it answers MalformedDetail): give a dict, or its json.dumps()"
            ) from err
        _check_detail_object(parsed, label)
    elif detail is not None:
        _check_detail_object(detail, label)
    resources = entry.get("Resources")
    if resources is not None:
        if isinstance(resources, str) or not isinstance(resources, Sequence):
            raise _bad(f"put_events: Resources of {_entry_label(index, entry)} must be a list of ARNs")
        entry["Resources"] = [str(item) for item in resources]
    if not isinstance(entry["EventBusName"], str) or not entry["EventBusName"]:
        raise _bad(f"put_events: EventBusName of {_entry_label(index, entry)} must be a bus name or ARN")
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
            raise _bad(
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
    from iatk._aws import BOTO_ERRORS

    try:
        names = bus_names(ctx)
    except BOTO_ERRORS:
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
            ``TraceHeader``, ``EventBusName``); ``Detail`` is a dict (JSON-encoded for you;
            datetimes, Decimals and sets too) or a JSON object as text: EventBridge takes nothing
            else (an array, a list, a set or a number is refused before any call). Envelope-form
            dicts (``source``, ``detail-type``, ``detail``, ``resources``, ``time``;
            ``id``/``version``/``account``/``region`` are ignored, EventBridge assigns them) and
            :class:`Event` objects are converted.
        bus: The bus name or ARN for entries without ``EventBusName``.
        session: The boto3 Session; default: the run's session.

    Returns:
        The event ids, in the order of ``entries``.

    Raises:
        ConfigError: No entries, or an entry that is not a dict, has unknown keys, a Detail that is
            not a JSON object (or nests deeper than PutEvents reads), or is too large (checked
            before any call).
        PutEventsError: EventBridge rejected entries (``.failed`` lists ``(index, entry, error code,
            message)``) or the call failed (unknown bus: ``.code == "ResourceNotFoundException"``).
            Raised after the first batch that failed; the message lists the ids already sent.

    IAM permissions:
        ``events:PutEvents`` (and ``events:ListEventBuses``, only to list the buses when a bus is unknown).
    """
    __tracebackhide__ = True
    if not entries:
        raise _bad("put_events needs at least one entry, e.g. put_events({'Source': ..., 'DetailType': ...})")
    given: Any = bus  # checked at runtime: callers may not be typed
    if not isinstance(given, str) or not given:
        raise _bad(f"put_events: bus must be a bus name or ARN, got {bus!r}")
    prepared = [_to_put_entry(index, raw, bus) for index, raw in enumerate(entries)]
    batches = _batches(prepared)

    from iatk._aws import BOTO_ERRORS, aws, error_code, error_message, frameless

    ctx = aws(session)
    sent: list[str] = []
    for number, batch in enumerate(batches):
        pending = range(batch.stop, len(prepared)) if number + 1 < len(batches) else None
        buses = sorted({str(prepared[index]["EventBusName"]) for index in batch})
        try:
            chunk: list[Any] = [prepared[index] for index in batch]  # dicts checked above, not TypedDicts
            response = ctx.events.put_events(Entries=chunk)
        except BOTO_ERRORS as err:
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
            aws_sources = sorted(
                {str(entry.get("Source")) for _, entry, _, _ in failed if is_aws_source(entry.get("Source"))}
            )
            if aws_sources:
                lines.append(aws_source_advice(aws_sources))
            lines.append(_sent_and_pending(sent, pending))
            raise PutEventsError("\n".join(lines), failed=failed)
    return sent
