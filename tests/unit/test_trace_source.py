"""The TraceSource seam: a fake source in the test drives get_trace_tree's loop to the X-Ray path's tree.

The fake reads the recorded BatchGetTraces responses in tests/unit/data/traces and parses them
itself, so the shared parts (assembly, waiting, messages) are what is compared.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.stub import Stubber

from iatk._aws import aws
from iatk.exceptions import AwsError, TraceIncomplete, WaitTimeout
from iatk.testing import FakeClock
from iatk.trace import TraceHeader, TraceTree, get_trace_tree
from iatk.trace._get import read_trace_tree
from iatk.trace._source import Fetched, RawTrace, TraceSource

DATA = Path(__file__).parent / "data" / "traces"


def load(name: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((DATA / f"{name}.json").read_text())
    return data


class RecordedSource:
    """A TraceSource over saved responses: answers "not ready" ``not_yet`` times, then what it has."""

    name = "Recorded"

    def __init__(self, response: dict[str, Any], *, not_yet: int = 0, throttled: int = 0) -> None:
        self.items = {str(item["Id"]): item for item in response["Traces"]}
        self.not_yet = not_yet
        self.throttled = throttled
        self.calls: list[list[str]] = []

    def fetch(self, ids: Sequence[str]) -> Fetched:
        self.calls.append(list(ids))
        if self.throttled:
            self.throttled -= 1
            raise AwsError("reading a recorded trace: ThrottlingException: slow down", code="ThrottlingException")
        if self.not_yet:
            self.not_yet -= 1
            return {}, set(ids)
        found = {
            i: RawTrace(
                i,
                self.items[i].get("Duration"),
                bool(self.items[i].get("LimitExceeded")),
                [json.loads(segment["Document"]) for segment in self.items[i]["Segments"]],
            )
            for i in ids
            if i in self.items
        }
        return found, {i for i in ids if i not in found}

    def describe_requests(self, *, region: bool = False) -> str:
        return f"{len(self.calls)} recorded reads" + (" from memory" if region else "")

    def hint(self, header: TraceHeader) -> str:
        return f"(the recording has no more of {header.root})"


@pytest.fixture(scope="module")
def session() -> boto3.Session:
    return boto3.Session(aws_access_key_id="x", aws_secret_access_key="x", region_name="us-east-1")


@pytest.fixture
def stubber(session: boto3.Session) -> Iterator[Stubber]:
    with Stubber(aws(session).xray) as stub:
        yield stub


def test_the_fake_is_a_trace_source() -> None:
    """The fake has every member of the protocol (mypy checks the assignment; this runs it)."""
    source: TraceSource = RecordedSource(load("two_roots"))
    assert source.name == "Recorded"


def snapshot(tree: TraceTree) -> tuple[Any, ...]:
    """Everything a tree holds: equality alone compares segments by id."""
    return (
        tree,
        tree.render(subsegments=True),
        [s.document for s in tree.segments],
        [[sub.document for sub in s.all_subsegments()] for s in tree.segments],
        [(t.id, t.duration, t.limit_exceeded, t.documents) for t in (tree.source_trace, *tree.linked_traces)],
        tree.linked_trace_limit_exceeded,
    )


@pytest.mark.parametrize(
    ("name", "trace_id", "follow_links"),
    [
        ("sfn_lambda_events", None, False),
        ("separate_subsegments", None, False),
        ("sdk_streamed", None, False),
        ("two_roots", None, False),
        ("linked", "1-6553f500-111111111111111111111111", True),
        ("linked_chain", "1-6553f600-000000000000000000000000", True),
    ],
)
def test_a_fake_source_gives_the_same_tree_as_xray(
    session: boto3.Session, stubber: Stubber, name: str, trace_id: str | None, follow_links: bool
) -> None:
    """The same documents through the fake and through BatchGetTraces: the same tree, the same requests."""
    response = load(name)
    trace_id = trace_id or response["Traces"][0]["Id"]
    fake = RecordedSource(response)
    clock = FakeClock()
    faked = read_trace_tree(trace_id, 10, None, follow_links, None, clock=clock, sleep=clock.sleep, source=fake)
    items = {item["Id"]: item for item in response["Traces"]}
    for ids in fake.calls:  # the X-Ray path must ask for the same ids, level by level
        stubber.add_response("batch_get_traces", {"Traces": [items[i] for i in ids]}, {"TraceIds": ids})
    clock = FakeClock()
    read = get_trace_tree(
        trace_id, within=10, follow_links=follow_links, session=session, clock=clock, sleep=clock.sleep
    )
    stubber.assert_no_pending_responses()
    assert snapshot(faked) == snapshot(read)
    assert snapshot(faked) == snapshot(TraceTree.from_api(response, trace_id, follow_links=follow_links))


def test_not_yet_from_a_source_is_retried_with_the_same_backoff() -> None:
    """A source answering "not ready" twice is asked again after each backoff sleep."""
    fake = RecordedSource(load("two_roots"), not_yet=2)
    clock = FakeClock()
    tree = read_trace_tree(
        "1-6553f700-cafecafecafecafecafecafe", 30, None, False, None, clock=clock, sleep=clock.sleep, source=fake
    )
    assert len(tree.roots) == 2
    assert len(fake.calls) == 3
    assert len(clock.sleeps) == 2
    assert 0.15 <= clock.sleeps[0] <= 0.25


def test_a_throttled_source_is_retried() -> None:
    """An AwsError with a throttling code from any source means "not yet", as for X-Ray."""
    fake = RecordedSource(load("two_roots"), throttled=1)
    clock = FakeClock()
    tree = read_trace_tree(
        "1-6553f700-cafecafecafecafecafecafe", 30, None, False, None, clock=clock, sleep=clock.sleep, source=fake
    )
    assert len(tree.roots) == 2
    assert len(fake.calls) == 2


def test_the_messages_take_the_sources_words() -> None:
    """Not found: the source's request count and hint; until never holding: the source's name."""
    missing = "1-6553ffff-000000000000000000000000"
    fake = RecordedSource(load("two_roots"))
    clock = FakeClock()
    with pytest.raises(TraceIncomplete) as caught:
        read_trace_tree(missing, 2, None, False, None, clock=clock, sleep=clock.sleep, source=fake)
    reads = len(fake.calls)
    assert str(caught.value).startswith(
        f"trace {missing} not found after 2.0 s ({reads} recorded reads from memory)\n"
        "Read from Recorded.\n"
        f"(the recording has no more of {missing})"
    )
    clock = FakeClock()
    with pytest.raises(WaitTimeout) as timed_out:
        read_trace_tree(
            "1-6553f700-cafecafecafecafecafecafe",
            1,
            lambda t: len(t.roots) > 5,
            False,
            None,
            clock=clock,
            sleep=clock.sleep,
            source=fake,
        )
    message = str(timed_out.value)
    assert "Recorded trace 1-6553f700-cafecafecafecafecafecafe to satisfy <lambda>" in message
    assert "recorded reads; last reason: <lambda> returned False" in message
    assert isinstance(timed_out.value.last, TraceTree)
