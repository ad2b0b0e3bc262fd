"""Find and delete what iatk (and aws-iatk 0.1.0) left behind: listener queues and rules, test stacks.

A listener is an SQS queue and an EventBridge rule, both named ``iatk_eb_<xid>`` and tagged
``iatk:TestHarness:*`` (plus ``iatk:run-id`` and ``iatk:expires-at`` when iatk made it). A test stack
is a CloudFormation stack tagged ``iatk:deploy`` by :func:`iatk.deploy_stack`.

How resources are found (and why not only through the Resource Groups Tagging API):

* **Queues**: ``ListQueues`` with the ``iatk_eb_`` prefix, then ``ListQueueTags`` per queue. The tagging
  API is eventually consistent (it can miss a queue made seconds before a run was killed, and keep
  listing one already deleted) and needs one more IAM permission; every harness queue has the prefix
  by construction, so the prefix listing is complete and its tags are read from SQS itself.
* **Rules**: ``ListEventBuses``, then ``ListRules(NamePrefix="iatk_eb_")`` on every bus, then
  ``ListTagsForResource``. The tagging API does not see rules on moto (and may lag on AWS).
* **Join**: queues and rules are joined by harness id. A rule whose queue was not listed gets a
  ``GetQueueUrl`` probe, and a queue whose rule was not listed a ``DescribeRule`` probe on the bus in
  its ``iatk:TestHarness:Target`` tag, so a listing that lags still finds both halves, while a half
  whose partner is really gone (aws-iatk bug 14) is still found and removable on its own.
* **Stacks**: ``DescribeStacks`` (it carries the tags); nested stacks are left to their root stack.

Safety: a resource is deleted only when its *live* tags (read again just before the delete) carry
``iatk:TestHarness:ID`` equal to its name (or ``iatk:deploy=true`` for a stack), whatever its name.
Anything else is skipped, with the reason, in the :class:`CleanupReport`.

Expiry: iatk tags ``iatk:expires-at``. aws-iatk 0.1.0 tagged only ``iatk:TestHarness:Created``; such
a resource expires :data:`LEGACY_TTL` (the default ``ttl``, 2 h) after its creation. The run's own
``--iatk-ttl`` is deliberately not used for them, so a run with a short ttl cannot sweep another
tool's live listeners.
"""

from __future__ import annotations

import logging
import random
import sys
import time
import types
from collections.abc import Callable, Collection, Iterable, Iterator, Mapping
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from types import MappingProxyType
from typing import TYPE_CHECKING, Any, TypeVar

from ._aws import THROTTLE_CODES, AwsContext, aws, error_code, is_gone, wrap
from ._config import SPEC_BY_NAME, parse_duration
from ._tags import HARNESS_PREFIX, TAG_CREATED, TAG_DEPLOY, TAG_EXPIRES, TAG_ID, TAG_RUN_ID, TAG_TARGET, parse_time
from .exceptions import AwsError, CleanupError, ConfigError, IatkError, StackError

if TYPE_CHECKING:
    import boto3

__all__ = [
    "LEGACY_TTL",
    "CleanupProgress",
    "CleanupReport",
    "FailedResource",
    "HarnessResource",
    "SkippedResource",
    "cleanup",
    "delete_harness_resources",
    "find_harness_resources",
]

log = logging.getLogger("iatk.cleanup")

QUEUE = "AWS::SQS::Queue"
RULE = "AWS::Events::Rule"
STACK = "AWS::CloudFormation::Stack"
#: Short kind → AWS resource type. ``types=`` arguments accept either form.
KINDS: Mapping[str, str] = MappingProxyType({"queue": QUEUE, "rule": RULE, "stack": STACK})
_KIND_OF = {aws_type: kind for kind, aws_type in KINDS.items()}
#: Expiry of a resource without an ``iatk:expires-at`` tag (aws-iatk 0.1.0's): created + this.
LEGACY_TTL = timedelta(seconds=float(SPEC_BY_NAME["ttl"].default))

RETRY_ATTEMPTS = 5
RETRY_BASE = 0.2  # seconds; doubled per attempt, capped, with jitter
RETRY_CAP = 5.0
MAX_WORKERS = 8  # concurrent AWS calls per phase: fast on hundreds of leftovers, gentle on rate limits
_STACK_GONE_STATES = frozenset({"DELETE_COMPLETE"})

T = TypeVar("T")
R = TypeVar("R")


# -- records -------------------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class HarnessResource:
    """One resource iatk (or aws-iatk 0.1.0) made: a listener's queue or rule, or a test stack.

    Attributes:
        arn: The resource's ARN (a stack's is its stack id).
        type: ``AWS::SQS::Queue``, ``AWS::Events::Rule`` or ``AWS::CloudFormation::Stack``
            (aws-iatk's component types); :attr:`kind` gives ``queue`` / ``rule`` / ``stack``.
        id: The harness id (``iatk_eb_…``, the queue's and the rule's name) or the stack name.
        region: The region it lives in.
        tags: Its tags when it was found.
        created: ``iatk:TestHarness:Created`` (a stack without it: its CreationTime).
        expires: ``iatk:expires-at``; without it, ``created`` + :data:`LEGACY_TTL`; None if unknown.
        bus: The event bus ARN (a rule's bus; a queue's ``iatk:TestHarness:Target``).
        url: The queue URL (queues only).
    """

    arn: str
    type: str
    id: str
    region: str
    tags: Mapping[str, str] = field(default_factory=lambda: MappingProxyType({}), hash=False)
    created: datetime | None = None
    expires: datetime | None = None
    bus: str | None = None
    url: str | None = None

    @property
    def kind(self) -> str:
        """``queue``, ``rule`` or ``stack``."""
        return _KIND_OF.get(self.type, self.type)

    @property
    def run_id(self) -> str | None:
        """The ``iatk:run-id`` tag: the run that made it (None for aws-iatk 0.1.0's resources)."""
        return self.tags.get(TAG_RUN_ID)

    @property
    def legacy(self) -> bool:
        """True when it has no ``iatk:run-id`` tag (made by aws-iatk 0.1.0); its expiry is inferred."""
        return self.run_id is None

    def is_expired(self, now: datetime | None = None) -> bool:
        """Whether its expiry has passed (False when the expiry is unknown)."""
        return self.expires is not None and self.expires <= (now or datetime.now(timezone.utc))

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict (times in RFC 3339)."""
        return {
            "arn": self.arn,
            "type": self.type,
            "kind": self.kind,
            "id": self.id,
            "region": self.region,
            "run_id": self.run_id,
            "created": _text(self.created),
            "expires": _text(self.expires),
            "expired": self.is_expired(),
            "bus": self.bus,
            "url": self.url,
            "tags": dict(self.tags),
        }

    @classmethod
    def _tagged(cls, *, tags: Mapping[str, str], created: datetime | None = None, **fields: Any) -> HarnessResource:
        # The Created tag wins; ``created`` is the fallback (a stack's CreationTime).
        born = parse_time(tags.get(TAG_CREATED, "")) or created
        expires = parse_time(tags.get(TAG_EXPIRES, ""))
        if expires is None and born is not None:
            expires = born + LEGACY_TTL
        return cls(tags=MappingProxyType(dict(tags)), created=born, expires=expires, **fields)

    @classmethod
    def from_queue(cls, url: str, tags: Mapping[str, str], *, region: str, partition: str) -> HarnessResource:
        """Build from a queue URL (``…/<account>/<name>``) and its ListQueueTags result."""
        account, name = url.rstrip("/").split("/")[-2:]
        return cls._tagged(
            arn=f"arn:{partition}:sqs:{region}:{account}:{name}",
            type=QUEUE,
            id=name,
            region=region,
            tags=tags,
            bus=tags.get(TAG_TARGET),
            url=url,
        )

    @classmethod
    def from_rule(
        cls, rule: Mapping[str, Any], tags: Mapping[str, str], *, bus_arn: str, region: str
    ) -> HarnessResource:
        """Build from a ListRules / DescribeRule item and its ListTagsForResource result."""
        return cls._tagged(arn=str(rule["Arn"]), type=RULE, id=str(rule["Name"]), region=region, tags=tags, bus=bus_arn)

    @classmethod
    def from_stack(cls, stack: Mapping[str, Any], *, region: str) -> HarnessResource:
        """Build from a DescribeStacks item."""
        created = stack.get("CreationTime")
        return cls._tagged(
            arn=str(stack["StackId"]),
            type=STACK,
            id=str(stack["StackName"]),
            region=region,
            tags={t["Key"]: t["Value"] for t in stack.get("Tags") or []},
            created=created if isinstance(created, datetime) else None,
        )


def _text(moment: datetime | None) -> str | None:
    if moment is None:
        return None
    return moment.astimezone(timezone.utc).replace(microsecond=0).isoformat().replace("+00:00", "Z")


@dataclass(frozen=True, slots=True)
class SkippedResource:
    """A resource that was not deleted, and why (not iatk's, already gone, a dry run...)."""

    resource: HarnessResource
    reason: str


@dataclass(frozen=True, slots=True)
class FailedResource:
    """A resource whose deletion failed. ``error`` is an :class:`~iatk.IatkError` (AWS code in ``.code``)."""

    resource: HarnessResource
    error: IatkError

    @property
    def code(self) -> str | None:
        """The AWS error code, if the failure came from AWS."""
        return self.error.code


@dataclass(frozen=True, slots=True)
class CleanupProgress:
    """Passed to ``progress`` after each resource: ``done`` of ``total``, and what happened to it.

    ``outcome`` is ``deleted``, ``skipped``, ``failed`` or ``planned`` (a dry run).
    """

    done: int
    total: int
    resource: HarnessResource
    outcome: str


@dataclass(frozen=True, slots=True)
class CleanupReport:
    """What a cleanup did.

    Attributes:
        deleted: Deleted resources (stacks: deletion finished, or requested when ``wait=False``).
        skipped: Resources left alone, each with the reason.
        failed: Resources whose deletion failed, each with the error.
        planned: On a dry run, what a real run would delete.
        dry_run: Whether this was a dry run (nothing deleted).
    """

    deleted: tuple[HarnessResource, ...] = ()
    skipped: tuple[SkippedResource, ...] = ()
    failed: tuple[FailedResource, ...] = ()
    planned: tuple[HarnessResource, ...] = ()
    dry_run: bool = False

    @property
    def ok(self) -> bool:
        """True when no deletion failed."""
        return not self.failed

    def __add__(self, other: CleanupReport) -> CleanupReport:
        """Merge two reports (e.g. one per region)."""
        return CleanupReport(
            deleted=self.deleted + other.deleted,
            skipped=self.skipped + other.skipped,
            failed=self.failed + other.failed,
            planned=self.planned + other.planned,
            dry_run=self.dry_run or other.dry_run,
        )

    def summary(self) -> str:
        """One line: ``deleted 4, skipped 1, failed 0`` (``would delete 4, …`` on a dry run)."""
        head = f"would delete {len(self.planned)}" if self.dry_run else f"deleted {len(self.deleted)}"
        return f"{head}, skipped {len(self.skipped)}, failed {len(self.failed)}"

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict."""
        return {
            "dry_run": self.dry_run,
            "ok": self.ok,
            "deleted": [r.to_dict() for r in self.deleted],
            "planned": [r.to_dict() for r in self.planned],
            "skipped": [{**s.resource.to_dict(), "reason": s.reason} for s in self.skipped],
            "failed": [{**f.resource.to_dict(), "error": str(f.error), "code": f.code} for f in self.failed],
        }

    def raise_for_failures(self) -> None:
        """Raise one :class:`~iatk.CleanupError` listing every failure (``.report`` is this report).

        Raises:
            CleanupError: When any deletion failed.
        """
        if not self.failed:
            return
        lines = "\n".join(f"  - {f.resource.arn}: {f.error}" for f in self.failed)
        attempted = len(self.deleted) + len(self.failed)
        err = CleanupError(
            f"could not delete {len(self.failed)} of {attempted} harness resource(s):\n{lines}\n"
            f"The rest of the cleanup ran ({self.summary()}). Fix the cause (permissions, throttling, a stack's "
            "DELETE_FAILED reason) and run `iatk cleanup` again with the same filters.",
            failures=[(f.resource.arn, f.error) for f in self.failed],
            report=self,
        )
        raise err


# -- filters -------------------------------------------------------------------------------------
@dataclass(frozen=True)
class _Filters:
    run_id: str | None
    older_than: float | None
    expired: bool
    tags: Mapping[str, str | None]

    @property
    def empty(self) -> bool:
        return self.run_id is None and self.older_than is None and not self.expired and not self.tags

    def matches(self, resource: HarnessResource, now: datetime) -> bool:
        if self.run_id is not None and resource.run_id != self.run_id:
            return False
        if self.older_than is not None and (
            resource.created is None or resource.created > now - timedelta(seconds=self.older_than)
        ):
            return False
        if self.expired and not resource.is_expired(now):
            return False
        for key, value in self.tags.items():
            if key not in resource.tags or (value is not None and resource.tags[key] != value):
                return False
        return True


def _filters(run_id: object, older_than: object, expired: object, tags: object) -> _Filters:
    # Typed as object: these come from users and the CLI, so they are checked at run time.
    if run_id is not None and (not isinstance(run_id, str) or not run_id.strip()):
        raise ConfigError(f"run_id must be a non-empty string (a run's iatk:run-id tag); got {run_id!r}")
    seconds = None if older_than is None else parse_duration(older_than, name="older_than")
    if tags is not None and not isinstance(tags, Mapping):
        raise ConfigError(f"tags must be a mapping of tag key to value (or None: the key exists); got {tags!r}")
    clean: dict[str, str | None] = {}
    for key, value in (tags or {}).items():
        if not isinstance(key, str) or not key or not (value is None or isinstance(value, str)):
            raise ConfigError(f"tags must map tag keys to a value or None (the key exists); got {key!r}: {value!r}")
        clean[key] = value
    chosen_run = run_id.strip() if isinstance(run_id, str) else None
    return _Filters(chosen_run, seconds, bool(expired), MappingProxyType(clean))


def _kinds(types: Iterable[str] | None) -> frozenset[str]:
    if types is None:
        return frozenset(KINDS.values())
    chosen: set[str] = set()
    for name in [types] if isinstance(types, str) else types:
        aws_type = KINDS.get(name, name)
        if aws_type not in _KIND_OF:
            raise ConfigError(f"unknown resource type {name!r}; use {', '.join(KINDS)} (or {', '.join(_KIND_OF)})")
        chosen.add(aws_type)
    return frozenset(chosen)


# -- AWS helpers ---------------------------------------------------------------------------------
def _retrying(call: Callable[..., T], /, **kwargs: Any) -> T:
    """``call(**kwargs)``, retrying throttling errors a bounded number of times (capped backoff, jitter)."""
    delay = RETRY_BASE
    for attempt in range(1, RETRY_ATTEMPTS + 1):
        try:
            return call(**kwargs)
        except Exception as err:
            if error_code(err) not in THROTTLE_CODES or attempt == RETRY_ATTEMPTS:
                raise
            log.debug("throttled (%s), attempt %d; retrying in %.2f s", error_code(err), attempt, delay)
            time.sleep(delay * random.uniform(0.5, 1.0))
            delay = min(delay * 2, RETRY_CAP)
    raise AssertionError("unreachable")  # pragma: no cover


def _pages(call: Callable[..., Any], /, **kwargs: Any) -> Iterator[dict[str, Any]]:
    """Every page of a ``NextToken`` listing, each request retried on throttling (as :func:`_retrying`).

    botocore's paginators would retry only by its own retry mode; a listing throttled past that
    must be retried here too, or a cleanup of many buses fails half way through its discovery.
    """
    token: str | None = None
    seen: set[str] = set()
    while True:
        page: dict[str, Any] = dict(_retrying(call, **kwargs, **({"NextToken": token} if token else {})))
        yield page
        token = page.get("NextToken")
        if not token or token in seen:  # a token served twice would loop forever
            return
        seen.add(token)


def _gone(err: BaseException) -> bool:
    return is_gone(err)


def _parallel(fn: Callable[[T], R], items: Collection[T]) -> Iterator[tuple[T, R | BaseException]]:
    """Yield ``(item, result or exception)`` as each call finishes (a few threads; clients are thread-safe)."""
    if len(items) <= 1:
        for item in items:
            try:
                yield item, fn(item)
            except Exception as err:
                yield item, err
        return
    with ThreadPoolExecutor(max_workers=min(MAX_WORKERS, len(items)), thread_name_prefix="iatk-cleanup") as pool:
        futures = {pool.submit(fn, item): item for item in items}
        for future in as_completed(futures):
            error = future.exception()
            yield futures[future], (error if error is not None else future.result())


def _bus_name(bus: str) -> str:
    """``arn:…:event-bus/orders`` → ``orders``; a plain name is returned as is."""
    return bus.rsplit("event-bus/", 1)[1] if "event-bus/" in bus else bus


def _queue_tags(ctx: AwsContext, url: str) -> dict[str, str] | None:
    """The queue's tags; None when the queue is gone."""
    try:
        return dict(_retrying(ctx.sqs.list_queue_tags, QueueUrl=url).get("Tags") or {})
    except Exception as err:
        if _gone(err):
            return None
        raise wrap(err, f"cannot read the tags of queue {url}") from err


def _rule_tags(ctx: AwsContext, arn: str) -> dict[str, str] | None:
    """The rule's tags; None when the rule is gone."""
    try:
        found = _retrying(ctx.events.list_tags_for_resource, ResourceARN=arn)
    except Exception as err:
        if _gone(err):
            return None
        raise wrap(err, f"cannot read the tags of rule {arn}") from err
    return {t["Key"]: t["Value"] for t in found.get("Tags") or []}


def _raise_first(results: Iterable[tuple[Any, Any]]) -> list[tuple[Any, Any]]:
    """Collect parallel results; a listing that failed is raised (a partial listing would mislead)."""
    collected = list(results)
    for _, result in collected:
        if isinstance(result, BaseException):
            raise result
    return collected


# -- discovery -----------------------------------------------------------------------------------
def _find_queues(ctx: AwsContext) -> dict[str, HarnessResource]:
    urls: list[str] = []
    try:
        # MaxResults: ListQueues returns a NextToken only when it is given.
        for page in _pages(ctx.sqs.list_queues, QueueNamePrefix=HARNESS_PREFIX, MaxResults=1000):
            urls += [u for u in page.get("QueueUrls") or [] if u.rsplit("/", 1)[-1].startswith(HARNESS_PREFIX)]
    except Exception as err:
        raise wrap(err, f"cannot list the {HARNESS_PREFIX}* queues in {ctx.region}") from err
    return _queues_from_urls(ctx, urls)


def _queues_from_urls(ctx: AwsContext, urls: Collection[str]) -> dict[str, HarnessResource]:
    found: dict[str, HarnessResource] = {}
    for url, tags in _raise_first(_parallel(lambda u: _queue_tags(ctx, u), urls)):
        if tags is not None and TAG_ID in tags:
            queue = HarnessResource.from_queue(url, tags, region=ctx.region, partition=ctx.partition)
            found[queue.id] = queue
    return found


def _event_buses(ctx: AwsContext) -> list[dict[str, str]]:
    buses: list[dict[str, str]] = []
    try:
        for page in _pages(ctx.events.list_event_buses):
            buses += [{"Name": b["Name"], "Arn": b["Arn"]} for b in page.get("EventBuses") or []]
        return buses
    except IatkError:
        raise
    except Exception as err:
        raise wrap(err, f"cannot list the event buses in {ctx.region}") from err


def _find_rules(ctx: AwsContext) -> dict[str, HarnessResource]:
    listed: list[tuple[dict[str, Any], str]] = []
    for bus in _event_buses(ctx):
        try:
            for page in _pages(ctx.events.list_rules, NamePrefix=HARNESS_PREFIX, EventBusName=bus["Name"]):
                listed += [(dict(rule), bus["Arn"]) for rule in page.get("Rules") or []]
        except Exception as err:
            if _gone(err):  # the bus was deleted while we listed
                continue
            raise wrap(err, f"cannot list the {HARNESS_PREFIX}* rules on bus {bus['Name']!r}") from err
    return _rules_from_items(ctx, listed)


def _rules_from_items(ctx: AwsContext, listed: Collection[tuple[dict[str, Any], str]]) -> dict[str, HarnessResource]:
    found: dict[str, HarnessResource] = {}
    for (rule, bus_arn), tags in _raise_first(_parallel(lambda item: _rule_tags(ctx, item[0]["Arn"]), listed)):
        if tags is not None and TAG_ID in tags and str(rule["Name"]).startswith(HARNESS_PREFIX):
            resource = HarnessResource.from_rule(rule, tags, bus_arn=bus_arn, region=ctx.region)
            found[resource.arn] = resource
    return found


def _probe_queue(ctx: AwsContext, name: str) -> str | None:
    try:
        return str(_retrying(ctx.sqs.get_queue_url, QueueName=name)["QueueUrl"])
    except Exception as err:
        if _gone(err):
            return None
        raise wrap(err, f"cannot look up queue {name!r}") from err


def _probe_rule(ctx: AwsContext, name: str, bus_arn: str) -> tuple[dict[str, Any], str] | None:
    try:
        rule = _retrying(ctx.events.describe_rule, Name=name, EventBusName=_bus_name(bus_arn))
    except Exception as err:
        if _gone(err):
            return None
        raise wrap(err, f"cannot look up rule {name!r} on bus {bus_arn}") from err
    return {"Name": rule["Name"], "Arn": rule["Arn"]}, bus_arn


def _join(ctx: AwsContext, queues: dict[str, HarnessResource], rules: dict[str, HarnessResource]) -> None:
    """Look up the other half of each harness the listings did not show (they may lag)."""
    rule_ids = {rule.id for rule in rules.values()}
    missing_queues = sorted(rule_ids - set(queues))
    urls = [url for _, url in _raise_first(_parallel(lambda n: _probe_queue(ctx, n), missing_queues)) if url]
    queues.update(_queues_from_urls(ctx, urls))
    missing_rules = [q for q in queues.values() if q.id not in rule_ids and q.bus]
    probed = _raise_first(_parallel(lambda q: _probe_rule(ctx, q.id, q.bus or ""), missing_rules))
    rules.update(_rules_from_items(ctx, [item for _, item in probed if item is not None]))


def _find_stacks(ctx: AwsContext) -> list[HarnessResource]:
    found: list[HarnessResource] = []
    try:
        for page in _pages(ctx.cloudformation.describe_stacks):
            for stack in page.get("Stacks") or []:
                if stack.get("StackStatus") in _STACK_GONE_STATES or stack.get("ParentId"):
                    continue  # nested stacks inherit the tags but are deleted with their root
                if any(
                    t.get("Key") == TAG_DEPLOY and t.get("Value", "").lower() == "true" for t in stack.get("Tags") or []
                ):
                    found.append(HarnessResource.from_stack(stack, region=ctx.region))
    except Exception as err:
        raise wrap(err, f"cannot list the CloudFormation stacks in {ctx.region}") from err
    return found


def _discover(ctx: AwsContext, kinds: frozenset[str]) -> list[HarnessResource]:
    queues = _find_queues(ctx) if QUEUE in kinds else {}
    rules = _find_rules(ctx) if RULE in kinds else {}
    if QUEUE in kinds and RULE in kinds:
        _join(ctx, queues, rules)
    stacks = _find_stacks(ctx) if STACK in kinds else []
    everything = [*queues.values(), *rules.values(), *stacks]
    order = {QUEUE: 1, RULE: 0, STACK: 2}
    epoch = datetime.min.replace(tzinfo=timezone.utc)
    return sorted(everything, key=lambda r: (r.created or epoch, r.id, order[r.type], r.arn))


def find_harness_resources(
    run_id: str | None = None,
    older_than: timedelta | float | str | None = None,
    expired: bool = False,
    tags: Mapping[str, str | None] | None = None,
    session: boto3.Session | None = None,
    *,
    types: Iterable[str] | None = None,
) -> list[HarnessResource]:
    """List the harness resources (listener queues and rules, test stacks) in the session's region.

    Filters combine with AND; with none, everything iatk or aws-iatk 0.1.0 made is listed. Only
    resources that carry ``iatk:TestHarness:ID`` (queues and rules named ``iatk_eb_…``) or
    ``iatk:deploy`` (root stacks) are ever returned.

    Args:
        run_id: Only resources tagged ``iatk:run-id`` = this (see ``IATK_RUN_ID``).
        older_than: Only resources created at least this long ago: a ``timedelta``, seconds, or a
            text like ``"2h"``. Uses ``iatk:TestHarness:Created``.
        expired: Only resources whose expiry has passed (``iatk:expires-at``; for aws-iatk's,
            created + :data:`LEGACY_TTL`).
        tags: Only resources with these tags; a value of None means "the key exists".
        session: The boto3 Session (default: the run's session). Its region is searched.
        types: Only these kinds: ``queue``, ``rule``, ``stack`` (or the AWS type names).

    Returns:
        The matching :class:`HarnessResource` records, oldest first, the two halves of a listener
        next to each other (rule, then queue).

    Raises:
        ConfigError: A filter is invalid (before any AWS call).
        AwsError: A listing failed (e.g. a missing permission); no partial result is returned.

    Example::

        for resource in iatk.find_harness_resources(older_than="2h"):
            print(resource.kind, resource.id, resource.run_id, resource.expires)

    IAM permissions: sqs:ListQueues, sqs:ListQueueTags, sqs:GetQueueUrl, events:ListEventBuses,
    events:ListRules, events:ListTagsForResource, events:DescribeRule, cloudformation:DescribeStacks.
    """
    chosen = _filters(run_id, older_than, expired, tags)
    kinds = _kinds(types)
    ctx = aws(session)
    now = datetime.now(timezone.utc)
    return [resource for resource in _discover(ctx, kinds) if chosen.matches(resource, now)]


# -- deletion ------------------------------------------------------------------------------------
def _not_ours(resource: HarnessResource, live_tags: Mapping[str, str]) -> str | None:
    """Why ``resource`` must not be deleted, judged on its live tags; None when it is iatk's."""
    if resource.type == STACK:
        if live_tags.get(TAG_DEPLOY, "").lower() != "true":
            return f"not a test stack: it has no {TAG_DEPLOY}=true tag"
        return None
    if resource.type not in (QUEUE, RULE):
        return f"unknown resource type {resource.type!r}"
    if TAG_ID not in live_tags:
        return f"not iatk's: it has no {TAG_ID} tag (only the name looks like a harness)"
    if live_tags[TAG_ID] != resource.id or not resource.id.startswith(HARNESS_PREFIX):
        return f"its {TAG_ID} tag ({live_tags[TAG_ID]!r}) does not match its name ({resource.id!r})"
    return None


class _Outcome:
    """Per-resource result, filled in phase by phase."""

    __slots__ = ("error", "kind", "reason")

    def __init__(self, kind: str, reason: str = "", error: IatkError | None = None) -> None:
        self.kind = kind  # ready | deleted | skipped | failed | planned | pending (a stack deleting)
        self.reason = reason
        self.error = error


_GONE = "already gone"


def _prepare_rule(ctx: AwsContext, rule: HarnessResource, dry_run: bool) -> _Outcome:
    """Check the rule's live tags, then remove its targets (the first step of the delete order)."""
    tags = _rule_tags(ctx, rule.arn)
    if tags is None:
        return _Outcome("skipped", _GONE)
    problem = _not_ours(rule, tags)
    if problem:
        return _Outcome("skipped", problem)
    if dry_run:
        return _Outcome("planned")
    bus = _bus_name(rule.bus or "default")
    try:
        ids: list[str] = []
        for page in _pages(ctx.events.list_targets_by_rule, Rule=rule.id, EventBusName=bus):
            ids += [t["Id"] for t in page.get("Targets") or []]
        for start in range(0, len(ids), 100):
            chunk = ids[start : start + 100]
            answer = _retrying(ctx.events.remove_targets, Rule=rule.id, EventBusName=bus, Ids=chunk)
            if answer.get("FailedEntryCount"):
                failed = "; ".join(f"{e.get('TargetId')}: {e.get('ErrorMessage')}" for e in answer["FailedEntries"])
                return _Outcome("failed", error=AwsError(f"cannot remove the targets of rule {rule.arn}: {failed}"))
    except Exception as err:
        if _gone(err):
            return _Outcome("skipped", _GONE)
        return _Outcome("failed", error=wrap(err, f"cannot remove the targets of rule {rule.arn}"))
    return _Outcome("ready")


def _delete_rule(ctx: AwsContext, rule: HarnessResource) -> _Outcome:
    try:
        _retrying(ctx.events.delete_rule, Name=rule.id, EventBusName=_bus_name(rule.bus or "default"))
    except Exception as err:
        if _gone(err):
            return _Outcome("skipped", _GONE)
        return _Outcome("failed", error=wrap(err, f"cannot delete rule {rule.arn}"))
    return _Outcome("deleted")


def _delete_queue(ctx: AwsContext, queue: HarnessResource, dry_run: bool) -> _Outcome:
    url = queue.url or ""
    try:
        tags = _queue_tags(ctx, url)
    except IatkError as err:
        return _Outcome("failed", error=err)
    if tags is None:
        return _Outcome("skipped", _GONE)
    problem = _not_ours(queue, tags)
    if problem:
        return _Outcome("skipped", problem)
    if dry_run:
        return _Outcome("planned")
    try:
        _retrying(ctx.sqs.delete_queue, QueueUrl=url)
    except Exception as err:
        if _gone(err):
            return _Outcome("skipped", _GONE)
        return _Outcome("failed", error=wrap(err, f"cannot delete queue {url}"))
    return _Outcome("deleted")


def _describe_stack(ctx: AwsContext, arn: str) -> dict[str, Any] | None:
    try:
        stacks = _retrying(ctx.cloudformation.describe_stacks, StackName=arn)["Stacks"]
    except Exception as err:
        if error_code(err) == "ValidationError" and "does not exist" in str(err):
            return None
        raise wrap(err, f"cannot describe stack {arn}", StackError) from err
    return dict(stacks[0]) if stacks else None


def _delete_stack(ctx: AwsContext, stack: HarnessResource, dry_run: bool) -> _Outcome:
    try:
        found = _describe_stack(ctx, stack.arn)
    except IatkError as err:
        return _Outcome("failed", error=err)
    if found is None or found.get("StackStatus") in _STACK_GONE_STATES:
        return _Outcome("skipped", _GONE)
    problem = _not_ours(stack, {t["Key"]: t["Value"] for t in found.get("Tags") or []})
    if problem:
        return _Outcome("skipped", problem)
    if found.get("ParentId"):
        return _Outcome("skipped", "a nested stack: it is deleted with its root stack")
    if found.get("StackStatus") == "DELETE_IN_PROGRESS":
        return _Outcome("skipped", "already being deleted")
    if dry_run:
        return _Outcome("planned")
    try:
        _retrying(ctx.cloudformation.delete_stack, StackName=stack.arn)
    except Exception as err:
        return _Outcome("failed", error=wrap(err, f"cannot delete stack {stack.id!r}", StackError))
    return _Outcome("pending")


def _await_stacks(ctx: AwsContext, pending: dict[HarnessResource, _Outcome], timeout: float) -> None:
    """Poll DescribeStacks until each deleting stack is gone or failed, with one deadline for all."""
    deadline = time.monotonic() + timeout
    delay = 0.05
    while True:
        for stack, outcome in pending.items():
            if outcome.kind != "pending":
                continue
            try:
                found = _describe_stack(ctx, stack.arn)
            except IatkError as err:
                outcome.kind, outcome.error = "failed", err
                continue
            status = (found or {}).get("StackStatus", "DELETE_COMPLETE")
            if status == "DELETE_COMPLETE":
                outcome.kind = "deleted"
            elif not status.endswith("_IN_PROGRESS"):
                reason = (found or {}).get("StackStatusReason") or "no reason given"
                outcome.kind = "failed"
                outcome.error = StackError(f"stack {stack.id!r} ended {status} while being deleted: {reason}")
        if all(o.kind != "pending" for o in pending.values()):
            return
        if time.monotonic() + delay > deadline:
            for stack, outcome in pending.items():
                if outcome.kind == "pending":
                    outcome.kind = "failed"
                    outcome.error = StackError(
                        f"stack {stack.id!r} was still being deleted after {timeout:.0f} s; "
                        "check it in the CloudFormation console, or run the cleanup again later"
                    )
            return
        time.sleep(delay)
        delay = min(delay * 2, 5.0)


def delete_harness_resources(
    resources: Iterable[HarnessResource],
    *,
    session: boto3.Session | None = None,
    dry_run: bool = False,
    progress: Callable[[CleanupProgress], None] | None = None,
    wait: bool = True,
    timeout: float = 900.0,
    check: bool = True,
) -> CleanupReport:
    """Delete resources found by :func:`find_harness_resources`, safely and in order.

    Order: every rule's targets, then the rules, then the queues, then the stacks. Before each
    delete the resource's live tags are read again; one without ``iatk:TestHarness:ID`` equal to its
    name (or ``iatk:deploy=true`` for a stack) is skipped, whatever its name. Something already gone
    is skipped too. Throttling is retried a few times; any other error is recorded and the rest still
    runs.

    Args:
        resources: The records to delete (from :func:`find_harness_resources`).
        session: The boto3 Session for their region (default: the run's session).
        dry_run: Check everything, delete nothing; the report's ``planned`` lists what would go.
        progress: Called after each resource with a :class:`CleanupProgress`.
        wait: Wait until stacks are deleted (else a stack counts as deleted once DeleteStack is accepted).
        timeout: Seconds to wait for stack deletions.
        check: Raise :class:`~iatk.CleanupError` when any deletion failed (else only report it).

    Returns:
        The :class:`CleanupReport`.

    Raises:
        CleanupError: With ``check``, after everything was tried, when any deletion failed; its
            ``.failures`` lists ``(arn, error)`` and ``.report`` is the report.

    IAM permissions: events:ListTagsForResource, events:ListTargetsByRule, events:RemoveTargets,
    events:DeleteRule, sqs:ListQueueTags, sqs:DeleteQueue, cloudformation:DescribeStacks,
    cloudformation:DeleteStack (plus what deleting the stack's resources needs).
    """
    items = list(dict.fromkeys(resources))  # keeps the order, drops duplicates
    ctx = aws(session)
    outcomes: dict[HarnessResource, _Outcome] = {}
    done = 0

    def settle(resource: HarnessResource, outcome: _Outcome) -> None:
        nonlocal done
        outcomes[resource] = outcome
        done += 1
        if outcome.kind == "failed":
            log.warning("cleanup: %s", outcome.error)
        if progress is not None:
            progress(CleanupProgress(done=done, total=len(items), resource=resource, outcome=outcome.kind))

    def run(
        fn: Callable[[HarnessResource], _Outcome], group: list[HarnessResource]
    ) -> Iterator[tuple[HarnessResource, _Outcome]]:
        for resource, result in _parallel(fn, group):
            if isinstance(result, BaseException):  # a bug, not an AWS error: still report it per resource
                yield resource, _Outcome("failed", error=IatkError(f"cleanup of {resource.arn} crashed: {result!r}"))
            else:
                yield resource, result

    rules = [r for r in items if r.type == RULE]
    queues = [r for r in items if r.type == QUEUE]
    stacks = [r for r in items if r.type == STACK]
    for other in [r for r in items if r.type not in (RULE, QUEUE, STACK)]:
        settle(other, _Outcome("skipped", f"unknown resource type {other.type!r}"))

    ready: list[HarnessResource] = []
    for rule, outcome in run(lambda r: _prepare_rule(ctx, r, dry_run), rules):
        if outcome.kind == "ready":
            ready.append(rule)
        else:
            settle(rule, outcome)
    for rule, outcome in run(lambda r: _delete_rule(ctx, r), ready):
        settle(rule, outcome)
    for queue, outcome in run(lambda q: _delete_queue(ctx, q, dry_run), queues):
        settle(queue, outcome)
    pending: dict[HarnessResource, _Outcome] = {}
    for stack, outcome in run(lambda s: _delete_stack(ctx, s, dry_run), stacks):
        if outcome.kind == "pending" and wait:
            pending[stack] = outcome
        else:
            settle(stack, _Outcome("deleted") if outcome.kind == "pending" else outcome)
    if pending:
        _await_stacks(ctx, pending, timeout)
        for stack, outcome in pending.items():
            settle(stack, outcome)

    ordered = [(r, outcomes[r]) for r in items]
    report = CleanupReport(
        deleted=tuple(r for r, o in ordered if o.kind == "deleted"),
        skipped=tuple(SkippedResource(r, o.reason) for r, o in ordered if o.kind == "skipped"),
        failed=tuple(
            FailedResource(r, o.error or IatkError("unknown error")) for r, o in ordered if o.kind == "failed"
        ),
        planned=tuple(r for r, o in ordered if o.kind == "planned"),
        dry_run=dry_run,
    )
    if check:
        report.raise_for_failures()
    return report


def cleanup(
    run_id: str | None = None,
    older_than: timedelta | float | str | None = None,
    expired: bool = False,
    tags: Mapping[str, str | None] | None = None,
    session: boto3.Session | None = None,
    dry_run: bool = False,
    progress: Callable[[CleanupProgress], None] | None = None,
    *,
    types: Iterable[str] | None = None,
    everything: bool = False,
    wait: bool = True,
    timeout: float = 900.0,
    check: bool = True,
) -> CleanupReport:
    """Find harness resources by their tags and delete them (listener rules and queues, test stacks).

    Filters are those of :func:`find_harness_resources` and combine with AND. At least one is
    required, unless ``everything=True``: a bare ``cleanup()`` would also remove the live listeners
    of suites running right now against the same account.

    Args:
        run_id: Only this run's resources (``iatk:run-id``).
        older_than: Only resources created at least this long ago (``timedelta``, seconds, ``"2h"``).
        expired: Only resources past their expiry.
        tags: Only resources with these tags (value None: the key exists).
        session: The boto3 Session (default: the run's session). Its region is cleaned.
        dry_run: Delete nothing; ``report.planned`` lists what would be deleted.
        progress: Called after each resource with a :class:`CleanupProgress`.
        types: Only these kinds: ``queue``, ``rule``, ``stack``.
        everything: Allow no filter at all (every harness resource in the region).
        wait: Wait for stack deletions to finish.
        timeout: Seconds to wait for stack deletions.
        check: Raise :class:`~iatk.CleanupError` when any deletion failed.

    Returns:
        The :class:`CleanupReport`: deleted, skipped (with reasons), failed (with errors).

    Raises:
        ConfigError: An invalid filter, or no filter without ``everything`` (before any AWS call).
        AwsError: Listing the resources failed.
        CleanupError: With ``check``, after everything was tried, when any deletion failed.

    Example::

        report = iatk.cleanup(older_than=timedelta(hours=2), dry_run=True)
        print(report.summary())               # would delete 6, skipped 0, failed 0

    IAM permissions: those of :func:`find_harness_resources` and :func:`delete_harness_resources`.
    """
    chosen = _filters(run_id, older_than, expired, tags)
    _kinds(types)
    if chosen.empty and not everything:
        raise ConfigError(
            "cleanup needs a filter (run_id=, older_than=, expired=True or tags=), or everything=True "
            "to remove every iatk harness resource in the region, including those of runs still going"
        )
    found = find_harness_resources(run_id, older_than, expired, tags, session, types=types)
    return delete_harness_resources(
        found, session=session, dry_run=dry_run, progress=progress, wait=wait, timeout=timeout, check=check
    )


class _CallableModule(types.ModuleType):
    """Lets ``iatk.cleanup(...)`` work whichever way the name was bound.

    The package exports the function ``cleanup`` lazily, but importing this module (as the pytest
    plugin does) binds ``iatk.cleanup`` to the *module* on the package; so the module forwards calls
    to the function.
    """

    def __call__(self, *args: Any, **kwargs: Any) -> CleanupReport:
        return cleanup(*args, **kwargs)


sys.modules[__name__].__class__ = _CallableModule
