"""W3C trace context: traceparent and OpenTelemetry SpanContext name the same trace as X-Ray headers."""

from __future__ import annotations

import boto3
import pytest
from botocore.stub import Stubber
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.trace import NonRecordingSpan, SpanContext, TraceFlags

from iatk._aws import aws
from iatk.exceptions import ConfigError, TraceError
from iatk.testing import FakeClock
from iatk.trace import TraceHeader, get_trace_tree, new_trace_header

XRAY_ID = "1-5759e988-bd862e3fe1be46a994272793"
TRACEPARENT = "00-5759e988bd862e3fe1be46a994272793-53995c3f42cd8ad8-01"


def test_a_traceparent_and_an_xray_header_name_the_same_trace() -> None:
    from_w3c = TraceHeader.parse(TRACEPARENT)
    from_xray = TraceHeader.parse(f"Root={XRAY_ID};Parent=53995c3f42cd8ad8;Sampled=1")
    assert from_w3c == from_xray
    assert from_w3c.root == XRAY_ID
    assert from_xray.to_traceparent() == TRACEPARENT
    assert from_xray.traceparent == TRACEPARENT
    assert from_xray.w3c_trace_id == "5759e988bd862e3fe1be46a994272793"


def test_the_sampled_flag_maps_both_ways() -> None:
    header = TraceHeader.parse("00-5759e988bd862e3fe1be46a994272793-53995c3f42cd8ad8-00")
    assert header.sampled is False
    assert str(header) == f"Root={XRAY_ID};Parent=53995c3f42cd8ad8;Sampled=0"
    assert header.to_traceparent().endswith("-00")
    # other flag bits are not "sampled": only bit 0 is
    assert TraceHeader.parse("00-5759e988bd862e3fe1be46a994272793-53995c3f42cd8ad8-02").sampled is False
    assert TraceHeader.parse("00-5759E988BD862E3FE1BE46A994272793-53995C3F42CD8AD8-03").sampled is True


def test_a_header_without_a_parent_gets_one_for_its_traceparent() -> None:
    header = TraceHeader(XRAY_ID)
    assert header.traceparent is None
    made = header.to_traceparent()
    assert made.startswith("00-5759e988bd862e3fe1be46a994272793-")
    assert made.endswith("-01")
    assert TraceHeader.parse(made).root == XRAY_ID
    assert header.to_traceparent("00f067aa0ba902b7") == "00-5759e988bd862e3fe1be46a994272793-00f067aa0ba902b7-01"
    with pytest.raises(TraceError, match="not a span id: '0000000000000000'"):
        header.to_traceparent("0" * 16)


@pytest.mark.parametrize(
    ("text", "why"),
    [
        ("00-5759e988bd862e3fe1be46a994272793-53995c3f42cd8ad8", "expected 00-<32 hex trace id>"),
        ("00-5759e988bd862e3fe1be46a99427279-53995c3f42cd8ad8-01", "expected 00-<32 hex trace id>"),
        ("00-00000000000000000000000000000000-53995c3f42cd8ad8-01", "all-zero id"),
        ("00-5759e988bd862e3fe1be46a994272793-0000000000000000-01", "all-zero id"),
        ("ff-5759e988bd862e3fe1be46a994272793-53995c3f42cd8ad8-01", "version ff"),
        ("00-5759e988bd862e3fe1be46a994272793-53995c3f42cd8ad8-01-extra", "version 00"),
        ("00-5759e988bd862e3fe1be46a994272793-53995c3f42cd8ad8-zz", "expected 00-<32 hex trace id>"),
    ],
)
def test_a_bad_traceparent_is_refused_with_what_was_expected(text: str, why: str) -> None:
    with pytest.raises(TraceError, match="not a W3C traceparent") as caught:
        TraceHeader.parse(text)
    assert why in str(caught.value)


def test_a_later_version_may_add_fields() -> None:
    assert TraceHeader.parse("01-5759e988bd862e3fe1be46a994272793-53995c3f42cd8ad8-01-what-next").root == XRAY_ID


def test_new_trace_header_gives_either_form() -> None:
    header = new_trace_header()
    assert isinstance(header, TraceHeader)
    text = new_trace_header(form="traceparent")
    assert type(text) is str
    parsed = TraceHeader.parse(text)
    assert parsed.sampled is True
    assert parsed.parent is not None
    assert parsed.to_traceparent() == text
    assert new_trace_header(False, form="traceparent").endswith("-00")
    with pytest.raises(ConfigError, match="form: expected 'xray' or 'traceparent'"):
        new_trace_header(form="w3c")  # type: ignore[call-overload]


def test_an_opentelemetry_span_context_names_its_trace() -> None:
    context = SpanContext(
        trace_id=0x5759E988BD862E3FE1BE46A994272793,
        span_id=0x53995C3F42CD8AD8,
        is_remote=False,
        trace_flags=TraceFlags(TraceFlags.SAMPLED),
    )
    assert TraceHeader.from_span_context(context) == TraceHeader.parse(TRACEPARENT)
    assert TraceHeader.from_span_context(NonRecordingSpan(context)) == TraceHeader.parse(TRACEPARENT)
    tracer = TracerProvider().get_tracer("test")
    with tracer.start_as_current_span("work") as span:
        header = TraceHeader.from_span_context(span)
    assert header.w3c_trace_id == f"{span.get_span_context().trace_id:032x}"
    with pytest.raises(TraceError, match="no span was recording"):
        TraceHeader.from_span_context(SpanContext(0, 0, is_remote=False))
    with pytest.raises(TraceError, match="expected an OpenTelemetry SpanContext"):
        TraceHeader.from_span_context(object())


@pytest.mark.parametrize(
    "given",
    [
        XRAY_ID,
        "5759e988bd862e3fe1be46a994272793",
        TRACEPARENT,
        f"Root={XRAY_ID};Sampled=1",
        SpanContext(0x5759E988BD862E3FE1BE46A994272793, 0x53995C3F42CD8AD8, is_remote=True),
    ],
    ids=["xray-id", "w3c-id", "traceparent", "xray-header", "span-context"],
)
def test_get_trace_tree_asks_for_the_same_trace_whatever_form(given: object) -> None:
    session = boto3.Session(aws_access_key_id="x", aws_secret_access_key="x", region_name="us-east-1")
    document = f'{{"id": "53995c3f42cd8ad8", "trace_id": "{XRAY_ID}", "name": "api", "start_time": 1, "end_time": 2}}'
    with Stubber(aws(session).xray) as stub:
        answer = {"Traces": [{"Id": XRAY_ID, "Segments": [{"Id": "53995c3f42cd8ad8", "Document": document}]}]}
        stub.add_response("batch_get_traces", answer, {"TraceIds": [XRAY_ID]})
        clock = FakeClock()
        tree = get_trace_tree(given, within=1, session=session, source="xray", clock=clock, sleep=clock.sleep)
        stub.assert_no_pending_responses()
    assert tree.root.name == "api"
