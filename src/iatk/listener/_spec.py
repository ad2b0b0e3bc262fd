"""What a listener is asked to be: every :class:`~iatk.Listener` argument, checked before any AWS call."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import timedelta
from typing import TYPE_CHECKING, Any, Literal

from iatk._config import current_settings, parse_duration
from iatk._tags import check_user_tags
from iatk.exceptions import ConfigError, ListenerError
from iatk.matchers import validate_pattern

if TYPE_CHECKING:
    import boto3

__all__ = ["DEFAULT_RETENTION", "ListenerSpec", "Readiness", "buffer_size"]

#: Default queue retention: long enough to debug, short enough not to pile up.
DEFAULT_RETENTION = 3600

Readiness = Literal["auto", "canary", "none"]


def buffer_size(buffer: int | None) -> int:
    """How many events a listener keeps: ``buffer``, or the ``buffer`` setting; a whole number >= 1."""
    size: Any = current_settings().buffer if buffer is None else buffer
    if isinstance(size, bool) or not isinstance(size, int) or size < 1:
        raise ConfigError(f"buffer must be a whole number of events >= 1; got {buffer!r}")
    return size


@dataclass(frozen=True)
class ListenerSpec:
    """A listener's arguments, validated and normalised (:meth:`validate`).

    Attributes:
        bus: The bus as given (name or ARN).
        buffer: How many received events to keep.
        ttl: The expiry written in the ``iatk:expires-at`` tag.
        rule: The rule to copy, as given (None for a pattern listener).
        target: The copied rule's target whose input transformation to copy.
        pattern: The given event pattern as compact JSON text (None for a rule copy).
        tags: The user's extra tags (no ``iatk:*`` key).
        retention: The queue's MessageRetentionPeriod, seconds.
        readiness: ``auto``, ``canary`` or ``none``.
        session: The boto3 Session (None: the run's session).
    """

    bus: str
    buffer: int
    ttl: timedelta
    rule: str | None = None
    target: str | None = None
    pattern: str | None = None
    tags: Mapping[str, str] = field(default_factory=dict)
    retention: int = DEFAULT_RETENTION
    readiness: Readiness = "auto"
    session: boto3.Session | None = None

    @classmethod
    def validate(
        cls,
        bus: str,
        *,
        rule: str | None = None,
        pattern: Mapping[str, Any] | str | None = None,
        target: str | None = None,
        tags: Mapping[str, str] | None = None,
        ttl: float | str | timedelta | None = None,
        buffer: int | None = None,
        retention: int = DEFAULT_RETENTION,
        readiness: Readiness = "auto",
        session: boto3.Session | None = None,
    ) -> ListenerSpec:
        """Check every argument of :class:`~iatk.Listener` (in this order) and normalise the pattern.

        Raises:
            ListenerError: Neither or both of ``rule`` and ``pattern``, ``target`` without ``rule``, or
                a bad argument.
            PatternError: ``pattern`` is not a valid event pattern.
            ConfigError: ``tags`` use a reserved key, or ``ttl``/``buffer`` are invalid.
        """
        __tracebackhide__ = True
        given_bus: Any = bus  # checked at runtime: callers may not be typed
        if not isinstance(given_bus, str) or not given_bus:
            raise ListenerError(f'Listener needs a bus name or ARN ("default" for the default bus); got {bus!r}')
        if (rule is None) == (pattern is None):
            raise ListenerError(
                "Listener needs exactly one of rule= (copy an existing rule's pattern) or pattern= (an event "
                f"pattern dict); got {'both' if rule is not None else 'neither'}"
            )
        if target is not None and rule is None:
            raise ListenerError("target= names a target of the copied rule, so it needs rule= as well")
        given_rule: Any = rule
        if given_rule is not None and (not isinstance(given_rule, str) or not given_rule):
            raise ListenerError(f"rule= must be a rule name or ARN; got {rule!r}")
        pattern_text: str | None = None
        if pattern is not None:
            validate_pattern(pattern)
            parsed = json.loads(pattern) if isinstance(pattern, (str, bytes)) else dict(pattern)
            pattern_text = json.dumps(parsed, separators=(",", ":"))
        if readiness not in ("auto", "canary", "none"):
            raise ListenerError(f"readiness must be 'auto', 'canary' or 'none'; got {readiness!r}")
        given_retention: Any = retention
        if (
            isinstance(given_retention, bool)
            or not isinstance(given_retention, int)
            or not 60 <= retention <= 1_209_600
        ):
            raise ListenerError(f"retention must be whole seconds from 60 to 1209600 (14 days); got {retention!r}")
        user_tags = check_user_tags(tags)
        expiry = timedelta(seconds=parse_duration(ttl, name="ttl")) if ttl is not None else None
        size = buffer_size(buffer)
        default_ttl = current_settings().ttl_delta
        return cls(
            bus=bus,
            buffer=size,
            ttl=expiry if expiry is not None else default_ttl,
            rule=rule,
            target=target,
            pattern=pattern_text,
            tags=user_tags,
            retention=retention,
            readiness=readiness,
            session=session,
        )

    @classmethod
    def found(cls, bus: str, buffer: int, session: boto3.Session | None) -> ListenerSpec:
        """The spec of a listener found by :meth:`~iatk.Listener.attach`: its bus, defaults elsewhere."""
        return cls(bus=bus, buffer=buffer, ttl=current_settings().ttl_delta, session=session)
