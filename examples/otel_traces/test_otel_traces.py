"""Two roads into one trace tree: a function instrumented with OpenTelemetry, one with aws-xray-sdk.

The test puts an order on the bus with a trace header (``iatk_trace.patch``). EventBridge carries
the header to both targets, Lambda adds its ``AWS::Lambda`` and ``AWS::Lambda::Function`` segments,
and each function adds its own work:

- OpenTelemetry: a ``SERVER`` span, exported over OTLP/HTTP, becomes a segment named after the
  function's ``OTEL_SERVICE_NAME`` (``otel-orders``), and the botocore instrumentation's client span
  its ``SQS`` subsegment;
- aws-xray-sdk: subsegments of the function's segment (``handle order``, then ``sqs``), through the
  X-Ray daemon address Lambda gives; the SQS call also shows as an inferred ``AWS::SQS::Queue`` node.

Each test reads the tree of its own event and asserts the path its function's work takes.
"""

from __future__ import annotations

import json
import uuid

import pytest

import iatk

# The OpenTelemetry function runs on this virtualenv's packages (the Lambda runtime's fidelity limit):
# the SDK and its OTLP exporter come with iatk's dev extra, or `pip install opentelemetry-sdk
# opentelemetry-exporter-otlp-proto-http opentelemetry-instrumentation-botocore 'iatk[otel]'`.
pytest.importorskip("opentelemetry.sdk", reason="the OpenTelemetry example needs opentelemetry-sdk")
pytest.importorskip("opentelemetry.exporter.otlp.proto.http", reason="and its OTLP/HTTP exporter")
pytest.importorskip("opentelemetry.proto", reason="and iatk[otel] (the embedded OTLP receiver)")

WITHIN = 20


def put_order(iatk_trace, iatk_session, stack: iatk.Stack) -> str:
    """Put one traced order on the bus; returns its id."""
    order_id = uuid.uuid4().hex
    events = iatk_trace.patch(iatk_session.client("events"), iatk_trace.new_header())
    answer = events.put_events(
        Entries=[
            {
                "EventBusName": stack.output("BusName"),
                "Source": "shop.orders",
                "DetailType": "OrderPlaced",
                "Detail": json.dumps({"orderId": order_id}),
            }
        ]
    )
    assert answer["FailedEntryCount"] == 0, answer
    return order_id


def test_the_opentelemetry_function_has_its_own_segment(orders_stack, iatk_trace, iatk_session):
    order_id = put_order(iatk_trace, iatk_session, orders_stack)

    tree = iatk_trace.get_tree(until=lambda t: t.find(name="otel-orders"), within=WITHIN)

    path = tree.assert_path(["Events", "AWS::Lambda", "AWS::Lambda::Function", "otel-orders"])
    assert path[2].name == orders_stack.output("OtelFunctionName")
    [span] = tree.find(name="otel-orders")
    assert span.annotations["order_id"] == order_id
    assert [s.name for s in span.subsegments] == ["SQS"]
    assert span.subsegments[0].document["aws"]["operation"] == "SendMessage"
    assert not span.fault
    assert not span.error


def test_the_xray_sdk_function_records_subsegments(orders_stack, iatk_trace, iatk_session):
    order_id = put_order(iatk_trace, iatk_session, orders_stack)

    tree = iatk_trace.get_tree(until=lambda t: t.find_subsegments("handle order"), within=WITHIN)

    # The SDK's work is subsegments of the function's segment, not a hop; its SQS call is the
    # inferred SQS node after it, as X-Ray draws it.
    tree.assert_path(["Events", "AWS::Lambda", "AWS::Lambda::Function", "AWS::SQS::Queue"])
    [path] = [p for p in tree.paths if any(s.name == orders_stack.output("XrayFunctionName") for s in p)]
    assert [s.origin for s in path] == ["AWS::Events", "AWS::Lambda", "AWS::Lambda::Function", "AWS::SQS::Queue"]
    [(function, work)] = tree.find_subsegments("handle order")
    assert function is path[2]
    assert work.annotations["order_id"] == order_id
    assert [s.name for s in work.subsegments] == ["sqs"]  # the SDK names it after the endpoint prefix
