"""iatk.reports without pytest or AWS: percentiles, per-wait stats, the timeline's rows, the Markdown summary,
a failed wait's reasons; and how function matchers are named (the SLA table's "awaited")."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET

import pytest

from iatk import TraceTree, callable_matcher
from iatk.events import Event
from iatk.exceptions import WaitTimeout
from iatk.reports import (
    FailedWait,
    html_section,
    latency_stats,
    markdown_summary,
    percentile,
    sla_log_line,
    timeline_rows,
    timeline_svg,
)

TRACE = "1-5759e988-bd862e3fe1be46a994272793"


def tree_of(*documents):
    segments = [{"Id": d["id"], "Document": json.dumps({"trace_id": TRACE, **d})} for d in documents]
    return TraceTree.from_api({"Traces": [{"Id": TRACE, "Duration": 1.0, "Segments": segments}]})


def test_percentile_interpolates_between_ranks():
    assert percentile([3.0, 1.0, 2.0, 4.0], 50) == 2.5
    assert percentile([1.0, 2.0, 3.0, 4.0, 5.0], 90) == pytest.approx(4.6)
    assert percentile([7.0], 99) == 7.0
    with pytest.raises(ValueError, match="no values"):
        percentile([], 50)


def test_latency_stats_order_breaches_then_least_margin():
    wait = {"elapsed": 1.0, "started_at": "2026-01-01T00:00:00+00:00"}
    records = [
        sla_log_line(
            "a",
            {**wait, "awaited": "roomy", "sla": 30, "latency": 1.0, "outcome": "matched"},
            run_id="r1",
            backend="moto",
        ),
        sla_log_line(
            "a",
            {**wait, "awaited": "tight", "sla": 2, "latency": 1.9, "outcome": "matched"},
            run_id="r1",
            backend="moto",
        ),
        sla_log_line(
            "a",
            {**wait, "awaited": "late", "sla": 2, "latency": 2.5, "outcome": "matched"},
            run_id="r1",
            backend="moto",
        ),
    ]
    stats = latency_stats(records)
    assert [s.awaited for s in stats] == ["late", "tight", "roomy"]  # latency past the SLA is a breach
    assert stats[0].breaches == 1
    assert stats[1].margin == pytest.approx(0.1)


def test_timeline_rows_walk_segments_then_their_subsegments():
    tree = tree_of(
        {
            "id": "a" * 16,
            "name": "api",
            "origin": "AWS::ApiGateway::Stage",
            "start_time": 10.0,
            "end_time": 11.0,
            "subsegments": [
                {"id": "c" * 16, "name": "dynamodb", "start_time": 10.1, "end_time": 10.2, "throttle": True}
            ],
        },
        {
            "id": "b" * 16,
            "parent_id": "a" * 16,
            "name": "fn",
            "origin": "AWS::Lambda",
            "start_time": 10.3,
            "end_time": 10.9,
            "error": True,
            "http": {"response": {"status": 429}},
        },
    )
    rows = timeline_rows(tree)
    assert [(r.label, r.depth, r.state, r.subsegment) for r in rows] == [
        ("AWS::ApiGateway::Stage (api)", 0, "ok", False),
        ("dynamodb", 1, "throttle", True),
        ("AWS::Lambda (fn)", 1, "error", False),
    ]
    assert rows[2].marks == ("error", "http 429")
    assert [r.label for r in timeline_rows(tree, subsegments=False)] == [
        "AWS::ApiGateway::Stage (api)",
        "AWS::Lambda (fn)",
    ]
    svg = ET.fromstring(timeline_svg(tree, title="checkout <1>"))
    assert svg.find("{http://www.w3.org/2000/svg}title").text == "checkout <1>"  # escaped in the file, whole here


def test_failed_wait_reads_each_events_reasons_from_the_timeout():
    body = json.dumps({"version": "0", "id": "e-1", "source": "shop", "detail-type": "Placed", "detail": {"n": 1}})
    event = Event.from_body(body)
    message = (
        "timed out waiting for X\n1 event received, none matched; nearest miss first:\n"
        "  1. id=e-1 source='shop' detail-type='Placed' body=...\n     detail.n: expected 2, got 1\n"
        "(see README.md)"
    )
    err = WaitTimeout(message, description="X", last=[event])
    try:
        raise RuntimeError("wrapped") from err
    except RuntimeError as outer:
        failed = FailedWait.from_error(outer)
    assert failed is not None
    assert list(failed.rows()) == [(event, ["detail.n: expected 2, got 1"])]
    assert json.loads(failed.events_jsonl())["event"]["detail"] == {"n": 1}
    assert FailedWait.from_error(ValueError("other")) is None
    page = html_section([], [failed])
    assert "<td>detail.n: expected 2, got 1</td>" in page
    assert "<script" not in page


def test_markdown_summary_puts_breaches_first_then_the_slowest():
    waits = [
        ("test_fast", {"awaited": "a|b", "sla": 5, "latency": 0.1, "outcome": "matched"}),
        ("test_slow", {"awaited": "c", "sla": 5, "latency": 3.0, "outcome": "matched"}),
        ("test_broken", {"awaited": "d", "sla": 1, "latency": None, "elapsed": 1.0, "outcome": "timeout"}),
    ]
    text = markdown_summary(backend="aws", run_id="r-1", waits=waits, leftover=["arn:q"], cleanup={"Errors": []})
    rows = [line for line in text.splitlines() if line.startswith("| test_")]
    assert [r.split(" | ")[0] for r in rows] == ["| test_broken", "| test_slow", "| test_fast"]
    assert "a\\|b" in rows[2]  # a pipe in a cell does not break the table
    assert "- `arn:q`" in text
    assert "Errors" not in text  # empty sections are left out


def test_function_matchers_are_named_by_docstring_or_short_name():
    def is_paid(event):
        """The order is paid.

        More text that is not shown.
        """
        return True

    def plain(event):
        return True

    class Checker:
        """A class docstring is not the matcher's description."""

        def __call__(self, event):
            return True

    assert callable_matcher(is_paid).describe() == "The order is paid. [is_paid(event)]"
    assert callable_matcher(plain).describe() == "plain(event) passes"
    assert "<locals>" not in callable_matcher(plain).describe()
    assert callable_matcher(Checker()).describe() == "Checker(event) passes"
