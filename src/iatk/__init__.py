"""iatk: integration tests for deployed serverless AWS applications, from pytest.

The public API is flat: ``iatk.Stack``, ``iatk.Listener``, ``iatk.get_trace_tree``... Names load on
first use, so ``import iatk`` (and the pytest plugin) stays cheap and imports no boto3.

Each public name is listed once, in :data:`_PUBLIC`, under the module that defines it; ``__all__``
and the lazy loader are derived from it. The ``TYPE_CHECKING`` block repeats the imports for type
checkers and IDEs only, and ``tests/test_exported_members.py`` checks that it matches the table.
Secondary audiences have their own modules: :mod:`iatk.testing` (helpers for users' unit tests),
:mod:`iatk.compat` (aws-iatk's names; those suites also reach them here), :mod:`iatk.waiting`.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from . import exceptions as _exceptions
from .exceptions import *  # noqa: F403 - the error tree is cheap and always loaded

if TYPE_CHECKING:
    from ._aws import (
        session_env as session_env,
    )
    from ._config import (
        Settings as Settings,
        resolve_settings as resolve_settings,
    )
    from .cleanup import (
        CleanupProgress as CleanupProgress,
        CleanupReport as CleanupReport,
        FailedResource as FailedResource,
        HarnessResource as HarnessResource,
        SkippedResource as SkippedResource,
        cleanup as cleanup,
        delete_harness_resources as delete_harness_resources,
        find_harness_resources as find_harness_resources,
    )
    from .compat import (
        AddEbListener_Resource as AddEbListener_Resource,
        AddEbListenerOutput as AddEbListenerOutput,
        AwsIatk as AwsIatk,
        GenerateBareboneEventOutput as GenerateBareboneEventOutput,
        GenerateMockEventOutput as GenerateMockEventOutput,
        GetStackOutputsOutput as GetStackOutputsOutput,
        GetTraceTreeOutput as GetTraceTreeOutput,
        IatkException as IatkException,
        InvalidParamException as InvalidParamException,
        PhysicalIdFromStackOutput as PhysicalIdFromStackOutput,
        PollEventsOutput as PollEventsOutput,
        RemoveListeners_TagFilter as RemoveListeners_TagFilter,
        RemoveListenersOutput as RemoveListenersOutput,
        RetryableException as RetryableException,
    )
    from .embedded import (
        EmbeddedBackend as EmbeddedBackend,
        embedded_session as embedded_session,
    )
    from .events import (
        Event as Event,
        put_events as put_events,
    )
    from .listener import (
        Listener as Listener,
        ListenerResource as ListenerResource,
        WaitRecord as WaitRecord,
        subscribe_waits as subscribe_waits,
    )
    from .matchers import (
        Matcher as Matcher,
        MatcherLike as MatcherLike,
        MatchResult as MatchResult,
        Mismatch as Mismatch,
        anything_but as anything_but,
        as_matcher as as_matcher,
        callable_matcher as callable_matcher,
        cidr as cidr,
        equals_ignore_case as equals_ignore_case,
        exists as exists,
        explain as explain,
        match as match,
        numeric as numeric,
        pattern as pattern,
        prefix as prefix,
        suffix as suffix,
        validate_pattern as validate_pattern,
        wildcard as wildcard,
    )
    from .mock_events import (
        EventSchema as EventSchema,
        eventbridge_envelope as eventbridge_envelope,
        load_schema as load_schema,
        mock_event as mock_event,
        to_json_schema as to_json_schema,
        to_put_events_entry as to_put_events_entry,
    )
    from .stack import (
        Stack as Stack,
        StackResource as StackResource,
        deploy_stack as deploy_stack,
    )
    from .states import (
        StateInspection as StateInspection,
        StatePath as StatePath,
        StateResult as StateResult,
        StateTester as StateTester,
        test_state as test_state,
        walk_states as walk_states,
    )
    from .trace import (
        Link as Link,
        Segment as Segment,
        Subsegment as Subsegment,
        Trace as Trace,
        TraceHeader as TraceHeader,
        TraceHelper as TraceHelper,
        TraceTree as TraceTree,
        get_trace_tree as get_trace_tree,
        new_trace_header as new_trace_header,
        trace_client as trace_client,
        untrace_client as untrace_client,
    )
    from .waiting import (
        NOT_YET as NOT_YET,
        Deadline as Deadline,
        NotYet as NotYet,
        wait_until as wait_until,
    )

#: The public names, once: the module that defines them → the names (loaded on first access).
_PUBLIC: dict[str, tuple[str, ...]] = {
    # stacks: outputs, physical ids, deploys
    "stack": ("Stack", "StackResource", "deploy_stack"),
    # events: received events, putting them
    "events": ("Event", "put_events"),
    # listeners: harnesses on a bus, waits under SLAs
    "listener": ("Listener", "ListenerResource", "WaitRecord", "subscribe_waits"),
    # matchers: EventBridge patterns and composable checks
    "matchers": (
        "MatchResult",
        "Matcher",
        "MatcherLike",
        "Mismatch",
        "anything_but",
        "as_matcher",
        "callable_matcher",
        "cidr",
        "equals_ignore_case",
        "exists",
        "explain",
        "match",
        "numeric",
        "pattern",
        "prefix",
        "suffix",
        "validate_pattern",
        "wildcard",
    ),
    # waits: deadlines and polls
    "waiting": ("Deadline", "NOT_YET", "NotYet", "wait_until"),
    # traces: headers, patched clients, trees
    "trace": (
        "Link",
        "Segment",
        "Subsegment",
        "Trace",
        "TraceHeader",
        "TraceHelper",
        "TraceTree",
        "get_trace_tree",
        "new_trace_header",
        "trace_client",
        "untrace_client",
    ),
    # mock events: schemas to events
    "mock_events": (
        "EventSchema",
        "eventbridge_envelope",
        "load_schema",
        "mock_event",
        "to_json_schema",
        "to_put_events_entry",
    ),
    # Step Functions state tests
    "states": ("StateInspection", "StatePath", "StateResult", "StateTester", "test_state", "walk_states"),
    # harness cleanup
    "cleanup": (
        "CleanupProgress",
        "CleanupReport",
        "FailedResource",
        "HarnessResource",
        "SkippedResource",
        "cleanup",
        "delete_harness_resources",
        "find_harness_resources",
    ),
    # the embedded (moto) backend
    "embedded": ("EmbeddedBackend", "embedded_session"),
    # settings
    "_config": ("Settings", "resolve_settings"),
    # sessions
    "_aws": ("session_env",),
    # aws-iatk's drop-in (AwsIatk and its output records)
    "compat": (
        "AddEbListenerOutput",
        "AddEbListener_Resource",
        "AwsIatk",
        "GenerateBareboneEventOutput",
        "GenerateMockEventOutput",
        "GetStackOutputsOutput",
        "GetTraceTreeOutput",
        "IatkException",
        "InvalidParamException",
        "PhysicalIdFromStackOutput",
        "PollEventsOutput",
        "RemoveListenersOutput",
        "RemoveListeners_TagFilter",
        "RetryableException",
    ),
}

#: aws-iatk names that ``import iatk as aws_iatk`` users reach as module attributes, kept out of
#: ``__all__`` (as aws-iatk kept ``RetryableException`` out of its own).
_COMPAT_ONLY: frozenset[str] = frozenset({"AddEbListener_Resource", "InvalidParamException", "RetryableException"})

#: The public submodules, reachable as attributes of ``iatk`` (imported on first access).
_SUBMODULES: frozenset[str] = frozenset(
    {
        "compat",
        "context_generation",
        "embedded",
        "events",
        "exceptions",
        "listener",
        "matchers",
        "mock_events",
        "poll_events",
        "reports",
        "stack",
        "states",
        "testing",
        "trace",
        "waiting",
        "xray",
    }
)

#: Public name → the module that defines it.
_LAZY: dict[str, str] = {name: module for module, names in _PUBLIC.items() for name in names}

__all__ = sorted([*_exceptions.__all__, *(name for name in _LAZY if name not in _COMPAT_ONLY)])  # noqa: PLE0605


def __getattr__(name: str) -> Any:
    if name == "__version__":
        from importlib import metadata

        try:
            return metadata.version("iatk")
        except metadata.PackageNotFoundError:  # pragma: no cover - running from a source tree
            return "0+unknown"
    if name in _SUBMODULES:  # `import iatk; iatk.trace.choose_trace_source(...)` works too
        return importlib.import_module(f".{name}", __name__)
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'iatk' has no attribute {name!r}")
    loaded = importlib.import_module(f".{module}", __name__)
    # `iatk.cleanup` names both a submodule and its main function: the import system binds the
    # module here, so keep it (it is callable, see cleanup.py) and `import iatk.cleanup` stays a module.
    value = loaded if name == module else getattr(loaded, name)
    globals()[name] = value  # later look-ups skip this function
    return value


def __dir__() -> list[str]:
    return sorted([*globals(), *_LAZY, "__version__"])
