"""``retry_until``'s loop: call until a condition holds, backing off (capped, with jitter) to a deadline."""

from __future__ import annotations

import logging
import random
from collections.abc import Callable
from typing import Any

log = logging.getLogger("iatk.compat")

#: retry_until's backoff: the first pause, the factor, and the cap (aws-iatk's had no cap).
RETRY_FIRST_DELAY = 0.05
RETRY_MAX_DELAY = 2.0


def check_retry_args(timeout: Any, assertion_fn: Any) -> None:
    """``retry_until``'s argument checks (aws-iatk's messages and exception types)."""
    if isinstance(timeout, bool) or not isinstance(timeout, int | float):
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
    """Call ``call`` until ``assertion_fn`` holds on its output: True, or False once ``timeout`` passed (0: never)."""
    deadline = clock() + timeout if timeout else None
    delay = RETRY_FIRST_DELAY
    while True:
        try:
            output = call()
        except retryable as err:
            log.debug("retry_until: retryable %r", err)
        else:
            try:
                outcome = assertion_fn(output)
            except AssertionError as err:
                log.debug("retry_until: not yet: %s", err)
            else:
                if outcome is None or outcome:
                    return True
                log.debug("retry_until: not yet: the condition returned %r", outcome)
        now = clock()
        if deadline is not None and now >= deadline:
            return False
        pause = min(delay * random.uniform(0.75, 1.25), RETRY_MAX_DELAY)
        if deadline is not None:
            pause = min(pause, deadline - now)
        sleep(pause)
        delay = min(delay * 2, RETRY_MAX_DELAY)
