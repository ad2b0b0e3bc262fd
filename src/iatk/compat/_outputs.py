"""aws-iatk's result records: the names and attributes ``AwsIatk``'s methods return, as in aws-iatk 0.1.0."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ._xray_records import Tree


@dataclass(frozen=True)
class PhysicalIdFromStackOutput:
    """``get_physical_id_from_stack``'s result: ``physical_id`` (a queue's URL, a rule's name...)."""

    physical_id: str


@dataclass(frozen=True)
class GetStackOutputsOutput:
    """``get_stack_outputs``'s result: ``outputs`` maps each requested key to its value."""

    outputs: dict[str, str]


@dataclass(frozen=True)
class AddEbListener_Resource:
    """One resource of a listener: ``type``, ``physical_id`` and ``arn``."""

    type: str
    physical_id: str
    arn: str


@dataclass(frozen=True)
class AddEbListenerOutput:
    """``add_listener``'s result: the listener ``id``, the bus under test, and its queue then its rule."""

    id: str
    target_under_test: AddEbListener_Resource
    components: list[AddEbListener_Resource]


@dataclass(frozen=True)
class RemoveListenersOutput:
    """``remove_listeners``' result: ``message`` is ``"success"``."""

    message: str


@dataclass(frozen=True)
class RemoveListeners_TagFilter:
    """A tag filter for ``remove_listeners``: the key, and the values (any of them; None: any value)."""

    key: str
    values: list[str] | None = None


@dataclass(frozen=True)
class PollEventsOutput:
    """``poll_events``' result: ``events``, the raw SQS bodies (EventBridge envelope JSON text)."""

    events: list[str]


@dataclass(frozen=True)
class GenerateMockEventOutput:
    """``generate_mock_event``'s result: ``event``, a dict."""

    event: dict[str, Any]


@dataclass(frozen=True)
class GenerateBareboneEventOutput:
    """aws-iatk's raw generator result (before contexts): ``event``, a dict."""

    event: dict[str, Any]


@dataclass(frozen=True)
class GetTraceTreeOutput:
    """``get_trace_tree``'s result: ``trace_tree``."""

    trace_tree: Tree


@dataclass(frozen=True)
class GetTraceTreeParams:
    """The argument of ``AwsIatk._get_trace_tree`` (aws-iatk's name): ``tracing_header``.

    Suites patch ``AwsIatk._get_trace_tree``; ``get_trace_tree`` and each attempt of
    ``retry_get_trace_tree_until`` go through it, as in aws-iatk.
    """

    tracing_header: str
