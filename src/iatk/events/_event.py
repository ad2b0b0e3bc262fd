"""The parsed :class:`Event`: an EventBridge envelope, or a transformed target's body kept verbatim.

An :class:`Event` is built from the body of an SQS message that a listener received. When the rule's
target delivers the whole event, the body is the EventBridge envelope (``version``, ``id``,
``detail-type``, ``source``, ``account``, ``time``, ``region``, ``resources``, ``detail``) and the
fields are filled from it. When the target transforms the event (``Input``, ``InputPath``,
``InputTransformer``) the body is whatever the transformation made, for example ``"order 42 shipped"``
or ``{"orderId": 42}``: it is kept verbatim in :attr:`Event.body`, and the envelope fields are None.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cached_property
from typing import Any

from iatk._text import truncate

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


def aware_utc(moment: dt.datetime) -> dt.datetime:
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
        received = aware_utc(received_at) if received_at is not None else dt.datetime.now(dt.timezone.utc)
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
