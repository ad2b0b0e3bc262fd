"""Deleting harness resources: kind by kind in the table's order, in parallel, then stacks' wait; the report."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from iatk._aws import AwsContext, aws
from iatk.exceptions import CleanupError, IatkError

from .calls import parallel
from .kinds import KIND_BY_TYPE, RESOURCE_KINDS, Outcome, ResourceKind
from .resource import HarnessResource

if TYPE_CHECKING:
    import boto3

__all__ = ["CleanupProgress", "CleanupReport", "FailedResource", "SkippedResource", "delete_harness_resources"]

log = logging.getLogger("iatk.cleanup")


# -- the report ----------------------------------------------------------------------------------
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


# -- deletion ------------------------------------------------------------------------------------
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
    outcomes: dict[HarnessResource, Outcome] = {}
    done = 0

    def settle(resource: HarnessResource, outcome: Outcome) -> None:
        nonlocal done
        outcomes[resource] = outcome
        done += 1
        if outcome.state == "failed":
            log.warning("cleanup: %s", outcome.error)
        if progress is not None:
            progress(CleanupProgress(done=done, total=len(items), resource=resource, outcome=outcome.state))

    for other in [r for r in items if r.type not in KIND_BY_TYPE]:
        settle(other, Outcome("skipped", f"unknown resource type {other.type!r}"))
    for kind in sorted(RESOURCE_KINDS, key=lambda k: k.order):
        group = [r for r in items if r.type == kind.aws_type]
        _delete_kind(ctx, kind, group, settle, dry_run=dry_run, wait=wait, timeout=timeout)

    ordered = [(r, outcomes[r]) for r in items]
    report = CleanupReport(
        deleted=tuple(r for r, o in ordered if o.state == "deleted"),
        skipped=tuple(SkippedResource(r, o.reason) for r, o in ordered if o.state == "skipped"),
        failed=tuple(
            FailedResource(r, o.error or IatkError("unknown error")) for r, o in ordered if o.state == "failed"
        ),
        planned=tuple(r for r, o in ordered if o.state == "planned"),
        dry_run=dry_run,
    )
    if check:
        report.raise_for_failures()
    return report


def _delete_kind(
    ctx: AwsContext,
    kind: ResourceKind,
    group: list[HarnessResource],
    settle: Callable[[HarnessResource, Outcome], None],
    *,
    dry_run: bool,
    wait: bool,
    timeout: float,
) -> None:
    """One kind's phases: prepare all, delete the ready ones, then wait for those still deleting."""
    if kind.prepare is not None:
        prepare = kind.prepare
        ready: list[HarnessResource] = []
        for resource, outcome in _run(lambda r: prepare(ctx, r, dry_run), group):
            if outcome.state == "ready":
                ready.append(resource)
            else:
                settle(resource, outcome)
        group = ready
    pending: dict[HarnessResource, Outcome] = {}
    for resource, outcome in _run(lambda r: kind.delete(ctx, r, dry_run), group):
        if outcome.state == "pending" and wait and kind.await_pending is not None:
            pending[resource] = outcome
        else:
            settle(resource, Outcome("deleted") if outcome.state == "pending" else outcome)
    if pending and kind.await_pending is not None:
        kind.await_pending(ctx, pending, timeout)
        for resource, outcome in pending.items():
            settle(resource, outcome)


def _run(
    fn: Callable[[HarnessResource], Outcome], group: list[HarnessResource]
) -> Iterator[tuple[HarnessResource, Outcome]]:
    for resource, result in parallel(fn, group):
        if isinstance(result, BaseException):  # a bug, not an AWS error: still report it per resource
            yield resource, Outcome("failed", error=IatkError(f"cleanup of {resource.arn} crashed: {result!r}"))
        else:
            yield resource, result
