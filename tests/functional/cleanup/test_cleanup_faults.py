"""Fault tests: a killed run's resources are removed by `iatk cleanup --run-id` or the next run's sweep;
SIGTERM mid-test still tears down. Each child pytest run uses iatk's AWS backend pointed at the shared
moto server (its own account), so what it creates survives it being killed.
"""

from __future__ import annotations

import os
import secrets
import signal
import time

from cleanup_harness import make_harness, make_queue, make_rule, snapshot

from iatk import _tags
from iatk.cleanup import find_harness_resources
from iatk.cli import main

STACK_TEMPLATE = '{"Resources": {"Queue": {"Type": "AWS::SQS::Queue"}}}'

# A suite that makes 3 listeners (2 on the default bus, 1 on "orders") and a test stack, says it is
# ready, then waits. Its fixture tears the listeners down like iatk_listener does, when it gets the
# chance; the test also makes one listener of its own that nothing tears down.
CHILD = """
import os, pathlib, time
from datetime import timedelta
import pytest
from cleanup_harness import make_harness, client

HERE = pathlib.Path(os.environ["IATK_TEST_DIR"])


@pytest.fixture
def listeners(iatk_session, iatk_run_id, iatk_settings):
    ttl = timedelta(seconds=iatk_settings.ttl)
    ids = [make_harness(iatk_session, run_id=iatk_run_id, ttl=ttl, bus=bus) for bus in ("default", "default", "orders")]
    yield ids
    events, sqs = client(iatk_session, "events"), client(iatk_session, "sqs")
    for harness_id, bus in zip(ids, ("default", "default", "orders")):
        events.remove_targets(Rule=harness_id, EventBusName=bus, Ids=[harness_id])
        events.delete_rule(Name=harness_id, EventBusName=bus)
        sqs.delete_queue(QueueUrl=sqs.get_queue_url(QueueName=harness_id)["QueueUrl"])
    (HERE / "teardown-ran").write_text(",".join(ids))


def test_waits_mid_run(listeners, iatk_deploy, iatk_session, iatk_run_id, iatk_settings):
    iatk_deploy(HERE / "app.json", "fault-app-" + iatk_run_id.replace("_", "-"))
    extra = make_harness(iatk_session, run_id=iatk_run_id, ttl=timedelta(seconds=iatk_settings.ttl))
    (HERE / "extra").write_text(extra)
    (HERE / "ready").write_text("ready")
    time.sleep(120)
"""

SWEEPER = """
def test_nothing_aws():
    assert True
"""

# Per child run: 4 listeners (a queue and a rule each) + 1 test stack (which holds 1 queue).
MADE_PER_RUN = 4 * 2 + 1


def _start(child_run, run_id, *args, name="child"):
    child = child_run(CHILD, *args, run_id=run_id, name=name)
    (child.folder / "app.json").write_text(STACK_TEMPLATE)
    child.wait_for(child.folder / "ready")
    return child


def _decoys(session):
    """Look-alikes and another live run's listener: none may be touched."""
    for _ in range(3):
        name = _tags.new_harness_id()
        make_rule(session, name, target=make_queue(session, name))
    make_queue(session, "users-own-queue", {"team": "payments"})
    make_harness(session, run_id="another-live-run")
    return snapshot(session)


def _report(label, created, left):
    # Figures for the note (run with -s to see them).
    print(f"\nFAULT-FIGURES {label}: created={created} left={left}")


def test_killed_run_is_cleaned_by_iatk_cleanup_run_id(account, account_env, child_run):
    """SIGKILL mid-wait leaves the run's listeners and stack; `iatk cleanup --run-id` removes them all."""
    keep = _decoys(account.session)
    run_id = "killed-" + secrets.token_hex(4)
    child = _start(child_run, run_id)
    child.process.send_signal(signal.SIGKILL)
    assert child.wait() == -signal.SIGKILL
    assert not (child.folder / "teardown-ran").exists()
    left_behind = find_harness_resources(run_id=run_id, session=account.session)
    assert sorted(r.kind for r in left_behind) == ["queue"] * 4 + ["rule"] * 4 + ["stack"]
    created = len(snapshot(account.session) - keep)
    assert created == MADE_PER_RUN + 1  # + the queue inside the stack

    assert main(["cleanup", "--run-id", run_id, "--yes", *account.cli]) == 0

    assert find_harness_resources(run_id=run_id, session=account.session) == []
    assert snapshot(account.session) == keep
    _report("sigkill+cleanup", created, len(snapshot(account.session) - keep))


def test_killed_run_is_swept_by_the_next_run_once_expired(account, child_run):
    """A killed run with --iatk-ttl 1s leaves resources; after expiry the next run's --iatk-sweep removes them."""
    keep = _decoys(account.session)
    run_id = "short-ttl-" + secrets.token_hex(4)
    child = _start(child_run, run_id, "--iatk-ttl", "1s")
    child.process.send_signal(signal.SIGKILL)
    child.wait()
    created = len(snapshot(account.session) - keep)
    assert created == MADE_PER_RUN + 1
    deadline = time.monotonic() + 15
    while len(find_harness_resources(run_id=run_id, expired=True, session=account.session)) < MADE_PER_RUN:
        assert time.monotonic() < deadline, "the killed run's resources never expired"
        time.sleep(0.2)

    sweeper = child_run(SWEEPER, "--iatk-sweep", run_id="sweeper-" + secrets.token_hex(4), name="sweeper")
    assert sweeper.wait() == 0, sweeper.text()

    output = sweeper.text()
    assert "iatk: swept expired harness resources (--iatk-sweep)" in output
    assert output.count(f"(run {run_id})") == MADE_PER_RUN
    assert find_harness_resources(run_id=run_id, session=account.session) == []
    assert snapshot(account.session) == keep
    _report("sigkill+sweep", created, len(snapshot(account.session) - keep))


def test_sigterm_mid_test_runs_teardown_and_leaves_nothing(account, child_run):
    """SIGTERM mid-test: fixture finalizers run, the session end removes the rest; nothing is left."""
    keep = _decoys(account.session)
    run_id = "sigterm-" + secrets.token_hex(4)
    child = _start(child_run, run_id)
    created = len(snapshot(account.session) - keep)
    child.process.send_signal(signal.SIGTERM)
    code = child.wait(timeout=60)
    output = child.text()
    assert code == 2, output  # pytest's "interrupted"
    assert "KeyboardInterrupt" in output
    assert (child.folder / "teardown-ran").exists(), output  # the fixture's finalizer ran
    extra = (child.folder / "extra").read_text()
    assert "harness resources left behind by this run (removed at session end)" in output
    assert output.count(extra) == 2  # its rule and its queue, listed in the summary
    assert "test stacks of this run (deleted at session end)" in output
    assert find_harness_resources(run_id=run_id, session=account.session) == []
    assert snapshot(account.session) == keep
    assert created == MADE_PER_RUN + 1
    _report("sigterm", created, len(snapshot(account.session) - keep))
    assert os.path.exists(child.output)
