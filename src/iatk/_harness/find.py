"""Finding harness resources: the filters, discovery per region through the kinds' table, the join.

How resources are found is documented in :mod:`iatk.cleanup`; each kind's listing is in
:mod:`.kinds`. Here: which kinds, the filters on the records, and the join of a listener's two
halves (a listing that lags still finds both; a half whose partner is really gone is found alone).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from types import MappingProxyType
from typing import TYPE_CHECKING

from iatk._aws import AwsContext, aws
from iatk._config import parse_duration
from iatk.exceptions import ConfigError

from .calls import parallel, raise_first
from .kinds import KIND_BY_NAME, KIND_BY_TYPE, RESOURCE_KINDS, ResourceKind
from .resource import HarnessResource

if TYPE_CHECKING:
    import boto3

__all__ = ["Filters", "chosen_kinds", "discover", "filters", "find_harness_resources"]


@dataclass(frozen=True)
class Filters:
    """The filters of a find or a cleanup; they combine with AND."""

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


def filters(run_id: object, older_than: object, expired: object, tags: object) -> Filters:
    """Check and build the filters (``ConfigError`` before any AWS call)."""
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
    return Filters(chosen_run, seconds, bool(expired), MappingProxyType(clean))


def chosen_kinds(types: Iterable[str] | None) -> frozenset[str]:
    """The AWS types ``types`` names (short names or AWS type names); None: every kind."""
    if types is None:
        return frozenset(KIND_BY_TYPE)
    chosen: set[str] = set()
    for name in [types] if isinstance(types, str) else types:
        kind = KIND_BY_NAME.get(name) or KIND_BY_TYPE.get(name)
        if kind is None:
            raise ConfigError(
                f"unknown resource type {name!r}; use {', '.join(KIND_BY_NAME)} (or {', '.join(KIND_BY_TYPE)})"
            )
        chosen.add(kind.aws_type)
    return frozenset(chosen)


def _join(
    ctx: AwsContext,
    first: ResourceKind,
    firsts: dict[str, HarnessResource],
    second: ResourceKind,
    seconds: dict[str, HarnessResource],
) -> None:
    """Probe for each half of a harness the listings did not show (they may lag), from its partner."""
    second_ids = {resource.id for resource in seconds.values()}
    first_ids = {resource.id for resource in firsts.values()}
    by_id: dict[str, HarnessResource] = {}
    for resource in seconds.values():
        by_id.setdefault(resource.id, resource)
    _probe_into(ctx, first, [by_id[i] for i in sorted(second_ids - first_ids)], firsts)
    _probe_into(ctx, second, [r for r in firsts.values() if r.id not in second_ids], seconds)


def _probe_into(
    ctx: AwsContext, kind: ResourceKind, partners: list[HarnessResource], found: dict[str, HarnessResource]
) -> None:
    probe = kind.probe
    if probe is None:
        return
    for _, resource in raise_first(parallel(lambda partner: probe(ctx, partner), partners)):
        if resource is not None:
            found[resource.arn] = resource


def discover(ctx: AwsContext, kinds: frozenset[str]) -> list[HarnessResource]:
    """Every resource of ``kinds`` (AWS types) in the context's region: oldest first, a harness's halves together."""
    found: dict[str, dict[str, HarnessResource]] = {}
    for kind in RESOURCE_KINDS:
        if kind.aws_type not in kinds:
            continue
        found[kind.name] = {resource.arn: resource for resource in kind.find(ctx)}
        partner = KIND_BY_NAME.get(kind.partner) if kind.partner else None
        if partner is not None and partner.name in found:  # both halves listed: join them
            _join(ctx, partner, found[partner.name], kind, found[kind.name])
    everything = [resource for of_kind in found.values() for resource in of_kind.values()]
    epoch = datetime.min.replace(tzinfo=timezone.utc)
    return sorted(everything, key=lambda r: (r.created or epoch, r.id, KIND_BY_TYPE[r.type].order, r.arn))


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
    chosen = filters(run_id, older_than, expired, tags)
    kinds = chosen_kinds(types)
    ctx = aws(session)
    now = datetime.now(timezone.utc)
    return [resource for resource in discover(ctx, kinds) if chosen.matches(resource, now)]
