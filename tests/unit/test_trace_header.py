"""Trace headers (new, parse, render) and trace_client / untrace_client on real boto3 clients, no network."""

from __future__ import annotations

import copy
import pickle
import re
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from botocore.awsrequest import AWSResponse

from iatk.exceptions import ConfigError, TraceError
from iatk.trace import TraceHeader, TraceHelper, new_trace_header, trace_client, untrace_client

TRACE_ID = "1-5759e988-bd862e3fe1be46a994272793"
HEADER_RE = re.compile(r"^Root=1-[0-9a-f]{8}-[0-9a-f]{24};Sampled=1$")


# ---- new_trace_header ------------------------------------------------------------------------


def test_new_trace_header_has_the_xray_format():
    """A new header is Root=1-<8 hex>-<24 hex>;Sampled=1, a str with .root and .sampled."""
    header = new_trace_header()
    assert HEADER_RE.match(header)
    assert isinstance(header, str)
    assert header.root == header[len("Root=") : -len(";Sampled=1")]
    assert header.sampled is True
    assert header.parent is None
    assert str(header) == header


def test_new_trace_headers_are_unique_and_carry_the_current_time():
    """Each header has a fresh id whose first part is the current epoch in hex."""
    import time

    before = int(time.time())
    headers = {new_trace_header().root for _ in range(200)}
    after = int(time.time())
    assert len(headers) == 200
    assert all(before <= int(h.split("-")[1], 16) <= after for h in headers)


def test_new_trace_header_unsampled():
    """sampled=False renders Sampled=0."""
    header = new_trace_header(sampled=False)
    assert header.endswith(";Sampled=0")
    assert header.sampled is False
    with pytest.raises(ConfigError):
        new_trace_header(sampled=1)  # type: ignore[arg-type]


def test_header_is_immutable_and_survives_pickle_and_copy():
    """A TraceHeader cannot be changed, and pickles/copies to an equal header."""
    header = new_trace_header()
    with pytest.raises(AttributeError):
        header.root = TRACE_ID  # type: ignore[misc]
    assert pickle.loads(pickle.dumps(header)) == header
    assert isinstance(pickle.loads(pickle.dumps(header)), TraceHeader)
    assert copy.deepcopy(header).root == header.root
    assert repr(header) == f"TraceHeader({str(header)!r})"


# ---- parsing ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "canonical", "parent", "sampled"),
    [
        (TRACE_ID, f"Root={TRACE_ID};Sampled=1", None, True),
        (f"  {TRACE_ID} ", f"Root={TRACE_ID};Sampled=1", None, True),
        (f"Root={TRACE_ID};Sampled=1", f"Root={TRACE_ID};Sampled=1", None, True),
        (f"root={TRACE_ID};parent=53995c3f42cd8ad8;sampled=1", None, "53995c3f42cd8ad8", True),
        (f"Root={TRACE_ID};Parent=53995c3f42cd8ad8;Sampled=0", None, "53995c3f42cd8ad8", False),
        (f"Self=1-67891234-12456789abcdef012345678a;Root={TRACE_ID}", f"Root={TRACE_ID}", None, None),
        (f"Root={TRACE_ID};Sampled=?;Lineage=a87bd80c:1", f"Root={TRACE_ID}", None, None),
        (f"Root={TRACE_ID};", f"Root={TRACE_ID}", None, None),
        ("4efaaf4d1e8720b39541901950019ee5", "Root=1-4efaaf4d-1e8720b39541901950019ee5;Sampled=1", None, True),
    ],
)
def test_parse_accepts_ids_and_headers(text, canonical, parent, sampled):
    """Bare ids, lowercase keys, Parent/Self/Lineage parts and W3C ids all give the trace id."""
    header = TraceHeader.parse(text)
    assert header.root in (TRACE_ID, "1-4efaaf4d-1e8720b39541901950019ee5")
    assert header.parent == parent
    assert header.sampled is sampled
    if canonical is not None:
        assert header == canonical
    assert TraceHeader.parse(header) is header


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("", "empty trace header"),
        ("   ", "empty trace header"),
        ("Root", "not an X-Ray trace id"),
        (f"Root={TRACE_ID};Sampled", "part 'Sampled' has no '='"),
        ("Root=;Sampled=1", "has an empty Root="),
        ("Parent=53995c3f42cd8ad8;Sampled=1", "has no Root="),
        ("Root=1-5759e988-bd862e3fe1be46a99427279", "not an X-Ray trace id"),
        ("Root=2-5759e988-bd862e3fe1be46a994272793", "not an X-Ray trace id"),
        ("1-abc", "not an X-Ray trace id"),
        (f"Root={TRACE_ID};Parent=xyz", "not an X-Ray segment id"),
    ],
)
def test_parse_rejects_bad_headers(text, reason):
    """A header aws-iatk would panic on or pass through unchecked is a TraceError saying why."""
    with pytest.raises(TraceError, match=re.escape(reason)):
        TraceHeader.parse(text)


def test_parse_rejects_non_strings():
    """A number or None is a TraceError, not an AttributeError."""
    with pytest.raises(TraceError, match="got int"):
        TraceHeader.parse(42)  # type: ignore[arg-type]


# ---- trace_client ----------------------------------------------------------------------------


class _Body:
    def __init__(self, body: bytes) -> None:
        self.body = body

    def stream(self) -> Iterator[bytes]:
        yield self.body


@pytest.fixture
def sfn() -> Iterator[tuple[Any, list[list[str]]]]:
    """A real Step Functions client whose requests never leave the process.

    A ``before-sign`` hook registered *last* records every X-Amzn-Trace-Id header on the request as it
    is about to be signed (after iatk's handler ran); a ``before-send`` hook answers with an empty list.
    """
    client = boto3.client("stepfunctions", region_name="us-east-1", aws_access_key_id="x", aws_secret_access_key="x")
    seen: list[list[str]] = []
    client.meta.events.register_last(
        "before-sign", lambda request, **_: seen.append(request.headers.get_all("X-Amzn-Trace-Id") or [])
    )
    client.meta.events.register(
        "before-send", lambda request, **_: AWSResponse(request.url, 200, {}, _Body(b'{"stateMachines": []}'))
    )
    return client, seen


def test_trace_client_sends_the_header_on_every_call(sfn):
    """After trace_client every request carries exactly the returned header."""
    client, seen = sfn
    header = trace_client(client)
    assert HEADER_RE.match(header)
    client.list_state_machines()
    client.list_state_machines()
    assert seen == [[header], [header]]


def test_patching_twice_replaces_the_header(sfn):
    """A second trace_client on the same client sends one header, the new one (aws-iatk sent two)."""
    client, seen = sfn
    trace_client(client)
    second = trace_client(client, TRACE_ID)
    client.list_state_machines()
    assert seen == [[f"Root={TRACE_ID};Sampled=1"]]
    assert second.root == TRACE_ID


def test_untrace_client_removes_the_header(sfn):
    """untrace_client stops the header and returns what was sent; a second call returns None."""
    client, seen = sfn
    header = trace_client(client, f"root={TRACE_ID};sampled=1")
    assert untrace_client(client) == header
    client.list_state_machines()
    assert seen == [[]]
    assert untrace_client(client) is None


def test_the_header_replaces_the_one_botocore_adds_inside_lambda(sfn, monkeypatch):
    """Inside Lambda botocore adds _X_AMZN_TRACE_ID; a patched client sends its own header instead."""
    monkeypatch.setenv("AWS_LAMBDA_FUNCTION_NAME", "my-function")
    monkeypatch.setenv("_X_AMZN_TRACE_ID", "Root=1-11111111-111111111111111111111111;Sampled=1")
    client, seen = sfn
    client.list_state_machines()
    header = trace_client(client, TRACE_ID)
    client.list_state_machines()
    assert seen == [["Root=1-11111111-111111111111111111111111;Sampled=1"], [header]]


def test_patching_one_client_leaves_others_alone(sfn):
    """Handlers live on the patched client only: a second client of the same session sends nothing."""
    client, seen = sfn
    other = boto3.client("stepfunctions", region_name="us-east-1", aws_access_key_id="x", aws_secret_access_key="x")
    other_seen: list[list[str]] = []
    other.meta.events.register_last(
        "before-sign", lambda request, **_: other_seen.append(request.headers.get_all("X-Amzn-Trace-Id") or [])
    )
    other.meta.events.register(
        "before-send", lambda request, **_: AWSResponse(request.url, 200, {}, _Body(b'{"stateMachines": []}'))
    )
    header = trace_client(client)
    other.list_state_machines()
    client.list_state_machines()
    assert other_seen == [[]]
    assert seen == [[header]]


def test_trace_client_rejects_bad_input():
    """A non-client or a bad header fails before anything is registered."""
    with pytest.raises(ConfigError, match="needs a boto3 client"):
        trace_client(object())  # type: ignore[arg-type]
    client = boto3.client("sqs", region_name="us-east-1", aws_access_key_id="x", aws_secret_access_key="x")
    with pytest.raises(TraceError):
        trace_client(client, "Root=nope")
    assert untrace_client(client) is None


def test_trace_helper_patches_with_one_header_and_unpatches_on_close(sfn):
    """TraceHelper.patch uses the helper's current header (made once) and close() removes it."""
    client, seen = sfn
    with TraceHelper() as helper:
        assert helper.patch(client) is client
        assert helper.header is not None
        first = helper.header
        helper.patch(client)
        client.list_state_machines()
        assert seen == [[first]]
        newer = helper.new_header()
        helper.patch(client)
        client.list_state_machines()
        assert seen[-1] == [newer]
    client.list_state_machines()
    assert seen[-1] == []


def test_the_constructor_takes_ids_and_points_header_strings_to_parse():
    """TraceHeader(id, sampled, parent) builds a header; a header string is sent to TraceHeader.parse."""
    header = TraceHeader(TRACE_ID, None, "53995c3f42cd8ad8")
    assert header == f"Root={TRACE_ID};Parent=53995c3f42cd8ad8"
    with pytest.raises(TraceError, match=r"TraceHeader\.parse"):
        TraceHeader(f"Root={TRACE_ID}")
    with pytest.raises(TraceError, match="not an X-Ray trace id"):
        TraceHeader(TRACE_ID + "\n")  # would otherwise end up inside an HTTP header
