"""The cleanup core behind :mod:`iatk.cleanup` (its public shim): find and delete harness resources.

- :mod:`.resource`: :class:`HarnessResource`, the record of one queue, rule or stack;
- :mod:`.kinds`: the :data:`RESOURCE_KINDS` table: per kind, how it is found, prepared, deleted, its order;
- :mod:`.find`: the filters, discovery per region, the join of a listener's two halves;
- :mod:`.delete`: deletion kind by kind (in parallel), stacks' wait, :class:`CleanupReport`;
- :mod:`.calls`: the AWS calls' throttling retries, ``NextToken`` pages and thread pool.
"""

from __future__ import annotations

from .delete import CleanupProgress, CleanupReport, FailedResource, SkippedResource, delete_harness_resources
from .find import chosen_kinds, filters, find_harness_resources
from .kinds import KIND_BY_NAME, KIND_BY_TYPE, RESOURCE_KINDS, ResourceKind
from .resource import LEGACY_TTL, QUEUE, RULE, STACK, HarnessResource

__all__ = [
    "KIND_BY_NAME",
    "KIND_BY_TYPE",
    "LEGACY_TTL",
    "QUEUE",
    "RESOURCE_KINDS",
    "RULE",
    "STACK",
    "CleanupProgress",
    "CleanupReport",
    "FailedResource",
    "HarnessResource",
    "ResourceKind",
    "SkippedResource",
    "chosen_kinds",
    "delete_harness_resources",
    "filters",
    "find_harness_resources",
]
