"""The one boundary between botocore's errors and iatk's.

Every module wraps a botocore error the same way: :func:`calling` (a block) or :func:`wrap` plus
:func:`frameless` (a single raise). The iatk error keeps the AWS error code (``.code``) and the
operation, carries the botocore error as ``__cause__`` (its ``.response``, its type), and that
cause has no traceback: pytest shows the AWS error as one line instead of dozens of botocore frames.

The codes that mean "the resource is already gone" and "slow down" are defined here once, for
every service iatk calls.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any, TypeVar

from botocore.exceptions import BotoCoreError, ClientError

from iatk.exceptions import AwsError, IatkError, frameless

__all__ = [
    "BOTO_ERRORS",
    "GONE_CODES",
    "THROTTLE_CODES",
    "calling",
    "error_code",
    "error_message",
    "frameless",
    "is_gone",
    "is_throttled",
    "wrap",
]

E = TypeVar("E", bound=IatkError)

#: What a botocore call raises: a service's error answer, or a client-side failure (network, params).
BOTO_ERRORS: tuple[type[Exception], ...] = (ClientError, BotoCoreError)

#: AWS error codes that mean "the resource does not exist (any more)": a delete of it is done.
GONE_CODES = frozenset(
    {
        "ResourceNotFoundException",  # EventBridge, Step Functions, CloudFormation's type registry
        "NotFoundException",  # Schemas, API Gateway
        "AWS.SimpleQueueService.NonExistentQueue",  # SQS, query protocol
        "QueueDoesNotExist",  # SQS, JSON protocol
        "NonExistentQueue",
    }
)

#: AWS error codes that mean "slow down": retried with backoff on top of botocore's own retries.
THROTTLE_CODES = frozenset(
    {
        "Throttling",
        "ThrottlingException",
        "ThrottledException",
        "TooManyRequestsException",
        "RequestLimitExceeded",
        "RequestThrottled",
        "RequestThrottledException",
        "SlowDown",
        "AWS.SimpleQueueService.RequestThrottled",
    }
)


def error_code(err: BaseException) -> str | None:
    """The AWS error code of a botocore ClientError (None for other errors)."""
    if isinstance(err, ClientError):
        code = err.response.get("Error", {}).get("Code")
        return str(code) if code else None
    return None


def error_message(err: BaseException) -> str:
    """The AWS error message of a ClientError, else ``str(err)``."""
    if isinstance(err, ClientError):
        message = err.response.get("Error", {}).get("Message")
        if message:
            return f"{error_code(err)}: {message}"
    return str(err)


def is_gone(err: BaseException) -> bool:
    """Whether ``err`` says the resource does not exist (see :data:`GONE_CODES`)."""
    return error_code(err) in GONE_CODES


def is_throttled(err: BaseException) -> bool:
    """Whether ``err`` is a throttling answer (see :data:`THROTTLE_CODES`)."""
    return error_code(err) in THROTTLE_CODES


def wrap(err: BaseException, message: str, cls: type[E] = AwsError, **kwargs: Any) -> E:  # type: ignore[assignment]
    """Build ``cls(message + ": " + aws error)`` keeping the AWS code; raise it ``from frameless(err)``.

    ``err``'s traceback is dropped here, so a caller that writes ``raise wrap(...) from err`` also
    shows the cause as one line.
    """
    frameless(err)
    full = f"{message}: {error_message(err)}"
    if issubclass(cls, AwsError):
        operation = getattr(err, "operation_name", None)
        return cls(full, code=error_code(err), operation=operation, **kwargs)
    wrapped = cls(full, **kwargs)
    if wrapped.code is None:
        wrapped.code = error_code(err)
    return wrapped


@contextmanager
def calling(what: str, cls: type[IatkError] = AwsError, **kwargs: Any) -> Iterator[None]:
    """Translate botocore errors raised inside the block into ``cls``: code kept, cause frameless."""
    try:
        yield
    except BOTO_ERRORS as err:
        raise wrap(err, what, cls, **kwargs) from frameless(err)
