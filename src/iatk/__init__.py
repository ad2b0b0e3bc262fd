"""iatk: integration tests for deployed serverless AWS applications, from pytest.

The public API is flat: ``iatk.Stack``, ``iatk.Listener``, ``iatk.get_trace_tree``... Names load on
first use, so ``import iatk`` (and the pytest plugin) stays cheap and imports no boto3.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from .exceptions import (
    AwsError,
    CleanupError,
    ConfigError,
    DeployError,
    IatkError,
    ListenerError,
    MaxStepsReached,
    PatternError,
    PutEventsError,
    ResourceNotInStack,
    SchemaError,
    StackError,
    StackNotFound,
    StackNotReady,
    StackOutputNotFound,
    StateTestError,
    TraceError,
    TraceIncomplete,
    UnexpectedEvent,
    WaitTimeout,
)

if TYPE_CHECKING:
    from ._aws import session_env
    from ._config import Settings, resolve_settings
    from .cleanup import (
        CleanupProgress,
        CleanupReport,
        FailedResource,
        HarnessResource,
        SkippedResource,
        cleanup,
        delete_harness_resources,
        find_harness_resources,
    )
    from .compat import (  # noqa: F401 - _COMPAT_ONLY names are module attributes, not in __all__
        AddEbListener_Resource,
        AddEbListenerOutput,
        AwsIatk,
        GenerateBareboneEventOutput,
        GenerateMockEventOutput,
        GetStackOutputsOutput,
        GetTraceTreeOutput,
        IatkException,
        InvalidParamException,
        PhysicalIdFromStackOutput,
        PollEventsOutput,
        RemoveListeners_TagFilter,
        RemoveListenersOutput,
        RetryableException,
    )
    from .embedded import EmbeddedBackend, embedded_session
    from .events import Event, put_events
    from .listener import Listener, ListenerResource, WaitRecord, subscribe_waits
    from .matchers import (
        Matcher,
        MatcherLike,
        MatchResult,
        Mismatch,
        anything_but,
        as_matcher,
        callable_matcher,
        cidr,
        equals_ignore_case,
        exists,
        explain,
        match,
        numeric,
        pattern,
        prefix,
        suffix,
        validate_pattern,
        wildcard,
    )
    from .mock_events import (
        EventSchema,
        eventbridge_envelope,
        load_schema,
        mock_event,
        to_json_schema,
        to_put_events_entry,
    )
    from .stack import Stack, StackResource, deploy_stack
    from .states import StateInspection, StatePath, StateResult, StateTester, test_state, walk_states
    from .trace import (
        Link,
        Segment,
        Subsegment,
        Trace,
        TraceHeader,
        TraceHelper,
        TraceTree,
        get_trace_tree,
        new_trace_header,
        trace_client,
        untrace_client,
    )
    from .waiting import NOT_YET, Deadline, NotYet, wait_until

#: Public name → the module that defines it (imported on first access).
_LAZY: dict[str, str] = {
    "AddEbListenerOutput": "compat",
    "AddEbListener_Resource": "compat",
    "AwsIatk": "compat",
    "CleanupProgress": "cleanup",
    "CleanupReport": "cleanup",
    "Deadline": "waiting",
    "EmbeddedBackend": "embedded",
    "Event": "events",
    "EventSchema": "mock_events",
    "FailedResource": "cleanup",
    "GenerateBareboneEventOutput": "compat",
    "GenerateMockEventOutput": "compat",
    "GetStackOutputsOutput": "compat",
    "GetTraceTreeOutput": "compat",
    "HarnessResource": "cleanup",
    "IatkException": "compat",
    "InvalidParamException": "compat",
    "Link": "trace",
    "Listener": "listener",
    "ListenerResource": "listener",
    "MatchResult": "matchers",
    "Matcher": "matchers",
    "MatcherLike": "matchers",
    "Mismatch": "matchers",
    "NOT_YET": "waiting",
    "NotYet": "waiting",
    "PhysicalIdFromStackOutput": "compat",
    "PollEventsOutput": "compat",
    "RemoveListenersOutput": "compat",
    "RemoveListeners_TagFilter": "compat",
    "RetryableException": "compat",
    "Segment": "trace",
    "Settings": "_config",
    "SkippedResource": "cleanup",
    "Stack": "stack",
    "StackResource": "stack",
    "StateInspection": "states",
    "StatePath": "states",
    "StateResult": "states",
    "StateTester": "states",
    "Subsegment": "trace",
    "Trace": "trace",
    "TraceHeader": "trace",
    "TraceHelper": "trace",
    "TraceTree": "trace",
    "WaitRecord": "listener",
    "anything_but": "matchers",
    "as_matcher": "matchers",
    "callable_matcher": "matchers",
    "cidr": "matchers",
    "cleanup": "cleanup",
    "delete_harness_resources": "cleanup",
    "deploy_stack": "stack",
    "embedded_session": "embedded",
    "equals_ignore_case": "matchers",
    "eventbridge_envelope": "mock_events",
    "exists": "matchers",
    "explain": "matchers",
    "find_harness_resources": "cleanup",
    "get_trace_tree": "trace",
    "load_schema": "mock_events",
    "match": "matchers",
    "mock_event": "mock_events",
    "new_trace_header": "trace",
    "numeric": "matchers",
    "pattern": "matchers",
    "prefix": "matchers",
    "put_events": "events",
    "resolve_settings": "_config",
    "session_env": "_aws",
    "subscribe_waits": "listener",
    "suffix": "matchers",
    "test_state": "states",
    "to_json_schema": "mock_events",
    "to_put_events_entry": "mock_events",
    "trace_client": "trace",
    "untrace_client": "trace",
    "validate_pattern": "matchers",
    "wait_until": "waiting",
    "walk_states": "states",
    "wildcard": "matchers",
}

#: aws-iatk names that ``import iatk as aws_iatk`` users reach as module attributes, kept out of
#: ``__all__`` (as aws-iatk kept ``RetryableException`` out of its own).
_COMPAT_ONLY: frozenset[str] = frozenset({"AddEbListener_Resource", "InvalidParamException", "RetryableException"})

__all__ = [
    "AddEbListenerOutput",
    "AwsError",
    "AwsIatk",
    "CleanupError",
    "CleanupProgress",
    "CleanupReport",
    "ConfigError",
    "Deadline",
    "DeployError",
    "EmbeddedBackend",
    "Event",
    "EventSchema",
    "FailedResource",
    "GenerateBareboneEventOutput",
    "GenerateMockEventOutput",
    "GetStackOutputsOutput",
    "GetTraceTreeOutput",
    "HarnessResource",
    "IatkError",
    "IatkException",
    "Link",
    "Listener",
    "ListenerError",
    "ListenerResource",
    "MatchResult",
    "Matcher",
    "MatcherLike",
    "MaxStepsReached",
    "Mismatch",
    "NOT_YET",
    "NotYet",
    "PatternError",
    "PhysicalIdFromStackOutput",
    "PollEventsOutput",
    "PutEventsError",
    "RemoveListenersOutput",
    "RemoveListeners_TagFilter",
    "ResourceNotInStack",
    "SchemaError",
    "Segment",
    "Settings",
    "SkippedResource",
    "Stack",
    "StackError",
    "StackNotFound",
    "StackNotReady",
    "StackOutputNotFound",
    "StackResource",
    "StateInspection",
    "StatePath",
    "StateResult",
    "StateTestError",
    "StateTester",
    "Subsegment",
    "Trace",
    "TraceError",
    "TraceHeader",
    "TraceHelper",
    "TraceIncomplete",
    "TraceTree",
    "UnexpectedEvent",
    "WaitRecord",
    "WaitTimeout",
    "anything_but",
    "as_matcher",
    "callable_matcher",
    "cidr",
    "cleanup",
    "delete_harness_resources",
    "deploy_stack",
    "embedded_session",
    "equals_ignore_case",
    "eventbridge_envelope",
    "exists",
    "explain",
    "find_harness_resources",
    "get_trace_tree",
    "load_schema",
    "match",
    "mock_event",
    "new_trace_header",
    "numeric",
    "pattern",
    "prefix",
    "put_events",
    "resolve_settings",
    "session_env",
    "subscribe_waits",
    "suffix",
    "test_state",
    "to_json_schema",
    "to_put_events_entry",
    "trace_client",
    "untrace_client",
    "validate_pattern",
    "wait_until",
    "walk_states",
    "wildcard",
]


def __getattr__(name: str) -> Any:
    if name == "__version__":
        from ._aws import VERSION

        return VERSION
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
