"""A harness resource: what the cleanup finds (a listener's queue or rule, a test stack), with its tags and times."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from types import MappingProxyType
from typing import Any

from iatk._config import SPEC_BY_NAME
from iatk._tags import TAG_CREATED, TAG_EXPIRES, TAG_OWNER, TAG_RUN_ID, TAG_TARGET, parse_time

QUEUE = "AWS::SQS::Queue"
RULE = "AWS::Events::Rule"
STACK = "AWS::CloudFormation::Stack"
#: Expiry of a resource without an ``iatk:expires-at`` tag (aws-iatk 0.1.0's): created + this.
LEGACY_TTL = timedelta(seconds=float(SPEC_BY_NAME["ttl"].default))


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
        from .kinds import KIND_BY_TYPE  # the table of kinds builds on these records

        found = KIND_BY_TYPE.get(self.type)
        return found.name if found is not None else self.type

    @property
    def run_id(self) -> str | None:
        """The ``iatk:run-id`` tag: the run that made it (None for aws-iatk 0.1.0's resources)."""
        return self.tags.get(TAG_RUN_ID)

    @property
    def owner(self) -> str | None:
        """The ``iatk:owner`` tag: the run's root process, ``<host>/<pid>/<start>`` (None before iatk had it)."""
        return self.tags.get(TAG_OWNER)

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
            "owner": self.owner,
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
