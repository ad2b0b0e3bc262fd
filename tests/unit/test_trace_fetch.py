"""get_trace_tree's retrieval loop: BatchGetTraces stubbed at the AWS boundary, time on a fake clock."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.stub import Stubber

from iatk._aws import aws
from iatk.exceptions import AwsError, ConfigError, TraceError, TraceIncomplete, WaitTimeout
from iatk.testing import FakeClock
from iatk.trace import TraceHelper, TraceTree, get_trace_tree, new_trace_header

DATA = Path(__file__).parent / "data" / "traces"
ORPHAN = "1-6553f300-aaaabbbbccccddddeeeeffff"
UNKNOWN = "1-6553ffff-000000000000000000000000"


def load(name: str) -> dict[str, Any]:
    return json.loads((DATA / f"{name}.json").read_text())


@pytest.fixture(scope="module")
def session() -> boto3.Session:
    """One session (and one cached X-Ray client) for the module: client creation is the slow part."""
    return boto3.Session(aws_access_key_id="x", aws_secret_access_key="x", region_name="us-east-1")


@pytest.fixture
def stubber(session) -> Iterator[Stubber]:
    with Stubber(aws(session).xray) as stub:
        yield stub


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


def not_found(*ids: str) -> dict[str, Any]:
    return {"Traces": [], "UnprocessedTraceIds": list(ids)}


def test_unknown_trace_raises_trace_incomplete_at_the_deadline(session, stubber, clock):
    """An id that stays in UnprocessedTraceIds ends in TraceIncomplete after `within`, with few requests."""
    for _ in range(40):
        stubber.add_response("batch_get_traces", not_found(UNKNOWN), {"TraceIds": [UNKNOWN]})
    with pytest.raises(TraceIncomplete) as caught:
        get_trace_tree(UNKNOWN, within=5, session=session, clock=clock, sleep=clock.sleep)
    requests = len(clock.sleeps) + 1
    message = str(caught.value)
    assert f"trace {UNKNOWN} not found after 5.0 s ({requests} requests to xray:BatchGetTraces in us-east-1)" in message
    assert "raise within=" in message
    assert clock.now - 1000.0 == pytest.approx(5.0)  # slept exactly up to the deadline, never past it
    assert 4 <= requests <= 10


def test_backoff_grows_and_is_capped(session, stubber, clock):
    """Sleeps start near 0.2 s, double, and never exceed the 2 s cap (+25 % jitter)."""
    for _ in range(80):
        stubber.add_response("batch_get_traces", not_found(UNKNOWN))
    with pytest.raises(TraceIncomplete):
        get_trace_tree(UNKNOWN, within=60, session=session, clock=clock, sleep=clock.sleep)
    assert 0.15 <= clock.sleeps[0] <= 0.25
    assert clock.sleeps[1] > clock.sleeps[0]
    assert max(clock.sleeps) <= 2.5
    assert 25 <= len(clock.sleeps) + 1 <= 45


def test_an_orphan_parent_is_retried_until_it_arrives(session, stubber, clock):
    """A missing parent is "not ready": the next response with the parent gives the full tree."""
    stubber.add_response("batch_get_traces", load("orphan_parent"), {"TraceIds": [ORPHAN]})
    stubber.add_response("batch_get_traces", load("orphan_parent"), {"TraceIds": [ORPHAN]})
    stubber.add_response("batch_get_traces", load("orphan_parent_complete"), {"TraceIds": [ORPHAN]})
    tree = get_trace_tree(ORPHAN, within=30, session=session, clock=clock, sleep=clock.sleep)
    assert [[s.origin for s in p] for p in tree.paths] == [
        ["AWS::StepFunctions::StateMachine", "AWS::Lambda", "AWS::Lambda::Function"]
    ]
    assert len(clock.sleeps) == 2
    stubber.assert_no_pending_responses()


def test_an_orphan_that_never_resolves_is_reported_with_what_is_there(session, stubber, clock):
    """At the deadline TraceIncomplete names the segment, its missing parent, and renders what arrived."""
    for _ in range(40):
        stubber.add_response("batch_get_traces", load("orphan_parent"))
    with pytest.raises(TraceIncomplete) as caught:
        get_trace_tree(ORPHAN, within=3, session=session, clock=clock, sleep=clock.sleep)
    message = str(caught.value)
    assert f"trace {ORPHAN} incomplete after 3.0 s ({len(clock.sleeps) + 1} requests to xray:BatchGetTraces" in message
    assert "segment 7000000000000003 (AWS::Lambda::Function charge)'s parent 6000000000000002 not found" in message
    assert "have:\ntrace 1-6553f300-aaaabbbbccccddddeeeeffff  (2 segments, 0.900 s)" in message


def test_an_in_progress_segment_is_retried(session, stubber, clock):
    """A segment still in progress means "not ready"; the finished copy ends the wait."""
    stubber.add_response("batch_get_traces", load("in_progress"))
    stubber.add_response("batch_get_traces", load("in_progress_done"))
    tree = get_trace_tree(
        "1-6553f400-0f0e0d0c0b0a090807060504", within=10, session=session, clock=clock, sleep=clock.sleep
    )
    assert not tree.find(origin="AWS::Lambda::Function")[0].in_progress
    assert len(clock.sleeps) == 1


def test_pages_are_joined(session, stubber, clock):
    """Segments split over NextToken pages are read as one trace, in one attempt."""
    response = load("sfn_lambda_events")
    trace = response["Traces"][0]
    first = {"Traces": [dict(trace, Segments=trace["Segments"][:2])], "NextToken": "page-2"}
    second = {"Traces": [dict(trace, Segments=trace["Segments"][2:])]}
    trace_id = trace["Id"]
    stubber.add_response("batch_get_traces", first, {"TraceIds": [trace_id]})
    stubber.add_response("batch_get_traces", second, {"TraceIds": [trace_id], "NextToken": "page-2"})
    tree = get_trace_tree(trace_id, session=session, clock=clock, sleep=clock.sleep)
    assert len(tree.segments) == 5
    assert clock.sleeps == []
    stubber.assert_no_pending_responses()


def test_a_repeated_next_token_is_an_error_not_a_loop(session, stubber, clock):
    """A server that returns the same NextToken forever is reported, not followed forever."""
    trace = load("two_roots")["Traces"][0]
    stubber.add_response("batch_get_traces", {"Traces": [trace], "NextToken": "same"})
    stubber.add_response("batch_get_traces", {"Traces": [], "NextToken": "same"})
    with pytest.raises(TraceError, match="same NextToken twice"):
        get_trace_tree(trace["Id"], session=session, clock=clock, sleep=clock.sleep)


def test_access_denied_surfaces_at_once(session, stubber, clock):
    """A real error is not retried: AwsError with the AWS code, raised on the first request."""
    stubber.add_client_error("batch_get_traces", "AccessDeniedException", "not authorized to xray:BatchGetTraces", 403)
    with pytest.raises(AwsError) as caught:
        get_trace_tree(UNKNOWN, within=30, session=session, clock=clock, sleep=clock.sleep)
    assert caught.value.code == "AccessDeniedException"
    assert "xray:BatchGetTraces" in str(caught.value)
    assert caught.value.__cause__ is not None
    assert clock.sleeps == []


def test_throttling_is_retried(session, stubber, clock):
    """ThrottlingException counts as "not yet" and the next answer is used."""
    stubber.add_client_error("batch_get_traces", "ThrottlingException", "Rate exceeded", 429)
    stubber.add_response("batch_get_traces", load("two_roots"))
    tree = get_trace_tree("1-6553f700-cafecafecafecafecafecafe", session=session, clock=clock, sleep=clock.sleep)
    assert len(tree.roots) == 2
    assert len(clock.sleeps) == 1


def test_a_bad_header_fails_before_any_call(session, stubber, clock):
    """An unreadable trace id is a TraceError and no request is made (the stubber has none queued)."""
    with pytest.raises(TraceError, match="has no '='|not an X-Ray trace id"):
        get_trace_tree("Root", session=session, clock=clock, sleep=clock.sleep)
    with pytest.raises(ConfigError):
        get_trace_tree(UNKNOWN, within=-1, session=session, clock=clock, sleep=clock.sleep)
    with pytest.raises(ConfigError):
        get_trace_tree(UNKNOWN, until="paths", session=session)  # type: ignore[arg-type]


def test_header_strings_and_responses_are_accepted(session, stubber, clock):
    """A lowercase header, or a DescribeExecution-like response, gives the same trace id on the wire."""
    trace_id = "1-6553f700-cafecafecafecafecafecafe"
    for _ in range(3):
        stubber.add_response("batch_get_traces", load("two_roots"), {"TraceIds": [trace_id]})
    get_trace_tree(f"root={trace_id};parent=53995c3f42cd8ad8;sampled=1", session=session)
    get_trace_tree({"traceHeader": f"Root={trace_id};Sampled=1"}, session=session)
    lambda_response = {"ResponseMetadata": {"HTTPHeaders": {"x-amzn-trace-id": f"root={trace_id};sampled=1"}}}
    get_trace_tree(lambda_response, session=session)
    stubber.assert_no_pending_responses()
    with pytest.raises(TraceError, match="no trace header in that response"):
        get_trace_tree({"executionArn": "arn:..."}, session=session)


def test_until_waits_for_the_tree_to_grow(session, stubber, clock):
    """until= with an assert-style function retries while it raises AssertionError."""
    grown = load("orphan_parent_complete")
    events = {
        "id": "7100000000000004",
        "trace_id": ORPHAN,
        "parent_id": "7000000000000003",
        "name": "Events",
        "origin": "AWS::Events",
        "start_time": 1700000512.2,
        "end_time": 1700000512.3,
    }
    grown["Traces"][0]["Segments"].append({"Id": events["id"], "Document": json.dumps(events)})
    stubber.add_response("batch_get_traces", load("orphan_parent_complete"))
    stubber.add_response("batch_get_traces", load("orphan_parent_complete"))
    stubber.add_response("batch_get_traces", grown)

    def reaches_events(tree: TraceTree) -> None:
        assert tree.find(origin="AWS::Events"), "no EventBridge segment yet"

    tree = get_trace_tree(ORPHAN, until=reaches_events, session=session, clock=clock, sleep=clock.sleep)
    assert [s.origin for s in tree.paths[0]][-1] == "AWS::Events"
    assert len(clock.sleeps) == 2


def test_until_predicate_false_then_true(session, stubber, clock):
    """A predicate returning a falsy value means "not yet"; a truthy one ends the wait."""
    stubber.add_response("batch_get_traces", load("two_roots"))
    stubber.add_response("batch_get_traces", load("two_roots"))
    calls = []

    def second_time(tree: TraceTree) -> int:
        calls.append(tree)
        return len(calls) - 1

    get_trace_tree(
        "1-6553f700-cafecafecafecafecafecafe", until=second_time, session=session, clock=clock, sleep=clock.sleep
    )
    assert len(calls) == 2


def test_until_that_never_holds_raises_wait_timeout_with_the_last_tree(session, stubber, clock):
    """WaitTimeout carries the last reason, the rendered tree, and the tree itself in .last."""
    for _ in range(40):
        stubber.add_response("batch_get_traces", load("two_roots"))
    with pytest.raises(WaitTimeout) as caught:
        get_trace_tree(
            "1-6553f700-cafecafecafecafecafecafe",
            within=4,
            until=lambda t: t.assert_path(["AWS::StepFunctions::StateMachine", "AWS::SQS"]),
            session=session,
            clock=clock,
            sleep=clock.sleep,
        )
    error = caught.value
    message = str(error)
    assert "timed out waiting for X-Ray trace 1-6553f700-cafecafecafecafecafecafe to satisfy <lambda>" in message
    assert "last reason: no path of trace" in message
    assert "last tree:\ntrace 1-6553f700-cafecafecafecafecafecafe  (3 segments, 1.000 s)" in message
    # assert_path's message holds the tree too: it is rendered once, after "last tree:"
    assert message.count("trace 1-6553f700-cafecafecafecafecafecafe  (3 segments") == 1
    assert f"last tree:\n{error.last.render()}" in message
    assert isinstance(error.last, TraceTree)
    assert error.timeout == 4
    assert error.attempts == len(clock.sleeps) + 1


def test_a_lambda_returning_none_means_not_yet(session, stubber, clock):
    """A lambda's None (``next(iter(find()), None)`` finding nothing) is "not yet": WaitTimeout, not a pass."""
    for _ in range(40):
        stubber.add_response("batch_get_traces", load("two_roots"))
    with pytest.raises(WaitTimeout) as caught:
        get_trace_tree(
            "1-6553f700-cafecafecafecafecafecafe",
            within=3,
            until=lambda t: next(iter(t.find(name="nope")), None),
            session=session,
            clock=clock,
            sleep=clock.sleep,
        )
    assert "the lambda returned None, which means not yet" in str(caught.value)
    assert "write a def or end the lambda with `or True`" in str(caught.value)
    assert caught.value.attempts > 1


def test_a_lambda_returning_the_found_segment_ends_the_wait(session, stubber, clock):
    """The same lambda ends the wait once it returns a segment (a truthy value)."""
    stubber.add_response("batch_get_traces", load("two_roots"))
    tree = get_trace_tree(
        "1-6553f700-cafecafecafecafecafecafe",
        until=lambda t: next(iter(t.segments), None),
        session=session,
        clock=clock,
        sleep=clock.sleep,
    )
    assert clock.sleeps == []
    assert len(tree.roots) == 2


def test_a_def_returning_none_holds(session, stubber, clock):
    """An assert-style def that raises nothing falls off its end with None: that means "holds"."""
    stubber.add_response("batch_get_traces", load("two_roots"))
    checked: list[TraceTree] = []

    def has_two_roots(tree: TraceTree) -> None:
        checked.append(tree)
        assert len(tree.roots) == 2

    tree = get_trace_tree(
        "1-6553f700-cafecafecafecafecafecafe", until=has_two_roots, session=session, clock=clock, sleep=clock.sleep
    )
    assert checked == [tree]
    assert clock.sleeps == []


def test_a_def_returning_false_is_not_yet(session, stubber, clock):
    """A def's falsy result other than None (False, 0, []) is "not yet", and the reason names the function."""
    for _ in range(40):
        stubber.add_response("batch_get_traces", load("two_roots"))

    def has_ten_roots(tree: TraceTree) -> bool:
        return len(tree.roots) == 10

    with pytest.raises(WaitTimeout, match="last reason: has_ten_roots returned False"):
        get_trace_tree(
            "1-6553f700-cafecafecafecafecafecafe",
            within=3,
            until=has_ten_roots,
            session=session,
            clock=clock,
            sleep=clock.sleep,
        )


def test_until_errors_other_than_assertion_propagate(session, stubber, clock):
    """A bug in the condition (here a KeyError) is raised at once, not retried for the whole deadline."""
    stubber.add_response("batch_get_traces", load("two_roots"))
    with pytest.raises(KeyError):
        get_trace_tree(
            "1-6553f700-cafecafecafecafecafecafe",
            until=lambda t: {}["x"],
            session=session,
            clock=clock,
            sleep=clock.sleep,
        )
    assert clock.sleeps == []


def test_follow_links_fetches_linked_traces_level_by_level(session, stubber, clock):
    """Linked traces are read with BatchGetTraces, one request per level, and attached."""
    traces = {t["Id"]: t for t in load("linked")["Traces"]}
    source, consumer, audit = list(traces)
    stubber.add_response("batch_get_traces", {"Traces": [traces[source]]}, {"TraceIds": [source]})
    stubber.add_response("batch_get_traces", {"Traces": [traces[consumer]]}, {"TraceIds": [consumer]})
    stubber.add_response("batch_get_traces", {"Traces": [traces[audit]]}, {"TraceIds": [audit]})
    tree = get_trace_tree(source, follow_links=True, session=session, clock=clock, sleep=clock.sleep)
    assert [s.name for s in tree.paths[0]] == ["producer", "producer", "consumer", "consumer", "audit"]
    stubber.assert_no_pending_responses()


def test_follow_links_batches_five_ids_per_request(session, stubber, clock):
    """More than five linked traces at one level are fetched in batches of five (the API's limit)."""
    ids = [f"1-6553f8{n:02x}-{n:024x}" for n in range(7)]
    child = {"aws.xray.reserved.reference_type": "child"}
    root_doc = {
        "id": "f000000000000000",
        "trace_id": ids[0],
        "name": "fan-out",
        "origin": "AWS::Lambda",
        "start_time": 1.0,
        "end_time": 2.0,
        "links": [{"trace_id": i, "id": f"f{n:015x}", "attributes": child} for n, i in enumerate(ids[1:], 1)],
    }

    def trace(n: int, doc: dict[str, Any]) -> dict[str, Any]:
        return {"Id": ids[n], "Duration": 1.0, "Segments": [{"Id": doc["id"], "Document": json.dumps(doc)}]}

    leaves = [
        trace(
            n, {"id": f"f{n:015x}", "trace_id": ids[n], "name": f"leaf-{n}", "start_time": 2.0 + n, "end_time": 3.0 + n}
        )
        for n in range(1, 7)
    ]
    stubber.add_response("batch_get_traces", {"Traces": [trace(0, root_doc)]}, {"TraceIds": [ids[0]]})
    stubber.add_response("batch_get_traces", {"Traces": leaves[:5]}, {"TraceIds": ids[1:6]})
    stubber.add_response("batch_get_traces", {"Traces": leaves[5:]}, {"TraceIds": ids[6:]})
    tree = get_trace_tree(ids[0], follow_links=True, session=session, clock=clock, sleep=clock.sleep)
    assert [p[-1].name for p in tree.paths] == [f"leaf-{n}" for n in range(1, 7)]
    stubber.assert_no_pending_responses()


def test_trace_helper_keeps_the_last_tree_and_report(session, stubber, clock):
    """TraceHelper reads the current header's trace and remembers the tree (or the failure) for reports."""
    helper = TraceHelper(session=session, within=0)
    with pytest.raises(ConfigError, match="no trace yet"):
        helper.get_tree()
    helper.header = new_trace_header()
    stubber.add_response("batch_get_traces", not_found(helper.header.root), {"TraceIds": [helper.header.root]})
    with pytest.raises(TraceIncomplete):
        helper.get_tree()
    assert helper.last_tree is None
    assert "not found" in (helper.report() or "")
    stubber.add_response("batch_get_traces", load("two_roots"))
    tree = helper.get_tree("1-6553f700-cafecafecafecafecafecafe")
    assert helper.last_tree is tree
    assert helper.report() == tree.render()
