"""What a run leaves for people who were not there: pytest-html sections (looked at in headless Chromium),
the GitHub Actions summary, --iatk-artifacts, --iatk-sla-log; and conftests reaching the run (get_run, the hook).

One child pytest run (a subprocess with ``--iatk-backend=moto``: its own embedded server) holds every
scenario; the tests here read what it wrote.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from pathlib import Path

import pytest

CONFTEST = """
import iatk.pytest_plugin

SEEN = {}


def pytest_configure(config):
    # runs before iatk's configure: the run is not there yet, and get_run says what to do instead
    try:
        iatk.pytest_plugin.get_run(config)
    except Exception as err:
        SEEN["early"] = str(err)


def pytest_iatk_configured(config, run):
    SEEN["hook"] = (run.backend_name, run.backend.url, run.run_id)
    SEEN["env"] = run.env()["AWS_ENDPOINT_URL"]
    SEEN["queues"] = run.session.client("sqs").list_queues().get("QueueUrls", [])


def pytest_collection_modifyitems(config, items):
    SEEN["later"] = iatk.pytest_plugin.get_run(config).backend.url
"""

SUITE = """
import json, secrets, time

import pytest
from conftest import SEEN


def test_a_conftest_reached_the_run(iatk_session):
    assert "iatk has not configured this run yet" in SEEN["early"]
    backend, url, run_id = SEEN["hook"]
    assert backend == "moto"
    assert url.startswith("http://127.0.0.1:")
    assert SEEN["env"] == url == SEEN["later"] == iatk_session.client("sqs").meta.endpoint_url
    assert run_id == "outputs-run"
    assert SEEN["queues"] == []


def is_paid(event):
    '''the order is paid'''
    return event.detail.get("status") == "paid"


def test_b_a_failed_wait_with_a_trace(iatk_listener, iatk_put_events, iatk_trace, iatk_session):
    header = iatk_trace.new_header()
    now = time.time()
    root = {"trace_id": header.root, "id": secrets.token_hex(8), "name": "checkout-api", "origin": "AWS::ApiGateway::Stage",
            "start_time": now, "end_time": now + 0.9, "fault": True,
            "subsegments": [{"id": secrets.token_hex(8), "name": "charge-card", "start_time": now + 0.1,
                             "end_time": now + 0.6, "error": True}]}
    worker = {"trace_id": header.root, "id": secrets.token_hex(8), "parent_id": root["id"], "name": "orders-worker",
              "origin": "AWS::Lambda", "start_time": now + 0.2, "end_time": now + 0.7}
    iatk_session.client("xray").put_trace_segments(TraceSegmentDocuments=[json.dumps(root), json.dumps(worker)])
    iatk_trace.get_tree(within=10)
    listener = iatk_listener("default", pattern={"source": ["shop"]})
    iatk_put_events({"Source": "shop", "DetailType": "OrderPlaced", "Detail": json.dumps({"status": "unpaid"})})
    listener.expect_event(is_paid, within=2)


def test_c_a_passing_wait(iatk_listener, iatk_put_events):
    listener = iatk_listener("default", pattern={"source": ["shop"]})
    iatk_put_events({"Source": "shop", "DetailType": "OrderPaid", "Detail": json.dumps({"status": "paid"})})
    listener.expect_event(is_paid, within=10)
"""


@dataclass(frozen=True)
class Child:
    returncode: int
    output: str
    folder: Path


@pytest.fixture(scope="module")
def child(tmp_path_factory: pytest.TempPathFactory) -> Child:
    """The suite, run once in a subprocess with every output asked for."""
    pytest.importorskip("pytest_html")
    folder = tmp_path_factory.mktemp("outputs-suite")
    (folder / "pytest.ini").write_text("[pytest]\n")
    (folder / "conftest.py").write_text(CONFTEST)
    (folder / "test_outputs.py").write_text(SUITE.replace("'''", '"""'))
    drop = ("AWS_PROFILE", "AWS_ENDPOINT_URL", "PYTEST_ADDOPTS", "PYTEST_XDIST_WORKER", "PYTEST_CURRENT_TEST")
    env = {k: v for k, v in os.environ.items() if k not in drop and not k.startswith(("IATK_", "GITHUB_", "CI_"))}
    env.update(IATK_RUN_ID="outputs-run", GITHUB_STEP_SUMMARY=str(folder / "summary.md"), GITHUB_SHA="abc123")
    (folder / "summary.md").write_text("earlier step\n")
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "--iatk-backend=moto",
            "-p",
            "no:cacheprovider",
            "--iatk-artifacts",
            "artifacts",
            "--iatk-sla-log",
            "sla.jsonl",
            "--html",
            "report.html",
            "--self-contained-html",
        ],
        cwd=folder,
        env=env,
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )
    return Child(done.returncode, done.stdout + done.stderr, folder)


def test_outcomes_and_the_hook(child: Child):
    """The conftest reached the run from its hook and later hooks (test a); only the failing wait fails."""
    assert child.returncode == 1, child.output
    assert re.search(r"1 failed, 2 passed", child.output), child.output


def test_the_sla_table_names_function_matchers_by_their_docstring_and_wraps(child: Child):
    """The terminal's SLA table: 'the order is paid [is_paid(event)]', not a <locals> qualname, uncut."""
    table = child.output.split(" iatk: waits and SLAs ", 1)[1].split("\n=", 1)[0]
    assert "the order is paid [is_paid(event)]" in table
    assert "<locals>" not in table
    assert all(len(line) < 150 for line in table.splitlines()), table


def test_sla_log_has_one_line_per_wait_with_the_run(child: Child):
    """--iatk-sla-log: one JSON line per wait: test, awaited, SLA, latency, outcome, run id, backend, commit."""
    lines = [json.loads(line) for line in (child.folder / "sla.jsonl").read_text().splitlines()]
    assert [(r["test"].split("::")[-1], r["outcome"]) for r in lines] == [
        ("test_b_a_failed_wait_with_a_trace", "timeout"),
        ("test_c_a_passing_wait", "matched"),
    ]
    assert {(r["run_id"], r["backend"], r["commit"]) for r in lines} == {("outputs-run", "moto", "abc123")}
    assert lines[1]["latency"] is not None
    assert (lines[0]["sla"], lines[1]["sla"]) == (2, 10)
    assert lines[0]["latency"] is None
    assert lines[0]["awaited"].startswith("expect_event: an event matching the order is paid [is_paid(event)]")


def test_artifacts_of_the_failed_test(child: Child):
    """--iatk-artifacts: the failed test's trace as X-Ray returns it, its timeline, the wait's events."""
    [folder] = (child.folder / "artifacts").iterdir()
    assert folder.name == "test_outputs.py__test_b_a_failed_wait_with_a_trace"
    response = json.loads((folder / "trace.json").read_text())
    [trace] = response["Traces"]
    names = sorted(json.loads(s["Document"])["name"] for s in trace["Segments"])
    assert names == ["checkout-api", "orders-worker"]
    svg = ET.fromstring((folder / "timeline.svg").read_text())
    assert svg.tag == "{http://www.w3.org/2000/svg}svg"
    [event] = [json.loads(line) for line in (folder / "events.jsonl").read_text().splitlines()]
    assert event["event"]["detail"] == {"status": "unpaid"}
    assert "is_paid returned False" in (folder / "wait.txt").read_text()
    assert not (child.folder / "artifacts" / "test_outputs.py__test_c_a_passing_wait").exists()


def test_github_summary_is_appended(child: Child):
    """GITHUB_STEP_SUMMARY: appended (the earlier step's text stays); breaches first, then the slowest."""
    text = (child.folder / "summary.md").read_text()
    assert text.startswith("earlier step\n### iatk: backend moto (embedded, http://127.0.0.1:")
    assert "run id `outputs-run`" in text
    assert "**Waits**: 2, SLA breaches: 1 ❌" in text
    rows = [line for line in text.splitlines() if line.startswith("| test_")]
    assert [row.split(" | ")[0] for row in rows] == ["| test_b_a_failed_wait_with_a_trace", "| test_c_a_passing_wait"]
    assert rows[0].endswith("| timeout ❌ |")


def _chromium() -> str:
    for name in ("chromium", "chromium-browser", "google-chrome"):
        found = shutil.which(name)
        if found:
            return found
    pytest.skip("no Chromium here (.ci/run installs Debian's chromium)")


def _browse(report: Path, *flags: str, timeout: int = 90) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [
            _chromium(),
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-dev-shm-usage",
            "--no-first-run",
            "--virtual-time-budget=5000",
            *flags,
            report.as_uri(),
        ],
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


def test_html_report_in_a_real_browser(child: Child):
    """pytest-html, rendered by headless Chromium: the failed test's waits table, its events with the
    mismatch reasons, the timeline (bars for every segment and subsegment, fault and error marked)."""
    report = child.folder / "report.html"
    done = _browse(report, "--dump-dom")
    assert done.returncode == 0, done.stderr[-2000:]
    dom = done.stdout
    assert dom.count('class="iatk-waits"') == 2  # the failed and the passing test each have a waits table
    assert 'class="iatk-events"' in dom
    assert "<td>is_paid returned False</td>" in dom  # why the received event did not match, in its row
    assert dom.count('<svg xmlns="http://www.w3.org/2000/svg" class="iatk-timeline"') == 1
    for bar in ("iatk-bar iatk-fault", "iatk-bar iatk-error", "iatk-bar iatk-ok"):
        assert bar in dom, bar
    for name in ("checkout-api", "charge-card", "orders-worker"):
        assert name in dom
    shot = child.folder / "report.png"
    done = _browse(report, f"--screenshot={shot}", "--window-size=1280,1600")
    assert done.returncode == 0, done.stderr[-2000:]
    data = shot.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    assert len(data) > 20_000  # a page with tables and a chart, not a blank one
    keep = os.environ.get("IATK_KEEP_SCREENSHOT")
    if keep:
        shutil.copy(shot, keep)
