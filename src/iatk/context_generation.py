"""aws-iatk compatibility: ``eventbridge_event_context``, a context for ``generate_mock_event(contexts=[...])``.

aws-iatk 0.1.0 shipped this function in ``aws_iatk.context_generation``, so
``from iatk.context_generation import eventbridge_event_context`` is the one-import port. It fills
the same envelope fields with the same defaults as aws-iatk's (``"source"``, ``"detail-type"``,
account ``123456789101``, region ``us-east-1``...), with one difference: ``time`` is UTC with its zone
(``2024-05-01T12:00:00Z``, the form EventBridge uses). aws-iatk wrote the local time with no zone,
which botocore reads as UTC (``PutEvents``' ``Time``), so it was off by the machine's UTC offset.

For an envelope with iatk's own defaults (the schema's source and detail-type, the session's region)
use :func:`iatk.eventbridge_envelope` or ``iatk.mock_event``.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import datetime, timezone
from typing import Any

__all__ = ["eventbridge_event_context"]

#: aws-iatk 0.1.0's defaults for the envelope fields, by key (``time``: now, UTC).
_DEFAULTS: dict[str, Callable[[], Any]] = {
    "version": lambda: "0",
    "id": lambda: str(uuid.uuid4()),
    "detail-type": lambda: "detail-type",
    "source": lambda: "source",
    "account": lambda: "123456789101",
    "time": lambda: datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
    "region": lambda: "us-east-1",
    "resources": list,
}


def eventbridge_event_context(event: dict[str, Any]) -> dict[str, Any]:
    """Fill an EventBridge event's empty envelope fields, in place, and return the event.

    Each of ``version``, ``id``, ``detail-type``, ``source``, ``account``, ``time``, ``region``
    and ``resources`` that is missing or falsy (``""``, ``[]``, ``None``, ``0``) gets aws-iatk's
    default: ``"0"``, a new uuid4, ``"detail-type"``, ``"source"``, ``"123456789101"``, now (UTC,
    ``2024-05-01T12:00:00Z``; aws-iatk: local time without a zone), ``"us-east-1"``, ``[]``.
    ``detail`` and every other key are left alone.

    Args:
        event: The event to complete (modified).

    Returns:
        The same dict, so it can be used as a ``generate_mock_event`` context.

    Raises:
        TypeError: ``event`` is not a dict (for example None, from a context that forgot to return).
    """
    if not isinstance(event, dict):
        raise TypeError(f"eventbridge_event_context takes the event dict; got {type(event).__name__}")
    for key, default in _DEFAULTS.items():
        if not event.get(key):
            event[key] = default()
    return event
