"""PutEvents on the embedded server: checked as EventBridge checks it, and cheap per rule.

moto's ``EventsBackend.put_events``, for every event and every rule on the bus, deep-copies a
message, parses the ``Detail`` JSON again, and (in ``EventPattern.matches_event``) writes the whole
message to JSON and reads it back before flattening it, so one put costs O(rules × event size)
however few rules can match; and iatk's lock over the EventBridge backend (:func:`~.patches.
serialise_moto_events`) held that whole time, deliveries to SQS included, made every other
EventBridge call wait. :func:`install_put_events` replaces it, in the process that runs the server:

- entries are checked as EventBridge does: ``Source``, ``DetailType`` and ``Detail`` are required
  (``InvalidArgument``), and ``Detail`` must be a JSON *object* (``MalformedDetail``; moto only
  warned about an array, a string or a number, and delivered it);
- each event's ``Detail`` is parsed once and the message flattened once; a rule whose pattern names
  ``source`` values (plain strings, at the top level) that do not include the event's is skipped
  without matching (the same answer moto's matcher gives, found first);
- the bus's rules are read under the backend's lock (a snapshot), then matched and delivered
  without it, so puts from several threads or xdist workers, and PutRule / DeleteRule meanwhile,
  do not wait for each other's deliveries.

Matching itself is moto's (``EventPattern._does_event_match`` on the flattened message), so what
matches is unchanged.
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Mapping
from contextlib import AbstractContextManager, nullcontext
from typing import Any

#: What EventBridge answers for a Detail that is not a JSON object.
MALFORMED_DETAIL = ("MalformedDetail", "Detail is malformed.")


def _required(name: str) -> dict[str, str]:
    return {
        "ErrorCode": "InvalidArgument",
        "ErrorMessage": f"Parameter {name} is not valid. Reason: {name} is a required argument.",
    }


def check_entry(entry: Mapping[str, Any]) -> tuple[dict[str, Any] | None, dict[str, str] | None]:
    """The parsed Detail of a PutEvents entry, or the error EventBridge answers for it."""
    for name in ("Source", "DetailType", "Detail"):
        if not entry.get(name):
            return None, _required(name)
    try:
        detail = json.loads(str(entry["Detail"]))
    except (ValueError, RecursionError):
        detail = None
    if not isinstance(detail, dict):
        code, message = MALFORMED_DETAIL
        return None, {"ErrorCode": code, "ErrorMessage": message}
    return detail, None


def _sources(rule: Any) -> frozenset[str] | None:
    """The ``source`` values a rule's pattern requires (plain strings at the top level), or None.

    Kept on the rule with the pattern it was read from, so a PutRule that changes the pattern (moto
    replaces the rule's ``event_pattern``) is read again.
    """
    pattern_obj = getattr(rule, "event_pattern", None)
    cached = getattr(rule, "_iatk_sources", None)
    if cached is not None and cached[0] is pattern_obj:
        return cached[1]  # type: ignore[no-any-return]
    pattern = getattr(pattern_obj, "_pattern", None)
    found: frozenset[str] | None = None
    if isinstance(pattern, dict) and "$or" not in pattern:
        values = pattern.get("source")
        if isinstance(values, list) and values and all(isinstance(value, str) for value in values):
            found = frozenset(values)
    with contextlib.suppress(AttributeError):  # a rule object that takes no attributes: read it each time
        rule._iatk_sources = (pattern_obj, found)
    return found


def _flatten(message: Mapping[str, Any]) -> dict[str, Any]:
    """moto's flattened message (``EventPattern._flatten_dict``), without recursion."""
    flat: dict[str, Any] = {}
    stack: list[tuple[str, Mapping[str, Any]]] = [("", message)]
    while stack:
        prefix, node = stack.pop()
        for key, value in node.items():
            name = f"{prefix}.{key}" if prefix else key
            if isinstance(value, dict) and value:
                stack.append((name, value))
            else:
                flat[name] = value
    return flat


def _matches(rule: Any, flat: dict[str, Any]) -> bool:
    pattern_obj = rule.event_pattern
    pattern = getattr(pattern_obj, "_pattern", None)
    if not pattern:
        return True
    return bool(pattern_obj._does_event_match(flat, pattern))


def install_put_events(lock: AbstractContextManager[Any] | None = None) -> None:
    """Replace ``EventsBackend.put_events`` (idempotent); ``lock`` is the backend's lock, if any.

    Called by :func:`~.patches.serialise_moto_events`, which leaves ``put_events`` out of its lock.
    """
    from moto.core.utils import unix_time
    from moto.events.exceptions import ValidationException
    from moto.events.models import EventsBackend, Rule
    from moto.moto_api._internal import mock_random

    if getattr(EventsBackend, "_iatk_put_events", False):
        return
    guard: AbstractContextManager[Any] = lock if lock is not None else nullcontext()

    def put_events(self: Any, events: list[dict[str, Any]]) -> list[dict[str, Any]]:
        if len(events) > 10:
            raise ValidationException(
                "1 validation error detected: Value '[PutEventsRequestEntry]' at 'entries' failed to satisfy "
                "constraint: Member must have length less than or equal to 10"
            )
        answers: list[dict[str, Any]] = []
        for entry in events:
            detail, error = check_entry(entry)
            if error is not None:
                answers.append(error)
                continue
            event_id = str(mock_random.uuid4())
            answers.append({"EventId": event_id})
            bus_name = self._normalize_event_bus_arn(entry.get("EventBusName"))
            with guard:
                rules = list(self.describe_event_bus(bus_name).rules.values())
            if not rules:
                continue
            message: dict[str, Any] = {
                "version": "0",
                "id": event_id,
                "detail-type": entry["DetailType"],
                "source": entry["Source"],
                "account": self.account_id,
                "time": entry.get("Time", unix_time()),
                "region": self.region_name,
                "resources": entry.get("Resources", []),
                "detail": detail,
                "ingestion-time": unix_time(),
            }
            flat: dict[str, Any] | None = None
            for rule in rules:
                sources = _sources(rule)
                if sources is not None and message["source"] not in sources:
                    continue
                if flat is None:
                    flat = _flatten(message)
                if _matches(rule, flat):
                    if getattr(Rule, "_iatk_targets", False):  # iatk's delivery: matched already
                        rule.send_to_targets(dict(message), matched=True)
                    else:
                        rule.send_to_targets(dict(message))
        return answers

    EventsBackend.put_events = put_events  # type: ignore[method-assign]
    EventsBackend._iatk_put_events = True  # type: ignore[attr-defined]
