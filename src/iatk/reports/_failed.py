"""A wait that failed, as a report shows it: what was awaited, the events received, why each missed."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

_EVENT_LINE = re.compile(r"^\s+\d+\. id=(\S+)")


@dataclass(frozen=True, slots=True)
class FailedWait:
    """A listener wait that timed out (or saw what it must not), with the events it had received.

    Attributes:
        description: What was awaited.
        message: The error's message (it holds, per event, why it did not match).
        events: The events the wait had received and no other wait claimed (``WaitTimeout.last``),
            or the offending events of an ``UnexpectedEvent``.
    """

    description: str
    message: str
    events: tuple[Any, ...]

    @classmethod
    def from_error(cls, err: BaseException | None) -> FailedWait | None:
        """The failed wait behind ``err`` (itself, or its cause or context), or None when it is none."""
        from iatk.exceptions import UnexpectedEvent, WaitTimeout

        seen: set[int] = set()
        while err is not None and id(err) not in seen:
            seen.add(id(err))
            if isinstance(err, WaitTimeout) and isinstance(err.last, list):
                events = tuple(e for e in err.last if hasattr(e, "as_dict"))
                return cls(err.description, str(err), events)
            if isinstance(err, UnexpectedEvent):
                return cls(getattr(err, "description", ""), str(err), tuple(getattr(err, "events", ()) or ()))
            err = err.__cause__ or err.__context__
        return None

    def reasons(self) -> dict[str, list[str]]:
        """Event id → the lines of the message that say why it missed (the message's own explanation)."""
        found: dict[str, list[str]] = {}
        current: list[str] | None = None
        for line in self.message.splitlines():
            hit = _EVENT_LINE.match(line)
            if hit:
                current = found.setdefault(hit.group(1), [])
            elif current is not None and line.startswith("     ") and line.strip():
                current.append(line.strip())
            elif not line.startswith(" "):
                current = None
        return found

    def rows(self) -> Iterator[tuple[Any, list[str]]]:
        """Each event with its mismatch reasons."""
        reasons = self.reasons()
        for event in self.events:
            yield event, reasons.get(str(getattr(event, "id", "")), [])

    def events_jsonl(self) -> str:
        """The events as JSON lines (each in envelope form, with when iatk received it)."""
        lines = []
        for event in self.events:
            record = {"event": event.as_dict(), "body": event.body, "received_at": event.received_at.isoformat()}
            lines.append(json.dumps(record, default=str))
        return "".join(line + "\n" for line in lines)
