"""Teardown steps with a deadline of their own: a call that does not answer in time is reported, not awaited.

A listener's removal (``close()``, and the rollback of a failed ``start()``) is three or four AWS
calls. Each one runs under :class:`Teardown`: it gets :data:`STEP_TIMEOUT` seconds of wall time
(botocore's own retries included), after which the step counts as not done and the next one starts.
Once an endpoint has not answered (a timeout, a refused or dropped connection), the later steps that
go to the same endpoint are not tried at all: a dead server costs one deadline, not one per step.

A call past its deadline is not cancelled (botocore cannot cancel a request): it runs on in a daemon
thread, and may still succeed. The report says so; ``iatk cleanup`` removes whatever is left.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any, TypeVar

from botocore.exceptions import ConnectionError as BotoConnectionError, HTTPClientError

from iatk._aws import BOTO_ERRORS

__all__ = ["STEP_TIMEOUT", "TEARDOWN_ERRORS", "NotTried", "StepNotDone", "StepTimeout", "Teardown"]

T = TypeVar("T")

#: Seconds each teardown step may take (its retries included) before it is reported as not done.
STEP_TIMEOUT = 5.0


class StepNotDone(Exception):
    """A teardown step that did not finish: it timed out, or it was not tried."""


class StepTimeout(StepNotDone):
    """The step's call did not answer within its deadline (it may still finish in the background)."""


class NotTried(StepNotDone):
    """The step was skipped: its endpoint had not answered an earlier step."""


#: What a teardown step can fail with: an AWS or botocore error, or a step not done.
TEARDOWN_ERRORS: tuple[type[Exception], ...] = (*BOTO_ERRORS, StepNotDone)


def unreachable(err: BaseException) -> bool:
    """Whether ``err`` says the endpoint did not answer (no connection, a dropped one, a timeout)."""
    return isinstance(err, (StepTimeout, BotoConnectionError, HTTPClientError))


class Teardown:
    """The steps of one removal, each under its own deadline.

    Args:
        step_timeout: Seconds each step may take.
    """

    def __init__(self, step_timeout: float = STEP_TIMEOUT) -> None:
        self.step_timeout = step_timeout
        #: Endpoint URL -> the step that found it not answering.
        self.unreachable: dict[str, str] = {}

    def call(self, what: str, client: Any, fn: Callable[[], T]) -> T:
        """``fn()`` (one AWS call on ``client``) within the step deadline.

        Raises:
            NotTried: ``client``'s endpoint did not answer an earlier step.
            StepTimeout: No answer within the deadline.
            Exception: What ``fn`` raised (a botocore error).
        """
        endpoint = str(getattr(getattr(client, "meta", None), "endpoint_url", None) or "")
        earlier = self.unreachable.get(endpoint)
        if earlier is not None:
            raise NotTried(f"not tried: {endpoint or 'the endpoint'} did not answer {earlier}")
        try:
            return _bounded(fn, self.step_timeout, what)
        except Exception as err:
            if unreachable(err):
                self.unreachable[endpoint] = what
            raise


def _bounded(fn: Callable[[], T], timeout: float, what: str) -> T:
    """``fn()`` in a daemon thread; its value or its exception, or :class:`StepTimeout` after ``timeout`` s."""
    outcome: list[tuple[bool, Any]] = []
    done = threading.Event()

    def run() -> None:
        try:
            outcome.append((True, fn()))
        except BaseException as err:  # handed to the caller's thread
            outcome.append((False, err))
        finally:
            done.set()

    threading.Thread(target=run, name=f"iatk-teardown {what}", daemon=True).start()
    if not done.wait(timeout):
        raise StepTimeout(f"no answer within {timeout:g} s (the call may still finish in the background)")
    ok, value = outcome[0]
    if ok:
        return value  # type: ignore[no-any-return]
    raise value
