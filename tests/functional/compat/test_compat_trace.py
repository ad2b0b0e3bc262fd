"""AwsIatk's X-Ray helpers on the embedded moto server: never hanging, #106, patch_aws_client."""

from __future__ import annotations

import json
import secrets
import threading
import time
from typing import Any

import pytest

from iatk.compat import AwsIatk, GetTraceTreeOutput, IatkException, trace_header_of


def new_trace_id() -> str:
    return f"1-{int(time.time()):08x}-{secrets.token_hex(12)}"


def document(trace_id: str, ident: str, name: str, origin: str, parent: str | None = None) -> str:
    now = time.time()
    doc: dict[str, Any] = {
        "id": ident,
        "trace_id": trace_id,
        "name": name,
        "origin": origin,
        "start_time": now,
        "end_time": now + 0.1,
    }
    if parent:
        doc["parent_id"] = parent
    return json.dumps(doc)


def put(session: Any, *documents: str) -> None:
    response = session.client("xray").put_trace_segments(TraceSegmentDocuments=list(documents))
    assert not response.get("UnprocessedTraceSegments"), response


def test_unknown_trace_fails_within_its_deadline(kit: AwsIatk, calls: list):
    """Bug 5/16: an unknown id is a 408 at the deadline after a few BatchGetTraces (aws-iatk hung)."""
    trace_id = new_trace_id()
    kit._trace_tree_timeout = 2
    with pytest.raises(IatkException) as caught:
        kit.get_trace_tree(f"Root={trace_id};Sampled=1")
    assert (
        str(caught.value) == f"error building trace tree: failed to fetch trace {trace_id} with error: trace not found"
    )
    assert f"trace {trace_id} not found after" in caught.value.__notes__[0]  # iatk's explanation, as a note
    assert caught.value.error_code == 408
    fetches = [name for name, _ in calls if name == "xray:BatchGetTraces"]
    # Retried (the first retry comes after ~0.2 s, so even a loaded machine makes two in 2 s), and
    # backed off: aws-iatk made 1,100-2,000 requests in 5 s.
    assert 2 <= len(fetches) <= 12


def test_retry_until_of_an_unknown_trace_is_false(kit: AwsIatk):
    """retry_get_trace_tree_until returns False at its deadline for a trace that never comes."""
    assert kit.retry_get_trace_tree_until(new_trace_id(), lambda out: None, timeout_seconds=1) is False


def test_child_segment_before_its_parent_is_waited_for(kit: AwsIatk, moto_session: Any):
    """aws-iatk #106: the child segment arrives first; the tree is built once the parent is there."""
    trace_id = new_trace_id()
    put(moto_session, document(trace_id, "b000000000000002", "consumer", "AWS::Lambda::Function", "a000000000000001"))
    later = threading.Timer(
        0.5, put, (moto_session, document(trace_id, "a000000000000001", "producer", "AWS::Lambda::Function"))
    )
    later.start()
    seen: list[GetTraceTreeOutput] = []

    def producer_then_consumer(output: GetTraceTreeOutput) -> None:
        seen.append(output)
        assert [[s.name for s in path] for path in output.trace_tree.paths] == [["producer", "consumer"]]

    try:
        assert kit.retry_get_trace_tree_until(f"Root={trace_id}", producer_then_consumer, timeout_seconds=10) is True
    finally:
        later.join()
    assert len(seen) == 1
    tree = seen[0].trace_tree
    assert tree.root.name == "producer"
    assert [child.name for child in tree.root.children] == ["consumer"]
    assert tree.root.error is None
    assert tree.source_trace.limit_exceeded is False


def test_get_trace_tree_waits_for_a_parent_too(kit: AwsIatk, moto_session: Any):
    """get_trace_tree itself treats 'segment with no parent' as not ready (within its timeout)."""
    trace_id = new_trace_id()
    put(moto_session, document(trace_id, "d000000000000002", "child", "AWS::Lambda", "c000000000000001"))
    later = threading.Timer(0.3, put, (moto_session, document(trace_id, "c000000000000001", "root", "AWS::Events")))
    later.start()
    try:
        tree = kit.get_trace_tree(trace_id).trace_tree
    finally:
        later.join()
    assert [[s.origin for s in path] for path in tree.paths] == [["AWS::Events", "AWS::Lambda"]]


def test_get_trace_tree_waits_for_a_trace_still_arriving(kit: AwsIatk, moto_session: Any):
    """A trace whose segments arrive after the call started is read (aws-iatk: 'trace not found' at once,
    hence the samples' 20 s sleep)."""
    trace_id = new_trace_id()
    later = threading.Timer(0.3, put, (moto_session, document(trace_id, "e000000000000001", "plugin", "AWS::Lambda")))
    later.start()
    try:
        tree = kit.get_trace_tree(f"Root={trace_id};Sampled=1").trace_tree
    finally:
        later.join()
    assert [[s.name for s in path] for path in tree.paths] == [["plugin"]]
    assert tree.source_trace.id == trace_id


def _capture_trace_headers(client: Any) -> list[list[str]]:
    """The X-Amzn-Trace-Id values of every request ``client`` sends (one list per request)."""
    sent: list[list[str]] = []

    def capture(request: Any, **_: Any) -> None:
        values = [value for name, value in request.headers.items() if name.lower() == "x-amzn-trace-id"]
        sent.append([v.decode() if isinstance(v, bytes) else v for v in values])

    client.meta.events.register("before-send.sfn", capture)
    return sent


def test_patch_aws_client_starts_a_real_trace_per_call(kit: AwsIatk, moto_session: Any):
    """patch_aws_client returns the client; each call starts its own trace, as aws-iatk's empty Root=
    did, but with a real id sent once per request, even when patched twice; the last header is readable."""
    client = moto_session.client("stepfunctions")
    sent = _capture_trace_headers(client)
    assert kit.patch_aws_client(client) is client
    assert trace_header_of(client) is None  # no call yet
    client.list_state_machines()
    first = trace_header_of(client)
    assert kit.patch_aws_client(client, sampled=0) is client
    client.list_state_machines()
    client.list_state_machines()
    assert [len(headers) for headers in sent] == [1, 1, 1]
    headers = [h for [h] in sent]
    assert headers[0] == first
    assert first is not None
    assert first.endswith(";Sampled=1")
    assert headers[2] == trace_header_of(client)
    assert len(set(headers)) == 3  # a new trace per call
    assert all(h.startswith("Root=1-") for h in headers)
    assert all(h.endswith(";Sampled=0") for h in headers[1:])
    assert trace_header_of(moto_session.client("stepfunctions")) is None


def test_patch_aws_client_retry_keeps_its_call_s_trace(kit: AwsIatk, moto_session: Any):
    """A retried call sends the same trace header on each attempt (it is one call, one trace)."""
    client = kit.patch_aws_client(moto_session.client("stepfunctions"))
    sent = _capture_trace_headers(client)

    def retry_once(attempts: int, **_: Any) -> float | None:
        return 0 if attempts == 1 else None  # botocore: a number means "retry after that many seconds"

    client.meta.events.register("needs-retry.sfn.ListStateMachines", retry_once)
    client.list_state_machines()
    client.list_state_machines()
    assert len(sent) == 4
    assert sent[0] == sent[1]
    assert sent[2] == sent[3]
    assert sent[0] != sent[2]
