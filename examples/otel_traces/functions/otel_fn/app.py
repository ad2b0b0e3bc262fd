"""An order handler instrumented with OpenTelemetry: its span, and a client span per AWS SDK call.

The tracer exports with OTLP/HTTP to ``OTEL_EXPORTER_OTLP_TRACES_ENDPOINT`` (on AWS: X-Ray's OTLP
endpoint through the ADOT layer or a collector; offline: the embedded server's receiver, which iatk
gives every function). The span continues the invocation's trace: Lambda hands it in
``_X_AMZN_TRACE_ID`` (``Root=1-...;Parent=<function segment>;Sampled=1``), read here with the X-Ray
propagator's own parsing rules, so the span hangs under the ``AWS::Lambda::Function`` segment.
The processor is flushed before the handler returns: a frozen environment sends nothing.
"""

from __future__ import annotations

import json
import os
from typing import Any

import boto3
from opentelemetry import trace
from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
from opentelemetry.instrumentation.botocore import BotocoreInstrumentor
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor
from opentelemetry.trace import NonRecordingSpan, SpanContext, SpanKind, TraceFlags

provider = TracerProvider(
    resource=Resource.create(
        {"cloud.provider": "aws", "cloud.platform": "aws_lambda", "faas.name": os.environ["AWS_LAMBDA_FUNCTION_NAME"]}
    )
)
provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter()))
trace.set_tracer_provider(provider)
BotocoreInstrumentor().instrument()
tracer = trace.get_tracer("otel_traces.orders")
sqs = boto3.client("sqs")


def lambda_parent() -> Any:
    """The invocation's trace as an OpenTelemetry context (None outside Lambda or unsampled)."""
    fields = dict(part.split("=", 1) for part in os.environ.get("_X_AMZN_TRACE_ID", "").split(";") if "=" in part)
    root, parent = fields.get("Root", ""), fields.get("Parent", "")
    if fields.get("Sampled") != "1" or len(root) != 35 or len(parent) != 16:
        return None
    span = SpanContext(
        trace_id=int(root[2:10] + root[11:], 16),
        span_id=int(parent, 16),
        is_remote=True,
        trace_flags=TraceFlags(TraceFlags.SAMPLED),
    )
    return trace.set_span_in_context(NonRecordingSpan(span))


def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    order = event.get("detail") or {}
    try:
        with tracer.start_as_current_span("handle order", context=lambda_parent(), kind=SpanKind.SERVER) as span:
            span.set_attribute("order_id", str(order.get("orderId")))
            span.set_attribute("aws.xray.annotations", ["order_id"])
            sqs.send_message(
                QueueUrl=os.environ["RECEIPTS_URL"], MessageBody=json.dumps({"by": "otel", "order": order})
            )
    finally:
        provider.force_flush(5000)
    return {"orderId": order.get("orderId")}
