"""The listener fixtures in user suites: teardown, xdist, --iatk-keep, the SLA table, junit properties.

Each child pytest run talks to a moto server of this module's own (``--iatk-backend=aws`` with its
endpoint, so listeners take the real-AWS path, canary included) with its own run id and bus, so what
it leaves behind can be listed exactly afterwards. That server runs moto's EventBridge backend under
iatk's lock, as the embedded backend does (moto's threaded server races rules against PutEvents).
One test runs on the embedded backend itself (``--iatk-backend=moto -n 4``).
"""

from __future__ import annotations

import secrets
import socket
import subprocess
import sys
import time
import urllib.request
import xml.etree.ElementTree as ET
from collections.abc import Iterator

import pytest

from iatk._aws import IatkSession

SUITE = """
import os
import pytest
import iatk

BUS = os.environ["TEST_BUS"]

@pytest.fixture(scope="session", autouse=True)
def bus(iatk_session):
    events = iatk_session.client("events")
    try:  # each xdist worker runs this fixture
        events.create_event_bus(Name=BUS)
    except events.exceptions.ResourceAlreadyExistsException:
        pass

@pytest.mark.parametrize("n", range(4))
def test_listens(iatk_listener, iatk_put_events, n):
    listener = iatk_listener(BUS, pattern={"source": [f"app.{n}"]})
    iatk_put_events({"Source": f"app.{n}", "DetailType": "thing", "Detail": {"n": n}}, bus=BUS)
    assert listener.expect_event(iatk.match(detail={"n": n}), within=5).detail == {"n": n}
    listener.expect_no_event(during=1)  # the other tests' events, put meanwhile, never come here
    assert [event.detail for event in listener.events] == [{"n": n}]
"""

# Twelve tests on the default bus of the embedded server, four workers: rules come and go while
# events are put. Each test's events are its own; a duplicate (a retried PutEvents) is a surplus.
ISOLATION = """
import os
import pytest

RUN = os.environ["IATK_RUN_ID"]

@pytest.mark.parametrize("n", range(12))
def test_isolated(iatk_listener, iatk_put_events, n):
    mine = iatk_listener("default", pattern={"source": [f"iso.{RUN}.{n}"]})
    for k in range(4):
        iatk_put_events({"Source": f"iso.{RUN}.{n}", "DetailType": "x", "Detail": {"n": n, "k": k}})
    silent = iatk_listener("default", pattern={"source": [f"never.{RUN}.{n}"]})
    for k in range(4, 8):
        iatk_put_events({"Source": f"iso.{RUN}.{n}", "DetailType": "x", "Detail": {"n": n, "k": k}})
    events = mine.expect_events(8, within=1)
    assert sorted(event.detail["k"] for event in events) == list(range(8))
    mine.expect_no_event(during=0.5)  # all eight are claimed: nothing else may come
    silent.expect_no_event(during=0)
    assert all(event.detail["n"] == n for event in mine.events)
"""

FAILING = """
import os
import iatk

def test_fails_after_making_a_listener(iatk_session, iatk_listener):
    iatk_session.client("events").create_event_bus(Name=os.environ["TEST_BUS"])
    iatk_listener(os.environ["TEST_BUS"], pattern={"source": ["x"]})
    assert False, "the test fails on purpose"

def test_times_out(iatk_listener, iatk_put_events):
    listener = iatk_listener(os.environ["TEST_BUS"], pattern={"source": ["app"]})
    iatk_put_events({"Source": "app", "DetailType": "plugin-failed", "Detail": {}}, bus=os.environ["TEST_BUS"])
    listener.expect_event(iatk.match(detail_type="plugin-complete"), within=1)
"""


@pytest.fixture(scope="module")
def server() -> Iterator[str]:
    """A moto server in its own process for this module's child runs (its URL)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    launch = (
        "import sys; from iatk.embedded import serialise_moto_events; serialise_moto_events(); "
        "from moto.server import main; main(sys.argv[1:])"
    )
    process = subprocess.Popen(
        [sys.executable, "-c", launch, "-H", "127.0.0.1", "-p", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                urllib.request.urlopen(f"{url}/moto-api/", timeout=1).close()
                break
            except OSError:
                assert time.monotonic() < deadline, "the moto server did not start within 30 s"
                time.sleep(0.1)
        yield url
    finally:  # ended even when it never started
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=10)


@pytest.fixture
def child_env(server, monkeypatch, pytester):
    """Point child runs at the shared server with their own run id and bus; returns (session, run id, args)."""
    for key in ("AWS_PROFILE", "AWS_ENDPOINT_URL", "AWS_SESSION_TOKEN", "IATK_BACKEND", "IATK_ENDPOINT_URL"):
        monkeypatch.delenv(key, raising=False)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "plugin-test")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "plugin-test")
    run_id = f"plugin-{secrets.token_hex(4)}"
    monkeypatch.setenv("IATK_RUN_ID", run_id)
    monkeypatch.setenv("TEST_BUS", f"bus-{run_id}")
    pytester.makeini("[pytest]\naddopts = -p no:cacheprovider\n")
    args = ["--iatk-backend=aws", f"--iatk-endpoint-url={server}", "--iatk-region=us-east-1"]
    session = IatkSession(
        aws_access_key_id="plugin-test",
        aws_secret_access_key="plugin-test",
        region_name="us-east-1",
        endpoint_url=server,
    )
    return session, run_id, args


def harness_left(session, run_id) -> list[str]:
    """The run's listener queues and rules still on the server (found by tags, as `iatk list` does)."""
    from iatk.cleanup import find_harness_resources

    return [r.arn for r in find_harness_resources(run_id=run_id, session=session)]


def listed(session, bus: str) -> tuple[set[str], set[str]]:
    """Plain ListQueues / ListRules (no tags involved): the iatk_eb_ queues on the server, the rules on ``bus``."""
    queues = set(session.client("sqs").list_queues(QueueNamePrefix="iatk_eb_").get("QueueUrls", []))
    events = session.client("events")
    try:
        rules = {rule["Name"] for rule in events.list_rules(EventBusName=bus).get("Rules", [])}
    except events.exceptions.ResourceNotFoundException:
        rules = set()
    return queues, rules


LEFT_BEHIND = "left behind by this run"


def test_four_listeners_under_xdist_leave_nothing(pytester, child_env):
    """-n 2: four tests each make a listener and see only their own event; the SLA table lists them;
    their fixture closes each one (the session-end sweep finds nothing left), and nothing is listed after."""
    session, run_id, args = child_env
    queues_before, _ = listed(session, f"bus-{run_id}")
    pytester.makepyfile(test_suite=SUITE)
    result = pytester.runpytest_subprocess(*args, "-n", "2")
    result.assert_outcomes(passed=4)
    result.stdout.fnmatch_lines(["*iatk: waits and SLAs*", "test * awaited * SLA s * latency s * outcome"])
    assert result.stdout.str().count("matched") >= 4
    assert result.stdout.str().count("held") >= 4
    assert LEFT_BEHIND not in result.stdout.str()
    assert harness_left(session, run_id) == []
    queues_after, rules_after = listed(session, f"bus-{run_id}")
    assert queues_after - queues_before == set()
    assert rules_after == set()


def test_failing_tests_tear_down_and_explain(pytester, child_env):
    """A failing test's listener is removed; a timeout shows the received event and why it missed."""
    session, run_id, args = child_env
    queues_before, _ = listed(session, f"bus-{run_id}")
    pytester.makepyfile(test_failing=FAILING)
    result = pytester.runpytest_subprocess(*args, "--junitxml=report.xml")
    result.assert_outcomes(failed=2)
    result.stdout.fnmatch_lines(
        [
            '*WaitTimeout: timed out waiting for an event matching detail-type: "plugin-complete"*',
            '*detail-type: expected "plugin-complete", got "plugin-failed"*',
        ]
    )
    assert LEFT_BEHIND not in result.stdout.str()  # the fixture closed them, not the session-end sweep
    assert harness_left(session, run_id) == []
    queues_after, rules_after = listed(session, f"bus-{run_id}")
    assert queues_after - queues_before == set()
    assert rules_after == set()
    properties = ET.parse(pytester.path / "report.xml").getroot().iter("property")
    waits = [p.get("value") for p in properties if p.get("name") == "iatk_wait"]
    assert len(waits) == 1
    assert '"outcome": "timeout"' in waits[0]


def test_keep_keeps_and_prints_arns(pytester, child_env):
    """--iatk-keep leaves the listener in place and prints its ARNs; iatk cleanup removes it after."""
    session, run_id, args = child_env
    pytester.makepyfile(test_suite=SUITE)
    result = pytester.runpytest_subprocess(*args, "--iatk-keep", "-k", "test_listens and 0")
    result.assert_outcomes(passed=1)
    result.stdout.fnmatch_lines(["*iatk: kept harness resources (--iatk-keep)*", "arn:aws:sqs:*:iatk_eb_*"])
    left = harness_left(session, run_id)
    assert len(left) == 2  # the queue and the rule
    from iatk.cleanup import cleanup

    report = cleanup(run_id=run_id, session=session)
    assert len(report.deleted) == 2
    assert harness_left(session, run_id) == []


def test_marker_sla_is_the_default_window(pytester, child_env):
    """@pytest.mark.iatk(sla=1) makes expect_event without within= give up after about a second."""
    _, _, args = child_env
    pytester.makepyfile(
        """
import time, pytest

@pytest.mark.iatk(sla=1)
def test_short(iatk_session, iatk_listener):
    import iatk
    import os
    iatk_session.client("events").create_event_bus(Name=os.environ["TEST_BUS"])
    listener = iatk_listener(os.environ["TEST_BUS"], pattern={"source": ["never"]})
    start = time.monotonic()
    with pytest.raises(iatk.WaitTimeout) as info:
        listener.expect_event()
    assert info.value.timeout == 1.0
"""
    )
    pytester.runpytest_subprocess(*args).assert_outcomes(passed=1)


def test_embedded_backend_isolates_twelve_tests_on_the_default_bus_under_n4(pytester, monkeypatch):
    """--iatk-backend=moto -n 4: twelve tests listen on the default bus while the others add and remove
    rules and put events; each gets exactly its eight events (no 500s, no duplicates), none of the others'."""
    for key in ("AWS_PROFILE", "AWS_ENDPOINT_URL", "IATK_BACKEND", "IATK_ENDPOINT_URL"):
        monkeypatch.delenv(key, raising=False)
    monkeypatch.setenv("IATK_RUN_ID", f"iso-{secrets.token_hex(4)}")
    pytester.makeini("[pytest]\naddopts = -p no:cacheprovider\n")
    pytester.makepyfile(test_isolation=ISOLATION)
    result = pytester.runpytest_subprocess("--iatk-backend=moto", "-n", "4")
    result.assert_outcomes(passed=12)
    assert LEFT_BEHIND not in result.stdout.str()


def test_a_start_up_error_points_at_the_tests_line(pytester, child_env):
    """An unknown bus fails at the test's own line: no listener.py or botocore frames, the AWS error in one line."""
    _, _, args = child_env
    pytester.makepyfile(
        test_nobus="""
def test_unknown_bus(iatk_listener):
    iatk_listener("no-such-bus", pattern={"source": ["x"]})
"""
    )
    result = pytester.runpytest_subprocess(*args)
    result.assert_outcomes(failed=1)
    out = result.stdout.str()
    result.stdout.fnmatch_lines(
        [
            "*ResourceNotFoundException: An error occurred (ResourceNotFoundException)*DescribeEventBus*",
            "*The above exception was the direct cause of the following exception:*",
            '>       iatk_listener("no-such-bus", pattern={"source": ["x"]})',
            "E       iatk.exceptions.ListenerError: event bus 'no-such-bus' not found in us-east-1*",
            "test_nobus.py:2: ListenerError",
        ]
    )
    assert "listener.py" not in out
    assert "botocore/client.py" not in out


DIRECT = """
import os
import iatk

BUS = os.environ["TEST_BUS"]

def test_own_listener(iatk_session, iatk_put_events):
    iatk_session.client("events").create_event_bus(Name=BUS)
    with iatk.Listener(BUS, pattern={"source": ["direct"]}, session=iatk_session) as listener:
        iatk_put_events({"Source": "direct", "DetailType": "thing", "Detail": {}}, bus=BUS)
        listener.expect_event(within=5)
        listener.expect_no_event(during=0.2)

def test_fixture_listener(iatk_listener, iatk_put_events):
    listener = iatk_listener(BUS, pattern={"source": ["fixture"]})
    iatk_put_events({"Source": "fixture", "DetailType": "thing", "Detail": {}}, bus=BUS)
    listener.expect_event(within=5)
"""


def test_every_wait_is_in_the_sla_table_whoever_made_the_listener(pytester, child_env):
    """A listener the test made itself is in the SLA table and junit, like a fixture's; each wait once."""
    _, _, args = child_env
    pytester.makepyfile(test_direct=DIRECT)
    result = pytester.runpytest_subprocess(*args, "--junitxml=report.xml")
    result.assert_outcomes(passed=2)
    table = result.stdout.str().split("iatk: waits and SLAs", 1)[1]
    rows = [line.split()[0] + " " + line.split()[-1] for line in table.splitlines()[1:] if line.startswith("test_")]
    assert rows == ["test_own_listener matched", "test_own_listener held", "test_fixture_listener matched"]
    tests = ET.parse(pytester.path / "report.xml").getroot().iter("testcase")
    waits = {
        case.get("name"): [p.get("value") for p in case.iter("property") if p.get("name") == "iatk_wait"]
        for case in tests
    }
    assert [len(waits["test_own_listener"]), len(waits["test_fixture_listener"])] == [2, 1]
