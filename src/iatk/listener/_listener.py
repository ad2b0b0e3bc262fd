"""The public :class:`Listener`: a thin facade over a harness, an inbox and the waits.

:class:`Listener` keeps the signature, properties and methods it always had; underneath it composes
:class:`~._spec.ListenerSpec` (the arguments, checked before any AWS call),
:class:`~._harness.EventBridgeHarness` (the rule, target and queue on AWS, and the canary),
:class:`~._inbox.SqsInbox` (receiving) and :class:`~._waits.Waits` (the waits and their records).
"""

from __future__ import annotations

import json
import logging
import sys
from collections.abc import Mapping
from datetime import timedelta
from typing import TYPE_CHECKING, Any

from iatk._tags import new_harness_id
from iatk.exceptions import ListenerError

from ._harness import EventBridgeHarness
from ._inbox import MAX_MESSAGES, SqsInbox
from ._records import ListenerResource, WaitRecord
from ._spec import DEFAULT_RETENTION, ListenerSpec, Readiness
from ._teardown import STEP_TIMEOUT
from ._waits import Waits

if TYPE_CHECKING:
    import boto3
    from mypy_boto3_sqs import SQSClient

    from iatk.events import Event
    from iatk.matchers import MatcherLike

__all__ = ["Listener"]

log = logging.getLogger("iatk.listener")


class Listener:
    """A temporary rule on a bus that copies what a rule matches into a private SQS queue.

    Give exactly one of ``rule`` (copy that rule's event pattern, and with ``target`` also that
    target's Input, InputPath or InputTransformer, so the test sees what the real target sees) or
    ``pattern`` (an EventBridge pattern dict). Nothing is created until :meth:`start` (or ``with``).

    Example::

        with iatk.Listener("orders", rule="OrderPlacedRule", target="Fulfilment") as listener:
            ...
            event = listener.expect_event(iatk.match(source="shop"), within=10)

    Args:
        bus: The bus name (``"default"`` for the default bus) or ARN.
        rule: The rule to copy: a name, a rule ARN, or CloudFormation's ``bus|rule`` physical id.
        pattern: An event pattern (dict or JSON text); validated before anything is created.
        target: With ``rule``: the Id of the rule's target whose input transformation to copy.
        tags: Extra tags for the rule and the queue (``iatk:*`` keys are reserved).
        ttl: Expiry written in the ``iatk:expires-at`` tag (seconds, ``"2h"``, timedelta); default
            the ``ttl`` setting.
        buffer: How many received events to keep (oldest dropped first); default the ``buffer`` setting.
        retention: The queue's MessageRetentionPeriod, seconds (60 to 1209600; default 3600).
        readiness: ``"auto"`` (no wait on the embedded backend, a canary elsewhere), ``"canary"`` or
            ``"none"`` (see :meth:`start`).
        session: The boto3 Session; default: the run's session.

    Raises:
        ListenerError: Neither or both of ``rule`` and ``pattern``, ``target`` without ``rule``, or a
            bad argument (before any AWS call).
        PatternError: ``pattern`` is not a valid event pattern (before any AWS call).
        ConfigError: ``tags`` use a reserved key, or ``ttl``/``buffer`` are invalid.
    """

    def __init__(
        self,
        bus: str,
        *,
        rule: str | None = None,
        pattern: Mapping[str, Any] | str | None = None,
        target: str | None = None,
        tags: Mapping[str, str] | None = None,
        ttl: float | str | timedelta | None = None,
        buffer: int | None = None,
        retention: int = DEFAULT_RETENTION,
        readiness: Readiness = "auto",
        session: boto3.Session | None = None,
    ) -> None:
        spec = ListenerSpec.validate(
            bus,
            rule=rule,
            pattern=pattern,
            target=target,
            tags=tags,
            ttl=ttl,
            buffer=buffer,
            retention=retention,
            readiness=readiness,
            session=session,
        )
        self._assemble(EventBridgeHarness(new_harness_id(), spec))

    def _assemble(self, harness: EventBridgeHarness, inbox: SqsInbox | None = None) -> None:
        """Set up the facade over its parts: the one place a Listener's state is made."""
        self._harness = harness
        self.id = harness.id
        #: Default window for waits on this listener (None: the ``sla`` setting at wait time).
        self.sla: float | None = None
        # Made once the queue exists (by start(), or by attach()).
        self._inbox = inbox
        self._waits = Waits(
            self,
            harness.id,
            label=lambda: f"listener {self.id} ({self._harness.origin()})",
            inbox=self._open_inbox,
            default_sla=lambda: self.sla,
            history=harness.spec.buffer,
            diagnose=harness.diagnose,
        )

    @classmethod
    def _from_parts(cls, harness: EventBridgeHarness, inbox: SqsInbox) -> Listener:
        """The private constructor path: a Listener over parts already made (see :meth:`attach`).

        ``__init__`` is the public, validating path; this one skips it (its arguments describe what to
        create, and an attached listener creates nothing) and sets the state in the same one place.
        """
        listener = cls.__new__(cls)
        listener._assemble(harness, inbox)
        return listener

    @classmethod
    def attach(cls, listener_id: str, *, buffer: int | None = None, session: boto3.Session | None = None) -> Listener:
        """A started Listener for a listener that already exists (made by another process, or by aws-iatk).

        Finds the queue by name, the bus from the queue's ``iatk:TestHarness:Target`` tag, and the rule
        (and its target) on that bus. ``close()`` then removes what was found. Nothing is created.

        Args:
            listener_id: The listener id (``iatk_eb_`` + 20 characters): the queue and rule name.
            buffer: Events to keep; default the ``buffer`` setting.
            session: The boto3 Session; default: the run's session.

        Raises:
            ListenerError: Not a listener id, no queue with that name, or an AWS error (``.code``).

        IAM permissions:
            ``sqs:GetQueueUrl``, ``sqs:GetQueueAttributes``, ``sqs:ListQueueTags``,
            ``events:DescribeRule``, ``events:ListTargetsByRule``.
        """
        __tracebackhide__ = True
        harness = EventBridgeHarness.find(listener_id, buffer=buffer, session=session)
        assert harness.ctx is not None  # set by find()
        assert harness.queue_url is not None
        return cls._from_parts(harness, cls._inbox_of(harness, harness.ctx.sqs, harness.queue_url))

    @staticmethod
    def _inbox_of(harness: EventBridgeHarness, sqs: SQSClient, queue_url: str) -> SqsInbox:
        return SqsInbox(sqs, queue_url, listener_id=harness.id, size=harness.spec.buffer, skip=harness.canary.skip)

    def _reader(self, sqs: SQSClient, queue_url: str) -> SqsInbox:
        """For the harness: the inbox of the queue it has just made (the canary receives through it)."""
        self._inbox = self._inbox_of(self._harness, sqs, queue_url)
        return self._inbox

    # -- descriptive properties ---------------------------------------------------------------------

    def _need(self, value: str | None, what: str) -> str:
        if value is None:
            raise ListenerError(
                f"listener {self.id} is not started, so it has no {what} yet: call start() or use `with`"
            )
        return value

    @property
    def bus(self) -> str:
        """The bus as given (name or ARN)."""
        return self._harness.spec.bus

    @property
    def bus_name(self) -> str:
        """The bus name (after :meth:`start`)."""
        return self._need(self._harness.bus_name, "bus name")

    @property
    def bus_arn(self) -> str:
        """The bus ARN (after :meth:`start`)."""
        return self._need(self._harness.bus_arn, "bus ARN")

    @property
    def rule(self) -> str | None:
        """The copied rule as given, or None for a pattern listener."""
        return self._harness.spec.rule

    @property
    def rule_name(self) -> str:
        """The listener's own rule name (= :attr:`id`)."""
        return self.id

    @property
    def rule_arn(self) -> str:
        """The listener's rule ARN (after :meth:`start`)."""
        return self._need(self._harness.rule_arn, "rule ARN")

    @property
    def queue_url(self) -> str:
        """The listener's queue URL (after :meth:`start`)."""
        return self._need(self._harness.queue_url, "queue URL")

    @property
    def queue_arn(self) -> str:
        """The listener's queue ARN (after :meth:`start`)."""
        return self._need(self._harness.queue_arn, "queue ARN")

    @property
    def pattern(self) -> dict[str, Any] | None:
        """The event pattern the listener copies (or was given); None before :meth:`start` for a rule copy."""
        pattern_text = self._harness.pattern_text
        return json.loads(pattern_text) if pattern_text else None

    @property
    def target_input(self) -> dict[str, Any]:
        """The copied target's Input / InputPath / InputTransformer (empty when none was copied)."""
        return dict(self._harness.target_input)

    @property
    def resources(self) -> tuple[ListenerResource, ...]:
        """What exists now: the queue (physical id = URL) then the rule, as aws-iatk listed them."""
        return self._harness.resources

    @property
    def arns(self) -> tuple[str, ...]:
        """The ARNs of :attr:`resources` (what ``--iatk-keep`` prints)."""
        return self._harness.arns

    @property
    def started(self) -> bool:
        """True once :meth:`start` has returned."""
        return self._harness.started

    @property
    def closed(self) -> bool:
        """True once :meth:`close` has removed everything."""
        return self._harness.closed

    @property
    def events(self) -> tuple[Event, ...]:
        """Every event in the buffer, in order of receipt, deduplicated (claimed or not)."""
        return self._inbox.events if self._inbox is not None else ()

    @property
    def waits(self) -> tuple[WaitRecord, ...]:
        """The waits made on this listener, in order: the last ``buffer`` of them (oldest dropped first).

        Bounded like :attr:`events`, so a listener used for thousands of waits stays flat; the
        observers of :func:`iatk.subscribe_waits` (the pytest plugin's SLA table and junit) get
        every record as it happens.
        """
        return tuple(self._waits.records)

    @property
    def dropped(self) -> int:
        """How many events fell out of the full buffer (raise ``buffer=`` if this is not 0)."""
        return self._inbox.dropped if self._inbox is not None else 0

    @property
    def polls(self) -> int:
        """ReceiveMessage calls made so far."""
        return self._inbox.polls if self._inbox is not None else 0

    def __repr__(self) -> str:
        state = "closed" if self.closed else "open" if self.started else "not started"
        return f"<Listener {self.id} ({self._harness.origin()}) {state}, {len(self.events)} events>"

    # -- lifecycle ----------------------------------------------------------------------------------

    def __enter__(self) -> Listener:
        return self.start()

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: object) -> None:
        if exc is None:
            self.close()
            return
        try:
            self.close()
        except ListenerError as err:
            # Do not hide the test's own failure behind the cleanup error: report both.
            log.error("%s", err)
            if sys.version_info >= (3, 11):
                exc.add_note(f"iatk: and closing the listener failed: {err}")

    def start(self) -> Listener:
        """Create the queue, the rule and the target; return when an event put now would be captured.

        Steps: DescribeEventBus, DescribeRule (with ``rule=``), ListTargetsByRule (with ``target=``),
        CreateQueue (with its policy), PutRule, PutTargets. If a step fails, what was made is removed
        (target, rule, queue) and :class:`ListenerError` names the step and the AWS error (``.code``).

        Readiness: rules take effect eventually on AWS, so unless ``readiness="none"`` (or the
        embedded backend, where delivery is synchronous) the listener's rule also matches a canary
        (``{"$or": [<pattern>, {"source": ["iatk.canary"], "detail-type": ["iatk.canary <id>"]}]}``),
        which the copied rule does not match. ``start()`` puts a canary every 2 s and long-polls until
        one arrives (at most 60 s). Canaries never reach :attr:`events` or a wait, and neither do other
        listeners' canaries that a broad pattern lets in (unless the pattern names ``iatk.canary``).
        With a copied target whose output cannot show the canary's marker (a constant ``Input``, or a
        template that uses no detail field, id or detail-type), the canary runs through an
        untransformed target first, which is then switched to the copied transformation.

        Returns:
            The listener (so ``listener = Listener(...).start()`` works).

        Raises:
            ListenerError: Unknown bus (lists the buses), unknown rule (lists the rules on the bus),
                unknown target (lists the target ids), a rule without an event pattern, a failed
                step (rolled back), a canary that never came, or a closed listener.

        IAM permissions:
            ``events:DescribeEventBus``, ``events:ListEventBuses``, ``events:DescribeRule``,
            ``events:ListRules``, ``events:ListTargetsByRule``, ``events:PutRule``, ``events:PutTargets``,
            ``events:TagResource``, ``events:PutEvents`` (canary), ``events:RemoveTargets``,
            ``events:DeleteRule``; ``sqs:CreateQueue``, ``sqs:TagQueue``, ``sqs:SetQueueAttributes``,
            ``sqs:ReceiveMessage``, ``sqs:DeleteMessage``, ``sqs:DeleteQueue``.
        """
        __tracebackhide__ = True
        self._harness.start(self._reader)
        return self

    def close(self, *, step_timeout: float = STEP_TIMEOUT) -> None:
        """Remove the target, the rule and the queue. Idempotent; the buffer stays readable.

        Every step is attempted even when one fails; resources already gone count as removed. Each
        step has ``step_timeout`` seconds of its own (botocore's retries included): a step that does
        not answer in time is reported, and once an endpoint has not answered, the later steps on it
        are not tried, so a dead endpoint costs one deadline (the steps are named in the error).

        Args:
            step_timeout: Seconds each step may take (default 5).

        Raises:
            ListenerError: One or more steps failed; the message lists each one with its AWS error
                (``.code`` is the first one's), and calling ``close()`` again retries what is left.

        IAM permissions:
            ``events:RemoveTargets``, ``events:DeleteRule``, ``sqs:DeleteQueue``.
        """
        __tracebackhide__ = True
        if self._inbox is not None:
            self._inbox.discard_pending()  # the queue goes with them
        self._harness.close(step_timeout)

    # -- receiving ----------------------------------------------------------------------------------

    def _open_inbox(self) -> SqsInbox:
        __tracebackhide__ = True
        if self.closed or not self.started or self._inbox is None:
            state = "closed" if self.closed else "not started"
            raise ListenerError(f"listener {self.id} is {state}: it cannot receive events")
        return self._inbox

    def poll(self, wait: float = 0, max_messages: int = MAX_MESSAGES) -> list[Event]:
        """Receive once: one ReceiveMessage (long poll of ``wait`` s), then one DeleteMessageBatch.

        The events are also kept in the buffer (see :attr:`events`), where later waits find them; a
        poll does not claim them.

        Args:
            wait: Long-poll time, seconds (0 to 20; rounded up to whole seconds).
            max_messages: At most this many messages (1 to 10).

        Returns:
            The new events (duplicates of events already received are left out).

        Raises:
            ConfigError: ``wait`` or ``max_messages`` out of range.
            ListenerError: The listener is not started or closed, or SQS failed (``.code``).

        IAM permissions:
            ``sqs:ReceiveMessage``, ``sqs:DeleteMessage``.
        """
        __tracebackhide__ = True
        return self._open_inbox().poll(wait, max_messages)

    def clear(self) -> None:
        """Forget the events in the buffer (events already seen stay deduplicated).

        Events still in the queue are not touched: call ``poll()`` first to take them in (and clear).
        """
        if self._inbox is not None:
            self._inbox.clear()

    # -- waits --------------------------------------------------------------------------------------

    def expect_event(self, matcher: MatcherLike = None, within: float | str | timedelta | None = None) -> Event:
        """Wait for the first event that matches, and claim it.

        Events already in the buffer and not claimed by an earlier wait are checked first (in order of
        receipt); then the queue is long-polled until the deadline. The event returned is claimed: a
        later wait on this listener does not return it again, so two ``expect_event`` calls need two
        events. Events that do not match stay in the buffer for later waits.

        Args:
            matcher: ``iatk.match(...)``, a pattern dict, a function, or None (any event).
            within: The SLA, seconds (or ``"5s"``, a timedelta); default :attr:`sla`, else the run's
                ``sla`` setting (``--iatk-sla``, ``@pytest.mark.iatk(sla=...)``). A fraction of a
                second may stretch to the next whole second (SQS long polls last whole seconds).

        Returns:
            The event, with ``latency`` = seconds from the start of this wait to its receipt (0.0 when
            it had already been received before the wait started).

        Raises:
            WaitTimeout: Nothing matched within the SLA. The message lists every event received and
                not yet claimed (all of them: the buffer bounds their number), each with why it did
                not match, nearest miss first; ``.last`` holds those events, in order of receipt.
            ListenerError: The listener is not started or closed, or SQS failed.

        IAM permissions:
            ``sqs:ReceiveMessage``, ``sqs:DeleteMessage``.
        """
        __tracebackhide__ = True
        return self._waits.expect_event(matcher, within)

    def expect_events(
        self, n: int, matcher: MatcherLike = None, within: float | str | timedelta | None = None
    ) -> list[Event]:
        """Wait the whole window and require exactly ``n`` matching events; claim them.

        "Exactly" needs the whole window: a surplus could still arrive until the end. So this returns
        at the end of the window (not as soon as ``n`` arrived), and fails at once when more than ``n``
        matching events are there (counting unclaimed events already in the buffer).

        Args:
            n: How many events (>= 0; 0 is the same as :meth:`expect_no_event`).
            matcher: As for :meth:`expect_event`.
            within: The window, seconds; default as for :meth:`expect_event`.

        Returns:
            The ``n`` events in order of receipt, each with its ``latency``.

        Raises:
            WaitTimeout: Fewer than ``n`` matched by the end of the window (the message lists every
                unclaimed event received and why each did not match; ``.last`` holds them, in order
                of receipt, the matching ones included).
            UnexpectedEvent: More than ``n`` matched (an ``AssertionError``); lists them all.
            ListenerError: The listener is not started or closed, or SQS failed.

        IAM permissions:
            ``sqs:ReceiveMessage``, ``sqs:DeleteMessage``.
        """
        __tracebackhide__ = True
        return self._waits.expect_events(n, matcher, within)

    def expect_no_event(self, matcher: MatcherLike = None, during: float | str | timedelta | None = None) -> None:
        """Hold for the whole window and fail at once if a matching event arrives.

        Unclaimed events already in the buffer count too (an event that came before the wait started
        fails it as well). Nothing is claimed.

        Args:
            matcher: As for :meth:`expect_event` (None: no event at all).
            during: The window, seconds; default as for :meth:`expect_event`'s ``within``.

        Raises:
            UnexpectedEvent: A matching event was received (an ``AssertionError``); the message shows it.
            ListenerError: The listener is not started or closed, or SQS failed.

        IAM permissions:
            ``sqs:ReceiveMessage``, ``sqs:DeleteMessage``.
        """
        __tracebackhide__ = True
        self._waits.expect_no_event(matcher, during)
