"""The errors iatk raises.

Every error is an :class:`IatkError`, so one ``except IatkError`` catches them all. The tree::

    IatkError
     ├── ConfigError              bad settings or arguments, found before any AWS call
     ├── AwsError                 an AWS call failed; .code keeps the AWS error code
     ├── StackError
     │    ├── StackNotFound       lists stacks with similar names
     │    ├── StackNotReady       the stack is not in a *_COMPLETE state
     │    ├── StackOutputNotFound lists the outputs that exist           (also LookupError)
     │    ├── ResourceNotInStack  lists logical ids, closest first       (also LookupError)
     │    └── DeployError         deploy_stack failed; carries the stack's failure events
     ├── PatternError             an invalid EventBridge pattern or matcher (also ValueError)
     ├── ListenerError            bus or rule not found, creation failed and was rolled back
     ├── PutEventsError           PutEvents rejected one or more entries
     ├── WaitTimeout              nothing matched within the SLA         (also TimeoutError)
     ├── UnexpectedEvent          a forbidden event came, or more than n (also AssertionError)
     ├── TraceError
     │    └── TraceIncomplete     the trace is still missing parts at the deadline
     ├── SchemaError              registry, schema or version not found; unsupported construct
     ├── StateTestError           a Step Functions state test could not run
     │    └── MaxStepsReached     walk_states ran max_steps states; carries the path so far
     └── CleanupError             per-resource failures, aggregated

Errors that wrap a botocore error keep the AWS error code in ``.code`` and the original error as
``__cause__``.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .states import StatePath

__all__ = [
    "AwsError",
    "CleanupError",
    "ConfigError",
    "DeployError",
    "IatkError",
    "ListenerError",
    "MaxStepsReached",
    "PatternError",
    "PutEventsError",
    "ResourceNotInStack",
    "SchemaError",
    "StackError",
    "StackNotFound",
    "StackNotReady",
    "StackOutputNotFound",
    "StateTestError",
    "TraceError",
    "TraceIncomplete",
    "UnexpectedEvent",
    "WaitTimeout",
]

#: Where the help for each error's feature lives: a section heading of the project's README.md.
README = "README.md"


def readme_url(section: str) -> str:
    """An absolute link to ``section`` of the README that came with this install, with its anchor.

    The wheel carries the README as ``iatk/README.md`` (a source checkout has it at the top of the
    tree), so the link works offline, on the version installed, and terminals make it clickable.
    """
    here = Path(__file__).resolve().parent
    for candidate in (here / README, here.parents[1] / README):
        if candidate.is_file():
            return f"{candidate.as_uri()}#{readme_anchor(section)}"
    return f"{README}#{readme_anchor(section)}"


def readme_anchor(section: str) -> str:
    """The anchor a Markdown renderer gives a heading: lower case, punctuation dropped, spaces to ``-``."""
    kept = "".join(char for char in section.lower() if char.isalnum() or char in " -_")
    return kept.replace(" ", "-")


class IatkError(Exception):
    """Base class of every iatk error.

    Args:
        message: What went wrong, what exists, and what to do.
        code: The AWS error code when the error wraps an AWS call (e.g. ``ValidationError``).
        help_section: The README section to point to, when not the class's own (a ``ConfigError``
            raised by ``put_events`` points to "Putting events", not to "Configuration").
    """

    #: The README section (its heading) that explains this error's feature; named in the message.
    help_section: str | None = None

    def __init__(self, message: str, *, code: str | None = None, help_section: str | None = None) -> None:
        if help_section:
            self.help_section = help_section
        #: The message without the README pointer (to raise it again pointing elsewhere).
        self.problem = message
        if self.help_section:
            message = f"{message}\n(see the README, section '{self.help_section}': {readme_url(self.help_section)})"
        super().__init__(message)
        self.message = message
        self.code = code

    def __str__(self) -> str:
        return self.message


class ConfigError(IatkError, ValueError):
    """A setting or argument is invalid. Raised before any AWS call."""

    help_section = "Configuration"


class AwsError(IatkError):
    """An AWS call failed. ``.code`` is the AWS error code, ``.operation`` the API operation."""

    def __init__(self, message: str, *, code: str | None = None, operation: str | None = None) -> None:
        super().__init__(message, code=code)
        self.operation = operation


class StackError(IatkError):
    """Base of the CloudFormation stack errors."""

    help_section = "Stacks"


class StackNotFound(StackError, LookupError):
    """No stack with that name, id or ARN."""


class StackNotReady(StackError):
    """The stack exists but is not in a ``*_COMPLETE`` state."""


class StackOutputNotFound(StackError, LookupError):
    """The stack has no output with that key. The message lists the outputs it has."""


class ResourceNotInStack(StackError, LookupError):
    """The stack has no resource with that logical id. The message lists the closest ones."""


class DeployError(StackError):
    """``deploy_stack`` failed. ``.events`` holds the stack's failure events."""

    def __init__(self, message: str, *, code: str | None = None, events: Sequence[Any] = ()) -> None:
        super().__init__(message, code=code)
        self.events = list(events)


class PatternError(IatkError, ValueError):
    """An EventBridge event pattern or a matcher is not valid."""

    help_section = "Matchers"


class ListenerError(IatkError):
    """A listener could not be created or closed; what was created has been removed."""

    help_section = "Listening to a bus"


class PutEventsError(IatkError):
    """PutEvents rejected entries. ``.failed`` lists ``(index, entry, error_code, message)``."""

    help_section = "Putting events"

    def __init__(self, message: str, *, failed: Sequence[tuple[int, Any, str, str]] = ()) -> None:
        super().__init__(message, code=failed[0][2] if failed else None)
        self.failed = list(failed)


class WaitTimeout(IatkError, TimeoutError):
    """Nothing matched within the deadline.

    Attributes:
        description: What was awaited.
        timeout: The deadline, in seconds.
        elapsed: Seconds waited.
        attempts: How many polls or fetches were made.
        last: The last observation (events received, the last trace tree...).
    """

    help_section = "Waiting and SLAs"

    def __init__(
        self,
        message: str,
        *,
        description: str = "",
        timeout: float | None = None,
        elapsed: float | None = None,
        attempts: int = 0,
        last: Any = None,
    ) -> None:
        super().__init__(message)
        self.description = description
        self.timeout = timeout
        self.elapsed = elapsed
        self.attempts = attempts
        self.last = last


class UnexpectedEvent(IatkError, AssertionError):
    """A wait saw an event it must not see: ``expect_no_event`` got a match, or ``expect_events`` a surplus.

    Attributes:
        description: What the wait was for.
        events: The offending events (for a surplus: all the matching events).
        elapsed: Seconds into the window when it was seen.
    """

    help_section = "Waiting and SLAs"

    def __init__(self, message: str, *, description: str, events: Sequence[Any], elapsed: float) -> None:
        super().__init__(message)
        self.description = description
        self.events = list(events)
        self.elapsed = elapsed


class TraceError(IatkError):
    """An X-Ray trace could not be read."""

    help_section = "X-Ray traces"


class TraceIncomplete(TraceError):
    """The trace was still incomplete at the deadline; the message says what was missing."""


class SchemaError(IatkError):
    """A schema could not be found, read or turned into an event."""

    help_section = "Mock events"


class StateTestError(IatkError):
    """A Step Functions state test could not run (unknown state, unreadable definition...)."""

    help_section = "Testing Step Functions states"


class MaxStepsReached(StateTestError):
    """:func:`~iatk.walk_states` ran ``max_steps`` states and the workflow had not ended.

    A loop is usually a bug worth a failing test, so the walk raises rather than returning a path
    that only looks complete. The path so far is kept for the test to inspect.

    Attributes:
        path: The :class:`~iatk.StatePath` walked so far (``max_steps`` results).
        next_state: The state that would have run next.
        max_steps: The limit that was reached.
    """

    def __init__(self, path: StatePath, next_state: str, max_steps: int) -> None:
        shown = " → ".join(path.names)
        last = path[-1].render() if path else ""
        super().__init__(
            f"the walk did not end within max_steps={max_steps}; path so far: {shown} → {next_state!r}. "
            "A loop in the workflow? Raise max_steps, or mock the state that decides the loop. "
            f"The last step:\n{last}"
        )
        self.path = path
        self.next_state = next_state
        self.max_steps = max_steps


class CleanupError(IatkError):
    """One or more harness resources could not be deleted.

    ``.failures`` lists ``(arn, error)`` pairs; everything else was still attempted.
    """

    help_section = "Cleaning up"

    def __init__(self, message: str, *, failures: Sequence[tuple[str, BaseException]] = (), report: Any = None) -> None:
        super().__init__(message)
        self.failures = list(failures)
        #: The :class:`~iatk.cleanup.CleanupReport` of the attempt, when there was one.
        self.report = report


def frameless(err: BaseException) -> BaseException:
    """``err`` (and the errors it was raised from) without tracebacks; returns ``err``.

    An iatk error keeps the botocore error it wraps as ``__cause__`` (its ``.response``, its type),
    but that error's frames are botocore's internals: pytest would print dozens of them above the
    one line that matters. Without its traceback the cause prints as one line, the AWS error itself.
    """
    seen: set[int] = set()
    current: BaseException | None = err
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        current.__traceback__ = None
        current = current.__cause__
    return err
