"""aws-iatk compatibility: ``eventbridge_event_context``, a context for ``mock_event(contexts=[...])``.

aws-iatk 0.1.0 shipped this function in ``aws_iatk.context_generation``; the drop-in layer re-exports
it from here. It completes an EventBridge envelope in place, like aws-iatk's, with two fixes: the time
carries its time zone (RFC 3339, UTC), and the account is the 12-digit id moto uses.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Any

from .mock_events import DEFAULT_ACCOUNT, DEFAULT_DETAIL_TYPE, DEFAULT_SOURCE, _default_region, _now_text

__all__ = ["eventbridge_event_context"]

_DEFAULTS: dict[str, Callable[[], Any]] = {
    "version": lambda: "0",
    "id": lambda: str(uuid.uuid4()),
    "detail-type": lambda: DEFAULT_DETAIL_TYPE,
    "source": lambda: DEFAULT_SOURCE,
    "account": lambda: DEFAULT_ACCOUNT,
    "time": _now_text,
    "region": _default_region,
    "resources": list,
}


def eventbridge_event_context(event: dict[str, Any]) -> dict[str, Any]:
    """Fill an EventBridge event's empty envelope fields, in place, and return the event.

    Each of ``version``, ``id``, ``detail-type``, ``source``, ``account``, ``time``, ``region``
    and ``resources`` that is missing or falsy (``""``, ``[]``, ``None``, ``0``) gets a default:
    ``"0"``, a new uuid4, ``"iatk.mock"``, ``"iatk.mock"``, ``"123456789012"``, now (RFC 3339 UTC,
    like ``2024-05-01T12:00:00Z``), the configured region (else ``us-east-1``), ``[]``.
    ``detail`` and every other key are left alone. For a new dict with explicit values use
    :func:`iatk.eventbridge_envelope`.

    Args:
        event: The event to complete (modified).

    Returns:
        The same dict, so it can be used as a ``mock_event`` context.

    Raises:
        TypeError: ``event`` is not a dict.
    """
    if not isinstance(event, dict):
        raise TypeError(f"eventbridge_event_context takes the event dict; got {type(event).__name__}")
    for key, default in _DEFAULTS.items():
        if not event.get(key):
            event[key] = default()
    return event
