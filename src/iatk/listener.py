"""Listening to an EventBridge bus: a temporary rule and SQS queue, and waits with an SLA.

A :class:`Listener` adds one rule to a bus (a copy of an existing rule's pattern, or a pattern you give)
whose only target is a private SQS queue, then reads that queue with long polls::

    with iatk.Listener("orders", rule="OrderPlacedRule", session=session) as listener:
        iatk.put_events({"Source": "shop", "DetailType": "OrderPlaced", "Detail": {"id": 42}}, bus="orders")
        event = listener.expect_event(iatk.match(detail={"id": 42}), within=10)
        listener.expect_no_event(iatk.match(detail_type="OrderFailed"), during=3)

What it creates (DESIGN.md §4): a rule and a standard queue both named ``iatk_eb_<20-char id>``, one
target (Id = the listener id) and a queue policy that lets only ``events.amazonaws.com`` send, and only
for the new rule (``aws:SourceArn``). The queue has SSE-SQS on and a 1 h retention. Both carry the
``iatk:TestHarness:*`` tags plus ``iatk:run-id`` and ``iatk:expires-at``, so ``iatk cleanup`` (and
aws-iatk's ``remove_listeners``) can find what a killed run left behind.

Creation is all-or-nothing and the listener is *ready* when :meth:`Listener.start` returns: on the
embedded moto backend delivery is synchronous; elsewhere a canary event that only the listener's rule
matches is put and awaited (see :meth:`Listener.start`).

Waits (DESIGN.md §5): each attempt is one ``ReceiveMessage`` long poll of up to 20 s, so an event is
seen within milliseconds of arrival. Received messages are deleted at once (one batch) and kept in the
listener's bounded buffer, deduplicated by event id. Every wait looks at the buffer first; an event
returned by one wait is *claimed* and is not returned by a later one.

Two limits follow from SQS. A long poll lasts whole seconds, so a window that is not a whole number
of seconds can last up to 1 s longer (the last poll is rounded up rather than made a short poll,
which samples only some SQS servers and can miss a message); an event received in that extra time
counts. And a transformed body (a target with Input, InputPath or InputTransformer) carries no event
id, so it is deduplicated by SQS MessageId only: a redelivered message counts once, but an event
that EventBridge delivers twice (it delivers at least once) arrives as two messages and counts twice.
"""

from __future__ import annotations

import difflib
import json
import logging
import math
import re
import sys
import time
from collections import OrderedDict, deque
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import TYPE_CHECKING, Any, Literal

from botocore.exceptions import BotoCoreError, ClientError

from ._aws import GONE_CODES, AwsContext, aws, error_code, error_message, is_gone, wrap
from ._config import current_settings, parse_duration
from ._tags import TAG_TARGET, as_tag_list, check_user_tags, current_run_id, harness_tags, is_harness_id, new_harness_id
from ._text import truncate
from .events import Event, bus_names, put_events
from .exceptions import ConfigError, IatkError, ListenerError, UnexpectedEvent, WaitTimeout, frameless
from .matchers import Matcher, MatcherLike, as_matcher, explain, validate_pattern
from .waiting import NOT_YET, Deadline, NotYet, notify_waits, subscribe_waits, wait_until

if TYPE_CHECKING:
    import boto3

__all__ = [
    "Listener",
    "ListenerResource",
    "UnexpectedEvent",
    "WaitRecord",
    "subscribe_waits",
]

log = logging.getLogger("iatk.listener")

#: SQS long polls last at most 20 s.
MAX_LONG_POLL = 20
#: ReceiveMessage returns at most 10 messages.
MAX_MESSAGES = 10
#: Default queue retention: long enough to debug, short enough not to pile up.
DEFAULT_RETENTION = 3600
#: How long :meth:`Listener.start` waits for the canary before giving up (real AWS only).
CANARY_TIMEOUT = 60.0
#: A new canary is put this often until one arrives (a canary put before the rule is live is lost).
CANARY_INTERVAL = 2.0
CANARY_SOURCE = "iatk.canary"
#: Every canary's detail-type starts with this (then the listener id).
CANARY_PREFIX = f"{CANARY_SOURCE} iatk_eb_"

Readiness = Literal["auto", "canary", "none"]
Outcome = Literal["matched", "held", "timeout", "surplus", "unexpected"]
# InputPath / InputPathsMap paths a canary can carry its marker in: $.detail.a.b (plain keys only).
_DETAIL_PATH = re.compile(r"^\$\.detail((?:\.[A-Za-z0-9_-]+)+)$")
_WHOLE_EVENT_PATHS = frozenset({"$", "$.detail", "$.detail-type", "$.id"})
_PATTERN_LIMIT = 4096  # PutRule's EventPattern length limit
_MAX_DRAIN = 10  # extra immediate receives at a deadline (100 messages)
# A listener's queue hides a received message for 12 h (SQS's maximum), so a wait can delete what it
# received later, ten at a time, off the put -> matched path: the events are in the buffer already,
# and a message that comes back anyway (a listener older than that) is deduplicated.
_VISIBILITY_TIMEOUT = 43200
# What only a canary carries into a transformed body: its detail's key (InputPath $.detail, or a
# template with the whole event) or its detail-type.
_CANARY_MARK = re.compile(r'"iatk-canary"\s*:\s*"iatk_eb_[0-9a-v]{20}"|iatk\.canary iatk_eb_[0-9a-v]{20}')


# --- records ---------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ListenerResource:
    """One AWS resource a listener made (the shape aws-iatk's ``components`` had).

    Attributes:
        type: ``AWS::SQS::Queue`` or ``AWS::Events::Rule``.
        physical_id: The queue URL, or the rule name.
        arn: The resource's ARN.
    """

    type: str
    physical_id: str
    arn: str


@dataclass(frozen=True, slots=True)
class WaitRecord:
    """One wait on a listener, for SLA reports (the pytest plugin's summary table).

    Attributes:
        listener_id: The listener's id.
        kind: ``expect_event``, ``expect_events`` or ``expect_no_event``.
        description: What was awaited, in words.
        sla: The window, seconds (``within`` / ``during``).
        elapsed: Seconds the wait took.
        latency: For a success of ``expect_event(s)``: seconds from the start of the wait to the
            receipt of the (last) event; 0.0 when it had already been received. None otherwise.
        outcome: ``matched`` / ``held`` (success of ``expect_no_event``) / ``timeout`` / ``surplus``
            (more events than expected) / ``unexpected`` (an event ``expect_no_event`` forbade).
        polls: ReceiveMessage calls made by this wait.
        received: Events in the listener's buffer when the wait ended.
        started_at: When the wait started (aware UTC).
    """

    listener_id: str
    kind: str
    description: str
    sla: float
    elapsed: float
    latency: float | None
    outcome: Outcome
    polls: int
    received: int
    started_at: datetime

    @property
    def ok(self) -> bool:
        """Whether the wait succeeded."""
        return self.outcome in ("matched", "held")


# --- internals -------------------------------------------------------------------------------------


class _Entry:
    """A received event in the buffer, with its monotonic receipt time and whether a wait claimed it."""

    __slots__ = ("claimed", "event", "received")

    def __init__(self, event: Event, received: float) -> None:
        self.event = event
        self.received = received
        self.claimed = False


class _Wait:
    """The bookkeeping of one wait in progress (for its :class:`WaitRecord`)."""

    __slots__ = ("deadline", "description", "kind", "polls_before", "started_at")

    def __init__(self, kind: str, description: str, deadline: Deadline, polls_before: int) -> None:
        self.kind = kind
        self.description = description
        self.deadline = deadline
        self.polls_before = polls_before
        self.started_at = datetime.now(timezone.utc)


class _StepFailed(Exception):
    """A creation step failed without a botocore error (a FailedEntries response, a canary timeout)."""

    def __init__(self, message: str, code: str | None = None) -> None:
        super().__init__(message)
        self.code = code


def _arn_parts(arn: str) -> tuple[str, str, str, str]:
    """``(partition, region, account, resource)`` of an ARN."""
    parts = arn.split(":", 5)
    if len(parts) != 6 or parts[0] != "arn":
        raise ListenerError(f"not an ARN: {arn!r}")
    return parts[1], parts[3], parts[4], parts[5]


def _split_rule(rule: str) -> tuple[str | None, str]:
    """``(bus or None, rule name)`` from a rule name, a rule ARN, or CloudFormation's ``bus|rule`` id."""
    if rule.startswith("arn:"):
        resource = _arn_parts(rule)[3]
        pieces = resource.split("/")
        if pieces[0] != "rule" or len(pieces) not in (2, 3):
            raise ListenerError(f"rule={rule!r} is an ARN but not an EventBridge rule ARN (arn:...:rule/[bus/]name)")
        return (pieces[1] if len(pieces) == 3 else "default"), pieces[-1]
    if "|" in rule:  # Ref of an AWS::Events::Rule on a custom bus
        bus, _, name = rule.partition("|")
        return bus, name
    return None, rule


def _wait_seconds(remaining: float) -> int:
    """WaitTimeSeconds for a long poll with ``remaining`` seconds left: whole seconds in [1, 20], 0 when done.

    SQS takes whole seconds; rounding up overshoots the deadline by less than a second, where a
    short poll (0) could miss messages (it samples only some SQS servers).
    """
    if remaining <= 0:
        return 0
    return max(1, min(MAX_LONG_POLL, math.ceil(remaining - 1e-3)))


def _set_path(document: dict[str, Any], keys: Sequence[str], value: str) -> bool:
    """Set ``document[k1][k2]... = value``, making dicts on the way; False when a non-dict is in the way."""
    node = document
    for key in keys[:-1]:
        child = node.setdefault(key, {})
        if not isinstance(child, dict):
            return False
        node = child
    if isinstance(node.get(keys[-1]), dict):
        return False
    node[keys[-1]] = value
    return True


def _buffer_size(buffer: int | None) -> int:
    size: Any = current_settings().buffer if buffer is None else buffer
    if isinstance(size, bool) or not isinstance(size, int) or size < 1:
        raise ConfigError(f"buffer must be a whole number of events >= 1; got {buffer!r}")
    return size


def _plain_target(target: Mapping[str, Any]) -> dict[str, Any]:
    """Only the parts of a target a listener copies: Input, InputPath, InputTransformer."""
    return {key: target[key] for key in ("Input", "InputPath", "InputTransformer") if target.get(key) is not None}


# --- the listener ----------------------------------------------------------------------------------


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

    _rule_given: str | None
    _target_given: str | None
    _readiness: Readiness
    _user_tags: dict[str, str]
    _pattern_text: str | None

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
        given_bus: Any = bus  # checked at runtime: callers may not be typed
        if not isinstance(given_bus, str) or not given_bus:
            raise ListenerError(f'Listener needs a bus name or ARN ("default" for the default bus); got {bus!r}')
        if (rule is None) == (pattern is None):
            raise ListenerError(
                "Listener needs exactly one of rule= (copy an existing rule's pattern) or pattern= (an event "
                f"pattern dict); got {'both' if rule is not None else 'neither'}"
            )
        if target is not None and rule is None:
            raise ListenerError("target= names a target of the copied rule, so it needs rule= as well")
        given_rule: Any = rule
        if given_rule is not None and (not isinstance(given_rule, str) or not given_rule):
            raise ListenerError(f"rule= must be a rule name or ARN; got {rule!r}")
        pattern_text: str | None = None
        if pattern is not None:
            validate_pattern(pattern)
            parsed = json.loads(pattern) if isinstance(pattern, (str, bytes)) else dict(pattern)
            pattern_text = json.dumps(parsed, separators=(",", ":"))
        if readiness not in ("auto", "canary", "none"):
            raise ListenerError(f"readiness must be 'auto', 'canary' or 'none'; got {readiness!r}")
        given_retention: Any = retention
        if (
            isinstance(given_retention, bool)
            or not isinstance(given_retention, int)
            or not 60 <= retention <= 1_209_600
        ):
            raise ListenerError(f"retention must be whole seconds from 60 to 1209600 (14 days); got {retention!r}")
        user_tags = check_user_tags(tags)
        expiry = timedelta(seconds=parse_duration(ttl, name="ttl")) if ttl is not None else None
        self._init_state(bus, new_harness_id(), _buffer_size(buffer), session)
        self._user_tags = user_tags
        if expiry is not None:
            self._ttl = expiry
        self._pattern_text = pattern_text
        self._rule_given = rule
        self._target_given = target
        self._retention = retention
        self._readiness = readiness

    def _init_state(self, bus: str, listener_id: str, size: int, session: boto3.Session | None) -> None:
        self._bus_given = bus
        self._session = session
        self.id = listener_id
        #: Default window for waits on this listener (None: the ``sla`` setting at wait time).
        self.sla: float | None = None
        self._clock: Callable[[], float] = time.monotonic
        self._rule_given = None
        self._target_given = None
        self._retention = DEFAULT_RETENTION
        self._readiness = "auto"
        self._user_tags = {}
        self._ttl = current_settings().ttl_delta
        self._pattern_text = None
        # Filled by start() (or attach()).
        self._ctx: AwsContext | None = None
        self._bus_name: str | None = None
        self._bus_arn: str | None = None
        self._target_input: dict[str, Any] = {}
        self._tags: dict[str, str] = {}
        self._queue_url: str | None = None
        self._queue_arn: str | None = None
        self._rule_arn: str | None = None
        self._queue_made = False
        self._rule_made = False
        self._target_made = False
        self._started = False
        self._failed = False
        self._closed = False
        self._canary_tokens: list[str] = []
        # The buffer, and the ids already seen (bounded too, and longer than the buffer).
        self._buffer: deque[_Entry] = deque(maxlen=size)
        self._seen: OrderedDict[str, None] = OrderedDict()
        self._seen_limit = max(4 * size, 1000)
        self._dropped = 0
        self._polls = 0
        self._waits: list[WaitRecord] = []
        # Messages a wait received but has not deleted yet: deleted before the next receive, so the
        # DeleteMessageBatch is off the put -> matched path but still one per batch.
        self._undeleted: list[Mapping[str, Any]] = []

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
        given: Any = listener_id  # checked at runtime: callers may not be typed
        if not isinstance(given, str) or not is_harness_id(given):
            raise ListenerError(
                f"{listener_id!r} is not a listener id: those are 'iatk_eb_' followed by 20 characters "
                "from 0-9 and a-v (Listener.id, or aws-iatk's add_listener().id)"
            )
        ctx = aws(session)
        try:
            url = ctx.sqs.get_queue_url(QueueName=listener_id)["QueueUrl"]
        except ClientError as err:
            if is_gone(err):
                raise ListenerError(
                    f"no listener {listener_id} in {ctx.region}: its queue does not exist (closed, swept, or made "
                    "in another region or account)",
                    code=error_code(err),
                ) from frameless(err)
            raise ListenerError(
                f"cannot find listener {listener_id}: {error_message(err)}", code=error_code(err)
            ) from frameless(err)
        except BotoCoreError as err:
            raise wrap(err, f"cannot find listener {listener_id}", ListenerError) from frameless(err)
        try:
            tags = ctx.sqs.list_queue_tags(QueueUrl=url).get("Tags") or {}
            queue_arn = ctx.sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"][
                "QueueArn"
            ]
        except (ClientError, BotoCoreError) as err:
            raise wrap(err, f"cannot read listener {listener_id}'s queue", ListenerError) from frameless(err)
        bus_arn = tags.get(TAG_TARGET)
        listener = cls.__new__(cls)
        listener._init_state(bus_arn or "default", listener_id, _buffer_size(buffer), session)
        listener._ctx = ctx
        listener._queue_url = url
        listener._queue_arn = queue_arn
        listener._queue_made = True
        listener._tags = dict(tags)
        if bus_arn:
            listener._bus_arn = bus_arn
            resource = _arn_parts(bus_arn)[3]
            listener._bus_name = resource.split("/", 1)[1] if resource.startswith("event-bus/") else resource
            listener._find_own_rule(ctx)
        else:
            log.warning("listener %s: its queue has no %s tag, so its rule cannot be found", listener_id, TAG_TARGET)
        listener._started = True
        return listener

    def _find_own_rule(self, ctx: AwsContext) -> None:
        """For attach(): the listener's own rule and target on its bus, when they exist."""
        __tracebackhide__ = True
        assert self._bus_name is not None
        try:
            found = ctx.events.describe_rule(Name=self.id, EventBusName=self._bus_name)
        except (ClientError, BotoCoreError) as err:
            if is_gone(err):
                return
            raise wrap(err, f"cannot read listener {self.id}'s rule", ListenerError) from frameless(err)
        self._rule_made = True
        self._rule_arn = found.get("Arn")
        self._pattern_text = found.get("EventPattern")
        try:
            targets = ctx.events.list_targets_by_rule(Rule=self.id, EventBusName=self._bus_name).get("Targets", [])
        except (ClientError, BotoCoreError) as err:
            raise wrap(err, f"cannot read listener {self.id}'s target", ListenerError) from frameless(err)
        for target in targets:
            if target["Id"] == self.id:
                self._target_made = True
                self._target_input = _plain_target(dict(target))

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
        return self._bus_given

    @property
    def bus_name(self) -> str:
        """The bus name (after :meth:`start`)."""
        return self._need(self._bus_name, "bus name")

    @property
    def bus_arn(self) -> str:
        """The bus ARN (after :meth:`start`)."""
        return self._need(self._bus_arn, "bus ARN")

    @property
    def rule(self) -> str | None:
        """The copied rule as given, or None for a pattern listener."""
        return self._rule_given

    @property
    def rule_name(self) -> str:
        """The listener's own rule name (= :attr:`id`)."""
        return self.id

    @property
    def rule_arn(self) -> str:
        """The listener's rule ARN (after :meth:`start`)."""
        return self._need(self._rule_arn, "rule ARN")

    @property
    def queue_url(self) -> str:
        """The listener's queue URL (after :meth:`start`)."""
        return self._need(self._queue_url, "queue URL")

    @property
    def queue_arn(self) -> str:
        """The listener's queue ARN (after :meth:`start`)."""
        return self._need(self._queue_arn, "queue ARN")

    @property
    def pattern(self) -> dict[str, Any] | None:
        """The event pattern the listener copies (or was given); None before :meth:`start` for a rule copy."""
        return json.loads(self._pattern_text) if self._pattern_text else None

    @property
    def target_input(self) -> dict[str, Any]:
        """The copied target's Input / InputPath / InputTransformer (empty when none was copied)."""
        return dict(self._target_input)

    @property
    def resources(self) -> tuple[ListenerResource, ...]:
        """What exists now: the queue (physical id = URL) then the rule, as aws-iatk listed them."""
        made: list[ListenerResource] = []
        if self._queue_made and self._queue_url and self._queue_arn:
            made.append(ListenerResource("AWS::SQS::Queue", self._queue_url, self._queue_arn))
        if self._rule_made and self._rule_arn:
            made.append(ListenerResource("AWS::Events::Rule", self.id, self._rule_arn))
        return tuple(made)

    @property
    def arns(self) -> tuple[str, ...]:
        """The ARNs of :attr:`resources` (what ``--iatk-keep`` prints)."""
        return tuple(resource.arn for resource in self.resources)

    @property
    def started(self) -> bool:
        """True once :meth:`start` has returned."""
        return self._started

    @property
    def closed(self) -> bool:
        """True once :meth:`close` has removed everything."""
        return self._closed

    @property
    def events(self) -> tuple[Event, ...]:
        """Every event in the buffer, in order of receipt, deduplicated (claimed or not)."""
        return tuple(entry.event for entry in self._buffer)

    @property
    def waits(self) -> tuple[WaitRecord, ...]:
        """Every wait made on this listener, in order."""
        return tuple(self._waits)

    @property
    def dropped(self) -> int:
        """How many events fell out of the full buffer (raise ``buffer=`` if this is not 0)."""
        return self._dropped

    @property
    def polls(self) -> int:
        """ReceiveMessage calls made so far."""
        return self._polls

    def _origin(self) -> str:
        bus = self._bus_name or self._bus_given
        if self._rule_given is not None:
            target = f", target {self._target_given!r}" if self._target_given else ""
            return f"copy of rule {self._rule_given!r}{target} on bus {bus!r}"
        return f"pattern {self._pattern_text} on bus {bus!r}"

    def __repr__(self) -> str:
        state = "closed" if self._closed else "open" if self._started else "not started"
        return f"<Listener {self.id} ({self._origin()}) {state}, {len(self._buffer)} events>"

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
        if self._closed:
            raise ListenerError(f"listener {self.id} is closed; make a new Listener")
        if self._started:
            return self
        if self._failed:
            # SQS keeps a deleted queue's name for 60 s, so the same id cannot be made again at once.
            raise ListenerError(f"listener {self.id} failed to start and was rolled back; make a new Listener")
        ctx = self._ctx = aws(self._session)
        self._locate_bus(ctx)
        if self._rule_given is not None:
            self._copy_rule(ctx)
        assert self._bus_arn is not None  # set just above
        assert self._pattern_text is not None
        partition, region, account, _ = _arn_parts(self._bus_arn)
        if region != ctx.region:
            raise ListenerError(
                f"bus {self._bus_given!r} is in {region}, but the session's region is {ctx.region}: "
                "use a session (or --iatk-region) in the bus's region"
            )
        default_bus = self._bus_name == "default"
        rule_resource = f"rule/{self.id}" if default_bus else f"rule/{self._bus_name}/{self.id}"
        self._rule_arn = f"arn:{partition}:events:{region}:{account}:{rule_resource}"
        self._queue_arn = f"arn:{partition}:sqs:{region}:{account}:{self.id}"
        self._tags = harness_tags(
            self.id, target_arn=self._bus_arn, run_id=current_run_id(), ttl=self._ttl, user_tags=self._user_tags
        )
        canary = self._readiness == "canary" or (self._readiness == "auto" and not ctx.embedded)
        step = "sqs:CreateQueue"
        try:
            self._create_queue(ctx)
            step = "events:PutRule"
            canary = self._put_rule(ctx, canary)
            if canary and self._target_input and not self._canary_plan()[1]:
                step = "events:PutTargets"
                self._put_target(ctx, transformed=False)
                step = "canary"
                self._await_canary(ctx)
                step = "events:PutTargets (copied transformation)"
                self._put_target(ctx, transformed=True)
            else:
                step = "events:PutTargets"
                self._put_target(ctx, transformed=True)
                if canary:
                    step = "canary"
                    self._await_canary(ctx)
        except (ClientError, BotoCoreError) as err:
            raise self._rolled_back(step, error_message(err), error_code(err)) from frameless(err)
        except _StepFailed as err:  # its message is all there is to it
            raise self._rolled_back(step, str(err), err.code) from None
        except IatkError as err:
            raise self._rolled_back(step, str(err), err.code) from frameless(err)
        except BaseException:
            # KeyboardInterrupt, a bug: still leave nothing behind, then let it through.
            self._failed = True
            for what, failure in self._remove():
                log.error("listener %s: rollback step %s failed: %s", self.id, what, failure)
            raise
        self._started = True
        log.info("listener %s ready: %s -> %s", self.id, self._origin(), self._queue_arn)
        return self

    def _rolled_back(self, step: str, detail: str, code: str | None) -> ListenerError:
        __tracebackhide__ = True
        self._failed = True
        failures = self._remove()
        message = (
            f"could not start listener {self.id} ({self._origin()}): step {step} failed: {detail}. "
            + self._rollback_text(failures)
        )
        return ListenerError(message, code=code)

    def _rollback_text(self, failures: list[tuple[str, BaseException]]) -> str:
        if not failures:
            return "Everything it had created was removed."
        left = ", ".join(self.arns) or "(unknown)"
        problems = "; ".join(f"{what}: {error_message(err)}" for what, err in failures)
        return f"Removing what it had created also failed ({problems}); left behind: {left}. Run `iatk cleanup`."

    def close(self) -> None:
        """Remove the target, the rule and the queue. Idempotent; the buffer stays readable.

        Every step is attempted even when one fails; resources already gone count as removed.

        Raises:
            ListenerError: One or more steps failed; the message lists each one with its AWS error
                (``.code`` is the first one's), and calling ``close()`` again retries what is left.

        IAM permissions:
            ``events:RemoveTargets``, ``events:DeleteRule``, ``sqs:DeleteQueue``.
        """
        __tracebackhide__ = True
        failures = self._remove()
        if failures:
            problems = "\n".join(f"  - {what}: {error_message(err)}" for what, err in failures)
            raise ListenerError(
                f"could not fully close listener {self.id} ({self._origin()}):\n{problems}\n"
                f"Still there: {', '.join(self.arns) or '(see above)'}. Call close() again, or run `iatk cleanup`.",
                code=error_code(failures[0][1]) or getattr(failures[0][1], "code", None),
            )
        self._closed = True

    def _remove(self) -> list[tuple[str, BaseException]]:
        """Remove what exists, in reverse order of creation; return the failures."""
        if self._ctx is None:
            return []
        events, sqs = self._ctx.events, self._ctx.sqs
        failures: list[tuple[str, BaseException]] = []
        bus = self._bus_name or self._bus_given
        if self._target_made:
            try:
                response = events.remove_targets(Rule=self.id, EventBusName=bus, Ids=[self.id])
            except (ClientError, BotoCoreError) as err:
                if is_gone(err):
                    self._target_made = False
                else:
                    failures.append(("events:RemoveTargets", err))
            else:
                failed = response.get("FailedEntries") or []
                if failed and failed[0].get("ErrorCode") not in GONE_CODES:
                    entry = failed[0]
                    failures.append(
                        ("events:RemoveTargets", _StepFailed(f"{entry.get('ErrorCode')}: {entry.get('ErrorMessage')}"))
                    )
                else:
                    self._target_made = False
        if self._rule_made:
            try:
                events.delete_rule(Name=self.id, EventBusName=bus)
            except (ClientError, BotoCoreError) as err:
                if is_gone(err):
                    self._rule_made = False
                else:
                    failures.append(("events:DeleteRule", err))
            else:
                self._rule_made = False
        self._undeleted = []  # the queue goes with them
        if self._queue_made and self._queue_url is not None:
            try:
                sqs.delete_queue(QueueUrl=self._queue_url)
            except (ClientError, BotoCoreError) as err:
                if is_gone(err):
                    self._queue_made = False
                else:
                    failures.append(("sqs:DeleteQueue", err))
            else:
                self._queue_made = False
        return failures

    # -- creation steps -----------------------------------------------------------------------------

    def _locate_bus(self, ctx: AwsContext) -> None:
        __tracebackhide__ = True
        try:
            found = ctx.events.describe_event_bus(Name=self._bus_given)
        except ClientError as err:
            if error_code(err) != "ResourceNotFoundException":
                raise _describe_error(self, "events:DescribeEventBus", err) from frameless(err)
            raise ListenerError(
                f"event bus {self._bus_given!r} not found in {ctx.region}. {self._list_buses(ctx)}",
                code="ResourceNotFoundException",
            ) from frameless(err)
        except BotoCoreError as err:
            raise _describe_error(self, "events:DescribeEventBus", err) from frameless(err)
        self._bus_name = found["Name"]
        self._bus_arn = found["Arn"]

    def _list_buses(self, ctx: AwsContext) -> str:
        try:
            names = bus_names(ctx)
        except (ClientError, BotoCoreError) as err:
            return f"(the buses could not be listed: {error_message(err)})"
        if not names:
            return "There are no buses there."
        return f"The buses there: {', '.join(names)}. Pass one of these names, or a bus ARN."

    def _copy_rule(self, ctx: AwsContext) -> None:
        __tracebackhide__ = True
        assert self._rule_given is not None
        assert self._bus_name is not None
        rule_bus, rule_name = _split_rule(self._rule_given)
        if rule_bus is not None and rule_bus not in (self._bus_name, self._bus_arn):
            raise ListenerError(
                f"rule={self._rule_given!r} belongs to bus {rule_bus!r}, but the listener is for bus "
                f"{self._bus_name!r}: pass bus={rule_bus!r}"
            )
        try:
            found = ctx.events.describe_rule(Name=rule_name, EventBusName=self._bus_name)
        except ClientError as err:
            if error_code(err) != "ResourceNotFoundException":
                raise _describe_error(self, "events:DescribeRule", err) from frameless(err)
            raise ListenerError(
                f"rule {rule_name!r} not found on bus {self._bus_name!r} ({ctx.region}). "
                f"{self._list_rules(ctx, rule_name)}",
                code="ResourceNotFoundException",
            ) from frameless(err)
        except BotoCoreError as err:
            raise _describe_error(self, "events:DescribeRule", err) from frameless(err)
        pattern = found.get("EventPattern")
        if not pattern:
            schedule = found.get("ScheduleExpression")
            kind = f"a schedule rule ({schedule})" if schedule else "a rule without an event pattern"
            raise ListenerError(
                f"rule {rule_name!r} on bus {self._bus_name!r} is {kind}: a listener copies event patterns only. "
                "Pass pattern={...} to listen for the events you expect instead."
            )
        if found.get("State") not in (None, "ENABLED"):
            log.info("rule %s is %s; the listener's copy is enabled", rule_name, found.get("State"))
        self._pattern_text = pattern
        if self._target_given is not None:
            self._target_input = self._find_target(ctx, rule_name)

    def _list_rules(self, ctx: AwsContext, wanted: str) -> str:
        assert self._bus_name is not None
        try:
            names = [
                rule["Name"]
                for page in ctx.events.get_paginator("list_rules").paginate(EventBusName=self._bus_name)
                for rule in page.get("Rules", [])
                if not rule["Name"].startswith("iatk_eb_")
            ]
        except (ClientError, BotoCoreError) as err:
            return f"(the rules could not be listed: {error_message(err)})"
        if not names:
            return "The bus has no rules (other than iatk's)."
        close = difflib.get_close_matches(wanted, names, n=len(names), cutoff=0.0)
        shown = close[:30]
        more = f" and {len(names) - len(shown)} more" if len(names) > len(shown) else ""
        return f"Rules on that bus, closest first: {', '.join(shown)}{more}."

    def _find_target(self, ctx: AwsContext, rule_name: str) -> dict[str, Any]:
        __tracebackhide__ = True
        assert self._bus_name is not None
        ids: list[str] = []
        try:
            pages = ctx.events.get_paginator("list_targets_by_rule").paginate(
                Rule=rule_name, EventBusName=self._bus_name
            )
            for page in pages:
                for target in page.get("Targets", []):
                    if target["Id"] == self._target_given:
                        return _plain_target(dict(target))
                    ids.append(target["Id"])
        except (ClientError, BotoCoreError) as err:
            raise _describe_error(self, "events:ListTargetsByRule", err) from frameless(err)
        listed = ", ".join(ids) if ids else "(none)"
        raise ListenerError(
            f"target {self._target_given!r} not found on rule {rule_name!r} (bus {self._bus_name!r}). "
            f"Its targets: {listed}. Pass one of these ids as target=, or leave target out to get whole events."
        )

    def _create_queue(self, ctx: AwsContext) -> None:
        response = ctx.sqs.create_queue(
            QueueName=self.id,
            Attributes={
                "Policy": self._policy(),
                "MessageRetentionPeriod": str(self._retention),
                "SqsManagedSseEnabled": "true",
                "VisibilityTimeout": str(_VISIBILITY_TIMEOUT),
            },
            tags=self._tags,
        )
        self._queue_url = response["QueueUrl"]
        self._queue_made = True

    def _policy(self) -> str:
        assert self._queue_arn is not None
        assert self._rule_arn is not None
        resource = _arn_parts(self._rule_arn)[3]
        return json.dumps(
            {
                "Version": "2012-10-17",
                "Id": f"Write_Permission_for_Rule_{resource}",
                "Statement": [
                    {
                        "Sid": "eblistener",
                        "Effect": "Allow",
                        "Principal": {"Service": "events.amazonaws.com"},
                        "Action": "sqs:SendMessage",
                        "Resource": self._queue_arn,
                        "Condition": {"ArnEquals": {"aws:SourceArn": self._rule_arn}},
                    }
                ],
            }
        )

    def _put_rule(self, ctx: AwsContext, canary: bool) -> bool:
        """PutRule; with a canary, the pattern is wrapped in ``$or``. Returns whether the canary is on."""
        assert self._pattern_text is not None
        assert self._bus_name is not None
        pattern = self._pattern_text
        if canary:
            wrapped = self._canary_pattern()
            if len(wrapped) <= _PATTERN_LIMIT:
                pattern = wrapped
            else:
                log.warning(
                    "listener %s: the pattern is too long to add the canary branch; readiness is not checked", self.id
                )
                canary = False
        response = ctx.events.put_rule(
            Name=self.id,
            EventBusName=self._bus_name,
            EventPattern=pattern,
            State="ENABLED",
            Description=f'rule for Listener "{self.id}"; created by iatk',
            Tags=as_tag_list(self._tags),  # type: ignore[arg-type]
        )
        self._rule_made = True
        actual = response.get("RuleArn")
        if actual and actual != self._rule_arn:
            # Our computed ARN was wrong (an unusual partition?): the policy must name the real one.
            self._rule_arn = actual
            assert self._queue_url is not None
            ctx.sqs.set_queue_attributes(QueueUrl=self._queue_url, Attributes={"Policy": self._policy()})
        return canary

    def _put_target(self, ctx: AwsContext, *, transformed: bool) -> None:
        assert self._queue_arn is not None
        assert self._bus_name is not None
        target: dict[str, Any] = {"Id": self.id, "Arn": self._queue_arn}
        if transformed:
            target.update(self._target_input)
        response = ctx.events.put_targets(Rule=self.id, EventBusName=self._bus_name, Targets=[target])  # type: ignore[list-item]
        self._target_made = True
        failed = response.get("FailedEntries") or []
        if response.get("FailedEntryCount") or failed:
            entry = failed[0] if failed else {}
            raise _StepFailed(
                f"PutTargets rejected the target: {entry.get('ErrorCode')}: {entry.get('ErrorMessage')}",
                code=entry.get("ErrorCode"),
            )

    # -- the canary ---------------------------------------------------------------------------------

    def _canary_pattern(self) -> str:
        assert self._pattern_text is not None
        branch = {"source": [CANARY_SOURCE], "detail-type": [f"{CANARY_SOURCE} {self.id}"]}
        return json.dumps({"$or": [json.loads(self._pattern_text), branch]}, separators=(",", ":"))

    def _canary_plan(self) -> tuple[dict[str, Any], bool]:
        """The canary's detail, and whether the copied target's output will show the canary's marker."""
        detail: dict[str, Any] = {"iatk-canary": self.id}
        config = self._target_input
        if not config:
            return detail, True
        if "Input" in config:
            return detail, False

        def carries(path: str) -> bool:
            if path in _WHOLE_EVENT_PATHS:
                return True
            found = _DETAIL_PATH.match(path)
            return found is not None and _set_path(detail, found.group(1)[1:].split("."), self.id)

        if "InputPath" in config:
            return detail, carries(str(config["InputPath"]))
        transformer = config.get("InputTransformer") or {}
        template = str(transformer.get("InputTemplate", ""))
        visible = "<aws.events.event" in template
        for key, path in (transformer.get("InputPathsMap") or {}).items():
            if f"<{key}>" in template and carries(str(path)):
                visible = True
        return detail, visible

    def _canary_kind(self, event: Event) -> Literal["own", "other"] | None:
        """Whether a received event is this listener's canary, another listener's, or neither.

        Another listener's canary reaches this queue when this listener's pattern also matches it
        (``anything-but``, ``exists``, a pattern on detail fields the canary fills): listeners made at
        the same time on one bus (xdist workers) would otherwise see each other's canaries. Those are
        dropped too, unless the listener's own pattern names ``iatk.canary`` as a source.
        """
        if event.is_envelope:
            if event.source != CANARY_SOURCE or not (event.detail_type or "").startswith(CANARY_PREFIX):
                return None
            if event.detail_type == f"{CANARY_SOURCE} {self.id}" or event.id in self._canary_tokens:
                return "own"
            return None if self._wants_canaries else "other"
        # A transformed body: the canary's marker (this listener's id) or its event id show in it.
        if self._canary_tokens and any(token in event.body for token in self._canary_tokens):
            return "own"
        if not self._wants_canaries and _CANARY_MARK.search(event.body):
            return "other"
        return None

    @property
    def _wants_canaries(self) -> bool:
        """True when the listener's own (or copied) pattern names the canary source: then it gets them."""
        return self._pattern_text is not None and f'"{CANARY_SOURCE}"' in self._pattern_text

    def _await_canary(self, ctx: AwsContext) -> None:
        assert self._bus_name is not None
        detail, _ = self._canary_plan()
        self._canary_tokens.append(self.id)
        deadline = Deadline(CANARY_TIMEOUT, clock=self._clock)
        next_put = deadline.start
        puts = 0
        while True:
            now = self._clock()
            if now >= next_put:
                ids = put_events(
                    {"Source": CANARY_SOURCE, "DetailType": f"{CANARY_SOURCE} {self.id}", "Detail": detail},
                    bus=self._bus_name,
                    session=ctx.session,
                )
                self._canary_tokens.extend(ids)
                puts += 1
                next_put = now + CANARY_INTERVAL
            until_next = max(next_put - self._clock(), 0.0)
            _, canaries, _ = self._receive(ctx, _wait_seconds(min(until_next, deadline.remaining())), MAX_MESSAGES)
            if canaries:
                log.debug("listener %s: canary arrived after %.2f s (%d put)", self.id, deadline.elapsed(), puts)
                return
            if deadline.expired():
                raise _StepFailed(
                    f"the listener's rule did not deliver its canary within {CANARY_TIMEOUT:g} s "
                    f"({puts} canaries put); "
                    "EventBridge may be slow to apply new rules, or the queue policy is not honoured"
                )

    # -- receiving ----------------------------------------------------------------------------------

    def _open_ctx(self) -> AwsContext:
        __tracebackhide__ = True
        if self._closed or not self._started or self._ctx is None or self._queue_url is None:
            state = "closed" if self._closed else "not started"
            raise ListenerError(f"listener {self.id} is {state}: it cannot receive events")
        return self._ctx

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
        ctx = self._open_ctx()
        given: Any = wait
        if isinstance(given, bool) or not isinstance(given, (int, float)) or not 0 <= given <= MAX_LONG_POLL:
            raise ConfigError(f"poll(wait=...) takes 0 to {MAX_LONG_POLL} seconds; got {wait!r}")
        most: Any = max_messages
        if isinstance(most, bool) or not isinstance(most, int) or not 1 <= most <= MAX_MESSAGES:
            raise ConfigError(f"poll(max_messages=...) takes 1 to 10; got {max_messages!r}")
        entries, _, _ = self._receive(ctx, math.ceil(wait), max_messages)
        return [entry.event for entry in entries]

    def _take(self, ctx: AwsContext, deadline: Deadline) -> list[_Entry]:
        """One long poll sized to the deadline; at the deadline, also drain what is already queued.

        A receive returns at most 10 messages, so when the deadline passes with a full batch in hand,
        a few more immediate receives (wait 0, at most ``_MAX_DRAIN``) collect what had already arrived.
        """
        __tracebackhide__ = True
        fresh, _, count = self._receive(ctx, _wait_seconds(deadline.remaining()), MAX_MESSAGES, defer_delete=True)
        drains = 0
        while count == MAX_MESSAGES and deadline.expired() and drains < _MAX_DRAIN:
            more, _, count = self._receive(ctx, 0, MAX_MESSAGES, defer_delete=True)
            fresh += more
            drains += 1
        return fresh

    def _receive(
        self, ctx: AwsContext, wait_seconds: int, max_messages: int, *, defer_delete: bool = False
    ) -> tuple[list[_Entry], int, int]:
        """One ReceiveMessage, and its DeleteMessageBatch now or, with ``defer_delete``, later.

        Deferred deletes go out ten at a time (one full DeleteMessageBatch), before a receive, once ten
        are pending; the queue's 12 h visibility timeout keeps those messages hidden meanwhile, and
        ``close()`` deletes the queue with whatever is left. A deferred delete is safe: the events are
        already in the buffer, and a redelivery (a listener attached to a queue with a shorter
        visibility timeout, or older than 12 h) is deduplicated by event id.

        Returns:
            The new entries, the number of canaries seen, and the number of messages received.
        """
        __tracebackhide__ = True
        assert self._queue_url is not None
        self._flush_deletes(ctx)
        try:
            response = ctx.sqs.receive_message(
                QueueUrl=self._queue_url, MaxNumberOfMessages=max_messages, WaitTimeSeconds=wait_seconds
            )
        except (ClientError, BotoCoreError) as err:
            what = f"listener {self.id}: sqs:ReceiveMessage on {self._queue_url}"
            raise wrap(err, what, ListenerError) from frameless(err)
        self._polls += 1
        messages = response.get("Messages") or []
        if not messages:
            return [], 0, 0
        received = self._clock()
        received_at = datetime.now(timezone.utc)
        fresh: list[_Entry] = []
        canaries = 0
        for message in messages:
            event = Event.from_sqs_message(message, received_at=received_at)
            kind = self._canary_kind(event)
            if kind is not None:  # deleted with the rest, never shown to a wait
                if kind == "own":
                    canaries += 1
                continue
            if event.id in self._seen:
                continue
            self._remember(event.id)
            if len(self._buffer) == self._buffer.maxlen:
                self._dropped += 1
                if self._dropped == 1:
                    log.warning(
                        "listener %s: buffer full (%d events); the oldest are dropped from now on",
                        self.id,
                        self._buffer.maxlen,
                    )
            entry = _Entry(event, received)
            self._buffer.append(entry)
            fresh.append(entry)
        # Kept before deleting: a failed delete loses nothing (a redelivery is deduplicated).
        if defer_delete:
            self._undeleted.extend(messages)
        else:
            self._delete(ctx, messages)
        return fresh, canaries, len(messages)

    def _flush_deletes(self, ctx: AwsContext) -> None:
        """Delete deferred messages in full batches of ten; fewer wait for more (or for close())."""
        __tracebackhide__ = True
        while len(self._undeleted) >= MAX_MESSAGES:
            batch, self._undeleted = self._undeleted[:MAX_MESSAGES], self._undeleted[MAX_MESSAGES:]
            self._delete(ctx, batch)

    def _remember(self, event_id: str) -> None:
        self._seen[event_id] = None
        if len(self._seen) > self._seen_limit:
            self._seen.popitem(last=False)

    def _delete(self, ctx: AwsContext, messages: Sequence[Mapping[str, Any]]) -> None:
        __tracebackhide__ = True
        assert self._queue_url is not None
        entries: list[Any] = [
            {"Id": str(index), "ReceiptHandle": message["ReceiptHandle"]} for index, message in enumerate(messages)
        ]
        try:
            response = ctx.sqs.delete_message_batch(QueueUrl=self._queue_url, Entries=entries)
            failed = response.get("Failed") or []
            if failed:
                # One retry of just those: a transient failure must not fail the test.
                retry_ids = {item["Id"] for item in failed}
                retry = [entry for entry in entries if entry["Id"] in retry_ids]
                response = ctx.sqs.delete_message_batch(QueueUrl=self._queue_url, Entries=retry)
                failed = response.get("Failed") or []
        except (ClientError, BotoCoreError) as err:
            what = f"listener {self.id}: sqs:DeleteMessageBatch on {self._queue_url}"
            raise wrap(err, what, ListenerError) from frameless(err)
        if failed:
            details = "; ".join(f"{item.get('Code')}: {item.get('Message', '')}" for item in failed)
            raise ListenerError(
                f"listener {self.id}: could not delete {len(failed)} received message(s) from {self._queue_url} "
                f"({details}); the events are kept, but SQS will deliver them again after the visibility timeout",
                code=str(failed[0].get("Code")),
            )

    def clear(self) -> None:
        """Forget the events in the buffer (events already seen stay deduplicated).

        Events still in the queue are not touched: call ``poll()`` first to take them in (and clear).
        """
        self._buffer.clear()

    # -- waits --------------------------------------------------------------------------------------

    def _window(self, value: float | str | timedelta | None, name: str) -> float:
        if value is None:
            return self.sla if self.sla is not None else current_settings().sla
        return parse_duration(value, name=name)

    def _unclaimed(self) -> list[_Entry]:
        return [entry for entry in self._buffer if not entry.claimed]

    def _begin(self, kind: str, description: str, sla: float) -> _Wait:
        return _Wait(kind, description, Deadline(sla, clock=self._clock), self._polls)

    def _record(self, wait: _Wait, outcome: Outcome, latency: float | None = None) -> None:
        record = WaitRecord(
            listener_id=self.id,
            kind=wait.kind,
            description=wait.description,
            sla=wait.deadline.timeout,
            elapsed=wait.deadline.elapsed(),
            latency=latency,
            outcome=outcome,
            polls=self._polls - wait.polls_before,
            received=len(self._buffer),
            started_at=wait.started_at,
        )
        self._waits.append(record)
        notify_waits(self, record)

    def _explain(self, matcher: Matcher) -> str:
        # Every unclaimed event, nearest miss first: the buffer bounds how many there can be.
        candidates = [entry.event for entry in self._unclaimed()]
        claimed = len(self._buffer) - len(candidates)
        text = explain(matcher, candidates)
        notes = []
        if claimed:
            notes.append(f"{claimed} event(s) returned by earlier waits on this listener are not shown")
        if self._dropped:
            notes.append(f"{self._dropped} older event(s) fell out of the full buffer (buffer={self._buffer.maxlen})")
        return text + "".join(f"\n({note})" for note in notes)

    def _latency(self, entry: _Entry, deadline: Deadline) -> float:
        return max(0.0, entry.received - deadline.start)

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
        ctx = self._open_ctx()
        chosen = as_matcher(matcher)
        sla = self._window(within, "within")
        description = f"an event matching {chosen.describe()} on listener {self.id} ({self._origin()})"
        wait = self._begin("expect_event", description, sla)
        deadline = wait.deadline

        def found(entry: _Entry) -> Event:
            entry.claimed = True
            latency = self._latency(entry, deadline)
            self._record(wait, "matched", latency)
            return entry.event.with_latency(latency)

        for entry in self._unclaimed():
            if chosen(entry.event):
                return found(entry)

        def attempt() -> _Entry | NotYet:
            __tracebackhide__ = True
            fresh = self._take(ctx, deadline)
            for entry in fresh:
                if chosen(entry.event):
                    return entry
            return NOT_YET

        try:
            hit = wait_until(
                attempt, deadline=deadline, description=description, interval=0, explain=lambda _: self._explain(chosen)
            )
        except WaitTimeout as timeout:
            self._record(wait, "timeout")
            timeout.last = [entry.event for entry in self._unclaimed()]
            raise
        return found(hit)

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
        count: Any = n
        if isinstance(count, bool) or not isinstance(count, int) or count < 0:
            raise ConfigError(f"expect_events(n, ...) needs a whole number n >= 0; got {n!r}")
        ctx = self._open_ctx()
        chosen = as_matcher(matcher)
        sla = self._window(within, "within")
        what = f"exactly {n} event{'s' if n != 1 else ''} matching {chosen.describe()}"
        description = f"{what} on listener {self.id} ({self._origin()})"
        wait = self._begin("expect_events", description, sla)
        deadline = wait.deadline
        hits = [entry for entry in self._unclaimed() if chosen(entry.event)]

        def attempt() -> bool | NotYet:
            __tracebackhide__ = True
            if len(hits) > n:
                return True
            fresh = self._take(ctx, deadline)
            hits.extend(entry for entry in fresh if chosen(entry.event))
            return True if len(hits) > n else NOT_YET

        try:
            wait_until(attempt, deadline=deadline, description=description, interval=0)
        except WaitTimeout as timeout:
            if len(hits) == n:
                for entry in hits:
                    entry.claimed = True
                latencies = [self._latency(entry, deadline) for entry in hits]
                slowest = max(latencies, default=None)
                self._record(wait, "matched", slowest)
                return [entry.event.with_latency(latency) for entry, latency in zip(hits, latencies, strict=True)]
            self._record(wait, "timeout")
            message = (
                f"timed out waiting for {description}: only {len(hits)} matched within {deadline.timeout:g} s "
                f"(waited {timeout.elapsed or 0:.2f} s, {timeout.attempts} polls)\n{self._explain(chosen)}"
            )
            raise WaitTimeout(
                message,
                description=description,
                timeout=deadline.timeout,
                elapsed=timeout.elapsed,
                attempts=timeout.attempts,
                last=[entry.event for entry in self._unclaimed()],
            ) from None
        self._record(wait, "surplus")
        shown = "\n".join(_show(entry.event, number) for number, entry in enumerate(hits, 1))
        raise UnexpectedEvent(
            f"expected {what} within {deadline.timeout:g} s on listener {self.id} ({self._origin()}), "
            f"but {len(hits)} matched after {deadline.elapsed():.2f} s:\n{shown}",
            description=description,
            events=[entry.event for entry in hits],
            elapsed=deadline.elapsed(),
        )

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
        ctx = self._open_ctx()
        chosen = as_matcher(matcher)
        sla = self._window(during, "during")
        what = f"no event matching {chosen.describe()}"
        description = f"{what} for {sla:g} s on listener {self.id} ({self._origin()})"
        wait = self._begin("expect_no_event", description, sla)
        deadline = wait.deadline
        early = [entry for entry in self._unclaimed() if chosen(entry.event)]

        def attempt() -> _Entry | NotYet:
            __tracebackhide__ = True
            fresh = self._take(ctx, deadline)
            for entry in fresh:
                if chosen(entry.event):
                    return entry
            return NOT_YET

        if early:
            offender = early[0]
        else:
            try:
                offender = wait_until(attempt, deadline=deadline, description=description, interval=0)
            except WaitTimeout:
                self._record(wait, "held")
                return
        elapsed = deadline.elapsed()
        self._record(wait, "unexpected")
        when = "before the wait started" if early else f"after {self._latency(offender, deadline):.2f} s"
        raise UnexpectedEvent(
            f"expected {what} for {deadline.timeout:g} s on listener {self.id} ({self._origin()}), "
            f"but one arrived {when}:\n{_show(offender.event)}",
            description=description,
            events=[offender.event],
            elapsed=elapsed,
        )


def _show(event: Event, number: int | None = None) -> str:
    """An event for a failure message: its summary line, then its detail in full (up to 1000 characters)."""
    head = f"  {number}. " if number is not None else "  "
    lines = [head + event.summary()]
    if event.is_envelope:
        detail = json.dumps(event.detail, ensure_ascii=False, default=str)
        lines.append(" " * len(head) + "detail: " + truncate(detail, 1000))
    return "\n".join(lines)


def _describe_error(listener: Listener, step: str, err: BaseException) -> ListenerError:
    return ListenerError(
        f"could not start listener {listener.id} ({listener._origin()}): {step} failed: {error_message(err)}",
        code=error_code(err),
    )
