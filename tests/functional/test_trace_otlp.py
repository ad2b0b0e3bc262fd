"""OpenTelemetry on the embedded backend: OTLP/HTTP in, trees out through both read paths.

The instrumented code is a real process with the real opentelemetry-sdk, its OTLP/HTTP exporter
and the botocore instrumentation, configured only by the environment iatk gives it.
"""

from __future__ import annotations

import gzip
import json
import os
import subprocess
import sys
import textwrap
import time
import urllib.error
import urllib.request
from typing import Any

import pytest

import iatk
from iatk.exceptions import AwsError
from iatk.trace import TraceHeader, choose_trace_source, forget_trace_source, get_trace_tree

WORKER = textwrap.dedent(
    """
    import boto3
    from opentelemetry import trace
    from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
    from opentelemetry.instrumentation.botocore import BotocoreInstrumentor
    from opentelemetry.sdk.resources import Resource
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import BatchSpanProcessor

    provider = TracerProvider(resource=Resource.create({"service.name": "orders-worker"}))
    provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter()))  # endpoint from the environment
    trace.set_tracer_provider(provider)
    BotocoreInstrumentor().instrument()
    tracer = trace.get_tracer("worker")
    sqs = boto3.client("sqs")
    with tracer.start_as_current_span("handle order", kind=trace.SpanKind.SERVER) as span:
        url = sqs.create_queue(QueueName="otel-orders")["QueueUrl"]
        sqs.send_message(QueueUrl=url, MessageBody="{}")
        context = span.get_span_context()
    provider.shutdown()  # flushes the batch
    print(f"00-{context.trace_id:032x}-{context.span_id:016x}-01")
    """
)


def post(url: str, body: bytes, content_type: str, **headers: str) -> tuple[int, bytes, str]:
    request = urllib.request.Request(url, data=body, headers={"Content-Type": content_type, **headers}, method="POST")
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, response.read(), response.headers["Content-Type"]
    except urllib.error.HTTPError as err:
        return err.code, err.read(), err.headers["Content-Type"]


def test_the_backend_exports_the_otlp_endpoint(embedded: Any, moto_session: Any) -> None:
    expected = f"{embedded.url}/v1/traces"
    assert os.environ["OTEL_EXPORTER_OTLP_TRACES_ENDPOINT"] == expected
    assert os.environ["OTEL_EXPORTER_OTLP_TRACES_PROTOCOL"] == "http/protobuf"
    env = iatk.session_env(moto_session)
    assert env["OTEL_EXPORTER_OTLP_TRACES_ENDPOINT"] == expected
    assert env["OTEL_EXPORTER_OTLP_TRACES_PROTOCOL"] == "http/protobuf"
    assert env["AWS_XRAY_DAEMON_ADDRESS"] == embedded.xray_address


def test_an_opentelemetry_process_produces_a_tree_on_both_read_paths(moto_session: Any) -> None:
    env = {**os.environ, **iatk.session_env(moto_session)}
    done = subprocess.run(
        [sys.executable, "-c", WORKER], env=env, capture_output=True, text=True, timeout=60, check=False
    )
    assert done.returncode == 0, done.stderr
    traceparent = done.stdout.strip().splitlines()[-1]

    by_xray = get_trace_tree(traceparent, within=10, session=moto_session, source="xray")
    by_search = get_trace_tree(traceparent, within=10, session=moto_session, source="transaction-search")
    assert by_xray.render(subsegments=True) == by_search.render(subsegments=True)
    assert [s.document for s in by_xray.segments] == [s.document for s in by_search.segments]

    root = by_xray.root
    assert (root.name, root.trace_id) == ("orders-worker", TraceHeader.parse(traceparent).root)
    subsegments = list(root.all_subsegments())
    calls = [(s.name, s.namespace, s.aws.get("operation")) for s in subsegments]
    assert calls == [("SQS", "aws", "CreateQueue"), ("SQS", "aws", "SendMessage")]
    assert subsegments[1].aws["queue_url"].endswith("/otel-orders")


def test_otlp_json_is_accepted_too(embedded: Any, moto_session: Any) -> None:
    trace_id, now = iatk.new_trace_header().w3c_trace_id, time.time_ns()
    export = {
        "resourceSpans": [
            {
                "resource": {"attributes": [{"key": "service.name", "value": {"stringValue": "json-api"}}]},
                "scopeSpans": [
                    {
                        "spans": [
                            {
                                "traceId": trace_id,
                                "spanId": "00f067aa0ba902b7",
                                "name": "GET /",
                                "kind": 2,
                                "startTimeUnixNano": str(now),
                                "endTimeUnixNano": str(now + 5_000_000),
                                "attributes": [{"key": "http.response.status_code", "value": {"intValue": "503"}}],
                            },
                            {
                                "traceId": trace_id,
                                "spanId": "53995c3f42cd8ad8",
                                "parentSpanId": "00f067aa0ba902b7",
                                "name": "query",
                                "kind": "SPAN_KIND_CLIENT",
                                "startTimeUnixNano": str(now + 1_000_000),
                                "endTimeUnixNano": str(now + 2_000_000),
                            },
                        ]
                    }
                ],
            }
        ]
    }
    status, body, content_type = post(
        f"{embedded.url}/v1/traces",
        gzip.compress(json.dumps(export).encode()),
        "application/json",
        **{"Content-Encoding": "gzip"},
    )
    assert (status, json.loads(body), content_type) == (200, {}, "application/json")
    tree = get_trace_tree(trace_id, within=10, session=moto_session, source="xray")
    assert (tree.root.name, tree.root.fault, tree.root.http["response"]) == ("json-api", True, {"status": 503})
    assert [s.name for s in tree.root.subsegments] == ["query"]


@pytest.mark.parametrize(
    ("method", "content_type", "body", "status"),
    [
        ("POST", "text/plain", b"hello", 415),
        ("POST", "application/x-protobuf", b"\xff\xff\xff", 400),
        ("POST", "application/json", b"{not json", 400),
        ("GET", "application/json", None, 405),
    ],
)
def test_the_receiver_refuses_what_is_not_an_export(
    embedded: Any, method: str, content_type: str, body: bytes | None, status: int
) -> None:
    request = urllib.request.Request(
        f"{embedded.url}/v1/traces", data=body, headers={"Content-Type": content_type}, method=method
    )
    with pytest.raises(urllib.error.HTTPError) as caught:
        urllib.request.urlopen(request, timeout=10)
    assert caught.value.code == status
    assert caught.value.read().strip()  # a reason, not an empty answer


def test_transaction_search_operations_answer_offline(moto_session: Any) -> None:
    """moto 5.2.5 has none of these operations (its server answers 404): the embedded backend does."""
    xray = moto_session.client("xray")
    assert xray.get_trace_segment_destination()["Destination"] == "XRay"
    forget_trace_source(moto_session)
    assert choose_trace_source(moto_session, source="auto").source == "xray"
    try:
        answer = xray.update_trace_segment_destination(Destination="CloudWatchLogs")
        assert (answer["Destination"], answer["Status"]) == ("CloudWatchLogs", "ACTIVE")
        forget_trace_source(moto_session)
        choice = choose_trace_source(moto_session, source="auto")
        assert choice.source == "transaction-search"
        assert choice.reason == "because the account's trace destination is CloudWatchLogs (ACTIVE)"
    finally:
        xray.update_trace_segment_destination(Destination="XRay")
        forget_trace_source(moto_session)


def test_a_retrieval_on_the_backend_can_be_cancelled_and_is_bounded_by_its_time_range(moto_session: Any) -> None:
    xray = moto_session.client("xray")
    header = iatk.new_trace_header()
    now = time.time()
    document = {
        "id": "00f067aa0ba902b7",
        "trace_id": header.root,
        "name": "svc",
        "start_time": now,
        "end_time": now + 1,
    }
    xray.put_trace_segments(TraceSegmentDocuments=[json.dumps(document)])

    inside = xray.start_trace_retrieval(TraceIds=[header.root], StartTime=now - 60, EndTime=now + 60)["RetrievalToken"]
    listed = xray.list_retrieved_traces(RetrievalToken=inside, TraceFormat="XRAY")
    assert listed["RetrievalStatus"] == "COMPLETE"
    assert [json.loads(s["Document"]) for s in listed["Traces"][0]["Spans"]] == [document]

    before = xray.start_trace_retrieval(TraceIds=[header.root], StartTime=now - 600, EndTime=now - 300)
    assert xray.list_retrieved_traces(RetrievalToken=before["RetrievalToken"])["Traces"] == []

    xray.cancel_trace_retrieval(RetrievalToken=inside)
    assert xray.list_retrieved_traces(RetrievalToken=inside)["RetrievalStatus"] == "CANCELLED"

    with pytest.raises(xray.exceptions.InvalidRequestException, match="TraceFormat XRAY only"):
        xray.list_retrieved_traces(RetrievalToken=before["RetrievalToken"], TraceFormat="OTEL")
    with pytest.raises(xray.exceptions.InvalidRequestException, match="EndTime must not be before StartTime"):
        xray.start_trace_retrieval(TraceIds=[header.root], StartTime=now, EndTime=now - 1)
    with pytest.raises(xray.exceptions.ResourceNotFoundException):
        xray.list_retrieved_traces(RetrievalToken="no-such-token")


def test_a_trace_missing_from_transaction_search_says_which_source_was_asked(moto_session: Any) -> None:
    missing = iatk.new_trace_header()
    with pytest.raises(iatk.TraceIncomplete) as caught:
        get_trace_tree(missing, within=1, session=moto_session, source="transaction-search")
    message = str(caught.value)
    assert f"trace {missing.root} not found after" in message
    assert (
        "Read from Transaction Search (set by source=transaction-search); it last answered: RetrievalStatus COMPLETE, 0 trace(s)"
        in message
    )
    assert not isinstance(caught.value, AwsError)
