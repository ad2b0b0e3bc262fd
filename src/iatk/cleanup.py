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

The core is the private package ``iatk._harness`` (one table of resource kinds, discovery,
deletion); this module is its public face and the callable ``iatk.cleanup(...)``.
"""

from __future__ import annotations

import sys
import types
from collections.abc import Callable, Iterable, Mapping
from datetime import timedelta
from types import MappingProxyType
from typing import TYPE_CHECKING, Any

from iatk import _harness
from iatk._harness import (
    LEGACY_TTL,
    RESOURCE_KINDS,
    CleanupProgress,
    CleanupReport,
    FailedResource,
    HarnessResource,
    SkippedResource,
    chosen_kinds,
    delete_harness_resources,
    filters,
    find_harness_resources,
)
from iatk.exceptions import ConfigError

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

#: The AWS types of the kinds, module attributes as before the core moved (not in __all__).
QUEUE, RULE, STACK = _harness.QUEUE, _harness.RULE, _harness.STACK
#: Short kind → AWS resource type. ``types=`` arguments accept either form.
KINDS: Mapping[str, str] = MappingProxyType({kind.name: kind.aws_type for kind in RESOURCE_KINDS})


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
    chosen = filters(run_id, older_than, expired, tags)
    chosen_kinds(types)
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
