"""The EventBridge side of a listener: what it creates on AWS, and how it removes it.

:class:`EventBridgeHarness` finds the bus (and the rule and target to copy), then makes a queue
with its policy, a rule and a target, all-or-nothing: a failed step removes what was made. It
knows nothing about waits; it hands the queue to whoever reads it, and runs the canary
(:mod:`._readiness`) through that reader.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from iatk._aws import BOTO_ERRORS, GONE_CODES, aws, error_code, error_message, frameless, is_gone, wrap
from iatk._tags import TAG_ID, TAG_TARGET, as_tag_list, current_run_id, harness_tags, is_harness_id
from iatk.exceptions import IatkError, ListenerError

from ._diagnosis import check_wiring, undelivered
from ._eventbridge import StepFailed, arn_parts, copy_rule, find_target, locate_bus, plain_target
from ._inbox import VISIBILITY_TIMEOUT
from ._readiness import Canary, Receiver
from ._records import ListenerResource
from ._spec import ListenerSpec, buffer_size
from ._teardown import STEP_TIMEOUT, TEARDOWN_ERRORS, Teardown

if TYPE_CHECKING:
    import boto3
    from mypy_boto3_sqs import SQSClient

    from iatk._aws import AwsContext

__all__ = ["EventBridgeHarness", "Reader"]

log = logging.getLogger("iatk.listener")

#: Makes the reader of a listener's queue once the queue exists: ``reader(sqs, queue_url)``.
Reader = Callable[["SQSClient", str], Receiver]


def _delivers_at_once(ctx: AwsContext) -> bool:
    """True when the session's endpoint is a moto server (``--iatk-endpoint-url`` to ``moto_server``).

    moto applies a rule and its target at once and delivers to SQS inside ``PutEvents``, as the
    embedded backend does: no canary is needed (and none is put).
    """
    if not ctx.endpoint_url:
        return False
    from iatk._backend.moto.control import is_moto_server

    found = is_moto_server(ctx.endpoint_url)
    if found:
        log.debug("endpoint %s is a moto server: rules apply at once, no readiness canary", ctx.endpoint_url)
    return found


class EventBridgeHarness:
    """A listener's rule, target and queue on AWS: made by :meth:`start`, found by :meth:`find`.

    Args:
        listener_id: The listener id: the rule's, the queue's and the target's name.
        spec: What to make (validated).
        clock: The monotonic clock for the canary.
    """

    def __init__(self, listener_id: str, spec: ListenerSpec, clock: Callable[[], float] = time.monotonic) -> None:
        self.id = listener_id
        self.spec = spec
        #: The listener's pattern: the given one, or the copied rule's (after start).
        self.pattern_text: str | None = spec.pattern
        self.canary = Canary(listener_id, lambda: self.pattern_text, clock)
        # Filled by start() (or find()).
        self.ctx: AwsContext | None = None
        #: When start() made the rule (time.time()): undelivered targets since then are timeout evidence.
        self.started_at: float | None = None
        self.bus_name: str | None = None
        self.bus_arn: str | None = None
        self.target_input: dict[str, Any] = {}
        self.tags: dict[str, str] = {}
        self.queue_url: str | None = None
        self.queue_arn: str | None = None
        self.rule_arn: str | None = None
        # Whether each part may exist: set *before* its create call, since a create whose response is
        # lost (a read timeout) may still have been applied. Removal goes by name, so it finds them.
        self.queue_made = False
        self.rule_made = False
        self.target_made = False
        self.started = False
        self.failed = False
        self.closed = False

    # -- finding an existing listener ---------------------------------------------------------------

    @classmethod
    def find(cls, listener_id: str, *, buffer: int | None, session: boto3.Session | None) -> EventBridgeHarness:
        """The harness of a listener that exists: its queue by name, its bus from the queue's tag, its rule.

        ``buffer`` is checked once the queue is found (see :meth:`iatk.Listener.attach`).
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
        except BOTO_ERRORS as err:
            if is_gone(err):
                raise ListenerError(
                    f"no listener {listener_id} in {ctx.region}: its queue does not exist (closed, swept, or made "
                    "in another region or account)",
                    code=error_code(err),
                ) from frameless(err)
            raise wrap(err, f"cannot find listener {listener_id}", ListenerError) from frameless(err)
        try:
            tags = ctx.sqs.list_queue_tags(QueueUrl=url).get("Tags") or {}
            queue_arn = ctx.sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"][
                "QueueArn"
            ]
        except BOTO_ERRORS as err:
            raise wrap(err, f"cannot read listener {listener_id}'s queue", ListenerError) from frameless(err)
        bus_arn = tags.get(TAG_TARGET)
        harness = cls(listener_id, ListenerSpec.found(bus_arn or "default", buffer_size(buffer), session))
        harness.ctx = ctx
        harness.queue_url = url
        harness.queue_arn = queue_arn
        harness.queue_made = True
        harness.tags = dict(tags)
        if bus_arn:
            harness.bus_arn = bus_arn
            resource = arn_parts(bus_arn)[3]
            harness.bus_name = resource.split("/", 1)[1] if resource.startswith("event-bus/") else resource
            harness._find_own_rule(ctx)
        else:
            log.warning("listener %s: its queue has no %s tag, so its rule cannot be found", listener_id, TAG_TARGET)
        harness.started = True
        harness.started_at = time.time()  # what was not delivered before this process attached is not its business
        return harness

    def _find_own_rule(self, ctx: AwsContext) -> None:
        """For find(): the listener's own rule and target on its bus, when they exist."""
        __tracebackhide__ = True
        assert self.bus_name is not None
        try:
            found = ctx.events.describe_rule(Name=self.id, EventBusName=self.bus_name)
        except BOTO_ERRORS as err:
            if is_gone(err):
                return
            raise wrap(err, f"cannot read listener {self.id}'s rule", ListenerError) from frameless(err)
        self.rule_made = True
        self.rule_arn = found.get("Arn")
        self.pattern_text = found.get("EventPattern")
        try:
            targets = ctx.events.list_targets_by_rule(Rule=self.id, EventBusName=self.bus_name).get("Targets", [])
        except BOTO_ERRORS as err:
            raise wrap(err, f"cannot read listener {self.id}'s target", ListenerError) from frameless(err)
        for target in targets:
            if target["Id"] == self.id:
                self.target_made = True
                self.target_input = plain_target(dict(target))

    # -- what it is ---------------------------------------------------------------------------------

    def origin(self) -> str:
        """What the listener copies, in words: ``copy of rule 'R' on bus 'B'`` or ``pattern {...} on bus 'B'``."""
        bus = self.bus_name or self.spec.bus
        if self.spec.rule is not None:
            target = f", target {self.spec.target!r}" if self.spec.target else ""
            return f"copy of rule {self.spec.rule!r}{target} on bus {bus!r}"
        return f"pattern {self.pattern_text} on bus {bus!r}"

    @property
    def resources(self) -> tuple[ListenerResource, ...]:
        """What exists now: the queue (physical id = URL) then the rule."""
        made: list[ListenerResource] = []
        if self.queue_made and self.queue_arn:
            # A queue whose CreateQueue answer was lost has no URL yet: its name stands in.
            made.append(ListenerResource("AWS::SQS::Queue", self.queue_url or self.id, self.queue_arn))
        if self.rule_made and self.rule_arn:
            made.append(ListenerResource("AWS::Events::Rule", self.id, self.rule_arn))
        return tuple(made)

    @property
    def arns(self) -> tuple[str, ...]:
        """The ARNs of :attr:`resources`."""
        return tuple(resource.arn for resource in self.resources)

    # -- creating -----------------------------------------------------------------------------------

    def start(self, reader: Reader) -> None:
        """Find the bus and the rule to copy, then make the queue, the rule and the target (see Listener.start).

        ``reader(sqs, queue_url)`` is called once the queue exists; the canary receives through what it
        returns.
        """
        __tracebackhide__ = True
        if self.closed:
            raise ListenerError(f"listener {self.id} is closed; make a new Listener")
        if self.started:
            return
        if self.failed:
            # SQS keeps a deleted queue's name for 60 s, so the same id cannot be made again at once.
            raise ListenerError(f"listener {self.id} failed to start and was rolled back; make a new Listener")
        ctx = self.ctx = aws(self.spec.session)
        self.bus_name, self.bus_arn = locate_bus(ctx, self.spec.bus, self._failure)
        if self.spec.rule is not None:
            rule_name, self.pattern_text = copy_rule(
                ctx, self.spec.rule, bus_name=self.bus_name, bus_arn=self.bus_arn, failure=self._failure
            )
            if self.spec.target is not None:
                self.target_input = find_target(
                    ctx, rule_name, self.spec.target, bus_name=self.bus_name, failure=self._failure
                )
        assert self.pattern_text is not None
        partition, region, account, _ = arn_parts(self.bus_arn)
        if region != ctx.region:
            raise ListenerError(
                f"bus {self.spec.bus!r} is in {region}, but the session's region is {ctx.region}: "
                "use a session (or --iatk-region) in the bus's region"
            )
        default_bus = self.bus_name == "default"
        rule_resource = f"rule/{self.id}" if default_bus else f"rule/{self.bus_name}/{self.id}"
        self.rule_arn = f"arn:{partition}:events:{region}:{account}:{rule_resource}"
        self.queue_arn = f"arn:{partition}:sqs:{region}:{account}:{self.id}"
        self.tags = harness_tags(
            self.id, target_arn=self.bus_arn, run_id=current_run_id(), ttl=self.spec.ttl, user_tags=self.spec.tags
        )
        readiness = self.spec.readiness
        canary = readiness == "canary" or (readiness == "auto" and not ctx.embedded and not _delivers_at_once(ctx))
        self.started_at = time.time()
        step = "sqs:CreateQueue"
        try:
            receiver = reader(ctx.sqs, self._create_queue(ctx))
            step = "events:PutRule"
            canary = self._put_rule(ctx, canary)
            if canary and self.target_input and not self.canary.plan(self.target_input)[1]:
                step = "events:PutTargets"
                self._put_target(ctx, transformed=False)
                step = "canary"
                self._await_canary(ctx, receiver)
                step = "events:PutTargets (copied transformation)"
                self._put_target(ctx, transformed=True)
            else:
                step = "events:PutTargets"
                self._put_target(ctx, transformed=True)
                if canary:
                    step = "canary"
                    self._await_canary(ctx, receiver)
        except BOTO_ERRORS as err:
            raise self._rolled_back(step, error_message(err), error_code(err)) from frameless(err)
        except StepFailed as err:  # its message is all there is to it
            raise self._rolled_back(step, str(err), err.code) from None
        except IatkError as err:
            raise self._rolled_back(step, str(err), err.code) from frameless(err)
        except BaseException:
            # KeyboardInterrupt, a bug: still leave nothing behind, then let it through.
            self.failed = True
            for what, failure in self.remove():
                log.error("listener %s: rollback step %s failed: %s", self.id, what, failure)
            raise
        self.started = True
        log.info("listener %s ready: %s -> %s", self.id, self.origin(), self.queue_arn)

    def _failure(self, step: str, err: BaseException) -> ListenerError:
        """The error of a failed lookup step (before anything is created)."""
        return wrap(err, f"could not start listener {self.id} ({self.origin()}): {step} failed", ListenerError)

    def _rolled_back(self, step: str, detail: str, code: str | None) -> ListenerError:
        __tracebackhide__ = True
        self.failed = True
        failures = self.remove()
        message = (
            f"could not start listener {self.id} ({self.origin()}): step {step} failed: {detail}. "
            + self._rollback_text(failures)
        )
        return ListenerError(message, code=code)

    def _rollback_text(self, failures: list[tuple[str, BaseException]]) -> str:
        if not failures:
            return "Everything it had created was removed."
        problems = "; ".join(f"{what}: {error_message(err)}" for what, err in failures)
        return (
            f"Removing what it had created also failed ({problems}). Left behind: {'; '.join(self.left())}. "
            f"Remove them with `{self.cleanup_command()}`."
        )

    def left(self) -> list[str]:
        """What may still exist, in words (the target, the rule, the queue), each with its name or ARN."""
        bus = self.bus_name or self.spec.bus
        left: list[str] = []
        if self.target_made:
            left.append(f"target {self.id} of rule {self.id} on bus {bus!r}")
        if self.rule_made:
            left.append(f"rule {self.rule_arn or self.id}")
        if self.queue_made:
            left.append(f"queue {self.queue_arn or self.id}" + (f" ({self.queue_url})" if self.queue_url else ""))
        return left or ["(nothing known)"]

    def cleanup_command(self) -> str:
        """The ``iatk cleanup`` command that removes this listener's rule (with its targets) and queue."""
        parts = ["iatk cleanup", f"--tag {TAG_ID}={self.id}"]
        if self.ctx is not None:
            parts.append(f"--region {self.ctx.session.region_name}")
            if self.ctx.embedded:
                parts.append("--backend moto")
            if self.ctx.endpoint_url:
                parts.append(f"--endpoint-url {self.ctx.endpoint_url}")
        parts.append("--yes")
        return " ".join(parts)

    def _create_queue(self, ctx: AwsContext) -> str:
        self.queue_made = True  # before the call: see __init__
        response = ctx.sqs.create_queue(
            QueueName=self.id,
            Attributes={
                "Policy": self._policy(),
                "MessageRetentionPeriod": str(self.spec.retention),
                "SqsManagedSseEnabled": "true",
                "VisibilityTimeout": str(VISIBILITY_TIMEOUT),
            },
            tags=self.tags,
        )
        self.queue_url = url = response["QueueUrl"]
        return url

    def _policy(self) -> str:
        assert self.queue_arn is not None
        assert self.rule_arn is not None
        resource = arn_parts(self.rule_arn)[3]
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
                        "Resource": self.queue_arn,
                        "Condition": {"ArnEquals": {"aws:SourceArn": self.rule_arn}},
                    }
                ],
            }
        )

    def _put_rule(self, ctx: AwsContext, canary: bool) -> bool:
        """PutRule; with a canary, the pattern is wrapped in ``$or``. Returns whether the canary is on."""
        assert self.pattern_text is not None
        assert self.bus_name is not None
        pattern = self.pattern_text
        if canary:
            wrapped = self.canary.pattern(self.pattern_text)
            if wrapped is not None:
                pattern = wrapped
            else:
                log.warning(
                    "listener %s: the pattern is too long to add the canary branch; readiness is not checked", self.id
                )
                canary = False
        self.rule_made = True  # before the call: see __init__
        response = ctx.events.put_rule(
            Name=self.id,
            EventBusName=self.bus_name,
            EventPattern=pattern,
            State="ENABLED",
            Description=f'rule for Listener "{self.id}"; created by iatk',
            Tags=as_tag_list(self.tags),  # type: ignore[arg-type]
        )
        actual = response.get("RuleArn")
        if actual and actual != self.rule_arn:
            # Our computed ARN was wrong (an unusual partition?): the policy must name the real one.
            self.rule_arn = actual
            assert self.queue_url is not None
            ctx.sqs.set_queue_attributes(QueueUrl=self.queue_url, Attributes={"Policy": self._policy()})
        return canary

    def _put_target(self, ctx: AwsContext, *, transformed: bool) -> None:
        assert self.queue_arn is not None
        assert self.bus_name is not None
        target: dict[str, Any] = {"Id": self.id, "Arn": self.queue_arn}
        if transformed:
            target.update(self.target_input)
        self.target_made = True  # before the call: see __init__
        response = ctx.events.put_targets(Rule=self.id, EventBusName=self.bus_name, Targets=[target])  # type: ignore[list-item]
        failed = response.get("FailedEntries") or []
        if response.get("FailedEntryCount") or failed:
            entry = failed[0] if failed else {}
            raise StepFailed(
                f"PutTargets rejected the target: {entry.get('ErrorCode')}: {entry.get('ErrorMessage')}",
                code=entry.get("ErrorCode"),
            )

    def _await_canary(self, ctx: AwsContext, receiver: Receiver) -> None:
        assert self.bus_name is not None
        self.canary.await_(receiver, bus=self.bus_name, session=ctx.session, target_input=self.target_input)

    # -- checking -----------------------------------------------------------------------------------

    def diagnose(self) -> list[str]:
        """What a wait that timed out reports first: the wiring, then undelivered targets (:mod:`._diagnosis`)."""
        return check_wiring(self) + undelivered(self)

    # -- removing -----------------------------------------------------------------------------------

    def close(self, step_timeout: float = STEP_TIMEOUT) -> None:
        """Remove the target, the rule and the queue (see Listener.close); idempotent."""
        __tracebackhide__ = True
        failures = self.remove(step_timeout)
        if failures:
            problems = "\n".join(f"  - {what}: {error_message(err)}" for what, err in failures)
            raise ListenerError(
                f"could not fully close listener {self.id} ({self.origin()}):\n{problems}\n"
                f"Still there: {'; '.join(self.left())}. Call close() again, or run `{self.cleanup_command()}`.",
                code=error_code(failures[0][1]) or getattr(failures[0][1], "code", None),
            )
        self.closed = True

    def remove(self, step_timeout: float = STEP_TIMEOUT) -> list[tuple[str, BaseException]]:
        """Remove what may exist, by name, in reverse order of creation; return the failures.

        Each step has ``step_timeout`` seconds (see :mod:`._teardown`); what is already gone counts
        as removed, so a part whose create call was never applied costs one "not found" answer.
        """
        if self.ctx is None:
            return []
        events, sqs = self.ctx.events, self.ctx.sqs
        teardown = Teardown(step_timeout)
        failures: list[tuple[str, BaseException]] = []
        bus = self.bus_name or self.spec.bus
        if self.target_made:
            step = "events:RemoveTargets"
            try:
                response = teardown.call(
                    step, events, lambda: events.remove_targets(Rule=self.id, EventBusName=bus, Ids=[self.id])
                )
            except TEARDOWN_ERRORS as err:
                if is_gone(err):
                    self.target_made = False
                else:
                    failures.append((step, err))
            else:
                failed = response.get("FailedEntries") or []
                if failed and failed[0].get("ErrorCode") not in GONE_CODES:
                    entry = failed[0]
                    failures.append((step, StepFailed(f"{entry.get('ErrorCode')}: {entry.get('ErrorMessage')}")))
                else:
                    self.target_made = False
        if self.rule_made:
            step = "events:DeleteRule"
            try:
                teardown.call(step, events, lambda: events.delete_rule(Name=self.id, EventBusName=bus))
            except TEARDOWN_ERRORS as err:
                if is_gone(err):
                    self.rule_made = False
                else:
                    failures.append((step, err))
            else:
                self.rule_made = False
        if self.queue_made:
            step = "sqs:GetQueueUrl"
            try:
                if self.queue_url is None:  # its CreateQueue answer was lost: find it by name
                    self.queue_url = teardown.call(step, sqs, lambda: sqs.get_queue_url(QueueName=self.id)["QueueUrl"])
                url = self.queue_url
                step = "sqs:DeleteQueue"
                teardown.call(step, sqs, lambda: sqs.delete_queue(QueueUrl=url))
            except TEARDOWN_ERRORS as err:
                if is_gone(err):
                    self.queue_made = False
                else:
                    failures.append((step, err))
            else:
                self.queue_made = False
        return failures
