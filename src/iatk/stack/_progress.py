"""Progress of a stack being created or deleted: resources done of the total, and the one under way.

Read only when a caller asks for progress (``deploy_stack(progress=...)``): one ListStackResources
per poll of the stack's status, so a deploy that reports nothing makes no extra call.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from iatk._aws import AwsContext


@dataclass(frozen=True, slots=True)
class DeployProgress:
    """Passed to ``deploy_stack(progress=...)`` after each poll of the stack.

    Attributes:
        done: Resources whose create finished (``CREATE_COMPLETE``).
        total: Resources of the template (or as many as the stack lists, if more: nested templates).
        resource: The logical id of the resource under way (the latest to change), or None.
        status: The stack's status (``CREATE_IN_PROGRESS`` ... ``CREATE_COMPLETE``).
    """

    done: int
    total: int
    resource: str | None
    status: str


def progress_reader(
    ctx: AwsContext, total: int, progress: Callable[[DeployProgress], None]
) -> Callable[[Mapping[str, Any]], None]:
    """A ``wait_for_stack`` poll callback that reads the stack's resources and calls ``progress``."""

    def on_poll(description: Mapping[str, Any]) -> None:
        status = str(description.get("StackStatus", ""))
        try:
            pages = ctx.cloudformation.get_paginator("list_stack_resources").paginate(StackName=description["StackId"])
            summaries = [s for page in pages for s in page.get("StackResourceSummaries", [])]
        except Exception:  # progress is a courtesy: a failed read never fails the deploy
            summaries = []
        done = sum(1 for s in summaries if s.get("ResourceStatus") == "CREATE_COMPLETE")
        moving = [s for s in summaries if str(s.get("ResourceStatus", "")).endswith("_IN_PROGRESS")] or summaries
        latest = max(moving, key=lambda s: str(s.get("LastUpdatedTimestamp", "")), default=None)
        current = None if latest is None else latest.get("LogicalResourceId")
        progress(DeployProgress(done, max(total, len(summaries)), current, status))

    return on_poll
