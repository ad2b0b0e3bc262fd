"""OTLP spans into X-Ray segment documents (the embedded backend's conversion), span by span."""

from __future__ import annotations

from typing import Any

from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from opentelemetry.proto.common.v1.common_pb2 import AnyValue, ArrayValue, KeyValue
from opentelemetry.proto.trace.v1.trace_pb2 import Span, Status

from iatk._backend.moto.otlp_segments import (
    KIND_CLIENT,
    KIND_CONSUMER,
    KIND_INTERNAL,
    KIND_PRODUCER,
    KIND_SERVER,
    SpanRecord,
    is_segment,
    segment_document,
    span_records,
)

TRACE = "5759e988bd862e3fe1be46a994272793"
RESOURCE = {"service.name": "orders", "cloud.platform": "aws_lambda", "cloud.account.id": "111122223333"}


def span(kind: int, parent: str = "", **attributes: Any) -> SpanRecord:
    return SpanRecord(
        trace_id=TRACE,
        span_id="53995c3f42cd8ad8",
        parent_span_id=parent,
        name="the span",
        kind=kind,
        start_ns=1_700_000_000_500_000_000,
        end_ns=1_700_000_001_750_000_000,
        attributes=dict(attributes),
        resource=dict(RESOURCE),
    )


def test_server_and_consumer_spans_and_roots_are_segments() -> None:
    assert is_segment(span(KIND_SERVER, "00f067aa0ba902b7"))
    assert is_segment(span(KIND_CONSUMER, "00f067aa0ba902b7"))
    assert is_segment(span(KIND_INTERNAL))  # no parent: a segment whatever the kind
    for kind in (KIND_CLIENT, KIND_PRODUCER, KIND_INTERNAL):
        assert not is_segment(span(kind, "00f067aa0ba902b7"))


def test_a_lambda_server_span_is_a_function_segment() -> None:
    document = segment_document(span(KIND_SERVER, "00f067aa0ba902b7"))
    assert document == {
        "id": "53995c3f42cd8ad8",
        "trace_id": "1-5759e988-bd862e3fe1be46a994272793",
        "name": "orders",
        "start_time": 1_700_000_000.5,
        "end_time": 1_700_000_001.75,
        "parent_id": "00f067aa0ba902b7",
        "origin": "AWS::Lambda::Function",
        "aws": {"account_id": "111122223333", "function_name": "orders"},
    }


def test_an_aws_sdk_call_is_an_aws_subsegment() -> None:
    document = segment_document(
        span(
            KIND_CLIENT,
            "00f067aa0ba902b7",
            **{
                "rpc.system": "aws-api",
                "rpc.service": "SQS",
                "rpc.method": "SendMessage",
                "aws.request_id": "req-1",
                "aws.sqs.queue_url": "https://sqs.us-east-1.amazonaws.com/111122223333/q",
                "http.status_code": 200,
                "retry_attempts": 0,
            },
        )
    )
    assert document["type"] == "subsegment"
    assert (document["name"], document["namespace"]) == ("SQS", "aws")
    assert document["aws"] == {
        "operation": "SendMessage",
        "request_id": "req-1",
        "queue_url": "https://sqs.us-east-1.amazonaws.com/111122223333/q",
    }
    assert document["http"] == {"response": {"status": 200}}
    assert document["metadata"] == {"default": {"retry_attempts": 0}}
    assert "origin" not in document
    assert "fault" not in document


def test_an_http_call_is_a_remote_subsegment_with_its_answer() -> None:
    document = segment_document(
        span(
            KIND_CLIENT,
            "00f067aa0ba902b7",
            **{
                "http.request.method": "GET",
                "url.full": "https://example.com/x",
                "server.address": "example.com",
                "http.response.status_code": 429,
            },
        )
    )
    assert (document["name"], document["namespace"]) == ("example.com", "remote")
    assert document["http"] == {
        "request": {"method": "GET", "url": "https://example.com/x"},
        "response": {"status": 429},
    }
    assert document["error"] is True
    assert document["throttle"] is True
    assert "fault" not in document


def test_an_error_status_and_its_exception_are_a_fault_with_a_cause() -> None:
    record = span(KIND_SERVER, "", **{"db.system": "postgresql", "db.statement": "SELECT 1"})
    record.status_code = 2
    record.events.append(
        (
            "exception",
            1,
            {"exception.type": "ValueError", "exception.message": "bad", "exception.stacktrace": "a\n b\n"},
        )
    )
    document = segment_document(record)
    assert document["fault"] is True
    [exception] = document["cause"]["exceptions"]
    assert (exception["type"], exception["message"], exception["stack"]) == (
        "ValueError",
        "bad",
        [{"label": "a"}, {"label": "b"}],
    )
    assert len(exception["id"]) == 16
    assert document["sql"] == {"sanitized_query": "SELECT 1", "database_type": "postgresql"}


def test_listed_attributes_are_annotations_and_links_are_kept() -> None:
    record = span(
        KIND_INTERNAL, "00f067aa0ba902b7", **{"order.id": "o-1", "count": 3, "aws.xray.annotations": ["order.id"]}
    )
    record.links.append(("1" * 32, "2" * 16, {"aws.xray.reserved.reference_type": "child"}))
    document = segment_document(record)
    assert document["annotations"] == {"order_id": "o-1"}
    assert document["metadata"] == {"default": {"count": 3}}
    assert document["links"] == [
        {
            "trace_id": "1-11111111-111111111111111111111111",
            "id": "2" * 16,
            "attributes": {"aws.xray.reserved.reference_type": "child"},
        }
    ]
    assert "namespace" not in document  # internal work: a plain subsegment


def test_span_records_reads_the_protobuf_message() -> None:
    request = ExportTraceServiceRequest()
    resource_spans = request.resource_spans.add()
    resource_spans.resource.attributes.append(KeyValue(key="service.name", value=AnyValue(string_value="svc")))
    scope = resource_spans.scope_spans.add()
    scope.scope.name = "my.scope"
    scope.spans.append(
        Span(
            trace_id=bytes.fromhex(TRACE),
            span_id=bytes.fromhex("53995c3f42cd8ad8"),
            name="GET /",
            kind=Span.SPAN_KIND_SERVER,
            start_time_unix_nano=10,
            end_time_unix_nano=20,
            attributes=[
                KeyValue(key="tags", value=AnyValue(array_value=ArrayValue(values=[AnyValue(int_value=1)]))),
                KeyValue(key="ok", value=AnyValue(bool_value=True)),
            ],
            status=Status(code=Status.STATUS_CODE_ERROR, message="boom"),
        )
    )
    [record] = span_records(request)
    assert (record.trace_id, record.span_id, record.parent_span_id) == (TRACE, "53995c3f42cd8ad8", "")
    assert (record.kind, record.status_code, record.status_message, record.scope) == (
        KIND_SERVER,
        2,
        "boom",
        "my.scope",
    )
    assert record.attributes == {"tags": [1], "ok": True}
    assert record.resource == {"service.name": "svc"}
    document = segment_document(record)
    assert document["name"] == "svc"
    assert document["fault"] is True
    assert document["cause"]["exceptions"][0]["message"] == "boom"
