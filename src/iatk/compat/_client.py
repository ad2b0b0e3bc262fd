"""``AwsIatk``: aws-iatk's client, each method group delegating to its helper module.

Stacks are two calls of :class:`iatk.Stack`, kept here; listeners are :mod:`._listeners`, traces
:mod:`._traces`, ``retry_until`` :mod:`._retry`, mock events :mod:`._mock_events`.
"""

from __future__ import annotations

import functools
import logging
import time
from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any, TypeVar

from . import _listeners, _mock_events, _retry, _traces
from ._errors import IatkException, RetryableException, explained, translated
from ._outputs import (
    AddEbListenerOutput,
    GenerateMockEventOutput,
    GetStackOutputsOutput,
    GetTraceTreeOutput,
    GetTraceTreeParams,
    PhysicalIdFromStackOutput,
    PollEventsOutput,
    RemoveListeners_TagFilter,
    RemoveListenersOutput,
)
from ._traces import TRACE_TREE_TIMEOUT

if TYPE_CHECKING:
    import boto3

log = logging.getLogger("iatk.compat")
F = TypeVar("F", bound=Callable[..., Any])


def _resolve_session(region: str | None, profile: str | None) -> boto3.Session | None:
    """The session for ``AwsIatk(region, profile)``; None means the run's default session.

    On the embedded backend (``--iatk-backend=moto``) a region or profile never leads to real AWS:
    the embedded server is used, in the region asked for.
    """
    from iatk import _aws
    from iatk._config import current_settings

    if not region and not profile:
        return None
    installed = _aws.installed_session()  # the run's session, installed by the plugin
    if installed is not None and getattr(installed, "iatk_embedded", False):
        if profile:
            log.info("AwsIatk(profile=%r) ignored: the embedded backend uses dummy credentials", profile)
        if not region or region == installed.region_name:
            return installed
        return _aws.embedded_boto_session(str(getattr(installed, "iatk_endpoint_url", "")), region)
    settings = current_settings()
    if settings.backend == "moto":
        return _aws.default_session()  # raises ConfigError: the embedded server is not running
    return _aws.IatkSession(
        profile_name=profile or settings.profile,
        region_name=region or settings.region,
        endpoint_url=settings.endpoint_url,
    )


class AwsIatk:
    """aws-iatk's client, in pure Python over iatk's core.

    Args:
        region: AWS region (default: the session's / boto3's chain). On the embedded backend the
            embedded server is used in that region.
        profile: AWS shared-config profile.
        session: A boto3 Session to use instead (e.g. the ``iatk_session`` fixture's). Default: the
            run's session (the embedded server under ``--iatk-backend=moto``).
    """

    def __init__(
        self, region: str | None = None, profile: str | None = None, session: boto3.Session | None = None
    ) -> None:
        self.region = region
        self.profile = profile
        self._given_session = session
        self._resolved = session is not None
        # Seams for tests of retry_until's timing (no real sleeping).
        self._clock: Callable[[], float] = time.monotonic
        self._sleep: Callable[[float], None] = time.sleep
        #: How long get_trace_tree waits for a trace still arriving (for iatk's own control of the
        #: deadline, and linked traces, use iatk.get_trace_tree(within=..., follow_links=True)).
        self._trace_tree_timeout: float = TRACE_TREE_TIMEOUT

    @property
    def session(self) -> boto3.Session | None:
        """The boto3 Session this client uses (None: the run's default session, looked up per call)."""
        if not self._resolved:
            self._given_session = _resolve_session(self.region, self.profile)
            self._resolved = True
        return self._given_session

    def __repr__(self) -> str:
        return f"AwsIatk(region={self.region!r}, profile={self.profile!r})"

    # -- CloudFormation -------------------------------------------------------------------------------
    @translated
    def get_physical_id_from_stack(self, logical_resource_id: str, stack_name: str) -> PhysicalIdFromStackOutput:
        """The physical id of a stack's resource (a queue's URL, a rule's name...).

        Args:
            logical_resource_id: The resource's logical id in the template.
            stack_name: The stack's name, id or ARN.

        Returns:
            ``PhysicalIdFromStackOutput(physical_id)``.

        Raises:
            IatkException: 400 a missing argument; 404 no such stack or resource (the message lists
                the closest logical ids); 500 another AWS error.

        IAM permissions: cloudformation:DescribeStackResource (cloudformation:DescribeStacks and
        ListStackResources to explain a miss).
        """
        from iatk.stack import Stack

        if not logical_resource_id:
            raise IatkException('missing required param "LogicalResourceId"', 400)
        if not stack_name:
            raise IatkException('missing required param "StackName"', 400)
        # aws-iatk reads the resource alone (one DescribeStackResource, no stack status): so does this.
        stack = Stack(stack_name, session=self.session)
        return PhysicalIdFromStackOutput(stack.physical_id(logical_resource_id, check_status=False))

    @translated
    def get_stack_outputs(self, stack_name: str, output_names: Sequence[str]) -> GetStackOutputsOutput:
        """The requested outputs of a stack.

        Args:
            stack_name: The stack's name, id or ARN (aws-iatk accepted only the name).
            output_names: The output keys wanted (duplicates are fine; ``[]`` gives ``{}``).

        Returns:
            ``GetStackOutputsOutput(outputs)`` with exactly the requested keys.

        Raises:
            IatkException: 400 a missing stack name; 404 no such stack, or a missing output (the
                message names it and lists the outputs there are); 500 another AWS error.

        IAM permissions: cloudformation:DescribeStacks.
        """
        from iatk.stack import Stack

        if not stack_name:
            raise IatkException('missing required param "StackName"', 400)
        if isinstance(output_names, str):
            raise IatkException(f"output_names must be a list of output keys; got the string {output_names!r}", 400)
        names = list(dict.fromkeys(output_names))
        if not names:
            return GetStackOutputsOutput({})
        stack = Stack(stack_name, session=self.session)
        return GetStackOutputsOutput({name: stack.output(name) for name in names})

    # -- listeners ------------------------------------------------------------------------------------
    @translated
    def add_listener(
        self,
        event_bus_name: str,
        rule_name: str,
        target_id: str | None = None,
        tags: Mapping[str, str] | None = None,
    ) -> AddEbListenerOutput:
        """Create a listener: a copy of ``rule_name``'s pattern on the bus, delivering into a new queue.

        With ``target_id`` the listener also copies that target's Input, InputPath or
        InputTransformer, so it receives what the real target receives. Same resource names and tags
        as aws-iatk, so either tool cleans up after the other. Unlike aws-iatk, reserved tag keys
        are rejected before any AWS call, PutTargets' failed entries are checked (a failure rolls
        everything back), and on AWS the call returns only once the new rule delivers.

        Returns:
            ``AddEbListenerOutput``: ``id``, ``target_under_test`` (the bus) and ``components`` (the
            queue, physical id = its URL; then the rule).

        Raises:
            IatkException: 400 a missing argument or a reserved tag key (``iatk:*``); 404 no such bus,
                rule or target (the message lists those there are); 500 a creation step failed (what
                was made is removed).

        IAM permissions: events:DescribeEventBus, events:DescribeRule, events:ListTargetsByRule,
        events:PutRule, events:PutTargets, events:TagResource, events:PutEvents (AWS readiness
        canary), events:RemoveTargets, events:DeleteRule; sqs:CreateQueue, sqs:TagQueue,
        sqs:ReceiveMessage, sqs:DeleteMessage, sqs:DeleteQueue.
        """
        return _listeners.add(self.session, event_bus_name, rule_name, target_id, tags)

    @translated
    def remove_listeners(
        self,
        ids: Sequence[str] | None = None,
        tag_filters: Sequence[RemoveListeners_TagFilter | tuple[str, Any]] | None = None,
    ) -> RemoveListenersOutput:
        """Remove listeners by id, or every listener whose tags match all the filters.

        Give exactly one of ``ids`` and ``tag_filters``: calling it with neither (which did nothing
        in aws-iatk) is an error. A rule whose queue is already gone (or a queue whose rule is) is
        removed too. Every listener is attempted even when one fails.

        Args:
            ids: Listener ids (``add_listener(...).id``).
            tag_filters: ``RemoveListeners_TagFilter(key, values=None)`` items, or ``(key, value)``
                pairs. Filters combine with AND; a filter's values with OR; no values: any value.
                Only listeners (resources tagged ``iatk:TestHarness:ID``) are ever removed.

        Returns:
            ``RemoveListenersOutput("success")``; removing by tags when nothing matches is a success.

        Raises:
            IatkException: 400 neither or both arguments, or a malformed id or filter; 404 an id
                with neither a queue nor a rule; 500 a deletion failed (the message lists each
                listener with its reason; the others were still removed).

        IAM permissions: sqs:GetQueueUrl, sqs:GetQueueAttributes, sqs:ListQueueTags, sqs:ListQueues,
        sqs:DeleteQueue; events:DescribeRule, events:ListTargetsByRule, events:ListEventBuses,
        events:ListRules, events:ListTagsForResource, events:RemoveTargets, events:DeleteRule.
        """
        _listeners.remove(self.session, ids, tag_filters)
        return RemoveListenersOutput("success")

    @translated
    def poll_events(self, listener_id: str, wait_time_seconds: int, max_number_of_messages: int) -> PollEventsOutput:
        """Events that reached the listener and were not handed out yet: at most one long poll.

        Events an earlier ``wait_until_event_matched`` received but did not match are returned
        first, with no AWS call; otherwise one ReceiveMessage of up to ``wait_time_seconds`` runs
        (returning as soon as something arrives). An event is returned once.

        Args:
            listener_id: The listener id.
            wait_time_seconds: Long-poll time, 0 to 20.
            max_number_of_messages: At most this many events, 1 to 10.

        Returns:
            ``PollEventsOutput(events)``: raw bodies (JSON text of the EventBridge envelope, or what
            a copied input transformation made of it).

        Raises:
            IatkException: 400 a bound or the id is invalid; 404 no such listener; 500 SQS failed.

        IAM permissions: sqs:ReceiveMessage, sqs:DeleteMessage (first use of a listener made
        elsewhere: sqs:GetQueueUrl, sqs:ListQueueTags, sqs:GetQueueAttributes, events:DescribeRule,
        events:ListTargetsByRule).
        """
        return _listeners.poll(self.session, listener_id, wait_time_seconds, max_number_of_messages)

    @translated
    def wait_until_event_matched(
        self, listener_id: str, assertion_fn: Callable[[str], Any], timeout_seconds: int = 30
    ) -> bool:
        """Wait until an event passes ``assertion_fn``; True, or False at the deadline.

        ``assertion_fn`` gets each event's raw body. It matches when it neither raises
        ``AssertionError`` nor returns a falsy value other than None (aws-iatk counted ``return
        False`` as a match). Other exceptions propagate. Events that do not match stay for later
        calls (aws-iatk deleted them). The queue is long-polled up to the deadline, which holds.

        Args:
            listener_id: The listener id.
            assertion_fn: ``body -> None/bool``, raising ``AssertionError`` for "no".
            timeout_seconds: The deadline, 1 to 999 seconds.

        Raises:
            InvalidParamException: ``timeout_seconds`` is outside 1..999 (an IatkException, 400).
            IatkException: 400 a bad id; 404 no such listener; 500 SQS failed.

        IAM permissions: sqs:ReceiveMessage, sqs:DeleteMessage.
        """
        return _listeners.wait_until_matched(self.session, listener_id, assertion_fn, timeout_seconds)

    # -- X-Ray ----------------------------------------------------------------------------------------
    def _get_trace_tree(self, params: GetTraceTreeParams, caller: str | None = None) -> GetTraceTreeOutput:
        """One trace tree (aws-iatk's underlying call, which suites patch): what both trace methods use.

        From ``retry_get_trace_tree_until`` (``caller``) it is one look, whose "not there yet" errors
        that method retries; otherwise it waits up to ``_trace_tree_timeout`` seconds for the trace to
        be complete (aws-iatk failed at once).
        """
        waits = getattr(self, "_trace_tree_timeout", TRACE_TREE_TIMEOUT)
        within = 0.0 if caller == "retry_get_trace_tree_until" else float(waits)
        return _traces.get_tree(self.session, params.tracing_header, within)

    def get_trace_tree(self, tracing_header: str) -> GetTraceTreeOutput:
        """The trace tree of a header (``Root=1-…;Sampled=1``, Lambda's ``root=…``) or a bare trace id.

        A trace still arriving (not found yet, a segment whose parent is missing, a segment still in
        progress) is fetched again with capped backoff, for up to 10 s; it never hangs. A subsegment
        left open inside a closed segment is kept, ``in_progress=True``. Linked traces and another
        deadline: :func:`iatk.get_trace_tree` (``follow_links=``, ``within=``).

        Raises:
            IatkException: 400 an empty or invalid header (``error while getting trace_id from the
                tracing header: ...``); 408 still missing or incomplete after 10 s (``error building
                trace tree: ...``; the note says what is missing); 500 X-Ray failed.

        IAM permissions: xray:BatchGetTraces.
        """
        return self._get_trace_tree(GetTraceTreeParams(tracing_header))

    def retry_until(
        self,
        assertion_fn: Callable[[Any], Any],
        timeout: float = 10,
        retryable_exceptions: tuple[type[BaseException], ...] = (RetryableException,),
    ) -> Callable[[F], Callable[..., bool]]:
        """Decorator: call the function until ``assertion_fn(output)`` holds; True, or False at the deadline.

        aws-iatk's schedule, which suites count attempts against: after the n-th condition that does
        not hold, a pause of 0.05 * 2**n s (7 attempts in the default 10 s). Unlike aws-iatk a pause
        stops at the deadline (same attempts, no overrun), a ``retryable_exceptions`` error pauses
        briefly instead of looping, and a falsy return other than None is "not yet" (aws-iatk counted
        ``return False`` as a pass). Other exceptions propagate.

        Args:
            assertion_fn: The condition on the function's return value (raises ``AssertionError``).
            timeout: Seconds; ``0`` means no limit.
            retryable_exceptions: Exception types that mean "try again".

        Raises:
            TypeError: ``timeout`` is not a number, or ``assertion_fn`` is not callable.
            ValueError: ``timeout`` is negative.
        """
        _retry.check_retry_args(timeout, assertion_fn)
        clock, sleep = _seams(self)

        def decorator(func: F) -> Callable[..., bool]:
            @functools.wraps(func)
            def wrapper(*args: Any, **kwargs: Any) -> bool:
                return _retry.retry(
                    lambda: func(*args, **kwargs),
                    assertion_fn,
                    float(timeout),
                    tuple(retryable_exceptions),
                    clock=clock,
                    sleep=sleep,
                )

            return wrapper

        return decorator

    def retry_get_trace_tree_until(
        self,
        tracing_header: str,
        assertion_fn: Callable[[GetTraceTreeOutput], None],
        timeout_seconds: int = 30,
    ) -> bool:
        """True once ``assertion_fn`` holds on the trace tree, False at the deadline (0 = no limit).

        :meth:`retry_until` over :meth:`_get_trace_tree`, as in aws-iatk (same schedule; a
        non-callable ``assertion_fn`` is refused before any fetch). "Trace not found", "found a
        segment with no parent" (aws-iatk #106, retried only after 0.1.0) and a segment still in
        progress mean "not yet". Other errors from the fetch are raised as ``IatkException(..., 500)``;
        exceptions from ``assertion_fn`` other than ``AssertionError`` propagate.

        Raises:
            TypeError: ``assertion_fn`` is not callable (``condition is not a callable function``)
                or ``timeout_seconds`` not a number.
            ValueError: ``timeout_seconds`` is negative.
            IatkException: 500 an invalid header (``error while getting trace_id from ...``) or X-Ray
                failed.

        IAM permissions: xray:BatchGetTraces.
        """
        params = GetTraceTreeParams(tracing_header)

        @self.retry_until(assertion_fn=assertion_fn, timeout=timeout_seconds)
        def fetch_trace_tree() -> GetTraceTreeOutput:
            try:
                return self._get_trace_tree(params, caller="retry_get_trace_tree_until")
            except IatkException as err:
                if _traces.not_ready(str(err)):
                    raise RetryableException(str(err), err.error_code) from err
                raise _keep_notes(IatkException(str(err), 500, aws_code=err.aws_code), err) from err

        return bool(fetch_trace_tree())

    def patch_aws_client(self, client: Any, sampled: int = 1) -> Any:
        """Make each call of ``client`` start a new trace; returns the same client, patched in place.

        Registers on ``before-sign.<service>.*``, as aws-iatk did. Unlike aws-iatk the header names a
        real trace id for each call (aws-iatk sent an empty ``Root=``), a retry keeps its call's id,
        and patching twice sends one header, not two. Read the id back from the response
        (``x-amzn-trace-id``, ``describe_execution(...)["traceHeader"]``) as with aws-iatk, or with
        :func:`iatk.compat.trace_header_of`.

        Args:
            client: A boto3 client.
            sampled: 1 asks X-Ray to record the traces, 0 not to.

        Raises:
            IatkException: 400 ``client`` is not a boto3 client.
        """
        return _traces.patch(client, sampled)

    # -- mock events ----------------------------------------------------------------------------------
    @translated
    def generate_mock_event(
        self,
        registry_name: str | None = None,
        schema_name: str | None = None,
        schema_version: str | None = None,
        event_ref: str | None = None,
        skip_optional: bool | None = None,
        contexts: list[Callable[[dict[str, Any]], dict[str, Any]]] | None = None,
    ) -> GenerateMockEventOutput:
        """A barebone event from a Schema Registry schema, as aws-iatk made it: placeholder values.

        ``""`` for strings (now for ``date-time``), ``0``, ``false``, ``[]`` for arrays, the first
        ``enum`` value, objects recursed; ``skip_optional`` drops the properties an object's
        ``required`` list does not name. OpenAPI schemas need ``event_ref`` (a component name, e.g.
        ``AWSEvent``). Where aws-iatk failed (booleans in JSON Schema, untyped properties,
        ``allOf``/``oneOf``, several types) a placeholder is given. ``contexts`` (a list, as in
        aws-iatk, or a tuple) are applied in order. Realistic values, local files and overrides:
        :func:`iatk.mock_event`.

        Raises:
            IatkException: 400 missing names, no ``event_ref`` for an OpenAPI schema, an unsupported
                type, a context returning something not JSON-serializable; 404 no such registry,
                schema or version, or a context returning None; 500 another AWS error.

        IAM permissions: schemas:DescribeSchema.
        """
        return _mock_events.generate(
            self.session, registry_name, schema_name, schema_version, event_ref, skip_optional, contexts
        )

    def _apply_contexts(self, generated_event: dict[str, Any], callable_contexts: list[Callable[..., Any]]) -> Any:
        """aws-iatk's context applier, which suites call: each function in turn, aws-iatk's checks and messages."""
        return _mock_events.apply_contexts(generated_event, list(callable_contexts))


def _seams(kit: Any) -> tuple[Callable[[], float], Callable[[float], None]]:
    """The clock and sleep of ``kit`` (suites call some methods unbound, with another ``self``)."""
    clock = getattr(kit, "_clock", None)
    sleep = getattr(kit, "_sleep", None)
    return (clock if callable(clock) else time.monotonic, sleep if callable(sleep) else time.sleep)


def _keep_notes(new: IatkException, old: BaseException) -> IatkException:
    for note in getattr(old, "__notes__", ()):
        explained(new, note)
    return new


def _aws_iatk_annotations() -> dict[str, dict[str, Any]]:
    """aws-iatk 0.1.0's annotations of each method, as its (evaluated) source has them.

    Suites compare signatures with ``inspect`` (aws-iatk's contract test reads
    ``signature.return_annotation`` as a class): this module's annotations are strings (``from
    __future__ import annotations``) and modern (``str | None``), so the methods carry aws-iatk's
    objects instead (``typing.Optional[str]``, ``typing.List[str]``, the quoted ``"boto3.client"``).
    """
    import typing

    optional, list_, dict_, callable_ = typing.Optional, typing.List, typing.Dict, typing.Callable  # noqa: UP006
    return {
        "get_physical_id_from_stack": {
            "logical_resource_id": str,
            "stack_name": str,
            "return": PhysicalIdFromStackOutput,
        },
        "get_stack_outputs": {"stack_name": str, "output_names": list_[str], "return": GetStackOutputsOutput},
        "add_listener": {
            "event_bus_name": str,
            "rule_name": str,
            "target_id": optional[str],
            "tags": optional[dict_[str, str]],
            "return": AddEbListenerOutput,
        },
        "remove_listeners": {
            "ids": optional[list_[str]],
            "tag_filters": optional[list_[RemoveListeners_TagFilter]],
            "return": RemoveListenersOutput,
        },
        "poll_events": {
            "listener_id": str,
            "wait_time_seconds": int,
            "max_number_of_messages": int,
            "return": PollEventsOutput,
        },
        "wait_until_event_matched": {
            "listener_id": str,
            "assertion_fn": callable_[[str], None],
            "timeout_seconds": int,
            "return": bool,
        },
        "get_trace_tree": {"tracing_header": str, "return": GetTraceTreeOutput},
        "_get_trace_tree": {"params": GetTraceTreeParams, "caller": str, "return": GetTraceTreeOutput},
        "retry_until": {},
        "retry_get_trace_tree_until": {
            "tracing_header": str,
            "assertion_fn": callable_[[GetTraceTreeOutput], None],
            "timeout_seconds": int,
        },
        "patch_aws_client": {"client": "boto3.client", "return": "boto3.client"},
        "generate_mock_event": {
            "registry_name": optional[str],
            "schema_name": optional[str],
            "schema_version": optional[str],
            "event_ref": optional[str],
            "skip_optional": optional[bool],
            "contexts": optional[list_[callable_[[dict], dict]]],
            "return": GenerateMockEventOutput,
        },
        "_apply_contexts": {"generated_event": dict, "callable_contexts": list_[callable_], "return": dict},
    }


def _use_aws_iatk_annotations() -> None:
    for name, theirs in _aws_iatk_annotations().items():
        function: Any = AwsIatk.__dict__[name]
        while function is not None:  # the wrapper (translated) and the function it wraps
            function.__annotations__ = dict(theirs)
            function = getattr(function, "__wrapped__", None)


_use_aws_iatk_annotations()
