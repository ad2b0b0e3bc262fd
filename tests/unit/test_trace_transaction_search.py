"""The Transaction Search read path on AWS, through botocore's Stubber with AWS-shaped responses.

The recorded BatchGetTraces answers in tests/unit/data/traces are turned into the
ListRetrievedTraces answers AWS gives for the same trace (``Traces[].Spans[].Document`` holds the
same segment documents with ``TraceFormat=XRAY``), so the tree must be the X-Ray path's tree.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.stub import ANY, Stubber

from iatk._aws import aws
from iatk._config import resolve_settings, set_current_settings
from iatk.exceptions import AwsError, ConfigError, TraceIncomplete
from iatk.testing import FakeClock, answer_call
from iatk.trace import TraceSourceChoice, choose_trace_source, forget_trace_source, get_trace_tree
from iatk.trace._transaction_search import time_range

DATA = Path(__file__).parent / "data" / "traces"
TOKEN = "AQICAHh5-recorded-retrieval-token-1"


def load(name: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((DATA / f"{name}.json").read_text())
    return data


def retrieved(response: dict[str, Any], ids: list[str] | None = None) -> dict[str, Any]:
    """A COMPLETE ListRetrievedTraces answer with the traces of a BatchGetTraces answer."""
    traces = [
        {"Id": item["Id"], "Duration": item.get("Duration", 1.0), "Spans": item["Segments"]}
        for item in response["Traces"]
        if ids is None or item["Id"] in ids
    ]
    return {"RetrievalStatus": "COMPLETE", "TraceFormat": "XRAY", "Traces": traces}


@pytest.fixture
def session() -> boto3.Session:
    return boto3.Session(aws_access_key_id="x", aws_secret_access_key="x", region_name="us-east-1")


@pytest.fixture
def stubber(session: boto3.Session) -> Iterator[Stubber]:
    with Stubber(aws(session).xray) as stub:
        yield stub
        stub.assert_no_pending_responses()


def start(stubber: Stubber, ids: list[str], token: str = TOKEN) -> None:
    stubber.add_response(
        "start_trace_retrieval",
        {"RetrievalToken": token},
        {"TraceIds": ids, "StartTime": ANY, "EndTime": ANY},
    )


def listed(stubber: Stubber, answer: dict[str, Any], token: str = TOKEN) -> None:
    stubber.add_response("list_retrieved_traces", answer, {"RetrievalToken": token, "TraceFormat": "XRAY"})


def test_an_in_progress_retrieval_is_polled_until_complete(session: boto3.Session, stubber: Stubber) -> None:
    response = load("sfn_lambda_events")
    trace_id = response["Traces"][0]["Id"]
    start(stubber, [trace_id])
    for status in ("SCHEDULED", "RUNNING", "RUNNING"):
        listed(stubber, {"RetrievalStatus": status, "TraceFormat": "XRAY", "Traces": []})
    listed(stubber, retrieved(response))
    clock = FakeClock()
    tree = get_trace_tree(
        trace_id, within=30, session=session, source="transaction-search", clock=clock, sleep=clock.sleep
    )
    assert len(clock.sleeps) == 3  # one StartTraceRetrieval, then the same token polled

    stubber.add_response("batch_get_traces", response, {"TraceIds": [trace_id]})
    clock = FakeClock()
    same = get_trace_tree(trace_id, within=30, session=session, source="xray", clock=clock, sleep=clock.sleep)
    assert tree.render(subsegments=True) == same.render(subsegments=True)
    assert [s.document for s in tree.segments] == [s.document for s in same.segments]


def test_a_retrieval_still_running_at_the_deadline_is_cancelled(session: boto3.Session) -> None:
    """RUNNING on every poll (as many as the jittered backoff makes): the wait ends, the retrieval is cancelled."""
    trace_id = "1-6553f100-3c8f1e2d4b5a69788796a5b4"
    running = {"RetrievalStatus": "RUNNING", "TraceFormat": "XRAY", "Traces": []}
    clock = FakeClock()
    with (
        answer_call(session, "xray", "StartTraceRetrieval", {"RetrievalToken": TOKEN}) as started,
        answer_call(session, "xray", "ListRetrievedTraces", running) as polls,
        answer_call(session, "xray", "CancelTraceRetrieval", {}) as cancelled,
        pytest.raises(TraceIncomplete) as caught,
    ):
        get_trace_tree(trace_id, within=3, session=session, source="transaction-search", clock=clock, sleep=clock.sleep)
    assert len(started) == 1
    assert started[0]["TraceIds"] == [trace_id]
    assert len(polls) == len(clock.sleeps) + 1 >= 3
    assert all(p == {"RetrievalToken": TOKEN, "TraceFormat": "XRAY"} for p in polls)
    assert cancelled == [{"RetrievalToken": TOKEN}]
    message = str(caught.value)
    assert message.startswith(
        f"trace {trace_id} not found after 3.0 s (requests: 1 to xray:StartTraceRetrieval, "
        f"{len(polls)} to xray:ListRetrievedTraces; last RetrievalStatus RUNNING in us-east-1)\n"
        "Read from Transaction Search (set by source=transaction-search); it last answered: RetrievalStatus RUNNING.\n"
    )


def test_a_complete_retrieval_without_the_trace_starts_a_new_one(session: boto3.Session, stubber: Stubber) -> None:
    response = load("two_roots")
    trace_id = response["Traces"][0]["Id"]
    start(stubber, [trace_id], "token-1")
    listed(stubber, {"RetrievalStatus": "COMPLETE", "TraceFormat": "XRAY", "Traces": []}, "token-1")
    start(stubber, [trace_id], "token-2")
    listed(stubber, {"RetrievalStatus": "FAILED", "TraceFormat": "XRAY", "Traces": []}, "token-2")
    start(stubber, [trace_id], "token-3")
    listed(stubber, retrieved(response), "token-3")
    clock = FakeClock()
    tree = get_trace_tree(
        trace_id, within=30, session=session, source="transaction-search", clock=clock, sleep=clock.sleep
    )
    assert tree.source_trace.id == trace_id
    assert len(tree.roots) == 2


def test_pages_of_a_retrieval_are_joined(session: boto3.Session, stubber: Stubber) -> None:
    response = load("separate_subsegments")
    item = response["Traces"][0]
    first, rest = item["Segments"][:1], item["Segments"][1:]
    start(stubber, [item["Id"]])
    page_one = {"RetrievalStatus": "COMPLETE", "TraceFormat": "XRAY", "NextToken": "p2"}
    page_one["Traces"] = [{"Id": item["Id"], "Spans": first}]
    listed(stubber, page_one)
    stubber.add_response(
        "list_retrieved_traces",
        {"RetrievalStatus": "COMPLETE", "TraceFormat": "XRAY", "Traces": [{"Id": item["Id"], "Spans": rest}]},
        {"RetrievalToken": TOKEN, "TraceFormat": "XRAY", "NextToken": "p2"},
    )
    clock = FakeClock()
    tree = get_trace_tree(
        item["Id"], within=5, session=session, source="transaction-search", clock=clock, sleep=clock.sleep
    )
    assert len(tree.source_trace.documents) == len(item["Segments"])


def test_linked_traces_are_retrieved_level_by_level(session: boto3.Session, stubber: Stubber) -> None:
    response = load("linked")
    source = "1-6553f500-111111111111111111111111"
    others = [i["Id"] for i in response["Traces"] if i["Id"] != source]
    start(stubber, [source], "t1")
    listed(stubber, retrieved(response, [source]), "t1")
    first, second = "1-6553f501-222222222222222222222222", "1-6553f502-333333333333333333333333"
    assert sorted(others) == [first, second]  # the source links to the first, the first to the second
    start(stubber, [first], "t2")
    listed(stubber, retrieved(response, [first]), "t2")
    start(stubber, [second], "t3")
    listed(stubber, retrieved(response, [second]), "t3")
    clock = FakeClock()
    tree = get_trace_tree(
        source,
        within=5,
        follow_links=True,
        session=session,
        source="transaction-search",
        clock=clock,
        sleep=clock.sleep,
    )
    assert [t.id for t in tree.linked_traces] == [first, second]
    assert clock.sleeps == []


def test_the_time_range_starts_before_the_ids_epoch() -> None:
    now = 0x6553F200 + 50.0
    assert time_range(["1-6553f100-3c8f1e2d4b5a69788796a5b4"], now) == (0x6553F100 - 300.0, now + 300.0)
    # a random W3C id: no time in it, so the last six hours
    assert time_range(["1-ffffffff-3c8f1e2d4b5a69788796a5b4"], now) == (now - 6 * 3600.0, now + 300.0)


@pytest.mark.parametrize(
    ("answer", "expected"),
    [
        ({"Destination": "CloudWatchLogs", "Status": "ACTIVE"}, "transaction-search"),
        ({"Destination": "XRay", "Status": "ACTIVE"}, "xray"),
        ({"Destination": "CloudWatchLogs", "Status": "PENDING"}, "xray"),
    ],
)
def test_auto_follows_the_accounts_destination(
    session: boto3.Session, stubber: Stubber, answer: dict[str, str], expected: str
) -> None:
    stubber.add_response("get_trace_segment_destination", answer, {})
    first = choose_trace_source(session, source="auto")
    again = choose_trace_source(session, source="auto")  # cached: one call per session
    assert first is again
    assert first.source == expected
    assert first.destination == answer["Destination"]
    assert first.status == answer["Status"]
    assert f"the account's trace destination is {answer['Destination']} ({answer['Status']})" in first.describe()


def test_auto_reads_from_the_chosen_source(session: boto3.Session, stubber: Stubber) -> None:
    response = load("two_roots")
    trace_id = response["Traces"][0]["Id"]
    stubber.add_response("get_trace_segment_destination", {"Destination": "CloudWatchLogs", "Status": "ACTIVE"}, {})
    start(stubber, [trace_id])
    listed(stubber, retrieved(response))
    clock = FakeClock()
    tree = get_trace_tree(trace_id, within=5, session=session, source="auto", clock=clock, sleep=clock.sleep)
    assert tree.source_trace.id == trace_id


def test_auto_falls_back_to_xray_and_says_so(session: boto3.Session, stubber: Stubber) -> None:
    stubber.add_client_error("get_trace_segment_destination", "AccessDeniedException", "not authorized", 403)
    choice = choose_trace_source(session, source="auto")
    assert choice == TraceSourceChoice(
        "xray",
        "because xray:GetTraceSegmentDestination failed (AccessDeniedException); falling back to X-Ray "
        "(set --iatk-trace-source to choose)",
        fell_back=True,
    )
    assert choice.describe().startswith("traces: X-Ray (xray:BatchGetTraces), because")
    forget_trace_source(session)
    stubber.add_response("get_trace_segment_destination", {"Destination": "CloudWatchLogs", "Status": "ACTIVE"}, {})
    assert choose_trace_source(session, source="auto").source == "transaction-search"


def test_the_setting_names_the_source_without_a_call(session: boto3.Session, stubber: Stubber) -> None:
    set_current_settings(resolve_settings(environ={"IATK_TRACE_SOURCE": "Transaction_Search"}))
    try:
        choice = choose_trace_source(session)
    finally:
        set_current_settings(None)
    assert choice.source == "transaction-search"
    assert choice.reason == "set by IATK_TRACE_SOURCE=transaction-search"
    options = resolve_settings(options={"trace_source": "xray"}, environ={"IATK_TRACE_SOURCE": "auto"})
    assert (options.trace_source, (options.sources or {})["trace_source"]) == ("xray", "option")


def test_a_bad_source_is_refused_before_any_call(session: boto3.Session, stubber: Stubber) -> None:
    with pytest.raises(ConfigError, match=r"source: expected one of auto, xray, transaction-search; got 'cloudwatch'"):
        get_trace_tree("1-6553f100-3c8f1e2d4b5a69788796a5b4", within=1, session=session, source="cloudwatch")
    with pytest.raises(ConfigError, match=r"trace_source \(from env\): expected one of auto"):
        resolve_settings(environ={"IATK_TRACE_SOURCE": "logs"})


def test_a_refused_retrieval_fails_at_once(session: boto3.Session, stubber: Stubber) -> None:
    stubber.add_client_error("start_trace_retrieval", "InvalidRequestException", "Transaction Search is not enabled")
    clock = FakeClock()
    with pytest.raises(AwsError, match=r"xray:StartTraceRetrieval.*Transaction Search is not enabled") as caught:
        get_trace_tree(
            "1-6553f100-3c8f1e2d4b5a69788796a5b4",
            within=5,
            session=session,
            source="transaction-search",
            clock=clock,
            sleep=clock.sleep,
        )
    assert caught.value.code == "InvalidRequestException"
    assert clock.sleeps == []
