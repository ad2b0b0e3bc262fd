"""get_trace_tree against moto's X-Ray (in-process ``mock_aws``): real PutTraceSegments / BatchGetTraces."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from typing import Any

import boto3
import moto
import pytest

from iatk._aws import aws
from iatk.exceptions import TraceIncomplete
from iatk.trace import TraceHelper, get_trace_tree, new_trace_header, untrace_client

CHILD = {"aws.xray.reserved.reference_type": "child"}


@pytest.fixture
def session() -> Iterator[boto3.Session]:
    """In-process moto, started without its reset: a reset would also wipe the backends the embedded
    server shares with this process (other modules' stacks). Every test here uses fresh trace ids."""
    mock = moto.mock_aws()
    mock.start(reset=False)
    try:
        yield boto3.Session(aws_access_key_id="x", aws_secret_access_key="x", region_name="us-east-1")
    finally:
        mock.stop(remove_data=False)


def put(session: boto3.Session, *documents: dict[str, Any]) -> None:
    response = aws(session).xray.put_trace_segments(TraceSegmentDocuments=[json.dumps(d) for d in documents])
    assert response["UnprocessedTraceSegments"] == []


def workflow(trace_id: str, linked_id: str, now: float) -> list[dict[str, Any]]:
    """Step Functions → Lambda (under a state's subsegment) → function, with a streamed subsegment
    document, an inferred SQS segment, and an SQS link to a consumer trace."""
    return [
        {
            "trace_id": trace_id,
            "id": "1111111111111111",
            "name": "Orders",
            "origin": "AWS::StepFunctions::StateMachine",
            "start_time": now,
            "end_time": now + 0.9,
            "subsegments": [
                {
                    "id": "1111111111111112",
                    "name": "Charge",
                    "start_time": now + 0.01,
                    "end_time": now + 0.8,
                    "subsegments": [
                        {"id": "1111111111111113", "name": "Lambda", "start_time": now + 0.02, "end_time": now + 0.7}
                    ],
                }
            ],
        },
        {
            "trace_id": trace_id,
            "id": "2222222222222222",
            "parent_id": "1111111111111113",
            "name": "charge",
            "origin": "AWS::Lambda",
            "start_time": now + 0.03,
            "end_time": now + 0.69,
        },
        {
            "trace_id": trace_id,
            "id": "3333333333333333",
            "parent_id": "2222222222222222",
            "name": "charge",
            "origin": "AWS::Lambda::Function",
            "start_time": now + 0.05,
            "end_time": now + 0.68,
            "annotations": {"order_id": "o-1"},
            "subsegments": [
                {"id": "3333333333333334", "name": "Invocation", "start_time": now + 0.06, "end_time": now + 0.67}
            ],
        },
        {
            "type": "subsegment",
            "trace_id": trace_id,
            "id": "3333333333333335",
            "parent_id": "3333333333333334",
            "name": "SQS",
            "namespace": "aws",
            "start_time": now + 0.1,
            "end_time": now + 0.2,
            "aws": {"operation": "SendMessage"},
            "links": [{"trace_id": linked_id, "id": "5555555555555555", "attributes": CHILD}],
        },
        {
            "trace_id": trace_id,
            "id": "4444444444444444",
            "parent_id": "3333333333333335",
            "name": "orders-queue",
            "origin": "AWS::SQS::Queue",
            "inferred": True,
            "start_time": now + 0.11,
            "end_time": now + 0.19,
        },
    ]


def test_put_segments_and_read_the_tree(session):
    """A multi-segment trace put into moto comes back as a tree, subsegment documents merged, links followed."""
    header = new_trace_header()
    linked = new_trace_header().root
    now = time.time()
    put(session, *workflow(header.root, linked, now))
    put(
        session,
        {
            "trace_id": linked,
            "id": "5555555555555555",
            "name": "fulfil",
            "origin": "AWS::Lambda",
            "start_time": now + 1.0,
            "end_time": now + 1.4,
        },
    )
    tree = get_trace_tree(header, within=5, follow_links=True, session=session)
    assert [[s.origin for s in p] for p in tree.paths] == [
        [
            "AWS::StepFunctions::StateMachine",
            "AWS::Lambda",
            "AWS::Lambda::Function",
            "AWS::SQS::Queue",
        ],
        ["AWS::StepFunctions::StateMachine", "AWS::Lambda", "AWS::Lambda::Function", "AWS::Lambda"],
    ]
    function = tree.find(origin="AWS::Lambda::Function")[0]
    assert function.annotations == {"order_id": "o-1"}
    assert [s.name for s in function.all_subsegments()] == ["Invocation", "SQS"]
    assert [t.id for t in tree.linked_traces] == [linked]
    tree.assert_path(["AWS::StepFunctions::StateMachine", ..., "fulfil"])
    tree.assert_duration(max=5)
    # moto's caveats: documents as sent (5 of them, the subsegment one included), Duration whole seconds.
    assert len(tree.source_trace.documents) == 5
    assert tree.source_trace.duration is not None
    assert tree.source_trace.duration == int(tree.source_trace.duration)


def test_unknown_trace_gives_trace_incomplete_with_few_requests(session):
    """An id moto has never seen ends in TraceIncomplete at the deadline, never a hang, in ≤ 20 requests."""
    unknown = new_trace_header().root
    client = aws(session).xray
    requests: list[str] = []

    def count(**kwargs: Any) -> None:
        requests.append(kwargs["model"].name)

    client.meta.events.register("before-call.xray.BatchGetTraces", count)
    try:
        with pytest.raises(TraceIncomplete) as caught:
            get_trace_tree(unknown, within=5, session=session)
    finally:
        client.meta.events.unregister("before-call.xray.BatchGetTraces", count)
    assert 2 <= len(requests) <= 20
    assert f"trace {unknown} not found after" in str(caught.value)
    assert f"({len(requests)} requests to xray:BatchGetTraces in us-east-1)" in str(caught.value)


def test_a_late_parent_is_waited_for(session):
    """A function segment whose parent arrives later is "not ready", then read whole once it arrives."""
    header = new_trace_header()
    documents = workflow(header.root, new_trace_header().root, time.time())
    late_parent = documents.pop(1)
    put(session, *documents)
    timer = threading.Timer(0.5, put, (session, late_parent))
    timer.start()
    try:
        tree = get_trace_tree(header.root, within=10, session=session)
    finally:
        timer.join()
    assert [s.origin for s in tree.paths[0]][:3] == [
        "AWS::StepFunctions::StateMachine",
        "AWS::Lambda",
        "AWS::Lambda::Function",
    ]


def test_trace_helper_and_a_patched_client_on_moto(session):
    """TraceHelper patches a real client (moto answers it) and reads the trace of its header."""
    helper = TraceHelper(session=session, within=5)
    sqs = helper.patch(session.client("sqs"))
    assert sqs.list_queues()["ResponseMetadata"]["HTTPStatusCode"] == 200
    assert helper.header is not None
    put(session, *workflow(helper.header.root, new_trace_header().root, time.time()))
    tree = helper.get_tree()
    assert helper.last_tree is tree
    assert tree.trace_id == helper.header.root
    helper.close()
    assert untrace_client(sqs) is None  # close() already removed the handler


SDK_SCRIPT = """
import sys
from aws_xray_sdk.core import xray_recorder
from aws_xray_sdk.core.models.trace_header import TraceHeader

xray_recorder.configure(context_missing="LOG_ERROR", sampling=False, streaming_threshold=1)
header = TraceHeader.from_header_str(sys.argv[1])
segment = xray_recorder.begin_segment("checkout", traceid=header.root, sampling=1)
segment.put_annotation("order_id", "o-42")
with xray_recorder.in_subsegment("validate"):
    with xray_recorder.in_subsegment("load-rules"):
        pass
call = xray_recorder.begin_subsegment("call-payments", namespace="remote")
call_id = call.id
xray_recorder.end_subsegment()
xray_recorder.end_segment()
# The downstream service got Parent=<call-payments> in its header and reports its own segment.
xray_recorder.begin_segment("payments", traceid=header.root, parent_id=call_id, sampling=1)
xray_recorder.end_segment()
"""


def test_segments_from_aws_xray_sdk_through_the_embedded_relay(embedded, moto_session):
    """Code instrumented with aws-xray-sdk (another process) reaches moto through the relay and reads as a tree."""
    import os
    import subprocess
    import sys

    header = new_trace_header()
    env = dict(os.environ, AWS_XRAY_DAEMON_ADDRESS=embedded.xray_address)
    done = subprocess.run(
        [sys.executable, "-c", SDK_SCRIPT, header], env=env, capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stderr
    tree = get_trace_tree(header, within=10, until=lambda t: t.find(name="payments"), session=moto_session)
    tree.assert_path(["checkout", "payments"])
    checkout = tree.root
    assert checkout.annotations == {"order_id": "o-42"}
    assert [s.name for s in checkout.all_subsegments()] == ["validate", "load-rules", "call-payments"]
