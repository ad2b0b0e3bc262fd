"""Unit tests for the waiter core (iatk.waiting), on a fake clock: they run instantly."""

from __future__ import annotations

import pytest

from iatk.exceptions import ConfigError, WaitTimeout
from iatk.testing import FakeClock
from iatk.waiting import NOT_YET, Deadline, NotYet, backoff_delays, wait_until


def no_jitter() -> float:
    return 0.5  # the middle of [0, 1): a jitter factor of exactly 1.0


def test_deadline_counts_on_the_injected_clock() -> None:
    """A Deadline reports elapsed and remaining time from its clock and expires at the timeout."""
    clock = FakeClock()
    deadline = Deadline(5, clock=clock)
    assert deadline.elapsed() == 0
    assert deadline.remaining() == 5
    clock.now += 3
    assert deadline.remaining() == 2
    assert not deadline.expired()
    clock.now += 2.5
    assert deadline.expired()
    assert deadline.remaining() == 0.0


@pytest.mark.parametrize("bad", [-1, float("nan"), float("inf"), "soon"])
def test_deadline_rejects_bad_timeouts(bad: object) -> None:
    """A negative, infinite or non-numeric timeout is a ConfigError, not a wait that never ends."""
    with pytest.raises(ConfigError, match="deadline"):
        Deadline(bad)  # type: ignore[arg-type]


def test_returns_the_first_value_that_is_not_not_yet() -> None:
    """wait_until returns the first real value, after sleeping between the NOT_YET answers."""
    clock = FakeClock()
    answers = iter([NOT_YET, NOT_YET, "done"])
    result = wait_until(
        lambda: next(answers),
        timeout=10,
        description="x",
        interval=1,
        backoff=1,
        jitter=0,
        clock=clock,
        sleep=clock.sleep,
    )
    assert result == "done"
    assert clock.sleeps == [1, 1]


def test_falsy_values_count_as_done() -> None:
    """Only NotYet means "not yet": 0, False, None and empty lists are results."""
    for value in (0, False, None, []):
        assert wait_until(lambda value=value: value, timeout=0, description="x") == value


def test_backoff_grows_is_capped_and_never_sleeps_past_the_deadline() -> None:
    """Delays double up to the cap; the last sleep is cut to the deadline, then one final attempt runs."""
    clock = FakeClock()
    calls: list[float] = []

    def fetch() -> NotYet:
        calls.append(clock.now)
        return NOT_YET

    with pytest.raises(WaitTimeout):
        wait_until(
            fetch,
            timeout=10,
            description="x",
            interval=1,
            backoff=2,
            max_interval=3,
            jitter=0,
            clock=clock,
            sleep=clock.sleep,
        )
    assert clock.sleeps == [1, 2, 3, 3, 1]
    assert calls[-1] == 1010.0  # a last attempt exactly at the deadline
    assert len(calls) == 6


def test_timeout_error_carries_the_evidence() -> None:
    """WaitTimeout names what was awaited and carries timeout, elapsed, attempts and the last observation."""
    clock = FakeClock()
    statuses = iter(["PENDING", "RUNNING", "RUNNING", "RUNNING"])
    with pytest.raises(WaitTimeout) as caught:
        wait_until(
            lambda: NotYet(next(statuses)),
            timeout=2,
            description="job 42 to finish",
            interval=1,
            backoff=1,
            jitter=0,
            clock=clock,
            sleep=clock.sleep,
        )
    err = caught.value
    assert isinstance(err, TimeoutError)
    assert err.description == "job 42 to finish"
    assert err.timeout == 2
    assert err.elapsed == 2
    assert err.attempts == 3
    assert err.last == "RUNNING"
    assert "timed out waiting for job 42 to finish: not done within 2 s (waited 2.00 s, 3 attempts)" in str(err)
    assert "last seen: 'RUNNING'" in str(err)


def test_explain_turns_the_last_observation_into_the_message() -> None:
    """An explain function adds its text about the last observation to the timeout message."""
    with pytest.raises(WaitTimeout, match=r"(?s)within 0 s.*\nstill 3 pending"):
        wait_until(lambda: NotYet(3), timeout=0, description="x", explain=lambda n: f"still {n} pending")


def test_runs_once_even_with_a_zero_timeout() -> None:
    """timeout=0 still makes one attempt (a check, not a wait)."""
    calls = []

    def fetch() -> str:
        calls.append(1)
        return "ok"

    assert wait_until(fetch, timeout=0, description="x") == "ok"
    assert calls == [1]


def test_real_errors_surface_at_once() -> None:
    """An exception that is not in retry_on propagates on the first attempt, with no retry."""
    clock = FakeClock()
    calls = []

    def fetch() -> str:
        calls.append(1)
        raise KeyError("bug in the test")

    with pytest.raises(KeyError):
        wait_until(fetch, timeout=60, description="x", clock=clock, sleep=clock.sleep)
    assert calls == [1]
    assert clock.sleeps == []


def test_retry_on_errors_count_as_not_yet() -> None:
    """Exceptions listed in retry_on are retried, and the last one is kept as the observation."""
    clock = FakeClock()
    with pytest.raises(WaitTimeout) as caught:
        wait_until(
            lambda: (_ for _ in ()).throw(LookupError("trace not indexed yet")),
            timeout=1,
            description="x",
            retry_on=(LookupError,),
            clock=clock,
            sleep=clock.sleep,
        )
    assert isinstance(caught.value.last, LookupError)
    assert caught.value.attempts >= 2


def test_interval_zero_leaves_the_waiting_to_fetch() -> None:
    """With interval=0 wait_until never sleeps; a fetch that long-polls does the waiting on the deadline."""
    clock = FakeClock()
    deadline = Deadline(3, clock=clock)
    seen: list[float] = []

    def fetch() -> NotYet:
        seen.append(deadline.remaining())
        clock.now += min(1.0, deadline.remaining())  # a long poll of up to 1 s
        return NOT_YET

    with pytest.raises(WaitTimeout):
        wait_until(fetch, deadline=deadline, description="x", interval=0, sleep=clock.sleep)
    assert clock.sleeps == []
    assert seen == [3, 2, 1]


def test_exactly_one_of_timeout_and_deadline() -> None:
    """Giving both or neither of timeout= and deadline= is a ConfigError."""
    with pytest.raises(ConfigError, match="exactly one"):
        wait_until(lambda: 1, description="x")
    with pytest.raises(ConfigError, match="exactly one"):
        wait_until(lambda: 1, timeout=1, deadline=Deadline(1), description="x")


def test_jitter_spreads_delays_within_bounds() -> None:
    """Jitter multiplies each delay by a factor in [1 - jitter, 1 + jitter]."""
    low = backoff_delays(2, backoff=1, jitter=0.25, rng=lambda: 0.0)
    high = backoff_delays(2, backoff=1, jitter=0.25, rng=lambda: 0.999999)
    assert low(0) == pytest.approx(1.5)
    assert high(0) == pytest.approx(2.5, rel=1e-5)
    assert backoff_delays(2, backoff=1, jitter=0.25, rng=no_jitter)(7) == 2


def test_backoff_cap_holds_for_huge_attempt_numbers() -> None:
    """The cap applies without overflowing on very long waits."""
    delay = backoff_delays(0.5, backoff=2, max_interval=5, jitter=0)
    assert delay(0) == 0.5
    assert delay(3) == 4
    assert delay(4) == 5
    assert delay(10_000) == 5


@pytest.mark.parametrize(
    ("kwargs", "fragment"),
    [({"interval": -1}, "interval"), ({"backoff": 0.5}, "backoff"), ({"jitter": 2}, "jitter")],
)
def test_bad_schedules_are_config_errors(kwargs: dict[str, float], fragment: str) -> None:
    """A negative interval, a shrinking backoff or a jitter above 1 is rejected up front."""
    args = {"interval": 1.0, **kwargs}
    with pytest.raises(ConfigError, match=fragment):
        backoff_delays(args.pop("interval"), **args)


def test_not_yet_repr() -> None:
    """NotYet shows its observation, the bare sentinel shows as NOT_YET."""
    assert repr(NOT_YET) == "NOT_YET"
    assert repr(NotYet("x")) == "NotYet('x')"
