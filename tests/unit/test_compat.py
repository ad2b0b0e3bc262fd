"""The aws-iatk drop-in without a backend: exports, error codes, argument checks before any AWS call,
retry_until's timing (fake clock), trace trees and mock events with AWS stubbed at the boundary.

Each test names the aws-iatk 0.1.0 bug it shows fixed (AWS-IATK.md §8) where there is one.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Iterator
from datetime import datetime
from typing import Any

import boto3
import pytest
from botocore.stub import Stubber

import iatk
from iatk._aws import aws
from iatk.compat import (
    AwsIatk,
    GetTraceTreeOutput,
    IatkException,
    InvalidParamException,
    ReferenceType,
    RemoveListeners_TagFilter,
    RetryableException,
    error_code_for,
)
from iatk.exceptions import (
    AwsError,
    ConfigError,
    ListenerError,
    SchemaError,
    StackNotFound,
    StackOutputNotFound,
    TraceError,
    TraceIncomplete,
    WaitTimeout,
)
from iatk.mock_events import clear_schema_cache
from iatk.testing import FakeClock

TRACE = "1-6553f300-0123456789abcdef01234567"
LISTENER_ID = "iatk_eb_9m4e2mr0ui3e8a215n4g"
AWS_IATK_ALL = [
    "AddEbListenerOutput",
    "AwsIatk",
    "GenerateBareboneEventOutput",
    "GenerateMockEventOutput",
    "GetStackOutputsOutput",
    "GetTraceTreeOutput",
    "IatkException",
    "PhysicalIdFromStackOutput",
    "PollEventsOutput",
    "RemoveListenersOutput",
    "RemoveListeners_TagFilter",
]


@pytest.fixture(scope="module")
def session() -> boto3.Session:
    """A session with dummy credentials; its clients are stubbed, so nothing leaves the process."""
    return boto3.Session(aws_access_key_id="x", aws_secret_access_key="x", region_name="us-east-1")


@pytest.fixture
def offline(session: boto3.Session) -> Iterator[dict[str, Stubber]]:
    """Stubbers on every client the drop-in could use: an AWS call with no queued response fails the test."""
    ctx = aws(session)
    stubs = {name: Stubber(ctx.client(name)) for name in ("cloudformation", "events", "sqs", "xray", "schemas")}
    for stub in stubs.values():
        stub.activate()
    yield stubs
    for stub in stubs.values():
        stub.assert_no_pending_responses()
        stub.deactivate()


@pytest.fixture
def kit(session: boto3.Session, offline: dict[str, Stubber]) -> AwsIatk:
    """An AwsIatk on the stubbed session."""
    return AwsIatk(session=session)


@pytest.fixture
def clock(kit: AwsIatk) -> FakeClock:
    """retry_until's clock and sleep, on a fake clock."""
    fake = FakeClock(500.0)
    kit._clock = fake
    kit._sleep = fake.sleep
    return fake


def segment(ident: str, name: str, origin: str, start: float, parent: str | None = None, **extra: Any) -> dict:
    doc = {"id": ident, "trace_id": TRACE, "name": name, "origin": origin, "start_time": start, "end_time": start + 1}
    if parent:
        doc["parent_id"] = parent
    doc.update(extra)
    return {"Id": ident, "Document": json.dumps(doc)}


def traces(*segments: dict, limit_exceeded: bool = False) -> dict:
    return {
        "Traces": [{"Id": TRACE, "Duration": 2.0, "LimitExceeded": limit_exceeded, "Segments": list(segments)}],
        "UnprocessedTraceIds": [],
    }


# -- exports and errors -------------------------------------------------------------------------------
def test_iatk_exports_everything_aws_iatk_exports():
    """`import iatk as aws_iatk` gives every name in aws-iatk 0.1.0's __all__, from the drop-in."""
    import iatk as aws_iatk

    for name in AWS_IATK_ALL:
        assert name in aws_iatk.__all__
        assert getattr(aws_iatk, name) is getattr(iatk.compat, name)


def test_aws_iatk_module_attributes_resolve_on_iatk():
    """`import iatk as aws_iatk`: RetryableException (retry_until's default), AddEbListener_Resource and
    InvalidParamException are module attributes too, from the drop-in."""
    import iatk as aws_iatk

    for name in ("RetryableException", "AddEbListener_Resource", "InvalidParamException"):
        assert getattr(aws_iatk, name) is getattr(iatk.compat, name)
    assert issubclass(aws_iatk.InvalidParamException, aws_iatk.IatkException)
    assert AwsIatk.retry_until.__defaults__ == (10, (aws_iatk.RetryableException,))


def test_every_aws_iatk_class_a_suite_could_name_is_on_iatk():
    """Every class aws-iatk 0.1.0's package exposes, but its RPC plumbing (*Params, Payload) and its log
    handler, is an iatk attribute too (skipped without aws-iatk)."""
    aws_iatk = pytest.importorskip("aws_iatk")
    names = [
        name
        for name in dir(aws_iatk)
        if isinstance(getattr(aws_iatk, name), type)
        and getattr(aws_iatk, name).__module__.startswith("aws_iatk")
        and not name.endswith("Params")
        and name not in {"Payload", "NullHandler"}
    ]
    assert "RetryableException" in names
    assert [name for name in names if not hasattr(iatk, name)] == []


def test_context_generation_imports_like_aws_iatk():
    """`from iatk.context_generation import eventbridge_event_context` fills empty envelope fields in
    place with aws-iatk's defaults; time is UTC with its zone (aws-iatk: local time, no zone)."""
    from datetime import datetime, timedelta, timezone

    from iatk.context_generation import eventbridge_event_context

    given = {"detail": {"a": 1}, "source": "", "account": 0, "resources": ["arn:x"]}
    event = eventbridge_event_context(given)
    assert event is given
    assert {key: event[key] for key in ("version", "detail-type", "source", "account", "region", "resources")} == {
        "version": "0",
        "detail-type": "detail-type",
        "source": "source",
        "account": "123456789101",
        "region": "us-east-1",
        "resources": ["arn:x"],
    }
    assert event["detail"] == {"a": 1}
    assert len(event["id"]) == 36
    stamped = datetime.strptime(event["time"], "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=timezone.utc)
    assert abs(datetime.now(timezone.utc) - stamped) < timedelta(minutes=5)


def test_context_generation_fills_what_aws_iatk_s_fills():
    """The same keys get the same values as aws-iatk 0.1.0's function (but id, and time's zone); skipped
    without aws-iatk."""
    theirs_module = pytest.importorskip("aws_iatk.context_generation")
    from iatk.context_generation import eventbridge_event_context

    for given in ({}, {"source": "s", "detail": {"x": 1}, "id": "", "region": "eu-west-1"}):
        theirs = theirs_module.eventbridge_event_context(json.loads(json.dumps(given)))
        ours = eventbridge_event_context(json.loads(json.dumps(given)))
        assert set(ours) == set(theirs)
        assert {k: v for k, v in ours.items() if k not in {"id", "time"}} == {
            k: v for k, v in theirs.items() if k not in {"id", "time"}
        }
        assert len(theirs["time"]) == 19  # local, no zone
        assert ours["time"].endswith("Z")
        assert len(ours["time"]) == 20


def test_iatk_exception_is_also_an_iatk_error():
    """Both styles of except work: IatkException (aws-iatk's) and IatkError (ours)."""
    err = IatkException("boom", 404, aws_code="ResourceNotFoundException")
    assert isinstance(err, iatk.IatkError)
    assert (err.error_code, err.aws_code, err.code, str(err)) == (
        404,
        "ResourceNotFoundException",
        err.aws_code,
        "boom",
    )
    assert issubclass(RetryableException, IatkException)


@pytest.mark.parametrize(
    ("error", "code"),
    [
        (ConfigError("bad"), 400),
        (TraceError("not a trace id"), 400),
        (SchemaError("unsupported construct 'not' at #/x"), 400),
        (SchemaError("schema 'X' not found in registry 'r'"), 404),
        (StackNotFound("no stack"), 404),
        (StackOutputNotFound("no output"), 404),
        (ListenerError("no queue", code="AWS.SimpleQueueService.NonExistentQueue"), 404),
        (AwsError("bus", code="ResourceNotFoundException"), 404),
        (WaitTimeout("late"), 408),
        (TraceIncomplete("still arriving"), 408),
        (AwsError("denied", code="AccessDeniedException"), 500),
        (ListenerError("PutTargets rejected the target", code="ConcurrentModificationException"), 500),
    ],
)
def test_error_code_is_real(error, code):
    """Bug 1 (error_code always 0): every core error maps to 400, 404, 408 or 500."""
    assert error_code_for(error) == code


# -- argument checks before any AWS call (offline: a call would fail the test) -------------------------
def test_remove_listeners_with_no_arguments_is_an_error(kit):
    """Bug 14: remove_listeners() with neither ids nor tag_filters raises (aws-iatk did nothing)."""
    with pytest.raises(IatkException, match="needs ids=.*or tag_filters=") as caught:
        kit.remove_listeners()
    assert caught.value.error_code == 400
    with pytest.raises(IatkException, match="needs ids"):
        kit.remove_listeners(ids=[], tag_filters=[])


def test_remove_listeners_with_both_arguments_is_an_error(kit):
    """ids and tag_filters together are refused, as in aws-iatk, with a real code."""
    with pytest.raises(IatkException, match="only one of ids and tag_filters") as caught:
        kit.remove_listeners(ids=[LISTENER_ID], tag_filters=[RemoveListeners_TagFilter("stage")])
    assert caught.value.error_code == 400


@pytest.mark.parametrize("bad", ["iatk_eb_short", "queue-1", "iatk_eb_9m4e2mr0ui3e8a215n4z"])
def test_malformed_listener_ids_are_refused_before_aws(kit, bad):
    """A string that is not a listener id is a 400 naming the id, for remove and poll alike."""
    with pytest.raises(IatkException, match="invalid ID") as caught:
        kit.remove_listeners(ids=[bad])
    assert caught.value.error_code == 400
    with pytest.raises(IatkException, match="invalid ID"):
        kit.poll_events(bad, 0, 1)


def test_tag_filters_are_checked(kit):
    """A tag filter that is neither a RemoveListeners_TagFilter nor a pair is a 400."""
    with pytest.raises(IatkException, match="tag filter") as caught:
        kit.remove_listeners(tag_filters=["stage"])
    assert caught.value.error_code == 400


def test_reserved_tags_are_rejected_before_anything_is_made(kit):
    """add_listener refuses iatk's own tag keys with aws-iatk's message, before any AWS call."""
    with pytest.raises(IatkException, match="reserved tag key 'iatk:TestHarness:Created'") as caught:
        kit.add_listener("bus", "rule", tags={"iatk:TestHarness:Created": "x"})
    assert caught.value.error_code == 400


@pytest.mark.parametrize(("bus", "rule", "missing"), [("", "r", "EventBusName"), ("b", "", "RuleName")])
def test_add_listener_needs_bus_and_rule(kit, bus, rule, missing):
    """Empty bus or rule: aws-iatk's 'missing required param' message, code 400."""
    with pytest.raises(IatkException, match=f'missing required param "{missing}"') as caught:
        kit.add_listener(bus, rule)
    assert caught.value.error_code == 400


@pytest.mark.parametrize(
    ("wait", "count", "name"),
    [
        (21, 1, "WaitTimeSeconds"),
        (-1, 1, "WaitTimeSeconds"),
        (0, 0, "MaxNumberOfMessages"),
        (0, 11, "MaxNumberOfMessages"),
    ],
)
def test_poll_events_bounds(kit, wait, count, name):
    """poll_events keeps aws-iatk's bounds (wait 0..20, messages 1..10) and says which is wrong."""
    with pytest.raises(IatkException, match=f'"{name}" must be an integer between') as caught:
        kit.poll_events(LISTENER_ID, wait, count)
    assert caught.value.error_code == 400


@pytest.mark.parametrize("timeout", [0, 1000, True, "5"])
def test_wait_until_event_matched_timeout_bounds(kit, timeout):
    """timeout_seconds must be 1..999, checked before any AWS call: aws-iatk's InvalidParamException, a 400."""
    with pytest.raises(InvalidParamException, match="timeout_seconds must be between 1 and 999") as caught:
        kit.wait_until_event_matched(LISTENER_ID, lambda body: True, timeout_seconds=timeout)
    assert isinstance(caught.value, IatkException)
    assert caught.value.error_code == 400


def test_get_stack_outputs_of_nothing_is_empty(kit):
    """output_names=[] gives {} with no AWS call, as aws-iatk's result did."""
    assert kit.get_stack_outputs("any-stack", []).outputs == {}


@pytest.mark.parametrize("header", ["Root", "Root=;Sampled=1", "", "Sampled=1", "not-a-trace"])
def test_invalid_trace_headers_raise_400(kit, header):
    """Bug 9: a header part with no '=' (which made aws-iatk's binary panic) is a clean 400."""
    with pytest.raises(IatkException) as caught:
        kit.get_trace_tree(header)
    assert caught.value.error_code == 400


# -- retry_until ---------------------------------------------------------------------------------------
def test_retry_until_validation_matches_aws_iatk(kit):
    """retry_until's argument errors keep aws-iatk's types and texts."""
    with pytest.raises(TypeError, match="^timeout must be an int or float$"):
        kit.retry_until(lambda out: True, timeout="10")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="^timeout must not be a negative value$"):
        kit.retry_until(lambda out: True, timeout=-1)
    with pytest.raises(TypeError, match="^condition is not a callable function$"):
        kit.retry_until("not callable")  # type: ignore[arg-type]


def test_retry_until_no_limit_succeeds_on_the_third_try(kit, clock):
    """timeout=0 means no limit; retryable errors back off (aws-iatk retried them in a tight loop)."""
    calls = []

    @kit.retry_until(lambda out: out == "ready", timeout=0)
    def fetch(tag: str) -> str:
        calls.append(tag)
        if len(calls) < 3:
            raise RetryableException("not yet")
        return "ready"

    assert fetch("x") is True
    assert calls == ["x", "x", "x"]
    assert len(clock.sleeps) == 2
    assert all(pause > 0 for pause in clock.sleeps)
    assert clock.sleeps[1] > clock.sleeps[0] * 1.1  # backing off: 0.05 s then about 0.1 s


def test_retry_until_caps_its_sleeps_and_keeps_its_deadline(kit, clock):
    """Bug 4: pauses never exceed 2 s and the last one is cut to the deadline (aws-iatk could overrun)."""
    start = clock.now
    calls = []

    @kit.retry_until(lambda out: True, timeout=30)
    def never_ready() -> None:
        calls.append(clock.now)
        raise RetryableException("still not")

    assert never_ready() is False
    assert max(clock.sleeps) <= 2.0
    assert clock.sleeps[0] < 0.1
    assert clock.now - start == pytest.approx(30)
    assert 10 < len(calls) < 40  # a tight loop would have made thousands


def test_retry_until_falsy_return_is_not_yet(kit, clock):
    """A condition returning False is 'not yet' (aws-iatk counted any non-raising return as success)."""
    outcomes = iter([False, 0, None])

    @kit.retry_until(lambda out: next(outcomes), timeout=5)
    def value() -> int:
        return 1

    assert value() is True
    assert len(clock.sleeps) == 2


def test_retry_until_assertion_error_retries_and_other_errors_propagate(kit, clock):
    """AssertionError in the condition is 'not yet'; any other error (here KeyError) propagates at once."""
    seen = []

    def condition(out: dict) -> None:
        seen.append(out)
        assert len(seen) > 1, "first look"
        out["missing"]  # a KeyError: a bug in the test, not retried

    @kit.retry_until(condition, timeout=5)
    def value() -> dict:
        return {}

    with pytest.raises(KeyError):
        value()
    assert len(seen) == 2


def test_retry_until_non_retryable_errors_propagate(kit, clock):
    """An exception that is not in retryable_exceptions surfaces at once, not after the timeout."""

    @kit.retry_until(lambda out: True, timeout=5, retryable_exceptions=(TimeoutError,))
    def broken() -> None:
        raise RuntimeError("bug")

    with pytest.raises(RuntimeError, match="bug"):
        broken()
    assert clock.sleeps == []


# -- trace trees (X-Ray stubbed) -----------------------------------------------------------------------
def test_trace_tree_shape_and_limit_exceeded(kit, offline):
    """Bug 7 and 8: limit_exceeded is X-Ray's; children are exposed; absent booleans are None."""
    offline["xray"].add_response(
        "batch_get_traces",
        traces(
            segment("a000000000000001", "Flow", "AWS::StepFunctions::StateMachine", 10.0, error=False),
            segment("b000000000000002", "worker", "AWS::Lambda", 10.5, "a000000000000001"),
            segment("c000000000000003", "sns", "AWS::SNS", 10.2, "a000000000000001", inferred=True),
            limit_exceeded=True,
        ),
        {"TraceIds": [TRACE]},
    )
    out = kit.get_trace_tree(f"Root={TRACE};Sampled=1")
    assert isinstance(out, GetTraceTreeOutput)
    tree = out.trace_tree
    assert tree.source_trace.limit_exceeded is True
    assert tree.source_trace.id == TRACE
    assert tree.root.origin == "AWS::StepFunctions::StateMachine"
    assert [[s.origin for s in path] for path in tree.paths] == [
        ["AWS::StepFunctions::StateMachine", "AWS::SNS"],
        ["AWS::StepFunctions::StateMachine", "AWS::Lambda"],
    ]
    assert [child.name for child in tree.root.children] == ["sns", "worker"]
    assert tree.root.error is False
    assert tree.paths[1][1].error is None
    assert tree.paths[1][1].fault is None
    assert tree.paths[0][1].inferred is True
    assert tree.paths[0][0] is tree.root


def test_root_is_the_segment_without_parent_even_with_clock_skew(kit, offline):
    """Bug 8: the root is the segment with no parent, not the earliest start (a skewed child starts first)."""
    offline["xray"].add_response(
        "batch_get_traces",
        traces(
            segment("a000000000000001", "api", "AWS::ApiGateway::Stage", 10.0),
            segment("b000000000000002", "fn", "AWS::Lambda", 9.5, "a000000000000001"),
        ),
        {"TraceIds": [TRACE]},
    )
    tree = kit.get_trace_tree(TRACE).trace_tree
    assert tree.root.name == "api"
    assert [[s.name for s in path] for path in tree.paths] == [["api", "fn"]]


def test_link_without_attributes_does_not_break_the_tree(kit, offline):
    """Bug 9: a span link with no attributes (aws-iatk's binary panicked) is kept and ignored for following."""
    offline["xray"].add_response(
        "batch_get_traces",
        traces(
            segment("a000000000000001", "api", "AWS::ApiGateway::Stage", 1.0),
            segment(
                "b000000000000002",
                "fn",
                "AWS::Lambda",
                1.1,
                "a000000000000001",
                links=[{"trace_id": "1-6553f300-ffffffffffffffffffffffff", "id": "c000000000000003"}],
            ),
        ),
        {"TraceIds": [TRACE]},
    )
    tree = kit.get_trace_tree(TRACE).trace_tree
    [fn] = tree.root.children
    assert fn.links[0].trace_id == "1-6553f300-ffffffffffffffffffffffff"
    assert fn.links[0].attributes.reference_type is None
    assert fn.links[0].attributes.raw == {}
    assert tree.linked_trace_limit_exceeded is False


# One trace with every nested X-Ray type aws-iatk 0.1.0 models (aws_iatk/xray.py): http request and
# response, a cause with exceptions and stack frames, sql, nested subsegments, span links of both kinds.
LINKED = "1-6553f300-ffffffffffffffffffffffff"
RICH_ROOT = {
    "id": "a000000000000001",
    "trace_id": TRACE,
    "name": "api",
    "origin": "AWS::ApiGateway::Stage",
    "start_time": 10.0,
    "end_time": 11.0,
    "user": "alice",
    "service": {"version": "1.2"},
    "fault": True,
    "http": {
        "request": {
            "method": "POST",
            "url": "https://api.example.com/orders",
            "client_ip": "203.0.113.9",
            "user_agent": "curl/8",
            "x_forwarded_for": True,
        },
        "response": {"status": 502, "content_length": 31},
    },
    "cause": {
        "working_directory": "/var/task",
        "paths": ["/var/task/app.py"],
        "exceptions": [
            {
                "id": "e000000000000001",
                "message": "order store unavailable",
                "type": "ConnectionError",
                "remote": True,
                "truncated": 2,
                "skipped": 0,
                "cause": "e000000000000002",
                "stack": [{"path": "app.py", "line": 42, "label": "place_order"}],
            },
            {"id": "e000000000000002", "message": "timed out"},
        ],
    },
    "aws": {"api_id": "abc123"},
    "annotations": {"order": "o-1"},
    "metadata": {"default": {"attempt": 1}},
    "subsegments": [
        {
            "id": "5000000000000001",
            "name": "orders-db",
            "start_time": 10.1,
            "end_time": 10.6,
            "namespace": "remote",
            "traced": False,
            "error": True,
            "precursor_ids": ["5000000000000009"],
            "http": {"request": {"method": "GET", "traced": True}},
            "sql": {
                "url": "postgresql://db.example.com:5432/orders",
                "sanitized_query": "SELECT * FROM orders WHERE id = ?",
                "database_type": "PostgreSQL",
                "database_version": "15.4",
                "driver_version": "psycopg 3.1",
                "user": "app",
                "preparation": "statement",
            },
            "cause": "e000000000000001",
            "subsegments": [{"id": "5000000000000002", "name": "connect", "start_time": 10.1, "end_time": 10.2}],
            "links": [
                {
                    "trace_id": LINKED,
                    "id": "6000000000000001",
                    "attributes": {"aws.xray.reserved.reference_type": "child"},
                }
            ],
        }
    ],
    "links": [
        {"trace_id": LINKED, "id": "6000000000000002", "attributes": {"aws.xray.reserved.reference_type": "parent"}}
    ],
}
RICH_CHILD = {
    "id": "b000000000000002",
    "trace_id": TRACE,
    "name": "fn",
    "origin": "AWS::Lambda",
    "parent_id": "a000000000000001",
    "start_time": 10.2,
    "end_time": 10.5,
    "error": False,
    "http": {"response": {"status": 200}},
}
#: aws-iatk 0.1.0's attribute names, class by class (aws_iatk/xray.py); checked against the installed
#: package by test_attribute_names_are_aws_iatk_s when it is there.
AWS_IATK_ATTRIBUTES = {
    "Tree": ["root", "paths", "source_trace"],
    "Trace": ["id", "duration", "limit_exceeded", "segments"],
    "Segment": [
        "id", "name", "trace_id", "start_time", "end_time", "in_progress", "service", "user", "origin",
        "parent_id", "http", "error", "throttle", "fault", "cause", "aws", "annotations", "metadata",
        "subsegments", "links",
    ],
    "Subsegment": [
        "id", "name", "trace_id", "start_time", "end_time", "in_progress", "parent_id", "type", "error",
        "throttle", "fault", "http", "sql", "namespace", "traced", "precursor_ids", "cause", "aws",
        "annotations", "metadata", "subsegments", "links",
    ],
    "Http": ["request", "response"],
    "Request": ["method", "client_ip", "url", "user_agent", "x_forwarded_for", "traced"],
    "Response": ["status", "content_length"],
    "Sql": [
        "connection_string", "url", "sanitized_query", "database_type", "database_version", "driver_version",
        "user", "preparation",
    ],
    "Cause": ["workding_directory", "paths", "exceptions"],
    "Exception": ["id", "message", "type", "remote", "truncated", "skipped", "cause", "stack"],
    "StackFrame": ["path", "line", "label"],
    "Link": ["trace_id", "id", "attributes"],
    "LinkAttributes": ["reference_type"],
}  # fmt: skip


@pytest.fixture
def rich_tree(kit, offline) -> Any:
    """The compat tree of RICH_ROOT → RICH_CHILD, through a stubbed BatchGetTraces."""
    offline["xray"].add_response(
        "batch_get_traces",
        {
            "Traces": [
                {
                    "Id": TRACE,
                    "Duration": 1.0,
                    "LimitExceeded": False,
                    "Segments": [{"Id": doc["id"], "Document": json.dumps(doc)} for doc in (RICH_ROOT, RICH_CHILD)],
                }
            ],
            "UnprocessedTraceIds": [],
        },
        {"TraceIds": [TRACE]},
    )
    return kit.get_trace_tree(f"Root={TRACE};Sampled=1").trace_tree


def test_nested_segment_values_have_aws_iatk_attribute_paths(rich_tree):
    """seg.http.request.url, seg.cause.exceptions[0].message, links' reference_type... read as in aws-iatk."""
    root = rich_tree.root
    assert root.http.request.url == "https://api.example.com/orders"
    assert root.http.request.x_forwarded_for is True
    assert root.http.response.status == 502
    assert root.cause.exceptions[0].message == "order store unavailable"
    assert root.cause.exceptions[0].stack[0].line == 42
    assert root.cause.exceptions[1].stack is None
    assert root.cause.working_directory == root.cause.workding_directory == "/var/task"
    assert root.links[0].attributes.reference_type is ReferenceType.parent
    assert root.service == {"version": "1.2"}
    [db] = root.subsegments
    assert db.sql.sanitized_query == "SELECT * FROM orders WHERE id = ?"
    assert db.http.request.traced is True
    assert db.http.response is None
    assert db.cause == "e000000000000001"
    assert db.links[0].attributes.reference_type == ReferenceType.child == "child"
    child = rich_tree.paths[0][1]
    assert child.http.request is None
    assert child.cause is None
    assert child.links == []


def test_subsegments_know_their_trace_and_parent(rich_tree):
    """A subsegment has trace_id and parent_id (aws-iatk has both): its trace, and the segment or
    subsegment it is nested in, when its document does not name them."""
    [db] = rich_tree.root.subsegments
    [connect] = db.subsegments
    assert (db.trace_id, db.parent_id) == (TRACE, "a000000000000001")
    assert (connect.trace_id, connect.parent_id) == (TRACE, "5000000000000001")
    assert dataclasses.replace(db, name="renamed") == db  # equal by (id, trace_id), as in aws-iatk
    assert db != connect


def test_attribute_names_cover_aws_iatk_s(rich_tree):
    """Every attribute aws-iatk 0.1.0's trace types have, ours have too, on every nested type."""
    root = rich_tree.root
    [db] = root.subsegments
    instances = {
        "Tree": rich_tree,
        "Trace": rich_tree.source_trace,
        "Segment": root,
        "Subsegment": db,
        "Http": root.http,
        "Request": root.http.request,
        "Response": root.http.response,
        "Sql": db.sql,
        "Cause": root.cause,
        "Exception": root.cause.exceptions[0],
        "StackFrame": root.cause.exceptions[0].stack[0],
        "Link": root.links[0],
        "LinkAttributes": root.links[0].attributes,
    }
    for kind, names in AWS_IATK_ATTRIBUTES.items():
        missing = [name for name in names if not hasattr(instances[kind], name)]
        assert missing == [], kind


def test_attribute_names_are_aws_iatk_s():
    """AWS_IATK_ATTRIBUTES is what the installed aws-iatk's classes declare (skipped without aws-iatk)."""
    xray = pytest.importorskip("aws_iatk.xray")
    for kind, names in AWS_IATK_ATTRIBUTES.items():
        assert list(getattr(xray, kind).__annotations__) == names, kind


def _same_as_aws_iatk(theirs: Any, ours: Any, path: str) -> None:
    """Walk aws-iatk's object; ours must have each attribute with the same value.

    Deliberate differences: an absent list is [] here (None in aws-iatk), and a subsegment whose
    document has no trace_id / parent_id gets its trace's and its parent's (aws-iatk: "" / None).
    aws-iatk 0.1.0 builds a segment's subsegments with its Segment class (so they lack ``sql``...):
    ours are Subsegments that also have Segment's ``origin``, ``service`` and ``user``.
    """
    import enum

    if isinstance(theirs, enum.Enum):
        assert ours.value == theirs.value, path
    elif dataclasses.is_dataclass(theirs):
        for name, value in vars(theirs).items():
            assert hasattr(ours, name), f"{path}.{name}"
            mine = getattr(ours, name)
            # (names first: aws-iatk's segments cannot be compared with anything but a segment)
            if name in {"subsegments", "links", "precursor_ids"} and value is None and mine == []:
                continue
            if name in {"trace_id", "parent_id"} and path.endswith("]") and ".subsegments[" in path and not value:
                assert mine, f"{path}.{name}"
                continue
            _same_as_aws_iatk(value, mine, f"{path}.{name}")
    elif isinstance(theirs, list):
        assert len(ours) == len(theirs), path
        for i, (a, b) in enumerate(zip(theirs, ours, strict=True)):
            _same_as_aws_iatk(a, b, f"{path}[{i}]")
    else:
        assert ours == theirs, path


def test_tree_reads_like_aws_iatk_s_own_classes(rich_tree):
    """The same documents through aws-iatk 0.1.0's Tree (no Go binary needed) and through the drop-in
    give the same attribute paths and values (skipped without aws-iatk)."""
    xray = pytest.importorskip("aws_iatk.xray")
    theirs = xray.Tree(
        {
            "root": RICH_ROOT,
            "paths": [[RICH_ROOT, RICH_CHILD]],
            "source_trace": {
                "id": TRACE,
                "duration": 1.0,
                "limit_exceeded": False,
                "segments": [RICH_ROOT, RICH_CHILD],
            },
        }
    )
    _same_as_aws_iatk(theirs, rich_tree, "tree")


def test_lowercase_header_from_lambda_is_read(kit, offline):
    """A Lambda-style `root=...;sampled=1` header works, as in aws-iatk."""
    offline["xray"].add_response(
        "batch_get_traces", traces(segment("a000000000000001", "fn", "AWS::Lambda", 1.0)), {"TraceIds": [TRACE]}
    )
    assert kit.get_trace_tree(f"root={TRACE};sampled=1").trace_tree.root.name == "fn"


def test_segment_with_no_parent_is_retried(kit, offline):
    """Bug 8 / aws-iatk #106: a child segment that arrives before its parent is 'not ready', not an error."""
    parent = segment("a000000000000001", "api", "AWS::ApiGateway::Stage", 1.0)
    child = segment("b000000000000002", "fn", "AWS::Lambda", 1.2, "a000000000000001")
    offline["xray"].add_response("batch_get_traces", traces(child), {"TraceIds": [TRACE]})
    offline["xray"].add_response("batch_get_traces", traces(child, parent), {"TraceIds": [TRACE]})
    seen = []

    def two_hops(output: GetTraceTreeOutput) -> None:
        seen.append(output)
        assert [[s.origin for s in p] for p in output.trace_tree.paths] == [["AWS::ApiGateway::Stage", "AWS::Lambda"]]

    assert kit.retry_get_trace_tree_until(TRACE, two_hops, timeout_seconds=10) is True
    assert len(seen) == 1  # the incomplete first answer never reached the assertion


def test_retry_get_trace_tree_until_other_errors_propagate(kit, offline):
    """An IndexError in the assertion is a bug in the test: it propagates, as in aws-iatk."""
    offline["xray"].add_response(
        "batch_get_traces", traces(segment("a000000000000001", "fn", "AWS::Lambda", 1.0)), {"TraceIds": [TRACE]}
    )
    with pytest.raises(IndexError):
        kit.retry_get_trace_tree_until(TRACE, lambda out: out.trace_tree.paths[3], timeout_seconds=5)


def test_retry_get_trace_tree_until_takes_0_1_0_s_positional_timeout(kit, offline):
    """aws-iatk 0.1.0's signature (header, fn, timeout_seconds): a third number is the timeout."""
    offline["xray"].add_response(
        "batch_get_traces", traces(segment("a000000000000001", "fn", "AWS::Lambda", 1.0)), {"TraceIds": [TRACE]}
    )
    assert kit.retry_get_trace_tree_until(TRACE, lambda out: len(out.trace_tree.paths[0]) == 1, 60) is True


@pytest.mark.parametrize(("timeout", "kind", "words"), [(-1, ValueError, "negative"), ("5", TypeError, "int or float")])
def test_retry_get_trace_tree_until_checks_its_timeout_as_aws_iatk(kit, timeout, kind, words):
    """A bad timeout_seconds is retry_until's error (aws-iatk's types and words), before any call."""
    with pytest.raises(kind, match=words):
        kit.retry_get_trace_tree_until(TRACE, lambda out: None, timeout_seconds=timeout)


def test_retry_get_trace_tree_until_refuses_a_non_callable_before_any_fetch(kit):
    """aws-iatk's integration test: assertion_fn=0 is TypeError('condition is not a callable function')."""
    with pytest.raises(TypeError) as caught:
        kit.retry_get_trace_tree_until(f"Root={TRACE};Sampled=1", 0, timeout_seconds=10)  # type: ignore[arg-type]
    assert str(caught.value) == "condition is not a callable function"


@pytest.mark.parametrize("header", ["test", "Root=;Sampled=1", "Sampled=1"])
def test_invalid_header_words_are_aws_iatk_s_with_iatk_s_note(kit, header):
    """The message holds aws-iatk's words (suites assertIn them); iatk's explanation follows as a note."""
    with pytest.raises(IatkException) as direct:
        kit.get_trace_tree(header)
    assert str(direct.value) == "error while getting trace_id from the tracing header: invalid tracing header provided"
    assert direct.value.error_code == 400
    assert direct.value.__notes__  # the core's explanation of what a header looks like
    with pytest.raises(IatkException) as retried:
        kit.retry_get_trace_tree_until(header, lambda out: None, timeout_seconds=10)
    assert "error while getting trace_id from" in str(retried.value)
    assert retried.value.error_code == 500  # aws-iatk re-raised every non-retryable error as 500


def test_get_trace_tree_goes_through_the_patchable_underlying_call(kit, offline):
    """Suites patch AwsIatk._get_trace_tree: get_trace_tree and each retry attempt call it."""
    from unittest.mock import patch

    seen: list[Any] = []
    returned = IatkException("found a segment 123456789 with no parent", 500)  # aws-iatk's unit test returns it
    with patch.object(
        AwsIatk, "_get_trace_tree", autospec=True, side_effect=lambda *a, **k: seen.append(a) or returned
    ):
        assert kit.get_trace_tree(f"Root={TRACE}") is returned
        clock = FakeClock(500.0)
        kit._clock, kit._sleep = clock, clock.sleep

        def is_a_tree(out: Any) -> None:
            assert isinstance(out, GetTraceTreeOutput)

        assert kit.retry_get_trace_tree_until(f"Root={TRACE}", is_a_tree, timeout_seconds=10) is False
    assert seen[0][1].tracing_header == f"Root={TRACE}"
    assert len(seen) == 1 + 7  # aws-iatk's schedule: 7 attempts in 10 s


def test_not_ready_words_are_retried_and_others_are_not():
    """aws-iatk's retryable words (0.1.0's and #113's) and iatk's in-progress segment."""
    from iatk.compat._traces import not_ready

    assert not_ready("error building trace tree: failed to fetch trace 1-a-b with error: trace not found")
    assert not_ready("failed to build trace tree 1-a-b with error: found a segment 12 with no parent")
    assert not_ready("failed to build trace tree 1-a-b with error: found segment 12 still in progress")
    assert not not_ready("error while getting trace_id from the tracing header: invalid tracing header provided")
    assert not not_ready("failed to fetch trace 1-a-b with error: no trace segments found")


# -- mock events -------------------------------------------------------------------------------------
OPENAPI = {
    "openapi": "3.0.0",
    "info": {"title": "Finding", "version": "1.0.0"},
    "paths": {},
    "components": {
        "schemas": {
            "AWSEvent": {
                "type": "object",
                "required": ["detail", "source", "detail-type"],
                "x-amazon-events-source": "security.scanner",
                "x-amazon-events-detail-type": "Finding",
                "properties": {
                    "detail": {"$ref": "#/components/schemas/Finding"},
                    "source": {"type": "string"},
                    "detail-type": {"type": "string"},
                },
            },
            "Finding": {
                "type": "object",
                "required": ["unusual", "archived", "severity", "where"],
                "properties": {
                    "unusual": {"description": "no type at all (aws-iatk #116)"},
                    "archived": {"type": "boolean"},
                    "severity": {"oneOf": [{"type": "string", "enum": ["LOW", "HIGH"]}, {"type": "integer"}]},
                    "where": {
                        "allOf": [
                            {"type": "object", "required": ["region"], "properties": {"region": {"type": "string"}}},
                            {"required": ["zone"], "properties": {"zone": {"type": "integer"}}},
                        ]
                    },
                },
            },
        }
    },
}
DRAFT4 = {
    "$schema": "http://json-schema.org/draft-04/schema#",
    "type": "object",
    "required": ["eventHook", "dryRun"],
    "properties": {
        "eventHook": {"type": "string", "enum": ["postValidate", "preValidate"]},
        "dryRun": {"type": "boolean"},
        "note": {"type": "string"},
    },
}


def registry(offline: dict[str, Stubber], document: dict, kind: str = "OpenApi3", name: str = "Finding") -> None:
    """Queue one schemas:DescribeSchema answer for registry 'reg', schema ``name``."""
    offline["schemas"].add_response(
        "describe_schema",
        {
            "Content": json.dumps(document),
            "SchemaName": name,
            "SchemaVersion": "1",
            "Type": kind,
            "SchemaArn": f"arn:aws:schemas:us-east-1:123456789012:schema/reg/{name}",
        },
        {"RegistryName": "reg", "SchemaName": name},
    )


@pytest.fixture(autouse=True)
def _fresh_schema_cache() -> Iterator[None]:
    clear_schema_cache()
    yield
    clear_schema_cache()


def test_mock_event_placeholders_where_aws_iatk_failed(kit, offline):
    """Bugs 10 and 11 on the drop-in: untyped, allOf and oneOf get aws-iatk-style placeholders, not failures."""
    registry(offline, OPENAPI)
    event = kit.generate_mock_event("reg", "Finding", event_ref="AWSEvent").event
    assert event == {
        "detail": {"archived": False, "severity": "LOW", "unusual": {}, "where": {"region": "", "zone": 0}},
        "detail-type": "",
        "source": "",
    }
    assert list(event) == sorted(event)  # Go's encoder sorted keys


def test_mock_event_contexts_as_a_tuple_are_applied_in_order(kit, offline):
    """Bug 12: contexts given as a tuple are applied (aws-iatk ignored anything but a list)."""
    registry(offline, OPENAPI)

    def first(event: dict) -> dict:
        event["detail"]["archived"] = True
        return event

    def second(event: dict) -> dict:
        event["detail"]["seen"] = event["detail"]["archived"]
        return event

    event = kit.generate_mock_event("reg", "Finding", event_ref="AWSEvent", contexts=(first, second)).event
    assert event["detail"]["archived"] is True
    assert event["detail"]["seen"] is True


def test_mock_event_context_errors_keep_aws_iatk_words_and_codes(kit, offline):
    """A context returning None is aws-iatk's 404 'event is empty'; a non-JSON result its 400: exact words."""
    registry(offline, OPENAPI)
    with pytest.raises(IatkException) as empty:
        kit.generate_mock_event("reg", "Finding", event_ref="AWSEvent", contexts=[lambda event: None])
    assert str(empty.value) == "event is empty, make sure function returns a valid event"
    assert empty.value.error_code == 404
    assert "returned None" in empty.value.__notes__[0]

    def with_a_set(event: dict) -> dict:
        event["tags"] = {1, 2}
        return event

    with pytest.raises(IatkException) as bad:
        kit._apply_contexts({"a": 1}, [with_a_set])
    assert str(bad.value) == "context applier with_a_set returns a non-JSON-serializable result"
    assert bad.value.error_code == 400


def test_openapi_without_event_ref_is_aws_iatk_s_error(kit, offline):
    """aws-iatk's integration test compares the whole message; the components follow as a note."""
    registry(offline, OPENAPI)
    with pytest.raises(IatkException) as caught:
        kit.generate_mock_event("reg", "Finding", event_ref="")
    assert str(caught.value) == (
        "error generating mock event: error generating mock event: no eventRef specified to generate a mock event"
    )
    assert caught.value.error_code == 400
    assert "components: AWSEvent, Finding" in caught.value.__notes__[0]


def test_unknown_event_ref_and_unknown_type_are_aws_iatk_s_errors(kit, offline):
    """The other generator errors keep aws-iatk's texts (its Go tests' expectations)."""
    registry(offline, OPENAPI)
    with pytest.raises(IatkException, match='provided eventRef "RandomEvent" not found in the schema'):
        kit.generate_mock_event("reg", "Finding", event_ref="RandomEvent")
    odd = {"openapi": "3.0.0", "components": {"schemas": {"E": {"type": "object", "properties": {"n": {"type": "x"}}}}}}
    registry(offline, odd, name="Odd")
    with pytest.raises(IatkException) as caught:
        kit.generate_mock_event("reg", "Odd", event_ref="E")
    assert str(caught.value).endswith('invalid or unsupported property type "x" found for property "n"')


def test_mock_event_needs_registry_and_schema(kit):
    """Without a registry and schema the error is aws-iatk's, word for word, with code 400."""
    with pytest.raises(IatkException) as caught:
        kit.generate_mock_event(registry_name="r")
    assert str(caught.value) == 'requires both "RegistryName" and "SchemaName"'
    assert caught.value.error_code == 400


def test_mock_event_from_the_registry(kit, offline):
    """A registry schema (schemas:DescribeSchema stubbed) in JSON Schema draft 4 with a boolean (bug 10)."""
    offline["schemas"].add_response(
        "describe_schema",
        {
            "Content": json.dumps(DRAFT4),
            "SchemaName": "PluginTrigger",
            "SchemaVersion": "1",
            "Type": "JSONSchemaDraft4",
            "SchemaArn": "arn:aws:schemas:us-east-1:123456789012:schema/plugins/PluginTrigger",
        },
        {"RegistryName": "plugins", "SchemaName": "PluginTrigger"},
    )

    def set_props(event: dict) -> dict:
        event["pluginTitle"] = "PythonMinimalPlugin"
        return event

    event = kit.generate_mock_event("plugins", "PluginTrigger", skip_optional=True, contexts=[set_props]).event
    assert event == {"dryRun": False, "eventHook": "postValidate", "pluginTitle": "PythonMinimalPlugin"}


def test_mock_event_schema_not_found_is_404(kit, offline):
    """An unknown registry schema is a 404 naming what exists (aws-iatk: code 0, 'failed to call service')."""
    offline["schemas"].add_client_error("describe_schema", "NotFoundException", "Schema not found", 404)
    offline["schemas"].add_response(
        "list_schemas", {"Schemas": [{"SchemaName": "PluginTrigger"}]}, {"RegistryName": "plugins"}
    )
    with pytest.raises(IatkException, match="schema 'Nope' in registry 'plugins' not found.*PluginTrigger") as caught:
        kit.generate_mock_event("plugins", "Nope")
    assert caught.value.error_code == 404
    assert caught.value.aws_code == "NotFoundException"


ORDERS = {
    "openapi": "3.0.0",
    "info": {"title": "Orders", "version": "1.0.0"},
    "paths": {},
    "components": {
        "schemas": {
            "AWSEvent": {
                "type": "object",
                "required": ["detail", "detail-type", "source"],
                "properties": {
                    "detail": {"$ref": "#/components/schemas/Order"},
                    "detail-type": {"type": "string"},
                    "source": {"type": "string"},
                    "time": {"type": "string", "format": "date-time"},
                    "account": {"type": "string"},
                },
            },
            "Order": {
                "type": "object",
                "properties": {
                    "orderId": {"type": "string", "format": "uuid"},
                    "status": {"type": "string", "enum": ["PLACED", "PAID"]},
                    "shipping": {"type": "number", "minimum": 5},
                    "orderItems": {"type": "array", "minItems": 1, "items": {"$ref": "#/components/schemas/Item"}},
                    "customer": {
                        "type": "object",
                        "required": ["id"],
                        "properties": {"id": {"type": "string"}, "vip": {"type": "boolean"}},
                    },
                },
            },
            "Item": {"type": "object", "properties": {"price": {"type": "number", "minimum": 1}}},
        }
    },
}


def test_drop_in_values_are_aws_iatk_s_placeholders_and_mock_event_s_stay_realistic(kit, offline):
    """Item 2: aws-iatk's example 04 totals an order from an event whose orderItems is empty (110 there)."""
    registry(offline, ORDERS, name="Order")
    event = kit.generate_mock_event("reg", "Order", event_ref="AWSEvent").event
    detail = event["detail"]
    assert detail == {
        "customer": {"id": "", "vip": False},
        "orderId": "",
        "orderItems": [],
        "shipping": 0,
        "status": "PLACED",
    }
    assert datetime.fromisoformat(event["time"].replace("Z", "+00:00")).tzinfo is not None  # now, RFC 3339
    assert (event["source"], event["detail-type"], event["account"]) == ("", "", "")
    total = 110 + detail["shipping"] + sum(item["price"] for item in detail["orderItems"])
    assert total == 110
    ours = iatk.mock_event(schema_text=ORDERS, event_ref="AWSEvent", seed=1)
    assert ours["detail"]["orderItems"]  # iatk's own generator: realistic values, minItems honoured
    assert ours["detail"]["shipping"] >= 5


def test_skip_optional_drops_only_what_a_required_list_leaves_out(kit, offline):
    """Item 3: aws-iatk skips a property only where its object has a required list; nested objects
    without one keep everything (iatk's own skip_optional empties them)."""
    registry(offline, ORDERS, name="Order")
    event = kit.generate_mock_event("reg", "Order", event_ref="AWSEvent", skip_optional=True).event
    assert sorted(event) == ["detail", "detail-type", "source"]
    assert sorted(event["detail"]) == ["customer", "orderId", "orderItems", "shipping", "status"]
    assert event["detail"]["customer"] == {"id": ""}
    assert iatk.mock_event(schema_text=ORDERS, event_ref="AWSEvent", skip_optional=True, seed=1)["detail"] == {}
