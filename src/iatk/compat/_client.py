"""``AwsIatk``: aws-iatk's client, each method group delegating to its helper module.

Stacks are two calls of :class:`iatk.Stack`, kept here; listeners are :mod:`._listeners`, traces
:mod:`._traces`, ``retry_until`` :mod:`._retry`, mock events :mod:`._mock_events`.
"""

from __future__ import annotations

import functools
import logging
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Any, TypeVar

from . import _listeners, _mock_events, _retry, _traces
from ._errors import IatkException, RetryableException, translated
from ._outputs import (
    AddEbListenerOutput,
    GenerateMockEventOutput,
    GetStackOutputsOutput,
    GetTraceTreeOutput,
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
    @translated
    def get_trace_tree(
        self,
        tracing_header: str,
        fetch_child_traces: bool = False,
        *,
        timeout_seconds: float = TRACE_TREE_TIMEOUT,
    ) -> GetTraceTreeOutput:
        """The trace tree of a header (``Root=1-…;Sampled=1``, ``root=…``) or a bare trace id.

        A trace still arriving (unknown yet, a segment whose parent is missing, a segment in
        progress) is fetched again with capped backoff, up to ``timeout_seconds``; it never hangs.

        Args:
            tracing_header: The trace header or id.
            fetch_child_traces: Also follow linked (child) traces, up to 5 levels.
            timeout_seconds: How long to wait for the trace to be complete (ours; default 10 s).

        Raises:
            IatkException: 400 an invalid header; 408 still missing or incomplete at the deadline
                (the message says what is missing); 500 X-Ray failed.

        IAM permissions: xray:BatchGetTraces.
        """
        return _traces.get_tree(self.session, tracing_header, fetch_child_traces, timeout_seconds)

    def retry_until(
        self,
        assertion_fn: Callable[[Any], Any],
        timeout: float = 10,
        retryable_exceptions: tuple[type[BaseException], ...] = (RetryableException,),
    ) -> Callable[[F], Callable[..., bool]]:
        """Decorator: call the function until ``assertion_fn(output)`` holds; True, or False at the deadline.

        ``assertion_fn`` holds when it neither raises ``AssertionError`` nor returns a falsy value
        other than None. A ``retryable_exceptions`` error from the function means "try again"; other
        exceptions propagate. Both back off (0.05 s doubling, capped at 2 s, with jitter; aws-iatk
        retried errors in a tight loop and never capped), and no pause runs past the deadline.

        Args:
            assertion_fn: The condition on the function's return value.
            timeout: Seconds; ``0`` means no limit, as in aws-iatk.
            retryable_exceptions: Exception types that mean "not yet".

        Raises:
            TypeError: ``timeout`` is not a number, or ``assertion_fn`` is not callable.
            ValueError: ``timeout`` is negative.
        """
        _retry.check_retry_args(timeout, assertion_fn)

        def decorator(func: F) -> Callable[..., bool]:
            @functools.wraps(func)
            def wrapper(*args: Any, **kwargs: Any) -> bool:
                return _retry.retry(
                    lambda: func(*args, **kwargs),
                    assertion_fn,
                    float(timeout),
                    tuple(retryable_exceptions),
                    clock=self._clock,
                    sleep=self._sleep,
                )

            return wrapper

        return decorator

    def retry_get_trace_tree_until(
        self,
        tracing_header: str,
        assertion_fn: Callable[[GetTraceTreeOutput], Any],
        fetch_child_traces: bool = False,
        timeout_seconds: int = 30,
    ) -> bool:
        """True once ``assertion_fn`` holds on the trace tree, False at the deadline (0 = no limit).

        "Trace not found" and "found a segment with no parent" (aws-iatk #106: the child arrived
        before its parent) are retried with capped backoff, as is a condition that does not hold yet
        (``AssertionError``, or a falsy return other than None). Other exceptions from
        ``assertion_fn`` propagate.

        aws-iatk 0.1.0's signature had no ``fetch_child_traces`` (it came later, unreleased): a number
        given third, as in ``retry_get_trace_tree_until(header, fn, 60)``, is read as 0.1.0's
        ``timeout_seconds``, not as "follow linked traces".

        Raises:
            InvalidParamException: ``timeout_seconds`` is negative or not a number (an
                IatkException, 400, and a ValueError as aws-iatk raised).
            IatkException: 400 an invalid header; 500 X-Ray failed.

        IAM permissions: xray:BatchGetTraces.
        """
        return _traces.retry_tree_until(self.session, tracing_header, assertion_fn, fetch_child_traces, timeout_seconds)

    def patch_aws_client(self, client: Any, sampled: int = 1) -> Any:
        """Make each call of ``client`` start a new trace, with a real trace id; returns the client.

        As in aws-iatk every API call gets a new trace, but the header names its id (aws-iatk sent an
        empty ``Root=``, so the id was unknown until read back from a response), a retry keeps its
        call's id, and the header is sent once per request even when patched twice (the new patch
        replaces the old one, and a :func:`iatk.trace_client` patch). Read the last one sent with
        :meth:`trace_header_of`; pass it to :meth:`get_trace_tree`.

        Args:
            client: A boto3 client.
            sampled: 1 asks X-Ray to record the traces, 0 not to.

        Returns:
            The same client, patched in place.

        Raises:
            IatkException: 400 ``client`` is not a boto3 client.
        """
        return _traces.patch(client, sampled)

    def trace_header_of(self, client: Any) -> str | None:
        """The header ``client`` sent on its last call since :meth:`patch_aws_client` (ours).

        Returns:
            ``Root=1-…;Sampled=1``, or None when the client was not patched or made no call yet.
        """
        return _traces.header_of(client)

    # -- mock events ----------------------------------------------------------------------------------
    @translated
    def generate_mock_event(
        self,
        registry_name: str | None = None,
        schema_name: str | None = None,
        schema_version: str | None = None,
        event_ref: str | None = None,
        skip_optional: bool | None = None,
        contexts: Iterable[Callable[[dict[str, Any]], dict[str, Any]]] | None = None,
        *,
        schema_file: str | None = None,
    ) -> GenerateMockEventOutput:
        """A mock event from a registry schema, or from a local file with ``schema_file=`` (ours).

        OpenAPI 3 and JSON Schema draft 4 schemas, with booleans, untyped properties, allOf, oneOf,
        anyOf, array items and examples (aws-iatk failed or ignored these). ``event_ref`` is a
        component name (``AWSEvent``) or a ``#/...`` pointer; by default ``AWSEvent`` or the only
        component. ``contexts`` (a list, tuple or any iterable of ``event -> event`` functions) are
        applied in order.

        Raises:
            IatkException: 400 missing arguments, an unsupported construct, or a context that returns
                something not JSON-serializable; 404 no such registry, schema or version, or a
                context that returns None ("event is empty"); 500 another AWS error.

        IAM permissions: schemas:DescribeSchema (registry schemas).
        """
        return _mock_events.generate(
            self.session,
            registry_name,
            schema_name,
            schema_version,
            event_ref,
            skip_optional,
            contexts,
            schema_file,
        )
