"""The iatk_trace fixture in a user suite: the failed-test report section, the marker's deadline, teardown.

One child pytest run (a subprocess with ``--iatk-backend=moto``: its own embedded server, never this
process's) holds every scenario; the tests here read its outcome and its output.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from dataclasses import dataclass

import pytest

SUITE = """
import json, secrets, time
import pytest

PATCHED = []


def put_segment(session, trace_id, name):
    now = time.time()
    document = {"trace_id": trace_id, "id": secrets.token_hex(8), "name": name, "origin": "AWS::Lambda",
                "start_time": now, "end_time": now + 0.25}
    session.client("xray").put_trace_segments(TraceSegmentDocuments=[json.dumps(document)])


def trace_headers_sent(client, call):
    seen = []

    def record(request, **_):
        seen.append(request.headers.get("X-Amzn-Trace-Id"))

    client.meta.events.register("before-send.sqs", record)
    try:
        call()
    finally:
        client.meta.events.unregister("before-send.sqs", record)
    return [h.decode() if isinstance(h, bytes) else h for h in seen]


def test_a_fails_after_reading_a_tree(iatk_trace, iatk_session):
    sqs = iatk_trace.patch(iatk_session.client("sqs"))
    PATCHED.append(sqs)
    assert trace_headers_sent(sqs, sqs.list_queues) == [str(iatk_trace.header)]
    put_segment(iatk_session, iatk_trace.header.root, "checkout-on-a-failing-test")
    iatk_trace.get_tree(within=10)
    assert False, "fails on purpose"


def test_b_passes_after_reading_a_tree(iatk_trace, iatk_session):
    header = iatk_trace.new_header()
    put_segment(iatk_session, header.root, "checkout-on-a-passing-test")
    iatk_trace.get_tree(within=10)
    print("the passing test ran")


@pytest.mark.iatk(trace_timeout=2)
def test_c_times_out_by_the_marker(iatk_trace):
    iatk_trace.new_header()
    iatk_trace.get_tree()


def test_d_the_patched_client_was_unpatched_at_teardown():
    [sqs] = PATCHED
    assert trace_headers_sent(sqs, sqs.list_queues) == [None]
"""


@dataclass(frozen=True)
class Child:
    """A finished child run: its exit code and its output."""

    returncode: int
    output: str

    @property
    def lines(self) -> pytest.LineMatcher:
        return pytest.LineMatcher(self.output.splitlines())


@pytest.fixture(scope="module")
def child(tmp_path_factory: pytest.TempPathFactory) -> Child:
    """The suite, run once in a subprocess on its own embedded backend, with -rA (passes' sections shown).

    Module-scoped, so the run (about 5 s, 2 of them the marker's deadline) is shared by the tests
    below; pytester's fixtures are per test, so the child is started the way runpytest_subprocess does.
    """
    folder = tmp_path_factory.mktemp("trace-suite")
    (folder / "pytest.ini").write_text("[pytest]\n")  # the child's rootdir: no addopts from this repo
    (folder / "test_traced.py").write_text(SUITE)
    drop = ("AWS_PROFILE", "AWS_ENDPOINT_URL", "PYTEST_ADDOPTS", "PYTEST_XDIST_WORKER", "PYTEST_CURRENT_TEST")
    env = {k: v for k, v in os.environ.items() if k not in drop and not k.startswith("IATK_")}
    done = subprocess.run(
        [sys.executable, "-m", "pytest", "--iatk-backend=moto", "-p", "no:cacheprovider", "-rA", "-v"],
        cwd=folder,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    return Child(done.returncode, done.stdout + done.stderr)


def section(output: str, test: str) -> str:
    """The failure block of ``test`` in the child's output (up to the next test's header)."""
    found = re.search(rf"_{{3,}} {test} _{{3,}}\n(.*?)(?=\n_{{3,}} test_|\n={{3,}} )", output, re.S)
    assert found, f"no report block for {test} in:\n{output}"
    return found.group(1)


def test_outcomes(child: Child):
    """The failing and the timed-out tests fail, the others pass (teardown unpatching included)."""
    assert child.returncode == 1, child.output
    child.lines.fnmatch_lines(["*= 2 failed, 2 passed in *"])


def test_a_failed_test_reports_its_last_tree(child: Child):
    """A failed test that read a tree gets an 'iatk: last X-Ray trace' section with the rendered tree."""
    block = section(child.output, "test_a_fails_after_reading_a_tree")
    assert re.search(r"-+ iatk: last X-Ray trace -+\ntrace 1-[0-9a-f]{8}-[0-9a-f]{24}  \(1 segments", block), block
    assert "AWS::Lambda  checkout-on-a-failing-test  0.250 s" in block


def test_a_passing_test_has_no_trace_section(child: Child):
    """With -rA a passing test's sections are printed, and the trace section is not among them."""
    output = child.output
    block = section(output, "test_b_passes_after_reading_a_tree")
    assert "the passing test ran" in block  # -rA shows this test's captured output...
    assert "iatk: last X-Ray trace" not in block  # ...but no trace section
    assert "checkout-on-a-passing-test" not in output
    assert output.count("- iatk: last X-Ray trace -") == 2  # the failing and the timed-out test only


def test_the_marker_sets_the_trace_deadline(child: Child):
    """@pytest.mark.iatk(trace_timeout=2) makes an unknown trace a TraceIncomplete after about 2 s, not 60."""
    block = section(child.output, "test_c_times_out_by_the_marker")
    assert re.search(r"E\s+iatk\.exceptions\.TraceIncomplete: trace 1-\S+ not found after 2\.\d s", block), block
    assert re.search(r"-+ iatk: last X-Ray trace -+\ntrace 1-\S+ not found after 2\.\d s", block), block


def test_trace_incomplete_shows_the_test_line_not_iatk_internals(child: Child):
    """__tracebackhide__: the traceback stops at the test's call; get_trace_tree's docstring is not dumped."""
    block = section(child.output, "test_c_times_out_by_the_marker")
    assert ">       iatk_trace.get_tree()" in block
    assert "Read a trace from X-Ray once it is complete" not in block
    assert "def get_trace_tree(" not in block
    assert "def get_tree(" not in block
    assert "def wait_until(" not in block


def test_patched_clients_are_unpatched_at_teardown(child: Child):
    """The client patched in the first test sent the header then, and sends none in a later test."""
    child.lines.fnmatch_lines(["test_traced.py::test_d_the_patched_client_was_unpatched_at_teardown PASSED*"])
    child.lines.fnmatch_lines(["test_traced.py::test_a_fails_after_reading_a_tree FAILED*"])


def test_the_report_header_says_where_traces_are_read_from(child: Child):
    """With trace_source auto, the header names the source the account's destination chose, and why."""
    child.lines.fnmatch_lines(
        [
            "iatk: backend moto (embedded, http://127.0.0.1:*",
            "iatk: traces: X-Ray (xray:BatchGetTraces), because the account's trace destination is XRay*",
        ]
    )


def test_a_trace_source_setting_is_named_in_the_header(tmp_path):
    """--iatk-trace-source wins over the account's destination, and the header says so (no X-Ray call)."""
    (tmp_path / "pytest.ini").write_text("[pytest]\n")
    (tmp_path / "test_nothing.py").write_text("def test_nothing():\n    pass\n")
    drop = ("AWS_PROFILE", "AWS_ENDPOINT_URL", "PYTEST_ADDOPTS", "PYTEST_XDIST_WORKER", "PYTEST_CURRENT_TEST")
    env = {k: v for k, v in os.environ.items() if k not in drop and not k.startswith("IATK_")}
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "--iatk-backend=moto",
            "--iatk-trace-source=transaction-search",
            "-p",
            "no:cacheprovider",
        ],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    pytest.LineMatcher(done.stdout.splitlines()).fnmatch_lines(
        ["iatk: traces: Transaction Search (xray:ListRetrievedTraces), set by --iatk-trace-source=transaction-search"]
    )
