"""iatk.testing: the public helpers users unit-test their own matchers, waits and trace assertions with."""

from __future__ import annotations

import subprocess
import sys

import boto3
import pytest

import iatk
from iatk.testing import FakeClock, TraceBuilder, answer_call, make_event, moto_session
from iatk.waiting import NotYet, wait_until


def test_importing_iatk_testing_loads_no_boto3() -> None:
    """Users import it in unit tests that never touch AWS: it must stay as cheap as iatk itself."""
    code = "import sys, iatk.testing; print(sorted(m for m in ('boto3', 'botocore', 'moto') if m in sys.modules))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60).stdout
    assert out.strip() == "[]"


def test_fake_clock_moves_only_when_the_code_sleeps() -> None:
    """A 30 s wait on the fake clock runs instantly, and every sleep is recorded."""
    clock = FakeClock()
    polls: list[float] = []

    def attempt() -> object:
        polls.append(clock())
        return NotYet("not yet")

    with pytest.raises(iatk.WaitTimeout):
        wait_until(attempt, timeout=30, clock=clock, sleep=clock.sleep, description="never")
    assert clock.elapsed == pytest.approx(30)
    assert clock.now == pytest.approx(1030)
    assert polls == sorted(polls)
    assert len(polls) == len(clock.sleeps) + 1
    clock.advance(5)
    assert clock() == pytest.approx(1035)
    assert clock.elapsed == pytest.approx(30)
    with pytest.raises(AssertionError, match="negative"):
        clock.sleep(-1)


def test_make_event_gives_an_envelope_event_matchers_see_as_a_listener_would() -> None:
    """The event has the envelope fields, and a matcher explains a miss on it."""
    event = make_event("order-placed", {"total": 5}, source="shop", resources=["arn:aws:x"])
    assert (event.source, event.detail_type, event.detail, event.resources) == (
        "shop",
        "order-placed",
        {"total": 5},
        ("arn:aws:x",),
    )
    assert event.is_envelope
    assert event.account == "123456789012"
    assert iatk.match(source="shop", detail_type="order-placed")(event)
    miss = iatk.match(detail={"total": [{"numeric": [">", 10]}]})(event)
    assert not miss
    assert "total" in miss.reason


def test_make_event_with_a_raw_body_is_not_an_envelope() -> None:
    """A transformed target's output is kept as the body, with no envelope fields."""
    event = make_event(body='"just text"')
    assert not event.is_envelope
    assert event.body == '"just text"'
    assert event.source is None


def test_trace_builder_makes_a_tree_with_paths_errors_and_subsegments() -> None:
    """Segments chained through subsegments give root -> leaf paths; flags and fields reach the model."""
    trace = TraceBuilder()
    sfn = trace.segment("checkout", origin="AWS::StepFunctions::StateMachine")
    task = trace.subsegment(sfn, "ChargeCard")
    trace.segment("charge-fn", parent=task, origin="AWS::Lambda::Function", fault=True, annotations={"order": "o-1"})
    trace.segment("audit-fn", parent=task, origin="AWS::Lambda::Function")
    tree = trace.tree()
    assert tree.root.name == "checkout"
    assert [[segment.name for segment in path] for path in tree.paths] == [
        ["checkout", "charge-fn"],
        ["checkout", "audit-fn"],
    ]
    charge = tree.paths[0][-1]
    assert charge.fault
    assert not charge.error
    assert charge.annotations == {"order": "o-1"}
    assert [sub.name for sub in tree.root.subsegments] == ["ChargeCard"]


def test_trace_builder_refuses_an_unknown_parent() -> None:
    """A typo in a parent id is a clear error listing the ids that exist, not an orphan segment."""
    trace = TraceBuilder()
    root = trace.segment("api")
    with pytest.raises(iatk.ConfigError, match=f"no segment or subsegment with id 'nope'.*{root}"):
        trace.segment("fn", parent="nope")


def test_answer_call_answers_at_the_aws_boundary_and_records_the_request() -> None:
    """iatk's own call runs for real above the hook; nothing leaves the process; the hook is removed."""
    session = boto3.Session(aws_access_key_id="x", aws_secret_access_key="x", region_name="us-east-1")
    from iatk._aws import aws

    answer = {"QueueUrls": ["https://sqs.us-east-1.amazonaws.com/123456789012/iatk_eb_a"]}
    with answer_call(session, "sqs", "ListQueues", answer) as seen:
        found = aws(session).sqs.list_queues(QueueNamePrefix="iatk_eb_")
    assert found["QueueUrls"] == answer["QueueUrls"]
    assert seen == [{"QueueNamePrefix": "iatk_eb_"}]
    # After the block the hook is gone: a Stubber's answer (not the old one) comes back.
    from botocore.stub import Stubber

    with Stubber(aws(session).sqs) as stub:
        stub.add_response("list_queues", {"QueueUrls": ["https://sqs.us-east-1.amazonaws.com/1/stubbed"]})
        assert aws(session).sqs.list_queues()["QueueUrls"][0].endswith("/stubbed")


def test_moto_session_is_a_fresh_embedded_backend_not_installed_as_default() -> None:
    """It reaches its own moto server, and leaves the run's default session alone."""
    from iatk._aws import installed_session

    before = installed_session()
    with moto_session() as session:
        sqs = session.client("sqs")
        url = sqs.create_queue(QueueName="iatk-testing-probe")["QueueUrl"]
        assert url.endswith("/iatk-testing-probe")
        assert installed_session() is before
    assert installed_session() is before
