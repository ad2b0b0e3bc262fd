"""aws-iatk's exceptions, and the translation of iatk's core errors into them.

``error_code`` values: 400 a bad argument (found before any AWS call), 404 something asked for does
not exist, 408 a wait ran out of time, 500 an AWS call or a cleanup failed (see :mod:`iatk.compat`).
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any, TypeVar

from iatk.exceptions import (
    ConfigError,
    IatkError,
    PatternError,
    SchemaError,
    TraceError,
    TraceIncomplete,
    WaitTimeout,
)

F = TypeVar("F", bound=Callable[..., Any])


class IatkException(IatkError):
    """aws-iatk's exception, now also an :class:`iatk.IatkError`, so both styles of ``except`` work.

    Args:
        message: What went wrong.
        error_code: 400 bad input, 404 not found, 408 timed out, 500 an AWS or other failure
            (aws-iatk's was always 0 for errors from its binary).
        aws_code: The AWS error code, when the error comes from an AWS call.
    """

    def __init__(self, message: str, error_code: int = 500, *, aws_code: str | None = None) -> None:
        super().__init__(message, code=aws_code)
        self.error_code = error_code
        self.aws_code = aws_code


class RetryableException(IatkException):
    """Raise it inside a ``retry_until`` target to ask for another attempt (aws-iatk's name).

    It is ``retry_until``'s default ``retryable_exceptions``, and ``iatk.RetryableException`` as in
    aws-iatk (``aws_iatk.RetryableException``).
    """


class InvalidParamException(IatkException, ValueError):
    """A parameter out of its range, found before any AWS call (aws-iatk's name; ``error_code`` 400).

    Raised where aws-iatk raised its ``InvalidParamException``: ``wait_until_event_matched`` with a
    ``timeout_seconds`` outside 1..999; also for ``retry_get_trace_tree_until``'s ``timeout_seconds``
    (aws-iatk raised ``ValueError`` there, which this also is).
    """

    def __init__(self, message: str, error_code: int = 400) -> None:
        super().__init__(message, error_code)


def explained(err: BaseException, explanation: str | None) -> BaseException:
    """Attach iatk's explanation to an error whose message is aws-iatk's exact words; returns ``err``.

    Suites compare aws-iatk's messages (``assertEqual(str(e), ...)`` as well as ``assertIn``), so
    ``str(err)`` stays aws-iatk's text and the explanation (what exists, what to do) is an exception
    note: tracebacks and pytest print it right after the message, and ``err.__notes__`` holds it.
    """
    if explanation:
        adding = getattr(err, "add_note", None)
        if adding is not None:  # Python 3.11+
            adding(explanation)
        else:
            err.__notes__ = [*getattr(err, "__notes__", ()), explanation]  # type: ignore[attr-defined]
    return err


def error_code_for(err: IatkError) -> int:
    """The aws-iatk ``error_code`` for a core error: 400, 404, 408 or 500 (see the module docstring)."""
    if isinstance(err, WaitTimeout | TraceIncomplete):
        return 408
    from iatk._aws import GONE_CODES  # botocore: loaded only once an error is translated

    if isinstance(err, LookupError) or err.code in GONE_CODES:
        return 404
    if isinstance(err, SchemaError):
        return 404 if "not found" in str(err) else 400
    if isinstance(err, ConfigError | PatternError | TraceError):
        return 400
    return 500


def as_exception(err: IatkError) -> IatkException:
    """The :class:`IatkException` for a core error: its message, ``error_code`` and AWS code."""
    return IatkException(str(err), error_code_for(err), aws_code=err.code)


def translated(fn: F) -> F:
    """Re-raise core errors as IatkException (keeping the message, the AWS code and the cause)."""

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        __tracebackhide__ = True
        try:
            return fn(*args, **kwargs)
        except IatkException:
            raise
        except IatkError as err:
            raise as_exception(err) from err

    return wrapper  # type: ignore[return-value]
