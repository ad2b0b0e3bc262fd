"""The waiter core: a monotonic :class:`Deadline` and :func:`wait_until`, a poll loop that never hangs.

Every wait in iatk has a deadline measured on ``time.monotonic`` (never the wall clock, which can jump).
An attempt returns a value when it is done, or :data:`NOT_YET` / :class:`NotYet` (optionally carrying
what it saw) when it is not; real errors raised by an attempt surface at once and are never retried,
unless the caller names them in ``retry_on``. At the deadline :func:`wait_until` raises
:class:`~iatk.exceptions.WaitTimeout` with what was awaited, the timeout, the time waited, the number of
attempts and the last observation.

The clock, the sleep and the random source are injectable, so unit tests run instantly with a fake
clock. polling2 (listed on the design card) is not used here: it measures its timeout on
``time.time()``, sleeps a full step even past the deadline, cannot take a fake clock, and keeps every
attempt's value in an unbounded queue.

Example::

    from iatk.waiting import NotYet, wait_until

    def fetch():
        status = get_status()
        return status if status == "DONE" else NotYet(status)

    wait_until(fetch, timeout=30, description="the job to finish")
"""

from __future__ import annotations

import contextlib
import logging
import math
import random
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, TypeVar, final

from ._text import truncate
from .exceptions import ConfigError, WaitTimeout

if TYPE_CHECKING:
    from .listener import Listener, WaitRecord

__all__ = ["NOT_YET", "Deadline", "NotYet", "backoff_delays", "wait_until"]

#: The README section the errors of waits point to (not "Configuration").
HELP_SECTION = "Waiting and SLAs"

T = TypeVar("T")
Clock = Callable[[], float]
Sleep = Callable[[float], None]


@final
class NotYet:
    """What an attempt returns when the awaited thing is not there yet.

    Args:
        last: What the attempt saw (a status, a partial result...). It becomes ``WaitTimeout.last``
            and is handed to ``explain`` when the deadline passes.
    """

    __slots__ = ("last",)

    def __init__(self, last: Any = None) -> None:
        self.last = last

    def __repr__(self) -> str:
        return "NOT_YET" if self.last is None else f"NotYet({self.last!r})"


#: The plain "not yet" answer, for attempts with nothing to report.
NOT_YET = NotYet()


class Deadline:
    """A point in time on a monotonic clock, ``timeout`` seconds after it was made.

    Args:
        timeout: Seconds from now (>= 0).
        clock: The clock (default ``time.monotonic``); inject a fake one in tests.

    Raises:
        ConfigError: ``timeout`` is negative or not a finite number.
    """

    __slots__ = ("clock", "start", "timeout")

    def __init__(self, timeout: float, *, clock: Clock = time.monotonic) -> None:
        try:
            seconds = float(timeout)
        except (TypeError, ValueError):
            seconds = math.nan
        if not math.isfinite(seconds):
            raise ConfigError(
                f"timeout: a deadline needs a finite number of seconds; got timeout={timeout!r}",
                help_section=HELP_SECTION,
            )
        if seconds < 0:
            raise ConfigError(
                f"timeout: a deadline cannot be in the past; got timeout={timeout!r}", help_section=HELP_SECTION
            )
        self.timeout = seconds
        self.clock = clock
        self.start = clock()

    def elapsed(self) -> float:
        """Seconds since the deadline was made."""
        return self.clock() - self.start

    def remaining(self) -> float:
        """Seconds left (0.0 once expired, never negative)."""
        return max(0.0, self.timeout - self.elapsed())

    def expired(self) -> bool:
        """Whether the deadline has passed."""
        return self.elapsed() >= self.timeout

    def __repr__(self) -> str:
        return f"Deadline(timeout={self.timeout:g}, elapsed={self.elapsed():.3f})"


def backoff_delays(
    interval: float,
    *,
    backoff: float = 2.0,
    max_interval: float = 5.0,
    jitter: float = 0.1,
    rng: Callable[[], float] = random.random,
) -> Callable[[int], float]:
    """A delay schedule: ``interval * backoff**attempt``, capped at ``max_interval``, with jitter.

    Args:
        interval: The first delay, seconds.
        backoff: Growth factor per attempt (1.0 = constant).
        max_interval: Cap on the delay before jitter.
        jitter: Relative spread: each delay is multiplied by a factor in ``[1 - jitter, 1 + jitter]``.
        rng: Source of uniform numbers in [0, 1) (inject a fixed one in tests).

    Returns:
        A function from the attempt number (0-based) to the delay in seconds.

    Raises:
        ConfigError: A negative interval, a backoff below 1, or a jitter outside [0, 1].
    """
    schedule: dict[str, Any] = {"interval": interval, "max_interval": max_interval}
    schedule.update(backoff=backoff, jitter=jitter)
    for name, number in schedule.items():  # checked at run time: callers may not be typed
        if isinstance(number, bool) or not isinstance(number, (int, float)) or not math.isfinite(number):
            raise ConfigError(f"{name} must be a finite number; got {name}={number!r}", help_section=HELP_SECTION)
    if interval < 0 or max_interval < 0:
        raise ConfigError(
            f"interval and max_interval must be >= 0; got {interval!r}, {max_interval!r}", help_section=HELP_SECTION
        )
    if backoff < 1:
        raise ConfigError(f"backoff must be >= 1 (1 = constant interval); got {backoff!r}", help_section=HELP_SECTION)
    if not 0 <= jitter <= 1:
        raise ConfigError(f"jitter must be between 0 and 1; got {jitter!r}", help_section=HELP_SECTION)

    def delay(attempt: int) -> float:
        # min() before the power would overflow on long waits; compare in log space instead.
        if backoff > 1 and interval > 0 and attempt > math.log(max(max_interval / interval, 1.0), backoff):
            base = max_interval
        else:
            base = min(max_interval, interval * backoff**attempt)
        return base * (1.0 + jitter * (2.0 * rng() - 1.0))

    return delay


def wait_until(
    fetch: Callable[[], T | NotYet],
    *,
    timeout: float | None = None,
    deadline: Deadline | None = None,
    description: str,
    interval: float = 0.5,
    backoff: float = 2.0,
    max_interval: float = 5.0,
    jitter: float = 0.1,
    retry_on: tuple[type[BaseException], ...] = (),
    explain: Callable[[Any], str] | None = None,
    clock: Clock = time.monotonic,
    sleep: Sleep = time.sleep,
    rng: Callable[[], float] = random.random,
) -> T:
    """Call ``fetch`` until it returns a value, or raise :class:`WaitTimeout` at the deadline.

    ``fetch`` runs at least once, even with ``timeout=0``. Between attempts it sleeps a capped,
    jittered, exponentially growing delay, never past the deadline; after sleeping up to the deadline
    it makes one last attempt. An exception from ``fetch`` propagates at once unless its type is in
    ``retry_on``, in which case it counts as "not yet" and becomes the last observation.

    Args:
        fetch: Returns the awaited value, or :data:`NOT_YET` / ``NotYet(observation)``.
        timeout: Seconds to wait. Give this or ``deadline``.
        deadline: A :class:`Deadline` made by the caller (so ``fetch`` can read ``remaining()``, e.g.
            to size a long poll, and the caller can read ``elapsed()`` afterwards).
        description: What is awaited, for the timeout message ("stack my-app to be ready").
        interval: First delay between attempts, seconds (0 = no sleep: ``fetch`` does the waiting,
            as a long poll does).
        backoff: Growth factor of the delay per attempt.
        max_interval: Cap on the delay.
        jitter: Relative random spread of each delay (0 to 1).
        retry_on: Exception types that mean "not ready yet".
        explain: Turns the last observation into text appended to the timeout message.
        clock: Monotonic clock (default ``time.monotonic``); used only when ``deadline`` is not given.
        sleep: Sleep function (default ``time.sleep``).
        rng: Uniform [0, 1) source for the jitter.

    Returns:
        The first value ``fetch`` returned that is not a :class:`NotYet`.

    Raises:
        WaitTimeout: The deadline passed; carries ``description``, ``timeout``, ``elapsed``,
            ``attempts`` and ``last``.
        ConfigError: Neither or both of ``timeout`` and ``deadline``, or a bad schedule.
    """
    __tracebackhide__ = True
    if (timeout is None) == (deadline is None):
        raise ConfigError("wait_until needs exactly one of timeout= or deadline=", help_section=HELP_SECTION)
    if deadline is None:
        assert timeout is not None  # for mypy: checked just above
        deadline = Deadline(timeout, clock=clock)
    delays = backoff_delays(interval, backoff=backoff, max_interval=max_interval, jitter=jitter, rng=rng)
    attempts = 0
    last: Any = None
    while True:
        attempts += 1
        try:
            value = fetch()
        except retry_on as err:
            value = NotYet(err)
        if not isinstance(value, NotYet):
            return value
        last = value.last
        remaining = deadline.remaining()
        if remaining <= 0:
            break
        pause = min(delays(attempts - 1), remaining)
        if pause > 0:
            sleep(pause)
    elapsed = deadline.elapsed()
    message = (
        f"timed out waiting for {description}: not done within {deadline.timeout:g} s "
        f"(waited {elapsed:.2f} s, {attempts} attempt{'s' if attempts != 1 else ''})"
    )
    if explain is not None:
        details = explain(last)
        if details:
            message = f"{message}\n{details}"
    elif last is not None:
        message = f"{message}; last seen: {_short(last)}"
    raise WaitTimeout(
        message, description=description, timeout=deadline.timeout, elapsed=elapsed, attempts=attempts, last=last
    )


def _short(value: Any, limit: int = 300) -> str:
    return truncate(repr(value), limit)


# --- wait observers ---------------------------------------------------------------------------------
# Here, not in the listener package (which imports botocore): the pytest plugin subscribes for every
# test without importing boto3, so a run that never listens does not pay for it. ``subscribe_waits``
# is public as ``iatk.subscribe_waits`` (and from ``iatk.events`` / ``iatk.listener``); ``notify_waits``
# is how a wait reports.

_log = logging.getLogger("iatk.listener")  # where waits log
_wait_observers: list[Callable[[Listener, WaitRecord], None]] = []


def subscribe_waits(callback: Callable[[Listener, WaitRecord], None]) -> Callable[[], None]:
    """Call ``callback(listener, record)`` after every wait on any listener (the pytest plugin's hook).

    Every :class:`~iatk.Listener` wait (``expect_event``, ``expect_events``, ``expect_no_event``)
    reports its :class:`~iatk.listener.WaitRecord` to every subscriber, in the thread that waited,
    whatever made the listener. An exception in ``callback`` is logged, never raised into the test.

    Returns:
        A function that unsubscribes ``callback`` (calling it twice is harmless).
    """
    _wait_observers.append(callback)

    def unsubscribe() -> None:
        with contextlib.suppress(ValueError):
            _wait_observers.remove(callback)

    return unsubscribe


def notify_waits(listener: Listener, record: WaitRecord) -> None:
    """Give ``record`` to every subscriber of :func:`subscribe_waits`; a failing one is logged only."""
    for observer in list(_wait_observers):
        try:
            observer(listener, record)
        except Exception:  # a reporting hook must not change a test's outcome
            _log.exception("iatk: a wait observer failed")
