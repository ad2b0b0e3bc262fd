"""Fault tests: a killed run's resources are removed by `iatk cleanup --run-id` or the next run's sweep;
SIGTERM mid-test still tears down. Each child pytest run uses iatk's AWS backend pointed at the shared
moto server (its own account), so what it creates survives it being killed.
"""

from __future__ import annotations

import os
import secrets
import signal
import time

import pytest
from cleanup_harness import make_harness, make_queue, make_rule, snapshot

from iatk import _tags
from iatk.cleanup import find_harness_resources
from iatk.cli import main

STACK_TEMPLATE = '{"Resources": {"Queue": {"Type": "AWS::SQS::Queue"}}}'

# A suite that makes 3 listeners (2 real iatk.Listener objects, on the default bus and on "orders",
# and 1 harness-shaped one made with boto3) and a test stack, then waits for an event that never
# comes (expect_event, within=120) and says it is ready as its first ReceiveMessage long poll goes
# out, so the signal lands mid-poll. Its fixture tears the listeners down when it gets the chance (the Listener context managers
# close; the boto3 one is removed by hand); the test also starts one Listener that nothing closes.
CHILD = """
import contextlib, os, pathlib, traceback
from datetime import timedelta
import pytest
from iatk._aws import aws
from iatk.listener import Listener
from cleanup_harness import bus_arn, client, make_harness

HERE = pathlib.Path(os.environ["IATK_TEST_DIR"])
PATTERN = {"source": ["iatk.fault.test"]}


@pytest.fixture
def listeners(iatk_session, iatk_run_id, iatk_settings):
    bus_arn(iatk_session, "orders")
    with contextlib.ExitStack() as stack:
        real = [stack.enter_context(Listener(bus, pattern=PATTERN, session=iatk_session)) for bus in ("default", "orders")]
        shaped = make_harness(iatk_session, run_id=iatk_run_id, ttl=timedelta(seconds=iatk_settings.ttl))
        yield [listener.id for listener in real] + [shaped]
        events, sqs = client(iatk_session, "events"), client(iatk_session, "sqs")
        events.remove_targets(Rule=shaped, Ids=[shaped])
        events.delete_rule(Name=shaped)
        sqs.delete_queue(QueueUrl=sqs.get_queue_url(QueueName=shaped)["QueueUrl"])
    (HERE / "teardown-ran").write_text("yes")


def test_waits_mid_run(listeners, iatk_deploy, iatk_session, iatk_run_id):
    iatk_deploy(HERE / "app.json", "fault-app-" + iatk_run_id)
    extra = Listener("default", pattern=PATTERN, session=iatk_session).start()  # never closed
    (HERE / "extra").write_text(extra.id)

    def ready(**_):
        (HERE / "ready").write_text("ready")

    aws(iatk_session).sqs.meta.events.register("before-send.sqs.ReceiveMessage", ready)
    try:
        extra.expect_event(within=120)
    except KeyboardInterrupt as interrupt:  # SIGTERM: note where it landed, then let it through
        frames = [frame.name for frame in traceback.extract_tb(interrupt.__traceback__)]
        (HERE / "interrupted").write_text(" ".join(frames))
        raise
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
    where = (child.folder / "interrupted").read_text().split()  # the frames the interrupt went through
    assert where[0] == "test_waits_mid_run"
    assert {"expect_event", "receive", "_make_api_call"} <= set(where)  # mid ReceiveMessage long poll
    assert (child.folder / "teardown-ran").exists(), output  # the fixture's finalizer ran
    extra = (child.folder / "extra").read_text()
    assert "harness resources left behind by this run (removed at session end)" in output
    assert output.count(extra) == 2  # its rule and its queue, listed in the summary
    assert "test stacks of this run (deleted at session end)" in output
    assert find_harness_resources(run_id=run_id, session=account.session) == []
    assert snapshot(account.session) == keep
    assert created == MADE_PER_RUN + 1
    assert os.path.exists(child.output)


XDIST_CHILD = """
import os, pathlib
import pytest
from iatk._aws import aws
from iatk.listener import Listener

HERE = pathlib.Path(os.environ["IATK_TEST_DIR"])


@pytest.mark.parametrize("n", range(2))
def test_waits_in_a_worker(iatk_session, n):
    with Listener("default", pattern={"source": ["iatk.fault.test"]}, session=iatk_session) as closed_by_teardown:
        leaked = Listener("default", pattern={"source": ["iatk.fault.test"]}, session=iatk_session).start()

        def ready(**_):
            (HERE / f"ready-{n}").write_text(closed_by_teardown.id + " " + leaked.id)

        aws(iatk_session).sqs.meta.events.register("before-send.sqs.ReceiveMessage", ready)
        closed_by_teardown.expect_event(within=120)  # the signal lands during this long poll
"""


def test_sigterm_to_an_xdist_run_leaves_nothing(account, child_run):
    """SIGTERM to an xdist run's process group: workers close their listeners, the controller removes the rest."""
    pytest.importorskip("xdist")
    keep = _decoys(account.session)
    run_id = "xdist-term-" + secrets.token_hex(4)
    child = child_run(XDIST_CHILD, "-n", "2", run_id=run_id)
    for n in range(2):
        child.wait_for(child.folder / f"ready-{n}")
    created = len(snapshot(account.session) - keep)
    assert created == 8
    child.signal_group(signal.SIGTERM)
    assert child.wait(timeout=60) == 2, child.text()
    leaked = [(child.folder / f"ready-{n}").read_text().split()[1] for n in range(2)]
    output = child.text()
    assert "left behind by this run (removed at session end)" in output
    for harness_id in leaked:
        assert output.count(harness_id) == 2, output
    assert find_harness_resources(run_id=run_id, session=account.session) == []
    assert snapshot(account.session) == keep
