"""Stack.physical_id's first look-up: DescribeStacks and ListStackResources at once, status still checked.

Overlap is shown at the AWS boundary without timing anything: each call's ``before-call`` hook says it
has started and waits (up to 5 s) for the other to start too. Made one after the other, the first
would wait in vain, and the test sees it.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from typing import Any

import pytest

import iatk
from iatk._aws import aws
from iatk.exceptions import StackNotReady
from iatk.testing import answer_call


@pytest.fixture(scope="module")
def app(moto_session: Any, data_dir: Any) -> iatk.Stack:
    return iatk.deploy_stack(data_dir / "templates" / "app.yaml", "lookup-tests", {"Stage": "lk"}, session=moto_session)


@pytest.fixture
def overlap(moto_session: Any) -> Iterator[dict[str, bool]]:
    """Whether DescribeStacks and ListStackResources were in flight at the same time (per call)."""
    client = aws(moto_session).cloudformation
    started = {"DescribeStacks": threading.Event(), "ListStackResources": threading.Event()}
    saw_other: dict[str, bool] = {}
    hooks = []
    for mine, other in (("DescribeStacks", "ListStackResources"), ("ListStackResources", "DescribeStacks")):

        def hook(mine: str = mine, other: str = other, **_: Any) -> None:
            started[mine].set()
            saw_other.setdefault(mine, started[other].wait(timeout=5))

        event = f"before-call.cloudformation.{mine}"
        client.meta.events.register(event, hook)
        hooks.append((event, hook))
    yield saw_other
    for event, hook in hooks:
        client.meta.events.unregister(event, hook)


def test_first_physical_id_reads_status_and_resources_at_once(app: iatk.Stack, moto_session: Any, overlap: Any) -> None:
    fresh = iatk.Stack("lookup-tests", session=moto_session)
    assert fresh.physical_id("Workflow") == app.output("WorkflowArn")
    assert overlap == {"DescribeStacks": True, "ListStackResources": True}


def test_later_look_ups_make_no_call(app: iatk.Stack, moto_session: Any) -> None:
    fresh = iatk.Stack("lookup-tests", session=moto_session)
    fresh.physical_id("Workflow")
    calls: list[str] = []
    client = aws(moto_session).cloudformation
    record = lambda model, **_: calls.append(model.name)  # noqa: E731
    client.meta.events.register("before-call.cloudformation", record)
    try:
        fresh.physical_id("Inbox")
    finally:
        client.meta.events.unregister("before-call.cloudformation", record)
    assert calls == []


def test_the_status_check_still_holds(app: iatk.Stack, moto_session: Any) -> None:
    """A stack still updating is refused, although its resource list was read at the same time."""
    described = {
        "Stacks": [
            {
                "StackName": "lookup-tests",
                "StackId": app.arn,
                "StackStatus": "UPDATE_IN_PROGRESS",
                "CreationTime": "2024-01-01T00:00:00Z",
            }
        ]
    }
    fresh = iatk.Stack("lookup-tests", session=moto_session)
    with answer_call(moto_session, "cloudformation", "DescribeStacks", described), pytest.raises(StackNotReady):
        fresh.physical_id("Workflow")
    fresh.refresh()
    assert fresh.physical_id("Workflow") == app.output("WorkflowArn")
