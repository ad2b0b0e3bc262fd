"""``retry_until``'s loop: aws-iatk 0.1.0's schedule, without its overrun and its tight loop.

aws-iatk's loop, which suites count attempts against (7 in the default 10 s): call, check, and after
the n-th condition that does not hold pause ``0.05 * 2**n`` seconds (0.1, 0.2, 0.4 ... 6.4 s, no
cap), while less than ``timeout`` has passed (``0``: no limit). Kept as is, with two fixes a suite
cannot depend on: a pause is cut at the deadline (aws-iatk overslept, up to about 1.7x the timeout;
the attempts made are the same), and a retryable error pauses too (aws-iatk looped on it with no
pause at all), on its own short schedule so the condition's count stays aws-iatk's.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

log = logging.getLogger("iatk.compat")

#: aws-iatk's pause after the n-th condition that does not hold: RETRY_FIRST_DELAY * 2**n seconds.
RETRY_FIRST_DELAY = 0.05
#: The pause after a retryable error (none in aws-iatk): 0.05 s doubling up to this.
RETRY_MAX_DELAY = 1.0


def check_retry_args(timeout: Any, assertion_fn: Any) -> None:
    """``retry_until``'s argument checks, with aws-iatk's messages and exception types."""
    if not isinstance(timeout, int | float):  # a bool is an int here, as in aws-iatk
        raise TypeError("timeout must be an int or float")
    if timeout < 0:
        raise ValueError("timeout must not be a negative value")
    if not callable(assertion_fn):
        raise TypeError("condition is not a callable function")


def retry(
    call: Callable[[], Any],
    assertion_fn: Callable[[Any], Any],
    timeout: float,
    retryable: tuple[type[BaseException], ...],
    *,
    clock: Callable[[], float],
    sleep: Callable[[float], None],
) -> bool:
    """Call ``call`` until ``assertion_fn`` holds on its output: True, or False once ``timeout`` passed (0: never).

    ``assertion_fn`` holds when it neither raises ``AssertionError`` nor returns a falsy value other
    than None (aws-iatk took ``return False`` for a pass). Other exceptions propagate.
    """
    start = clock()
    deadline = start + timeout if timeout else None
    attempt = 1
    errors = 0
    while deadline is None or clock() < deadline:
        try:
            output = call()
        except retryable as err:
            log.debug("retry_until: retryable %r", err)
            pause = min(RETRY_FIRST_DELAY * 2**errors, RETRY_MAX_DELAY)
            errors += 1
        else:
            errors = 0
            try:
                outcome = assertion_fn(output)
            except AssertionError as err:
                log.debug("retry_until: Assertion failed: %s", err)
            else:
                if outcome is None or outcome:
                    return True
                log.debug("retry_until: the condition returned %r", outcome)
            pause = RETRY_FIRST_DELAY * 2**attempt
            attempt += 1
        if deadline is not None:
            remaining = deadline - clock()
            if pause >= remaining:  # aws-iatk slept past the deadline; this sleeps up to it and stops
                if remaining > 0:
                    sleep(remaining)
                break
        sleep(pause)
    log.debug("retry_until: timeout after %s seconds, condition not satisfied", timeout)
    return False
