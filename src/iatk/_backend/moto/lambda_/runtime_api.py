"""A local Lambda Runtime API: the HTTP interface a runtime polls, one server per execution environment.

It follows AWS's `Runtime API` (version ``2018-06-01``) so iatk's bootstraps, AWS's ``awslambdaric``
and any ``provided.*`` custom runtime run against it unchanged:

- ``GET /2018-06-01/runtime/invocation/next`` blocks until an invocation is submitted, then answers it
  with the event as the body and the headers ``Lambda-Runtime-Aws-Request-Id``,
  ``Lambda-Runtime-Deadline-Ms``, ``Lambda-Runtime-Invoked-Function-Arn``, ``Lambda-Runtime-Trace-Id``,
  ``Lambda-Runtime-Client-Context`` and ``Lambda-Runtime-Cognito-Identity`` (the last two when given);
- ``POST .../invocation/{id}/response`` and ``.../invocation/{id}/error``: 202 ``{"status":"OK"}``;
  400 ``InvalidRequestID`` for an id that is not the one in flight; 413 ``RequestEntityTooLarge`` for
  a response over 6 MB (the invocation then fails with ``Function.ResponseSizeTooLarge``, as on AWS);
- ``POST /2018-06-01/runtime/init/error``: 202 during init, 403 ``InvalidStateTransition`` after it.

It is a threaded stdlib HTTP/1.1 server on 127.0.0.1 (a free port). Nothing here makes an outgoing
request, so no proxy setting can come into play. Every wait has a bound: a ``next`` that waits re-checks
every second whether the server was closed.
"""

from __future__ import annotations

import json
import logging
import os
import selectors
import sys
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Literal

__all__ = ["MAX_RESPONSE_BYTES", "Invocation", "Outcome", "RuntimeApi", "new_trace_id"]

#: The largest synchronous response AWS accepts (6 MB as Lambda counts it).
MAX_RESPONSE_BYTES = 6_291_556

_PREFIX = "/2018-06-01/runtime"

log = logging.getLogger("iatk.lambda")

OutcomeKind = Literal["response", "error", "init_error"]


def new_trace_id() -> str:
    """An X-Ray trace header for an invocation that came without one (unsampled, as AWS does)."""
    root = f"1-{int(time.time()):08x}-{uuid.uuid4().hex[:24]}"
    return f"Root={root};Parent={uuid.uuid4().hex[:16]};Sampled=0"


@dataclass
class Outcome:
    """What the runtime posted for an invocation (or for the init phase)."""

    kind: OutcomeKind
    body: bytes
    error_type: str | None = None
    at: float = field(default_factory=time.monotonic)


@dataclass
class Invocation:
    """One invocation handed to the runtime through ``next``."""

    payload: bytes
    timeout: float
    invoked_arn: str
    trace_id: str
    client_context: str | None = None
    cognito_identity: str | None = None
    request_id: str = field(default_factory=lambda: str(uuid.uuid4()))
    #: Set when ``next`` hands it over (monotonic clock) and the deadline it announced (epoch ms).
    dispatched_at: float | None = None
    deadline_ms: int = 0
    outcome: Outcome | None = None


class RuntimeApi:
    """The Runtime API of one execution environment.

    The environment submits an invocation and waits on :attr:`cond` until ``invocation.outcome`` is set
    (or until its own deadline, or the process exits). ``init_outcome`` holds an init error posted
    while no invocation was waiting (a pre-warm).
    """

    def __init__(self, name: str = "") -> None:
        self.name = name
        self.cond = threading.Condition()
        self.pending: Invocation | None = None
        self.current: Invocation | None = None
        self.init_outcome: Outcome | None = None
        #: Monotonic time of the first ``next``: the end of the init phase.
        self.ready_at: float | None = None
        self.closed = False
        #: Called (under :attr:`cond`) as ``next`` hands an invocation over.
        self.on_dispatch: Callable[[Invocation], None] | None = None
        self._server = _Server(("127.0.0.1", 0), _Handler)
        self._server.api = self
        self._wake_r, self._wake_w = os.pipe()
        self._thread = threading.Thread(target=self._serve, name=f"lambda-api-{name}", daemon=True)
        self._thread.start()

    def _serve(self) -> None:
        """Accept connections until closed; a byte on the wake pipe ends the loop at once (no polling)."""
        with selectors.DefaultSelector() as selector:
            selector.register(self._server.socket, selectors.EVENT_READ)
            selector.register(self._wake_r, selectors.EVENT_READ)
            while not self.closed:
                for key, _ in selector.select():
                    if key.fileobj == self._wake_r:
                        return
                    self._server.handle_request()

    @property
    def address(self) -> str:
        """``host:port``, the value of ``AWS_LAMBDA_RUNTIME_API``."""
        host, port = self._server.server_address[:2]
        return f"{host!s}:{port}"

    def submit(self, invocation: Invocation) -> None:
        """Queue the invocation for the runtime's next ``next``."""
        with self.cond:
            if self.pending is not None or self.current is not None:
                raise RuntimeError("an invocation is already in flight in this environment")
            self.pending = invocation
            self.cond.notify_all()

    def abandon(self, invocation: Invocation) -> None:
        """Forget an invocation (timed out, or its process died): later posts for it answer 400."""
        with self.cond:
            if self.pending is invocation:
                self.pending = None
            if self.current is invocation:
                self.current = None

    def close(self) -> None:
        """Stop serving; a blocked ``next`` returns within a second. Idempotent."""
        with self.cond:
            if self.closed:
                return
            self.closed = True
            self.cond.notify_all()
        os.write(self._wake_w, b"x")
        if self._thread is not threading.current_thread():
            self._thread.join(timeout=5)
        self._server.server_close()
        os.close(self._wake_r)
        os.close(self._wake_w)

    # -- called by the handler threads -------------------------------------------------------------

    def _next(self) -> Invocation | None:
        with self.cond:
            if self.ready_at is None:
                self.ready_at = time.monotonic()
                self.cond.notify_all()
            while self.pending is None and not self.closed:
                self.cond.wait(1.0)
            if self.closed or self.pending is None:
                return None
            inv, self.pending = self.pending, None
            inv.dispatched_at = time.monotonic()
            inv.deadline_ms = int((time.time() + inv.timeout) * 1000)
            self.current = inv
            if self.on_dispatch is not None:
                self.on_dispatch(inv)
            self.cond.notify_all()  # the waiting invoke moves from the init limit to the function's timeout
            return inv

    def _post(self, request_id: str, outcome: Outcome) -> bool:
        with self.cond:
            inv = self.current
            if inv is None or inv.request_id != request_id:
                return False
            self.current = None
            inv.outcome = outcome
            self.cond.notify_all()
            return True

    def _init_error(self, outcome: Outcome) -> bool:
        with self.cond:
            if self.ready_at is not None:
                return False
            inv = self.pending
            if inv is not None:
                self.pending = None
                inv.outcome = outcome
            self.init_outcome = outcome
            self.cond.notify_all()
            return True


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    timeout = 0  # handle_request() is only called once the socket is readable
    allow_reuse_address = True
    api: RuntimeApi

    def handle_error(self, request: object, client_address: object) -> None:
        """A runtime killed mid-connection (a timeout, a reset) is expected: not worth a traceback on stderr."""
        if not isinstance(sys.exc_info()[1], ConnectionError | OSError):
            log.debug("Runtime API %s: error serving %s", self.api.name, client_address, exc_info=True)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True
    server: _Server

    def log_message(self, format: str, *args: object) -> None:
        """Silent: the runtime's polling is not worth a line each."""

    def do_GET(self) -> None:
        if self.path.rstrip("/") != f"{_PREFIX}/invocation/next":
            self._reply(HTTPStatus.NOT_FOUND, _err("NotFound", f"no such resource: GET {self.path}"))
            return
        inv = self.server.api._next()
        if inv is None:
            self._reply(
                HTTPStatus.INTERNAL_SERVER_ERROR, _err("ServiceUnavailable", "the environment is shutting down")
            )
            self.close_connection = True
            return
        headers = {
            "Lambda-Runtime-Aws-Request-Id": inv.request_id,
            "Lambda-Runtime-Deadline-Ms": str(inv.deadline_ms),
            "Lambda-Runtime-Invoked-Function-Arn": inv.invoked_arn,
            "Lambda-Runtime-Trace-Id": inv.trace_id,
        }
        if inv.client_context is not None:
            headers["Lambda-Runtime-Client-Context"] = inv.client_context
        if inv.cognito_identity is not None:
            headers["Lambda-Runtime-Cognito-Identity"] = inv.cognito_identity
        self._reply(HTTPStatus.OK, inv.payload, headers)

    def do_POST(self) -> None:
        body = self._body()
        api = self.server.api
        path = self.path.rstrip("/")
        if path == f"{_PREFIX}/init/error":
            doc = _error_doc(body, self.headers.get("Lambda-Runtime-Function-Error-Type"))
            outcome = Outcome("init_error", doc, _error_type(doc))
            if api._init_error(outcome):
                self._reply(HTTPStatus.ACCEPTED, b'{"status":"OK"}')
            else:
                self._reply(HTTPStatus.FORBIDDEN, _err("InvalidStateTransition", "init/error after the init phase"))
            return
        parts = path.removeprefix(f"{_PREFIX}/invocation/").split("/")
        if not path.startswith(f"{_PREFIX}/invocation/") or len(parts) != 2 or parts[1] not in ("response", "error"):
            self._reply(HTTPStatus.NOT_FOUND, _err("NotFound", f"no such resource: POST {self.path}"))
            return
        request_id, what = parts
        if what == "response" and len(body) > MAX_RESPONSE_BYTES:
            too_large = _err(
                "Function.ResponseSizeTooLarge",
                f"Response payload size ({len(body)} bytes) exceeded maximum allowed payload size"
                f" ({MAX_RESPONSE_BYTES} bytes).",
            )
            if api._post(request_id, Outcome("error", too_large, "Function.ResponseSizeTooLarge")):
                self._reply(
                    HTTPStatus.REQUEST_ENTITY_TOO_LARGE,
                    _err("RequestEntityTooLarge", f"the response exceeds {MAX_RESPONSE_BYTES} bytes"),
                )
            else:
                self._reply(HTTPStatus.BAD_REQUEST, _err("InvalidRequestID", "Invalid request ID"))
            return
        if what == "response":
            outcome = Outcome("response", body)
        else:
            doc = _error_doc(body, self.headers.get("Lambda-Runtime-Function-Error-Type"))
            outcome = Outcome("error", doc, _error_type(doc))
        if api._post(request_id, outcome):
            self._reply(HTTPStatus.ACCEPTED, b'{"status":"OK"}')
        else:
            self._reply(HTTPStatus.BAD_REQUEST, _err("InvalidRequestID", "Invalid request ID"))

    def _body(self) -> bytes:
        if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            chunks: list[bytes] = []
            while True:
                size_line = self.rfile.readline().split(b";", 1)[0].strip()
                size = int(size_line or b"0", 16)
                if size == 0:
                    while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                        pass  # trailers (a streaming runtime's error trailers) are not used
                    return b"".join(chunks)
                chunks.append(self.rfile.read(size))
                self.rfile.readline()
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length else b""

    def _reply(self, status: HTTPStatus, body: bytes, headers: dict[str, str] | None = None) -> None:
        # One write for the head and the body, on a socket without Nagle: two small writes would meet
        # the runtime's delayed ACK and cost ~40 ms per call.
        self.log_request(status.value)
        lines = [f"{self.protocol_version} {status.value} {status.phrase}", "Content-Type: application/json"]
        lines.append(f"Content-Length: {len(body)}")
        lines += [f"{key}: {value}" for key, value in (headers or {}).items()]
        self.wfile.write(("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + body)
        self.wfile.flush()


def _err(error_type: str, message: str) -> bytes:
    return json.dumps({"errorType": error_type, "errorMessage": message}).encode()


def _error_doc(body: bytes, header_type: str | None) -> bytes:
    """The error document as the runtime posted it; a body that is not a JSON object gets wrapped."""
    try:
        doc = json.loads(body) if body else None
    except ValueError:
        doc = None
    if isinstance(doc, dict):
        return body
    message = body.decode("utf-8", "replace") if body else "the runtime reported an error without a body"
    return _err(header_type or "Runtime.Unknown", message)


def _error_type(doc: bytes) -> str | None:
    try:
        value = json.loads(doc)
    except ValueError:
        return None
    kind = value.get("errorType") if isinstance(value, dict) else None
    return kind if isinstance(kind, str) else None
