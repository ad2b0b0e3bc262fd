"""Trace trees built from recorded BatchGetTraces responses (tests/unit/data/traces), no AWS call."""

from __future__ import annotations

import json
import random
from pathlib import Path
from typing import Any

import pytest

from iatk.exceptions import ConfigError, TraceError, TraceIncomplete
from iatk.trace import MAX_LINK_DEPTH, Segment, Subsegment, TraceTree

DATA = Path(__file__).parent / "data" / "traces"

SFN = "AWS::StepFunctions::StateMachine"
LAMBDA = "AWS::Lambda"
FUNCTION = "AWS::Lambda::Function"


def load(name: str) -> dict[str, Any]:
    return json.loads((DATA / f"{name}.json").read_text())


def origins(tree: TraceTree) -> list[list[str | None]]:
    return [[s.origin for s in path] for path in tree.paths]


def shuffled(response: dict[str, Any], seed: int) -> dict[str, Any]:
    rng = random.Random(seed)
    traces = [dict(t, Segments=rng.sample(t["Segments"], len(t["Segments"]))) for t in response["Traces"]]
    return {"Traces": rng.sample(traces, len(traces))}


# ---- structure -------------------------------------------------------------------------------


def test_child_segment_under_a_nested_subsegment_goes_under_its_segment():
    """A segment whose parent is a subsegment (at any depth) becomes a child of the segment holding it."""
    tree = TraceTree.from_api(load("sfn_lambda_events"))
    assert origins(tree) == [
        [SFN, LAMBDA, FUNCTION, "AWS::Events"],
        [SFN, "AWS::SNS"],
    ]
    function = tree.find(origin=FUNCTION)[0]
    assert [c.id for c in function.children] == ["d1b2c3d4e5f60004"]  # parent is 3 subsegments deep


def test_nested_subsegments_are_kept_recursively_in_start_order():
    """Subsegments nest as Subsegment objects, each level ordered by (start time, id)."""
    tree = TraceTree.from_api(load("sfn_lambda_events"))
    function = tree.find(origin=FUNCTION)[0]
    assert [s.name for s in function.subsegments] == ["Initialization", "Invocation", "Overhead"]
    invocation = function.subsegments[1]
    handler = invocation.subsegments[0]
    events = handler.subsegments[0]
    assert isinstance(events, Subsegment)
    assert (handler.name, events.name, events.namespace) == ("## handler", "Events", "aws")
    assert events.aws["operation"] == "PutEvents"
    assert events.duration == pytest.approx(0.3)
    assert [s.name for s in function.all_subsegments()] == [
        "Initialization",
        "Invocation",
        "## handler",
        "Events",
        "Overhead",
    ]


def test_segment_fields_come_from_the_document():
    """Segment exposes origin, times, duration, flags, http, annotations, metadata, aws and inferred."""
    tree = TraceTree.from_api(load("sfn_lambda_events"))
    function = tree.find(origin=FUNCTION)[0]
    assert function.trace_id == "1-6553f100-3c8f1e2d4b5a69788796a5b4"
    assert function.parent_id == "b1b2c3d4e5f60002"
    assert function.duration == pytest.approx(1.59)
    assert function.annotations == {"order_id": "o-123"}
    assert function.metadata == {"default": {"items": 3}}
    assert function.aws["account_id"] == "123456789012"
    assert function.service == {"runtime": "python3.12"}
    assert (function.error, function.fault, function.throttle, function.in_progress) == (False,) * 4
    sns = tree.find(origin="AWS::SNS")[0]
    assert sns.inferred
    assert sns.http_status == 200
    assert tree.find(origin=LAMBDA)[0].resource_arn.endswith(":function:process-order")


def test_separate_subsegment_documents_are_merged_into_their_parents():
    """Streamed "type": "subsegment" documents (even nested in each other) join their parent's subsegments."""
    tree = TraceTree.from_api(load("separate_subsegments"))
    assert origins(tree) == [["AWS::ApiGateway::Stage", LAMBDA, FUNCTION, "AWS::DynamoDB::Table"]]
    assert len(tree.segments) == 4  # the two subsegment documents are not segments
    function = tree.find(origin=FUNCTION)[0]
    invocation = function.subsegments[0]
    fetch = invocation.subsegments[0]
    dynamodb = fetch.subsegments[0]
    assert (invocation.name, fetch.name, dynamodb.name) == ("Invocation", "## fetch_order", "DynamoDB")
    assert fetch.parent_id == "3000000000000031"
    assert fetch.error
    assert dynamodb.aws["table_name"] == "orders"
    # The inferred DynamoDB segment hangs off a subsegment that came in its own document.
    assert [c.origin for c in function.children] == ["AWS::DynamoDB::Table"]


def test_fault_error_and_cause_are_read():
    """fault/error flags, the http status and the cause record survive parsing."""
    tree = TraceTree.from_api(load("separate_subsegments"))
    api = tree.root
    assert api.fault
    assert api.http_status == 502
    function = tree.find(origin=FUNCTION)[0]
    assert function.error
    assert function.cause["exceptions"][0]["type"] == "KeyError"


def test_several_parentless_segments_are_all_roots_in_start_then_id_order():
    """Two calls of one patched client give two roots; root is the first by (start time, id)."""
    tree = TraceTree.from_api(load("two_roots"))
    assert [r.name for r in tree.roots] == ["warmup", "Nightly"]  # same start time: id decides
    assert tree.root.name == "warmup"
    assert [[s.name for s in p] for p in tree.paths] == [["warmup"], ["Nightly", "nightly-step"]]


@pytest.mark.parametrize("name", ["sfn_lambda_events", "separate_subsegments", "two_roots", "linked"])
def test_paths_do_not_depend_on_the_order_the_api_returned(name):
    """Shuffling segments and traces gives the same paths, roots, walk and subsegment order."""
    trace_id = "1-6553f500-111111111111111111111111" if name == "linked" else None
    follow = name == "linked"
    reference = TraceTree.from_api(load(name), trace_id, follow_links=follow)

    def shape(tree: TraceTree) -> Any:
        return (
            [[s.id for s in p] for p in tree.paths],
            [s.id for s in tree.walk()],
            [[sub.id for sub in s.all_subsegments()] for s in tree.segments],
            tree.render(subsegments=True),
        )

    for seed in range(8):
        assert shape(TraceTree.from_api(shuffled(load(name), seed), trace_id, follow_links=follow)) == shape(reference)


def test_source_trace_keeps_id_duration_limit_and_documents():
    """source_trace has the API's Id, Duration, LimitExceeded, the segments and every document as read."""
    response = load("separate_subsegments")
    response["Traces"][0]["LimitExceeded"] = True
    tree = TraceTree.from_api(response)
    source = tree.source_trace
    assert source.id == "1-6553f200-0123456789abcdef01234567"
    assert source.duration == 1.2
    assert source.limit_exceeded is True
    assert [s.id for s in source.segments] == [
        "1000000000000001",
        "2000000000000002",
        "3000000000000003",
        "4000000000000004",
    ]
    assert len(source.documents) == 6
    assert "X-Ray size limit hit" in tree.render()


def test_a_finished_copy_of_a_segment_wins_over_an_in_progress_copy():
    """moto keeps every copy sent: the finished one is used whatever the order."""
    tree = TraceTree.from_api(load("in_progress_done"))
    function = tree.find(origin=FUNCTION)[0]
    assert not function.in_progress
    assert function.duration == pytest.approx(2.8)
    assert function.subsegments[0].end_time is not None


# ---- not complete ----------------------------------------------------------------------------


def test_an_orphan_parent_makes_the_trace_incomplete():
    """A segment whose parent id is nowhere in the trace is reported with the missing id and what is there."""
    with pytest.raises(TraceIncomplete) as caught:
        TraceTree.from_api(load("orphan_parent"))
    message = str(caught.value)
    assert "segment 7000000000000003 (AWS::Lambda::Function charge)'s parent 6000000000000002 not found" in message
    assert "have:" in message
    assert "[parent 6000000000000002 not found]" in message
    assert "AWS::StepFunctions::StateMachine  Checkout" in message


def test_the_orphan_attaches_once_its_parent_arrives():
    """With the missing AWS::Lambda segment present the same function segment is a grandchild of the root."""
    tree = TraceTree.from_api(load("orphan_parent_complete"))
    assert origins(tree) == [[SFN, LAMBDA, FUNCTION]]


def test_an_in_progress_segment_makes_the_trace_incomplete():
    """A segment (and a subsegment) still in progress are both named."""
    with pytest.raises(TraceIncomplete) as caught:
        TraceTree.from_api(load("in_progress"))
    message = str(caught.value)
    assert "segment 8000000000000002 (AWS::Lambda::Function ingest) is still in progress" in message
    assert "subsegment 'Invocation' (8000000000000021) of segment 8000000000000002 is still in progress" in message
    assert "[in progress]" in message


def test_open_subsegments_of_closed_segments_do_not_hold_the_trace_back():
    """X-Ray returns finished traces whose subsegments never got an end: the tree is built, and they stay open.

    A segment under an open subsegment (at depth 2) still finds its parent; the open ones are marked.
    """
    tree = TraceTree.from_api(load("open_subsegments"))
    assert origins(tree) == [[SFN, LAMBDA, FUNCTION]]
    orders = tree.root
    assert not orders.in_progress
    opened = {sub.name: sub.in_progress for sub in orders.all_subsegments()}
    assert opened == {"Map": False, "Charge": True, "Notify": False, "Audit": True}
    charge = next(sub for sub in orders.all_subsegments() if sub.name == "Charge")
    assert (charge.end_time, charge.duration) == (None, None)
    function = tree.find(origin=FUNCTION)[0]
    assert [(sub.name, sub.in_progress) for sub in function.subsegments] == [("Invocation", True)]
    assert tree.render(subsegments=True).count("[in progress]") == 3


def test_an_open_subsegment_inside_an_open_segment_is_named_with_it():
    """The rule is per segment: once the segment holding the open subsegment is open too, the trace waits."""
    response = load("open_subsegments")
    segments = response["Traces"][0]["Segments"]
    document = json.loads(segments[2]["Document"])
    del document["end_time"]
    document["in_progress"] = True
    segments[2]["Document"] = json.dumps(document)
    with pytest.raises(TraceIncomplete) as caught:
        TraceTree.from_api(response)
    message = str(caught.value)
    assert "segment 9100000000000003 (AWS::Lambda::Function charge) is still in progress" in message
    assert "subsegment 'Invocation' (9100000000000031) of segment 9100000000000003 is still in progress" in message
    assert "Charge" not in message.split("have:", maxsplit=1)[0]  # the root's open subsegments are not the reason


def test_a_separate_subsegment_with_a_missing_parent_makes_the_trace_incomplete():
    """A streamed subsegment whose parent is not there yet is "not ready", like a segment."""
    response = load("separate_subsegments")
    segments = response["Traces"][0]["Segments"]
    response["Traces"][0]["Segments"] = [s for s in segments if s["Id"] != "3000000000000033"]
    with pytest.raises(TraceIncomplete, match=r"subsegment 3000000000000032 \(DynamoDB\)'s parent 3000000000000033"):
        TraceTree.from_api(response)


def test_a_document_that_is_not_json_is_an_error():
    """A broken Document is a TraceError naming the segment, not a crash."""
    response = load("two_roots")
    response["Traces"][0]["Segments"][0]["Document"] = "{not json"
    with pytest.raises(TraceError, match=r"segment b000000000000003 of trace .*: Document is not JSON"):
        TraceTree.from_api(response)


def test_a_document_holding_two_objects_is_an_error_not_two_segments():
    """The documents are parsed together; one whose text is two objects is still refused on its own."""
    response = load("two_roots")
    first = response["Traces"][0]["Segments"][0]
    first["Document"] = first["Document"] + ", " + first["Document"]
    with pytest.raises(TraceError, match=r"segment b000000000000003 of trace .*: Document is not JSON"):
        TraceTree.from_api(response)


def test_several_traces_need_a_trace_id():
    """from_api with several traces and no trace_id says which ids it has."""
    with pytest.raises(TraceError, match="3 traces given; pass trace_id="):
        TraceTree.from_api(load("linked"))


# ---- linked traces ---------------------------------------------------------------------------


def test_linked_traces_are_attached_under_the_segment_holding_the_link():
    """Child links on nested subsegments and on segments are followed; parent links and bad links are not."""
    tree = TraceTree.from_api(load("linked"), "1-6553f500-111111111111111111111111", follow_links=True)
    assert [[s.name for s in p] for p in tree.paths] == [["producer", "producer", "consumer", "consumer", "audit"]]
    producer_fn = tree.find(origin=FUNCTION, name="producer")[0]
    assert [c.trace_id for c in producer_fn.children] == ["1-6553f501-222222222222222222222222"]
    assert [t.id for t in tree.linked_traces] == [
        "1-6553f501-222222222222222222222222",
        "1-6553f502-333333333333333333333333",
    ]
    assert tree.source_trace.id == "1-6553f500-111111111111111111111111"
    assert len(tree.source_trace.segments) == 2
    assert tree.linked_trace_limit_exceeded is False
    # The link back from "audit" to the producer trace (a cycle) is not followed twice.
    assert len(tree.segments) == 5


def test_links_are_ignored_unless_asked_for():
    """Without follow_links the tree is the source trace only."""
    tree = TraceTree.from_api(load("linked"), "1-6553f500-111111111111111111111111")
    assert [[s.name for s in p] for p in tree.paths] == [["producer", "producer"]]
    link = tree.find(origin=FUNCTION)[0].subsegments[0].subsegments[0].links[0]
    assert (link.trace_id, link.reference_type) == ("1-6553f501-222222222222222222222222", "child")


def test_links_without_attributes_are_tolerated():
    """A link with no attributes, or no reference type, is kept on the segment but not followed."""
    tree = TraceTree.from_api(load("linked"), "1-6553f501-222222222222222222222222")
    consumer_fn = tree.find(origin=FUNCTION)[0]
    assert [link.reference_type for link in consumer_fn.links] == ["child", None, None]


def test_a_missing_linked_trace_makes_the_tree_incomplete():
    """A child link to a trace that is not there yet is "not ready", naming the segment holding it."""
    response = load("linked")
    response["Traces"] = [t for t in response["Traces"] if t["Id"] != "1-6553f502-333333333333333333333333"]
    with pytest.raises(
        TraceIncomplete,
        match=r"linked trace 1-6553f502-333333333333333333333333 \(linked from segment 9100000000000002\) not found",
    ):
        TraceTree.from_api(response, "1-6553f500-111111111111111111111111", follow_links=True)


def test_the_link_depth_limit_stops_following_and_sets_the_flag():
    """A chain of 8 linked traces is followed MAX_LINK_DEPTH levels deep, then flagged."""
    tree = TraceTree.from_api(load("linked_chain"), "1-6553f600-000000000000000000000000", follow_links=True)
    assert MAX_LINK_DEPTH == 5
    assert [s.name for s in tree.paths[0]] == [f"hop-{n}" for n in range(MAX_LINK_DEPTH + 1)]
    assert tree.linked_trace_limit_exceeded is True
    assert "linked-trace limit hit" in tree.render()


def test_the_flag_stays_false_when_the_chain_ends_within_the_limit():
    """Starting 3 hops down the chain, the remaining 5 levels fit: no flag."""
    tree = TraceTree.from_api(load("linked_chain"), "1-6553f602-200000000000000000000000", follow_links=True)
    assert [s.name for s in tree.paths[0]] == [f"hop-{n}" for n in range(2, 8)]
    assert tree.linked_trace_limit_exceeded is False


# ---- navigation and rendering ----------------------------------------------------------------


def test_find_by_name_and_origin():
    """find() filters by name, origin or both and returns every match in walk order."""
    tree = TraceTree.from_api(load("sfn_lambda_events"))
    assert [s.origin for s in tree.find(name="process-order")] == [LAMBDA, FUNCTION]
    assert [s.id for s in tree.find(name="process-order", origin=FUNCTION)] == ["c1b2c3d4e5f60003"]
    assert tree.find(origin="AWS::SQS") == []
    with pytest.raises(ConfigError):
        tree.find()


def test_find_subsegments_returns_the_holding_segment():
    """find_subsegments() searches every depth and pairs each hit with its segment."""
    tree = TraceTree.from_api(load("sfn_lambda_events"))
    hits = tree.find_subsegments("Events")
    assert [(segment.origin, sub.id) for segment, sub in hits] == [(FUNCTION, "c1b2c3d4e5f60023")]


def test_walk_is_depth_first_in_child_order():
    """walk() visits each segment once, depth first, children by start time."""
    tree = TraceTree.from_api(load("sfn_lambda_events"))
    assert [s.origin for s in tree.walk()] == [SFN, LAMBDA, FUNCTION, "AWS::Events", "AWS::SNS"]
    assert list(tree.walk()) == list(tree.segments)


def test_segments_compare_by_trace_and_id():
    """Two builds of the same trace give equal, hashable segments."""
    first = TraceTree.from_api(load("sfn_lambda_events"))
    second = TraceTree.from_api(shuffled(load("sfn_lambda_events"), 3))
    assert first.root == second.root
    assert set(first.segments) == set(second.segments)
    assert first.root != first.root.children[0]
    assert "OrderWorkflow" in repr(first.root)


def test_render_shows_origin_name_duration_marks_and_ids():
    """render() draws the tree with durations and error/fault/throttle/inferred marks."""
    assert TraceTree.from_api(load("two_roots")).render() == (
        "trace 1-6553f700-cafecafecafecafecafecafe  (3 segments, 1.000 s)\n"
        "├─ AWS::Lambda  warmup  0.300 s  [error, throttle, http 429]  id=b000000000000001\n"
        "└─ AWS::StepFunctions::StateMachine  Nightly  1.000 s  id=b000000000000002\n"
        "   └─ AWS::Lambda  nightly-step  0.800 s  id=b000000000000003"
    )


def test_render_with_subsegments_and_linked_traces():
    """render(subsegments=True) lists subsegments under their segment; linked roots are marked."""
    text = TraceTree.from_api(load("linked"), "1-6553f500-111111111111111111111111", follow_links=True).render(
        subsegments=True
    )
    assert "      │  · Invocation  0.460 s\n      │    · SQS  0.100 s\n" in text
    assert "AWS::Lambda  consumer  0.600 s  [linked trace 1-6553f501-222222222222222222222222]" in text
    assert str(TraceTree.from_api(load("two_roots"))) == TraceTree.from_api(load("two_roots")).render()


# ---- assertions ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "pattern",
    [
        [SFN, LAMBDA, FUNCTION, "AWS::Events"],
        [SFN, ..., "AWS::Events"],
        [SFN, ...],
        [..., FUNCTION, ...],
        [..., "AWS::SNS"],
        ["OrderWorkflow", "process-order", ...],  # by name
        [SFN, ..., LAMBDA, ..., FUNCTION, ..., "AWS::Events", ...],  # ... may match no hop
    ],
)
def test_assert_path_matches(pattern):
    """assert_path matches origins or names, with ... for any number of hops."""
    tree = TraceTree.from_api(load("sfn_lambda_events"))
    path = tree.assert_path(pattern)
    assert path[0].origin == SFN


def test_assert_path_returns_the_matching_path():
    """The matching path is returned so a test can look at its segments."""
    tree = TraceTree.from_api(load("sfn_lambda_events"))
    assert [s.origin for s in tree.assert_path([..., "AWS::SNS"])] == [SFN, "AWS::SNS"]


@pytest.mark.parametrize(
    "pattern",
    [
        [SFN, LAMBDA],  # anchored: the path goes on to the function
        [LAMBDA, ...],  # anchored at the root
        [SFN, "AWS::SQS", ...],
        [SFN, ..., "AWS::Lambda::Function"],  # the function is not a leaf
    ],
)
def test_assert_path_failure_lists_paths_and_tree(pattern):
    """A failed assert_path is an AssertionError listing every path and the rendered tree."""
    tree = TraceTree.from_api(load("sfn_lambda_events"))
    with pytest.raises(AssertionError) as caught:
        tree.assert_path(pattern)
    message = str(caught.value)
    assert "no path of trace 1-6553f100-3c8f1e2d4b5a69788796a5b4 matches" in message
    assert "1. AWS::StepFunctions::StateMachine (OrderWorkflow) → AWS::Lambda (process-order)" in message
    assert "2. AWS::StepFunctions::StateMachine (OrderWorkflow) → AWS::SNS" in message
    assert tree.render() in message


@pytest.mark.parametrize("pattern", [[], "AWS::Lambda", [SFN, 3]])
def test_assert_path_rejects_bad_patterns(pattern):
    """An empty pattern, a bare string or a non-string element is a ConfigError, not a failed match."""
    tree = TraceTree.from_api(load("sfn_lambda_events"))
    with pytest.raises(ConfigError):
        tree.assert_path(pattern)


def test_assert_duration_of_the_whole_trace():
    """assert_duration(max=) measures earliest start to latest end and returns it."""
    tree = TraceTree.from_api(load("sfn_lambda_events"))
    assert tree.assert_duration(max=3) == pytest.approx(2.5)
    assert tree.assert_duration(max="2600ms") == pytest.approx(2.5)
    with pytest.raises(AssertionError) as caught:
        tree.assert_duration(max=2)
    message = str(caught.value)
    assert "trace 1-6553f100-3c8f1e2d4b5a69788796a5b4 took 2.500 s, over the 2.000 s limit" in message
    assert tree.render() in message


def test_assert_duration_of_one_hop():
    """segment= picks segments by origin or name; every match must be within the limit."""
    tree = TraceTree.from_api(load("sfn_lambda_events"))
    assert tree.assert_duration(max=1.6, segment=FUNCTION) == pytest.approx(1.59)
    assert tree.assert_duration(max=2, segment="process-order") == pytest.approx(1.65)  # the slower of two
    with pytest.raises(AssertionError, match=r"segment AWS::Lambda \(process-order\) id=b1b2c3d4e5f60002 took 1.650 s"):
        tree.assert_duration(max=1.6, segment="process-order")
    assert tree.assert_duration(max=1, segment=tree.find(origin="AWS::SNS")[0]) == pytest.approx(0.54)


def test_assert_duration_names_what_exists_when_nothing_matches():
    """An unknown segment name fails with the labels that do exist and the tree."""
    tree = TraceTree.from_api(load("two_roots"))
    with pytest.raises(AssertionError) as caught:
        tree.assert_duration(max=1, segment="AWS::SQS")
    assert "no segment with origin or name 'AWS::SQS'" in str(caught.value)
    assert "have: AWS::Lambda (nightly-step), AWS::Lambda (warmup), AWS::StepFunctions::StateMachine (Nightly)" in str(
        caught.value
    )
    assert "└─ AWS::StepFunctions::StateMachine  Nightly" in str(caught.value)


def test_assert_duration_rejects_a_bad_limit():
    """A negative or unreadable max is a ConfigError."""
    tree = TraceTree.from_api(load("two_roots"))
    with pytest.raises(ConfigError):
        tree.assert_duration(max=-1)
    with pytest.raises(ConfigError):
        tree.assert_duration(max="soon")


def test_segment_is_frozen():
    """Segments cannot be changed after the tree is built."""
    tree = TraceTree.from_api(load("two_roots"))
    with pytest.raises(AttributeError):
        tree.root.name = "other"  # type: ignore[misc]
    assert isinstance(tree.root, Segment)


def test_a_subsegment_sent_alone_and_inside_its_parent_appears_once():
    """aws-xray-sdk streams "load-rules" alone and again inside "validate": the tree keeps one copy."""
    tree = TraceTree.from_api(load("sdk_streamed"))
    assert [s.name for s in tree.root.all_subsegments()] == ["validate", "load-rules", "call-payments"]
    assert [[s.name for s in p] for p in tree.paths] == [["checkout", "payments"]]
    assert tree.root.subsegments[1].http["response"]["status"] == 201


def test_merging_leaves_the_documents_as_read():
    """source_trace.documents are the documents as read, not the merged copies the tree uses."""
    response = load("sdk_streamed")
    tree = TraceTree.from_api(response)
    as_sent = [json.loads(s["Document"]) for s in response["Traces"][0]["Segments"]]
    assert list(tree.source_trace.documents) == as_sent
    assert "subsegments" not in tree.source_trace.documents[0]
    assert [s["name"] for s in tree.root.document["subsegments"]] == ["validate", "call-payments"]
