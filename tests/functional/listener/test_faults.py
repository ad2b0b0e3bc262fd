"""Listener faults injected at the AWS boundary: lost create answers, a dead or hanging endpoint.

Faults are botocore event hooks on iatk's own clients (an ``after-call`` hook that raises is a call
that was applied but whose answer never came back), or a TCP relay this test controls between a
custom-endpoint session and the embedded server (killed: connections refused; hung: accepted and
never answered).
"""

from __future__ import annotations

import contextlib
import re
import shlex
import socket
import threading
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from botocore.exceptions import ReadTimeoutError

from iatk import cli
from iatk._aws import IatkSession, aws
from iatk.exceptions import ListenerError
from iatk.listener import Listener


@pytest.fixture
def lose_answer(session: Any) -> Iterator[Callable[[str, str], None]]:
    """``lose_answer("sqs", "CreateQueue")``: the call is applied, then its answer is lost (a read timeout)."""
    undo: list[Callable[[], None]] = []

    def install(service: str, operation: str) -> None:
        def lost(**_: Any) -> None:
            raise ReadTimeoutError(endpoint_url=f"{service}:{operation} (answer lost by the test)")

        client = aws(session).client(service)
        event = f"after-call.{service}.{operation}"
        client.meta.events.register(event, lost)
        undo.append(lambda: client.meta.events.unregister(event, lost))

    yield install
    while undo:
        undo.pop()()


@pytest.mark.parametrize(
    ("service", "operation"), [("sqs", "CreateQueue"), ("events", "PutRule"), ("events", "PutTargets")]
)
def test_a_create_whose_answer_is_lost_is_rolled_back_by_name(
    app: Any, session: Any, lose_answer: Any, leftovers: Any, service: str, operation: str
) -> None:
    """The part was made although its answer never came: the rollback finds it by name and removes it."""
    lose_answer(service, operation)
    listener = Listener(app.bus, rule=app.rule, session=session)
    with pytest.raises(ListenerError) as caught:
        listener.start()
    assert f"step {service}:{operation} failed" in str(caught.value)
    assert "Everything it had created was removed." in str(caught.value)
    assert leftovers(listener.id, app.bus) == []


def test_a_lost_create_queue_answer_finds_the_queue_by_name(
    app: Any, session: Any, lose_answer: Any, sqs_calls: Any, leftovers: Any
) -> None:
    """Without the CreateQueue answer there is no URL: the rollback asks for it by name, then deletes."""
    lose_answer("sqs", "CreateQueue")
    listener = Listener(app.bus, rule=app.rule, session=session)
    sqs_calls()
    with pytest.raises(ListenerError):
        listener.start()
    assert sqs_calls() == ["CreateQueue", "GetQueueUrl", "DeleteQueue"]
    assert leftovers(listener.id, app.bus) == []


def test_a_failed_rollback_lists_what_is_left_and_the_command_that_removes_it(
    app: Any, session: Any, lose_answer: Any, fail_call: Any, leftovers: Any
) -> None:
    """When the rollback fails too, the error names each part left and an `iatk cleanup` command that works."""
    lose_answer("events", "PutTargets")
    fail_call("events", "RemoveTargets", "AccessDeniedException")
    fail_call("events", "DeleteRule", "AccessDeniedException")
    fail_call("sqs", "DeleteQueue", "AccessDenied")
    listener = Listener(app.bus, rule=app.rule, session=session)
    with pytest.raises(ListenerError) as caught:
        listener.start()
    text = str(caught.value)
    assert "Everything it had created was removed" not in text
    assert f"target {listener.id} of rule {listener.id} on bus {app.bus!r}" in text
    assert f"rule {listener.rule_arn}" in text
    assert f"queue {listener.queue_arn}" in text
    assert sorted(leftovers(listener.id, app.bus)) == sorted([listener.queue_url, listener.rule_arn])
    command = re.search(r"`(iatk cleanup [^`]+)`", text)
    assert command is not None, text
    assert f"--tag iatk:TestHarness:ID={listener.id}" in command.group(1)
    fail_call.undo()
    argv = shlex.split(command.group(1))[1:]
    assert cli.main(argv) == 0
    assert leftovers(listener.id, app.bus) == []


# -- a custom endpoint that dies or hangs under the listener -----------------------------------------


class Relay:
    """A TCP relay on 127.0.0.1 to ``upstream``: ``kill()`` refuses new connections and drops open ones;
    ``hang()`` keeps accepting but never forwards or answers."""

    def __init__(self, upstream: str) -> None:
        host, port = upstream.removeprefix("http://").split(":")
        self.upstream = (host, int(port.rstrip("/")))
        self.server = socket.create_server(("127.0.0.1", 0))
        self.url = f"http://127.0.0.1:{self.server.getsockname()[1]}"
        self.sockets: list[socket.socket] = []
        self.hung = False
        self.lock = threading.Lock()
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while True:
            try:
                client, _ = self.server.accept()
            except OSError:
                return
            with self.lock:
                self.sockets.append(client)
                if self.hung:
                    continue  # accepted, never answered
            upstream = socket.create_connection(self.upstream)
            with self.lock:
                self.sockets.append(upstream)
            threading.Thread(target=self._pump, args=(client, upstream), daemon=True).start()
            threading.Thread(target=self._pump, args=(upstream, client), daemon=True).start()

    @staticmethod
    def _pump(source: socket.socket, sink: socket.socket) -> None:
        try:
            while data := source.recv(65536):
                sink.sendall(data)
        except OSError:
            pass
        for end in (source, sink):
            with contextlib.suppress(OSError):
                end.shutdown(socket.SHUT_RDWR)

    def _drop_connections(self) -> None:
        with self.lock:
            sockets, self.sockets = self.sockets, []
        for sock in sockets:
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)
            sock.close()

    def hang(self) -> None:
        self.hung = True
        self._drop_connections()

    def kill(self) -> None:
        with contextlib.suppress(OSError):  # shutdown wakes the blocked accept(): nothing is accepted after it
            self.server.shutdown(socket.SHUT_RDWR)
        self.server.close()
        self._drop_connections()


@pytest.fixture
def relay(embedded: Any) -> Iterator[Relay]:
    found = Relay(str(embedded.url))
    yield found
    found.kill()


@pytest.fixture
def endpoint_session(relay: Relay) -> IatkSession:
    """A custom-endpoint session (``--iatk-endpoint-url``: botocore's adaptive retries) through the relay."""
    return IatkSession(
        aws_access_key_id="iatk-embedded",
        aws_secret_access_key="iatk-embedded",
        region_name="us-east-1",
        endpoint_url=relay.url,
    )


def count_sends(session: Any) -> dict[str, int]:
    """Every request iatk's events and sqs clients send (retries included), by operation name."""
    sent: dict[str, int] = {}

    def record(request: Any, **kwargs: Any) -> None:
        name = kwargs["event_name"].rsplit(".", 1)[-1]
        sent[name] = sent.get(name, 0) + 1

    for service in ("events", "sqs"):
        aws(session).client(service).meta.events.register(f"before-send.{service}", record)
    return sent


def test_close_on_a_dead_endpoint_stops_at_the_first_step_and_says_what_is_left(
    app: Any, session: Any, relay: Relay, endpoint_session: Any, leftovers: Any
) -> None:
    """Once the endpoint does not answer, the later steps on it are not tried; the error lists what is left."""
    listener = Listener(app.bus, rule=app.rule, readiness="none", session=endpoint_session).start()
    sent = count_sends(endpoint_session)
    relay.kill()
    with pytest.raises(ListenerError) as caught:
        listener.close(step_timeout=2)
    text = str(caught.value)
    assert "events:RemoveTargets: " in text
    assert f"events:DeleteRule: not tried: {relay.url} did not answer events:RemoveTargets" in text
    assert f"sqs:DeleteQueue: not tried: {relay.url} did not answer events:RemoveTargets" in text
    assert f"--tag iatk:TestHarness:ID={listener.id}" in text
    assert "DeleteRule" not in sent
    assert "DeleteQueue" not in sent
    assert not listener.closed
    # The parts are still on the server: found again through a live endpoint, and removed.
    assert len(leftovers(listener.id, app.bus)) == 2
    Listener.attach(listener.id, session=session).close()
    assert leftovers(listener.id, app.bus) == []


def test_a_hanging_step_is_given_up_at_its_deadline(
    app: Any, session: Any, relay: Relay, endpoint_session: Any, leftovers: Any
) -> None:
    """An endpoint that accepts and never answers: the step ends at its deadline, with what is left."""
    listener = Listener(app.bus, rule=app.rule, readiness="none", session=endpoint_session).start()
    relay.hang()
    with pytest.raises(ListenerError) as caught:
        listener.close(step_timeout=0.5)
    text = str(caught.value)
    assert "events:RemoveTargets: no answer within 0.5 s" in text
    assert "events:DeleteRule: not tried" in text
    assert "Still there: target" in text
    relay.kill()
    Listener.attach(listener.id, session=session).close()
    assert leftovers(listener.id, app.bus) == []
