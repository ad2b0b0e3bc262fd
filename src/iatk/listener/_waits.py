"""Waits with an SLA over an inbox: expect_event, expect_events, expect_no_event; their records and evidence.

:class:`Waits` knows an :class:`Inbox` (a buffer of received entries that can take more before a
deadline), a clock, and the observers in :mod:`iatk.waiting`. It knows nothing about AWS: any
inbox (SQS today, a stream's reader later) gets the same waits, messages and :class:`WaitRecord`.
"""

from __future__ import annotations

import json
import time
from collections import deque
from collections.abc import Callable
from datetime import datetime, timedelta, timezone
from typing import Any, Protocol

from iatk._config import current_settings, parse_duration
from iatk._text import truncate
from iatk.events import Event
from iatk.exceptions import ConfigError, UnexpectedEvent, WaitTimeout
from iatk.matchers import Matcher, MatcherLike, as_matcher, explain
from iatk.waiting import HELP_SECTION as WAITS_HELP, NOT_YET, Deadline, NotYet, notify_waits, wait_until

from ._records import Entry, Outcome, WaitRecord

__all__ = ["Inbox", "Waits"]


class Inbox(Protocol):
    """What waits read: the received entries, and one more take from the source before a deadline."""

    @property
    def polls(self) -> int:
        """Receives made so far."""
        ...

    @property
    def dropped(self) -> int:
        """Entries that fell out of the full buffer."""
        ...

    @property
    def size(self) -> int:
        """How many entries the buffer keeps."""
        ...

    def __len__(self) -> int: ...

    def unclaimed(self) -> list[Entry]:
        """The entries no wait has claimed, in order of receipt."""
        ...

    def take(self, deadline: Deadline) -> list[Entry]:
        """Receive what arrives by ``deadline`` (at most one long poll); the new entries."""
        ...


class _Wait:
    """The bookkeeping of one wait in progress (for its :class:`WaitRecord`)."""

    __slots__ = ("deadline", "description", "kind", "polls_before", "started_at")

    def __init__(self, kind: str, description: str, deadline: Deadline, polls_before: int) -> None:
        self.kind = kind
        self.description = description
        self.deadline = deadline
        self.polls_before = polls_before
        self.started_at = datetime.now(timezone.utc)


def _first_match(inbox: Inbox, deadline: Deadline, matcher: Matcher) -> Callable[[], Entry | NotYet]:
    """One attempt of a wait: take once from the inbox; the first new entry that matches, else NOT_YET."""

    def attempt() -> Entry | NotYet:
        __tracebackhide__ = True
        fresh = inbox.take(deadline)
        for entry in fresh:
            if matcher(entry.event):
                return entry
        return NOT_YET

    return attempt


def _latency(entry: Entry, deadline: Deadline) -> float:
    return max(0.0, entry.received - deadline.start)


def _show(event: Event, number: int | None = None) -> str:
    """An event for a failure message: its summary line, then its detail in full (up to 1000 characters)."""
    head = f"  {number}. " if number is not None else "  "
    lines = [head + event.summary()]
    if event.is_envelope:
        detail = json.dumps(event.detail, ensure_ascii=False, default=str)
        lines.append(" " * len(head) + "detail: " + truncate(detail, 1000))
    return "\n".join(lines)


class Waits:
    """The waits made on one listener, and how each one runs.

    Args:
        owner: What observers of :func:`iatk.subscribe_waits` are given (the :class:`~iatk.Listener`).
        listener_id: The owner's id, for records and messages.
        label: ``listener <id> (<what it copies>)`` now, for messages.
        inbox: The inbox to wait on; raises when there is none (a listener not started, or closed).
        default_sla: The owner's default window now (None: the ``sla`` setting).
        history: How many :class:`WaitRecord` to keep (the oldest are dropped first); the observers of
            :func:`iatk.subscribe_waits` (the plugin's SLA table) get every one as it happens.
        diagnose: On a timeout, what is wrong with the source (its rule deleted, its queue gone...),
            one line per problem; empty when all is well.
        clock: The monotonic clock for deadlines.
    """

    def __init__(
        self,
        owner: Any,
        listener_id: str,
        *,
        label: Callable[[], str],
        inbox: Callable[[], Inbox],
        default_sla: Callable[[], float | None],
        history: int = 1000,
        diagnose: Callable[[], list[str]] | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._owner = owner
        self._id = listener_id
        self._label = label
        self._inbox = inbox
        self._default_sla = default_sla
        self._diagnose = diagnose
        self._clock = clock
        #: The last ``history`` waits, in order (bounded like the event buffer).
        self.records: deque[WaitRecord] = deque(maxlen=max(1, history))
        #: Every wait made so far, including those dropped from :attr:`records`.
        self.count = 0

    # -- bookkeeping --------------------------------------------------------------------------------

    def _window(self, value: float | str | timedelta | None, name: str) -> float:
        if value is None:
            sla = self._default_sla()
            return sla if sla is not None else current_settings().sla
        try:
            return parse_duration(value, name=name)
        except ConfigError as err:  # a wait's argument: point to the waits' section, not to Configuration
            raise ConfigError(err.problem, help_section=WAITS_HELP) from None

    def _begin(self, inbox: Inbox, kind: str, description: str, sla: float) -> _Wait:
        return _Wait(kind, description, Deadline(sla, clock=self._clock), inbox.polls)

    def _record(self, inbox: Inbox, wait: _Wait, outcome: Outcome, latency: float | None = None) -> None:
        record = WaitRecord(
            listener_id=self._id,
            kind=wait.kind,
            description=wait.description,
            sla=wait.deadline.timeout,
            elapsed=wait.deadline.elapsed(),
            latency=latency,
            outcome=outcome,
            polls=inbox.polls - wait.polls_before,
            received=len(inbox),
            started_at=wait.started_at,
        )
        self.records.append(record)
        self.count += 1
        notify_waits(self._owner, record)

    def _explain(self, inbox: Inbox, matcher: Matcher) -> str:
        # Every unclaimed event, nearest miss first: the buffer bounds how many there can be.
        candidates = [entry.event for entry in inbox.unclaimed()]
        claimed = len(inbox) - len(candidates)
        text = explain(matcher, candidates)
        notes = []
        if claimed:
            notes.append(f"{claimed} event(s) returned by earlier waits on this listener are not shown")
        if inbox.dropped:
            notes.append(f"{inbox.dropped} older event(s) fell out of the full buffer (buffer={inbox.size})")
        problems = self._diagnose() if self._diagnose is not None else []
        head = "".join(f"{problem}\n" for problem in problems)
        return head + text + "".join(f"\n({note})" for note in notes)

    # -- the waits (see the Listener methods of the same names) -------------------------------------

    def expect_event(self, matcher: MatcherLike = None, within: float | str | timedelta | None = None) -> Event:
        """The first unclaimed event that matches, claimed; the inbox is taken from until the deadline."""
        __tracebackhide__ = True
        inbox = self._inbox()
        chosen = as_matcher(matcher)
        sla = self._window(within, "within")
        description = f"an event matching {chosen.describe()} on {self._label()}"
        wait = self._begin(inbox, "expect_event", description, sla)
        deadline = wait.deadline

        def found(entry: Entry) -> Event:
            entry.claimed = True
            latency = _latency(entry, deadline)
            self._record(inbox, wait, "matched", latency)
            return entry.event.with_latency(latency)

        for entry in inbox.unclaimed():
            if chosen(entry.event):
                return found(entry)
        try:
            hit = wait_until(
                _first_match(inbox, deadline, chosen),
                deadline=deadline,
                description=description,
                interval=0,
                explain=lambda _: self._explain(inbox, chosen),
            )
        except WaitTimeout as timeout:
            self._record(inbox, wait, "timeout")
            timeout.last = [entry.event for entry in inbox.unclaimed()]
            raise
        return found(hit)

    def expect_events(
        self, n: int, matcher: MatcherLike = None, within: float | str | timedelta | None = None
    ) -> list[Event]:
        """Exactly ``n`` matching events over the whole window, claimed; fails at once on a surplus."""
        __tracebackhide__ = True
        count: Any = n
        if isinstance(count, bool) or not isinstance(count, int) or count < 0:
            raise ConfigError(f"expect_events(n, ...) needs a whole number n >= 0; got {n!r}", help_section=WAITS_HELP)
        inbox = self._inbox()
        chosen = as_matcher(matcher)
        sla = self._window(within, "within")
        what = f"exactly {n} event{'s' if n != 1 else ''} matching {chosen.describe()}"
        description = f"{what} on {self._label()}"
        wait = self._begin(inbox, "expect_events", description, sla)
        deadline = wait.deadline
        hits = [entry for entry in inbox.unclaimed() if chosen(entry.event)]

        def attempt() -> bool | NotYet:
            __tracebackhide__ = True
            if len(hits) > n:
                return True
            fresh = inbox.take(deadline)
            hits.extend(entry for entry in fresh if chosen(entry.event))
            return True if len(hits) > n else NOT_YET

        try:
            wait_until(attempt, deadline=deadline, description=description, interval=0)
        except WaitTimeout as timeout:
            if len(hits) == n:
                for entry in hits:
                    entry.claimed = True
                latencies = [_latency(entry, deadline) for entry in hits]
                slowest = max(latencies, default=None)
                self._record(inbox, wait, "matched", slowest)
                return [entry.event.with_latency(latency) for entry, latency in zip(hits, latencies, strict=True)]
            self._record(inbox, wait, "timeout")
            message = (
                f"timed out waiting for {description}: only {len(hits)} matched within {deadline.timeout:g} s "
                f"(waited {timeout.elapsed or 0:.2f} s, {timeout.attempts} polls)\n{self._explain(inbox, chosen)}"
            )
            raise WaitTimeout(
                message,
                description=description,
                timeout=deadline.timeout,
                elapsed=timeout.elapsed,
                attempts=timeout.attempts,
                last=[entry.event for entry in inbox.unclaimed()],
            ) from None
        self._record(inbox, wait, "surplus")
        shown = "\n".join(_show(entry.event, number) for number, entry in enumerate(hits, 1))
        raise UnexpectedEvent(
            f"expected {what} within {deadline.timeout:g} s on {self._label()}, "
            f"but {len(hits)} matched after {deadline.elapsed():.2f} s:\n{shown}",
            description=description,
            events=[entry.event for entry in hits],
            elapsed=deadline.elapsed(),
        )

    def expect_no_event(self, matcher: MatcherLike = None, during: float | str | timedelta | None = None) -> None:
        """Hold for the whole window; fail at once when a matching unclaimed event is (or arrives) there."""
        __tracebackhide__ = True
        inbox = self._inbox()
        chosen = as_matcher(matcher)
        sla = self._window(during, "during")
        what = f"no event matching {chosen.describe()}"
        description = f"{what} for {sla:g} s on {self._label()}"
        wait = self._begin(inbox, "expect_no_event", description, sla)
        deadline = wait.deadline
        early = [entry for entry in inbox.unclaimed() if chosen(entry.event)]
        if early:
            offender = early[0]
        else:
            try:
                offender = wait_until(
                    _first_match(inbox, deadline, chosen), deadline=deadline, description=description, interval=0
                )
            except WaitTimeout:
                self._record(inbox, wait, "held")
                return
        elapsed = deadline.elapsed()
        self._record(inbox, wait, "unexpected")
        when = "before the wait started" if early else f"after {_latency(offender, deadline):.2f} s"
        raise UnexpectedEvent(
            f"expected {what} for {deadline.timeout:g} s on {self._label()}, "
            f"but one arrived {when}:\n{_show(offender.event)}",
            description=description,
            events=[offender.event],
            elapsed=elapsed,
        )
