"""`iatk trace` (exit codes, the settings table's --within, --svg) and `iatk report` (SLA logs → percentiles,
chart); the CLI's messages spell the CLI's flags, not the pytest plugin's."""

from __future__ import annotations

import json
import secrets
import time
import xml.etree.ElementTree as ET

import pytest

from iatk.cli import main

SVG = "{http://www.w3.org/2000/svg}"


@pytest.fixture(autouse=True)
def clean_env(monkeypatch):
    for key in ("IATK_BACKEND", "IATK_ENDPOINT_URL", "IATK_TRACE_TIMEOUT", "AWS_ENDPOINT_URL", "AWS_PROFILE"):
        monkeypatch.delenv(key, raising=False)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "x")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "x")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")


def test_a_malformed_trace_id_is_a_usage_error(capsys):
    """A bad trace id is a bad argument: exit 2 (the README's code for those), before any AWS call."""
    assert main(["trace", "not-a-trace", "--endpoint-url", "http://127.0.0.1:9"]) == 2
    assert "not an X-Ray trace id: 'not-a-trace'" in capsys.readouterr().err


def test_within_comes_from_the_settings_table(capsys, monkeypatch):
    """`--within` is the trace_timeout setting: the same default (60 s) and env var as --iatk-trace-timeout."""
    assert main(["trace", "--help"]) == 0
    assert "(default: IATK_TRACE_TIMEOUT, else 60)" in " ".join(capsys.readouterr().out.split())
    monkeypatch.setenv("IATK_TRACE_TIMEOUT", "soon")
    assert main(["trace", "1-5759e988-bd862e3fe1be46a994272793", "--endpoint-url", "http://127.0.0.1:9"]) == 2
    assert "trace_timeout (from env): expected a duration" in capsys.readouterr().err


def test_trace_prints_the_tree_and_writes_the_timeline(embedded, moto_session, tmp_path, capsys):
    """On the embedded backend: the tree on stdout, the timeline SVG (a bar per segment, the fault marked)."""
    trace_id = f"1-{int(time.time()):08x}-{secrets.token_hex(12)}"
    now = time.time()
    root = {
        "trace_id": trace_id,
        "id": secrets.token_hex(8),
        "name": "api",
        "origin": "AWS::ApiGateway::Stage",
        "start_time": now,
        "end_time": now + 0.4,
        "fault": True,
    }
    child = {
        "trace_id": trace_id,
        "id": secrets.token_hex(8),
        "parent_id": root["id"],
        "name": "worker",
        "origin": "AWS::Lambda",
        "start_time": now + 0.1,
        "end_time": now + 0.3,
    }
    moto_session.client("xray").put_trace_segments(TraceSegmentDocuments=[json.dumps(root), json.dumps(child)])
    svg = tmp_path / "t.svg"
    argv = ["trace", trace_id, "--within", "10", "--svg", str(svg), "--backend", "moto", "--endpoint-url", embedded.url]
    assert main(argv) == 0
    out = capsys.readouterr().out
    assert "AWS::ApiGateway::Stage  api  0.400 s  [fault]" in out
    drawing = ET.fromstring(svg.read_text())
    bars = drawing.findall(f".//{SVG}g")
    assert [g.get("class") for g in bars] == ["iatk-bar iatk-fault", "iatk-bar iatk-ok"]
    tips = [g.find(f"{SVG}title").text for g in bars]
    assert tips[1] == "AWS::Lambda (worker): starts +100 ms, lasts 200 ms"


def test_messages_spell_the_cli_flags(embedded, capsys):
    """A core message that names a pytest flag (--iatk-stack) names what the CLI takes instead."""
    assert main(["stack", "outputs", "no-such-stack", "--endpoint-url", embedded.url]) == 1
    err = capsys.readouterr().err
    assert "Check the stack NAME argument, the region and the profile" in err
    assert "--iatk-" not in err


def _log(path, run, waits):
    path.write_text(
        "".join(
            json.dumps(
                {
                    "test": "t.py::test_order",
                    "awaited": awaited,
                    "sla": sla,
                    "latency": latency,
                    "elapsed": latency or sla,
                    "outcome": outcome,
                    "run_id": run,
                    "backend": "moto",
                    "commit": None,
                    "time": f"2026-01-0{run[-1]}T00:00:00+00:00",
                }
            )
            + "\n"
            for awaited, sla, latency, outcome in waits
        )
    )
    return str(path)


def test_report_prints_percentiles_across_runs_least_margin_first(tmp_path, capsys):
    """Three runs: per wait p50/p90/worst across them, margin = SLA - p90, a timed-out run counted as a breach."""
    files = [
        _log(tmp_path / "1.jsonl", "run1", [("placed", 10, 1.0, "matched"), ("paid", 5, 2.0, "matched")]),
        _log(tmp_path / "2.jsonl", "run2", [("placed", 10, 2.0, "matched"), ("paid", 5, 4.0, "matched")]),
        _log(tmp_path / "3.jsonl", "run3", [("placed", 10, 3.0, "matched"), ("paid", 5, None, "timeout")]),
    ]
    svg = tmp_path / "chart.svg"
    assert main(["report", *files, "--json", "--svg", str(svg)]) == 0
    stats = json.loads(capsys.readouterr().out)
    assert [s["awaited"] for s in stats] == ["paid", "placed"]  # the breach first
    paid, placed = stats
    assert (paid["runs"], paid["samples"], paid["breaches"], paid["worst"]) == (3, 2, 1, 4.0)
    assert (placed["p50"], placed["worst"], placed["breaches"]) == (2.0, 3.0, 0)
    assert placed["p90"] == pytest.approx(2.8)
    assert placed["margin"] == pytest.approx(7.2)
    chart = ET.fromstring(svg.read_text())
    assert len(chart.findall(f".//{SVG}polyline[@class='iatk-sla']")) == 2
    assert len(chart.findall(f".//{SVG}circle")) == 5  # a point per run with a latency; the timeout is a cross
    assert main(["report", *files]) == 0
    table = capsys.readouterr().out.splitlines()
    assert table[0].split() == [
        "TEST",
        "AWAITED",
        "SLA",
        "S",
        "RUNS",
        "P50",
        "S",
        "P90",
        "S",
        "P99",
        "S",
        "WORST",
        "S",
        "MARGIN",
        "S",
        "BREACHES",
    ]
    assert table[2].split()[:5] == ["t.py::test_order", "placed", "10", "3", "2.000"]


def test_report_of_a_file_that_is_not_an_sla_log(tmp_path, capsys):
    """Not JSON lines, or not SLA records: exit 2 naming the file and line."""
    bad = tmp_path / "junit.xml"
    bad.write_text("<testsuite/>\n")
    assert main(["report", str(bad)]) == 2
    assert f"{bad}:1: not JSON" in capsys.readouterr().err
    other = tmp_path / "other.jsonl"
    other.write_text('{"a": 1}\n')
    assert main(["report", str(other)]) == 2
    assert "not an SLA log record" in capsys.readouterr().err
