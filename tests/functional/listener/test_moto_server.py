"""A standalone moto server as the target (``--iatk-endpoint-url``), as CI services run it (issue 16 item 6).

Each test here talks to a real ``moto_server`` process the module starts (and ends): plain moto,
without iatk's fix-ups, which inserts a substituted string into an input template without quotes
and answers PutEvents with HTTP 500 when the result is not JSON. A listener that copies a rule
with an InputTransformer must still start there: the canary's detail substitutes cleanly into any
template, and a moto endpoint is recognised (it applies rules at once), so ``readiness="auto"``
puts no canary at all.
"""

from __future__ import annotations

import json
import secrets
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, HTTPServer
from threading import Thread
from typing import Any

import pytest

import iatk
from iatk._aws.session import IatkSession
from iatk._backend.moto.control import is_moto_server

# A template as apps write them: strings quoted, a number and an object unquoted.
TEMPLATE = '{"plugin": "<plugin>", "hook": "<hook>", "attempt": <attempt>, "video": <video>}'
PATHS = {"plugin": "$.source", "hook": "$.detail.hook", "attempt": "$.detail.attempt", "video": "$.detail.video"}


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture(scope="module")
def moto_server() -> Iterator[str]:
    """A ``moto_server`` subprocess on a free port; ended after the module."""
    port = _free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                with urllib.request.build_opener(urllib.request.ProxyHandler({})).open(
                    f"{url}/moto-api/config", timeout=2
                ):
                    break
            except OSError:
                if process.poll() is not None or time.monotonic() > deadline:
                    pytest.fail(f"moto_server did not start on port {port} (exit code {process.poll()})")
                time.sleep(0.1)
        yield url
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


@pytest.fixture
def session(moto_server: str) -> IatkSession:
    """What --iatk-endpoint-url gives: a session for the endpoint (dummy keys: moto checks none)."""
    return IatkSession(
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
        region_name="us-east-1",
        endpoint_url=moto_server,
    )


@pytest.fixture
def app(session: IatkSession) -> dict[str, str]:
    """A bus with a rule whose SQS target has an InputTransformer with unquoted placeholders."""
    suffix = secrets.token_hex(4)
    events, sqs = session.client("events"), session.client("sqs")
    bus = f"plugins-{suffix}"
    events.create_event_bus(Name=bus)
    queue = sqs.create_queue(QueueName=f"results-{suffix}")["QueueUrl"]
    queue_arn = sqs.get_queue_attributes(QueueUrl=queue, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    rule = f"done-{suffix}"
    events.put_rule(Name=rule, EventBusName=bus, EventPattern=json.dumps({"source": [{"prefix": "video.plugin"}]}))
    events.put_targets(
        Rule=rule,
        EventBusName=bus,
        Targets=[
            {
                "Id": "results",
                "Arn": queue_arn,
                "InputTransformer": {"InputPathsMap": PATHS, "InputTemplate": TEMPLATE},
            }
        ],
    )
    return {"bus": bus, "rule": rule}


def _put_completion(session: IatkSession, bus: str) -> None:
    detail = {"hook": "postValidate", "attempt": 2, "video": {"id": "v-1"}}
    answer = session.client("events").put_events(
        Entries=[{"EventBusName": bus, "Source": "video.plugin.P", "DetailType": "done", "Detail": json.dumps(detail)}]
    )
    assert answer["FailedEntryCount"] == 0


def test_the_endpoint_is_recognised_as_moto(moto_server: str) -> None:
    """GET /moto-api/config identifies a moto server; another HTTP server is not one."""

    class NotMoto(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self.send_response(404)
            self.end_headers()

        def log_message(self, *args: Any) -> None:
            pass

    other = HTTPServer(("127.0.0.1", 0), NotMoto)
    thread = Thread(target=other.serve_forever, daemon=True)
    thread.start()
    try:
        assert is_moto_server(moto_server)
        assert not is_moto_server(f"http://127.0.0.1:{other.server_address[1]}")
    finally:
        other.shutdown()
        other.server_close()


def test_a_canary_substitutes_cleanly_into_unquoted_placeholders(session: IatkSession, app: dict[str, str]) -> None:
    """With the canary forced, the listener starts (plain moto would answer its canary with HTTP 500)."""
    with iatk.Listener(app["bus"], rule=app["rule"], target="results", readiness="canary", session=session) as heard:
        _put_completion(session, app["bus"])
        event = heard.expect_event(within=10)
    assert json.loads(event.body) == {
        "plugin": "video.plugin.P",
        "hook": "postValidate",
        "attempt": 2,
        "video": {"id": "v-1"},
    }
    assert [e.id for e in heard.events] == [event.id]  # the canaries were kept out of the buffer


def test_auto_readiness_puts_no_canary_on_a_moto_endpoint(session: IatkSession, app: dict[str, str]) -> None:
    """``auto`` on a moto endpoint: no canary (moto applies the rule at once), the first event arrives."""
    with iatk.Listener(app["bus"], rule=app["rule"], target="results", session=session) as heard:
        assert heard._harness.canary.tokens == []  # no canary was put
        _put_completion(session, app["bus"])
        event = heard.expect_event(within=10)
    assert json.loads(event.body)["attempt"] == 2
