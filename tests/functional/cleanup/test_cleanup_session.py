"""The plugin's cleanup hooks: session-end removal of this run's leftovers, --iatk-keep, --iatk-sweep
under xdist, the embedded backend, failures, and no AWS call at all when a run never used AWS.
"""

from __future__ import annotations

import secrets
import tempfile
import threading
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from cleanup_harness import make_harness, snapshot

from iatk.cleanup import find_harness_resources

LEAKY = """
import os, pathlib
from datetime import timedelta
import pytest
from cleanup_harness import make_harness

HERE = pathlib.Path(os.environ["IATK_TEST_DIR"])


@pytest.mark.parametrize("n", range(2))
def test_leaks_a_listener(iatk_session, iatk_run_id, n):
    harness_id = make_harness(iatk_session, run_id=iatk_run_id)
    (HERE / f"leak-{n}-{os.getpid()}").write_text(harness_id)
"""

DEPLOYS = """
import os, pathlib

HERE = pathlib.Path(os.environ["IATK_TEST_DIR"])


def test_deploys(iatk_deploy, iatk_session):
    stack = iatk_deploy(HERE / "app.json", "session-app")
    (HERE / "stack").write_text(stack.arn)
    if os.environ.get("BREAK_STACK"):  # moto then refuses DeleteStack (AWS would not): a failing cleanup
        queue = stack.physical_id("Queue")
        iatk_session.client("sqs").delete_queue(QueueUrl=queue)
"""

PLAIN = """
def test_plain():
    assert 1 + 1 == 2
"""


def _leaked(child) -> list[str]:
    return [p.read_text() for p in sorted(child.folder.glob("leak-*"))]


def test_session_end_removes_this_runs_leftovers_only(account, child_run):
    """At session end the run's leftover listeners are removed and listed; another run's stay."""
    other = make_harness(account.session, run_id="another-run")
    before = snapshot(account.session)
    run_id = "leaky-" + secrets.token_hex(4)
    child = child_run(LEAKY, run_id=run_id)
    assert child.wait() == 0, child.text()
    output = child.text()
    leaked = _leaked(child)
    assert len(leaked) == 2
    assert "harness resources left behind by this run (removed at session end)" in output
    for harness_id in leaked:
        assert output.count(harness_id) == 2
    assert find_harness_resources(run_id=run_id, session=account.session) == []
    assert snapshot(account.session) == before
    assert ("queue", other) in before


def test_keep_leaves_them_and_lists_their_arns(account, child_run):
    """--iatk-keep keeps the run's resources and lists their ARNs in the summary."""
    run_id = "kept-" + secrets.token_hex(4)
    child = child_run(LEAKY, "--iatk-keep", run_id=run_id)
    assert child.wait() == 0, child.text()
    output = child.text()
    kept = find_harness_resources(run_id=run_id, session=account.session)
    assert len(kept) == 4
    assert "iatk: kept harness resources (--iatk-keep)" in output
    assert "left behind by this run" not in output
    for resource in kept:
        assert resource.arn in output


def test_stacks_of_the_run_are_deleted_at_session_end_on_aws(account, child_run):
    """On the AWS backend, stacks deployed by the run are deleted at its end, and listed."""
    run_id = "deploys-" + secrets.token_hex(4)
    child = child_run(DEPLOYS, run_id=run_id)
    (child.folder / "app.json").write_text('{"Resources": {"Queue": {"Type": "AWS::SQS::Queue"}}}')
    assert child.wait() == 0, child.text()
    arn = (child.folder / "stack").read_text()
    assert "test stacks of this run (deleted at session end)" in child.text()
    assert arn in child.text()
    assert snapshot(account.session) == set()


def test_a_failed_session_end_cleanup_fails_the_run(account, child_run, monkeypatch):
    """When the session-end cleanup cannot delete something, the summary says so and the run fails."""
    monkeypatch.setenv("BREAK_STACK", "1")
    account.env["BREAK_STACK"] = "1"
    run_id = "broken-" + secrets.token_hex(4)
    child = child_run(DEPLOYS, run_id=run_id)
    (child.folder / "app.json").write_text('{"Resources": {"Queue": {"Type": "AWS::SQS::Queue"}}}')
    code = child.wait()
    output = child.text()
    assert code == 1, output
    assert "1 passed" in output
    assert "iatk: cleanup errors" in output
    assert "session-end cleanup: arn:aws:cloudformation" in output


def test_embedded_backend_removes_leftover_listeners(child_run):
    """On --iatk-backend=moto the run's leftover listeners are removed at its end and listed."""
    child = child_run(LEAKY, "--iatk-backend=moto", run_id="embedded-" + secrets.token_hex(4))
    assert child.wait() == 0, child.text()
    output = child.text()
    assert "left behind by this run (removed at session end)" in output
    for harness_id in _leaked(child):
        assert output.count(harness_id) == 2


def test_xdist_controller_sweeps_once_and_cleans_workers_leftovers(account, child_run):
    """Under -n 2 the sweep runs once on the controller, and the workers' leftovers go at the end."""
    pytest.importorskip("xdist")
    expired = make_harness(account.session, run_id="old-run", ttl=timedelta(seconds=0))
    run_id = "xdist-" + secrets.token_hex(4)
    child = child_run(LEAKY, "-n", "2", "--iatk-sweep", run_id=run_id)
    assert child.wait() == 0, child.text()
    output = child.text()
    assert "swept expired harness resources (--iatk-sweep)" in output
    assert output.count(expired) == 2  # its rule and queue, once each: one sweep, on the controller
    leaked = _leaked(child)
    assert len({name.split("-")[-1] for name in (p.name for p in child.folder.glob("leak-*"))}) == 2  # both workers
    assert "left behind by this run (removed at session end)" in output
    for harness_id in leaked:
        assert output.count(harness_id) == 2
    assert snapshot(account.session) == set()


class _Counter(BaseHTTPRequestHandler):
    count = 0

    def _any(self) -> None:
        type(self).count += 1
        self.send_response(403)  # not retried by botocore: fast
        self.end_headers()

    do_GET = do_POST = do_PUT = do_HEAD = _any

    def log_message(self, *args) -> None:
        """Quiet."""


@pytest.fixture
def counting_endpoint():
    """An HTTP endpoint that counts every request it gets."""
    handler = type("Counter", (_Counter,), {"count": 0})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    yield handler, f"http://127.0.0.1:{server.server_port}"
    server.shutdown()
    server.server_close()


@pytest.mark.parametrize("flag", [None, "--iatk-keep"])
def test_no_aws_call_when_the_run_never_used_aws(child_run, counting_endpoint, flag):
    """A run that uses no iatk fixture makes no AWS call at session end (with or without --iatk-keep)."""
    handler, url = counting_endpoint
    args = [f"--iatk-endpoint-url={url}"] + ([flag] if flag else [])
    run_id = "plain-" + secrets.token_hex(4)
    stale = Path(tempfile.gettempdir()) / f"iatk-{run_id}-used-aws"
    stale.touch()  # left by an earlier, killed run with the same IATK_RUN_ID: must not count
    child = child_run(PLAIN, *args, run_id=run_id)
    assert child.wait() == 0, child.text()
    assert handler.count == 0
    assert not stale.exists()
    assert "iatk: cleanup errors" not in child.text()


def test_sweep_calls_aws_and_reports_its_failure(child_run, counting_endpoint):
    """--iatk-sweep does call AWS (so the counter can see calls); a failing sweep is reported, the run passes."""
    handler, url = counting_endpoint
    child = child_run(PLAIN, f"--iatk-endpoint-url={url}", "--iatk-sweep", run_id="sweep-" + secrets.token_hex(4))
    assert child.wait() == 0, child.text()
    assert handler.count > 0
    assert "--iatk-sweep: cannot list the iatk_eb_* queues" in child.text()  # reported, not raised
    assert "session-end cleanup" not in child.text()  # the run made nothing: no session-end cleanup
