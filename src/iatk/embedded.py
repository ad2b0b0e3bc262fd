"""The embedded backend: a moto server in the test process, so a suite runs with no AWS account.

:class:`EmbeddedBackend` starts a moto server on ``127.0.0.1`` (a free port), turns on moto's Step
Functions interpreter so state machines really execute, and runs a UDP relay that speaks the X-Ray
daemon protocol and forwards each segment to the server's ``PutTraceSegments``. Code under test that
uses aws-xray-sdk finds the relay through ``AWS_XRAY_DAEMON_ADDRESS``.

Without pytest::

    with iatk.embedded_session() as session:
        stack = iatk.deploy_stack("template.yaml", "my-app", session=session)

Under pytest, ``--iatk-backend=moto`` does the same once per run (on the xdist controller; workers get
the server's URL).
"""

from __future__ import annotations

import json
import logging
import os
import socket
import threading
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from ._aws import IatkSession, embedded_boto_session, set_default_session
from .exceptions import ConfigError

__all__ = ["EmbeddedBackend", "XRayRelay", "embedded_session"]

log = logging.getLogger("iatk.embedded")

ENV_URL = "IATK_EMBEDDED_URL"
ENV_XRAY = "AWS_XRAY_DAEMON_ADDRESS"
DAEMON_HEADER = b'{"format":"json","version":1}'


def _post_json(url: str, payload: dict[str, Any]) -> None:
    request = urllib.request.Request(  # noqa: S310 - a fixed http://127.0.0.1 URL
        url, data=json.dumps(payload).encode(), headers={"Content-Type": "application/json"}, method="POST"
    )
    with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310
        response.read()


def set_stepfunctions_execution(url: str, *, enabled: bool) -> None:
    """Turn moto's Step Functions interpreter on or off (``POST /moto-api/config``)."""
    _post_json(f"{url}/moto-api/config", {"stepfunctions": {"execute_state_machine": enabled}})


class XRayRelay:
    """A UDP listener speaking the X-Ray daemon protocol; forwards each document to PutTraceSegments.

    The daemon protocol is one datagram per document: the header line
    ``{"format":"json","version":1}``, a newline, then the segment JSON.
    """

    def __init__(self, session: IatkSession) -> None:
        self._xray = session.client("xray")
        self._sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self._sock.bind(("127.0.0.1", 0))
        self._sock.settimeout(0.2)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._serve, name="iatk-xray-relay", daemon=True)
        self.forwarded = 0
        self.rejected = 0

    @property
    def address(self) -> str:
        host, port = self._sock.getsockname()[:2]
        return f"{host}:{port}"

    def start(self) -> XRayRelay:
        self._thread.start()
        return self

    def _serve(self) -> None:
        while not self._stop.is_set():
            try:
                datagram = self._sock.recv(65536)
            except (TimeoutError, OSError):
                continue
            header, _, document = datagram.partition(b"\n")
            if not document:  # a bare document, without the header line
                document = header
            try:
                response = self._xray.put_trace_segments(TraceSegmentDocuments=[document.decode()])
            except Exception:  # a relay must keep serving; the test sees a missing segment
                log.exception("X-Ray relay: PutTraceSegments failed")
                self.rejected += 1
                continue
            if response.get("UnprocessedTraceSegments"):
                log.warning("X-Ray relay: segment rejected: %s", response["UnprocessedTraceSegments"])
                self.rejected += 1
            else:
                self.forwarded += 1

    def stop(self) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout=2)
        self._sock.close()


@dataclass
class _Server:
    thread: threading.Thread
    server: Any
    url: str


def _prime_moto_boto3_session() -> None:
    """Build the boto3 Session moto's server keeps for the process, with the profile variables set aside.

    moto makes that Session lazily, at the first request for each service, to list the regions, and
    caches it (``AccountSpecificBackend.get_session``; getmoto/moto#5469 made it lazy for this very
    reason). With ``AWS_PROFILE`` naming a profile that does not exist, boto3 raises there and every
    request answers HTTP 500. Building it here, without the profile variables, keeps the machine's
    AWS profile out of the embedded server as it is kept out of the embedded session.
    """
    from moto.core.base_backend import AccountSpecificBackend

    saved = {name: os.environ.pop(name) for name in ("AWS_PROFILE", "AWS_DEFAULT_PROFILE") if name in os.environ}
    try:
        AccountSpecificBackend.get_session()
    except Exception as err:
        raise ConfigError(f"the embedded moto server cannot build its boto3 session: {err}") from err
    finally:
        os.environ.update(saved)


def serialise_moto_events() -> None:
    """Run moto's EventBridge backend one call at a time, in this process (idempotent).

    Why: moto's server is threaded, and its events backend is not thread-safe. ``put_events`` walks
    a bus's rules (a dict) while another request's PutRule or DeleteRule changes them, and fails with
    ``RuntimeError: OrderedDict mutated during iteration`` (HTTP 500): xdist workers sharing the
    default bus hit it often. So every public method of ``EventsBackend`` takes one lock. It is
    re-entrant: ``put_events`` delivers to other buses (and S3 notifications put events) in the same
    thread, through the same wrapped methods. A moto server started in another process needs this
    call before it serves (``python -c "import iatk.embedded as e; e.serialise_moto_events(); ..."``).
    """
    import functools
    import inspect

    from moto.events.models import EventsBackend

    if getattr(EventsBackend, "_iatk_serialised", False):
        return
    lock = threading.RLock()

    def serialised(method: Any) -> Any:
        @functools.wraps(method)
        def call(*args: Any, **kwargs: Any) -> Any:
            with lock:
                return method(*args, **kwargs)

        return call

    for name, member in list(vars(EventsBackend).items()):
        if not name.startswith("_") and inspect.isfunction(member):
            setattr(EventsBackend, name, serialised(member))
    EventsBackend._iatk_serialised = True  # type: ignore[attr-defined]


def mirror_cfn_state_machines() -> None:
    """Make the state machines CloudFormation creates executable at once, in this process (idempotent).

    Why: with execution mode on, moto serves Step Functions from its interpreter's backend, and
    CloudFormation creates state machines in the other one, where nothing runs (MOTO.md §1b). Rather
    than switching execution mode off to read them (server-wide, so a run in another xdist worker
    could fail meanwhile), the server copies each one into the interpreter's backend as CloudFormation
    creates, updates or deletes it: same name, same ARN, same definition and role.
    """
    from moto.core.config import default_user_config
    from moto.stepfunctions.models import StateMachine

    if getattr(StateMachine, "_iatk_mirrored", False):
        return
    create = StateMachine.create_from_cloudformation_json.__func__  # type: ignore[attr-defined]
    update = StateMachine.update_from_cloudformation_json.__func__  # type: ignore[attr-defined]
    delete = StateMachine.delete_from_cloudformation_json.__func__  # type: ignore[attr-defined]

    def interpreter(account_id: str, region_name: str) -> Any:
        if not default_user_config.get("stepfunctions", {}).get("execute_state_machine"):
            return None
        from moto.stepfunctions.parser.models import stepfunctions_parser_backends

        return stepfunctions_parser_backends[account_id][region_name]

    def mirror(machine: Any, account_id: str, region_name: str) -> None:
        backend = interpreter(account_id, region_name)
        if backend is None or backend is getattr(machine, "backend", None):
            return
        backend.delete_state_machine(machine.arn)  # an update replaces the copy
        backend.create_state_machine(
            name=machine.name,
            definition=machine.definition,
            roleArn=machine.roleArn,
            tracingConfiguration=machine.tracingConfiguration,
            sm_type=getattr(machine, "type", None),
        )

    def created(
        cls: Any, resource_name: str, cloudformation_json: Any, account_id: str, region_name: str, **kw: Any
    ) -> Any:
        machine = create(cls, resource_name, cloudformation_json, account_id, region_name, **kw)
        mirror(machine, account_id, region_name)
        return machine

    def updated(
        cls: Any, original: Any, new_name: str, cloudformation_json: Any, account_id: str, region_name: str
    ) -> Any:
        machine = update(cls, original, new_name, cloudformation_json, account_id, region_name)
        if machine.arn != original.arn:
            backend = interpreter(account_id, region_name)
            if backend is not None:
                backend.delete_state_machine(original.arn)
        mirror(machine, account_id, region_name)
        return machine

    def deleted(cls: Any, resource_name: str, template: Any, account_id: str, region_name: str) -> None:
        delete(cls, resource_name, template, account_id, region_name)
        backend = interpreter(account_id, region_name)
        if backend is not None and resource_name.startswith("arn:"):
            backend.delete_state_machine(resource_name)

    StateMachine.create_from_cloudformation_json = classmethod(created)  # type: ignore[method-assign,assignment,arg-type]
    StateMachine.update_from_cloudformation_json = classmethod(updated)  # type: ignore[method-assign,assignment]
    StateMachine.delete_from_cloudformation_json = classmethod(deleted)  # type: ignore[method-assign,assignment]
    StateMachine._iatk_mirrored = True  # type: ignore[attr-defined]


def _start_moto_server() -> _Server:
    try:
        from moto.moto_server.werkzeug_app import (
            DomainDispatcherApplication,
            MotoRequestHandler,
            create_backend_app,
        )
        from werkzeug.serving import make_server
    except ImportError as err:  # pragma: no cover - depends on the install
        raise ConfigError("the embedded backend needs moto's server: pip install 'iatk[moto]'") from err

    _prime_moto_boto3_session()
    serialise_moto_events()
    mirror_cfn_state_machines()

    class QuietHandler(MotoRequestHandler):
        def log_request(self, *args: Any, **kwargs: Any) -> None:
            """Keep one access-log line per AWS call out of the test output."""

    server = make_server(
        "127.0.0.1", 0, DomainDispatcherApplication(create_backend_app), threaded=True, request_handler=QuietHandler
    )
    # A short poll interval: werkzeug's default 0.5 s makes every stop take half a second.
    thread = threading.Thread(
        target=server.serve_forever, kwargs={"poll_interval": 0.05}, name="iatk-moto-server", daemon=True
    )
    thread.start()
    return _Server(thread=thread, server=server, url=f"http://127.0.0.1:{server.server_port}")


_running: EmbeddedBackend | None = None


class EmbeddedBackend:
    """A running embedded backend: moto server + X-Ray relay, or an attachment to another process's.

    Args:
        region: The region of the session it hands out (default ``us-east-1``).
        url: Attach to a server already running (an xdist worker gets the controller's URL);
            ``None`` starts a new server in this process.
        xray_address: With ``url``, the relay address of that server's owner.
    """

    def __init__(self, region: str | None = None, *, url: str | None = None, xray_address: str | None = None) -> None:
        self.region = region or "us-east-1"
        self._server: _Server | None = None
        self._relay: XRayRelay | None = None
        self._saved_env: dict[str, str | None] = {}
        self.url = url
        self.xray_address = xray_address
        self.owner = url is None

    def start(self) -> EmbeddedBackend:
        """Start the server and relay (or attach) and export their addresses to the environment.

        One server per process: moto's backends and its interpreter's ``MOTO_PORT`` are
        process-wide, so a second backend started while one runs attaches to the running one (and
        leaves it running when it stops).
        """
        global _running  # noqa: PLW0603 - the process's one server
        if self.owner and _running is not None:
            self.url, self.xray_address, self.owner = _running.url, _running.xray_address, False
        if self.owner:
            self._server = _start_moto_server()
            self.url = self._server.url
            # moto's state-machine interpreter calls services at localhost:$MOTO_PORT (MOTO.md §7).
            self._setenv("MOTO_PORT", str(self._server.server.server_port))
            set_stepfunctions_execution(self.url, enabled=True)
            self._relay = XRayRelay(self.session()).start()
            self.xray_address = self._relay.address
            _running = self
        if self.xray_address:
            self._setenv(ENV_XRAY, self.xray_address)
        log.info("embedded backend at %s (X-Ray relay %s)", self.url, self.xray_address)
        return self

    def _setenv(self, key: str, value: str) -> None:
        self._saved_env.setdefault(key, os.environ.get(key))
        os.environ[key] = value

    def session(self) -> IatkSession:
        """A new boto3 Session for this backend: its endpoint, dummy credentials, never real AWS."""
        if not self.url:
            raise ConfigError("the embedded backend is not started: call start() first")
        return embedded_boto_session(self.url, self.region)

    def reset(self) -> None:
        """Forget every resource on the server (``POST /moto-api/reset``)."""
        if self.url:
            _post_json(f"{self.url}/moto-api/reset", {})
            set_stepfunctions_execution(self.url, enabled=True)

    def stop(self) -> None:
        """Stop what this process started and restore the environment."""
        global _running  # noqa: PLW0603 - the process's one server
        if _running is self:
            _running = None
        if self._relay is not None:
            self._relay.stop()
            self._relay = None
        if self._server is not None:
            self._server.server.shutdown()
            self._server.server.server_close()
            self._server.thread.join(timeout=5)
            self._server = None
        for key, value in self._saved_env.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
        self._saved_env.clear()

    def __enter__(self) -> EmbeddedBackend:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


@contextmanager
def embedded_session(region: str | None = None, *, make_default: bool = True) -> Iterator[IatkSession]:
    """Start an embedded moto backend and yield a ready boto3 Session for it.

    The session has dummy credentials and its own endpoint, so it can never reach real AWS. With
    ``make_default`` (the default), iatk calls made without ``session=`` use it too.

    Example::

        with iatk.embedded_session() as session:
            sqs = session.client("sqs")          # goes to the embedded server
    """
    from ._aws import installed_session

    previous = installed_session()
    with EmbeddedBackend(region) as backend:
        session = backend.session()
        if make_default:
            set_default_session(session)
        try:
            yield session
        finally:
            if make_default:
                set_default_session(previous)


_sfn_lock = threading.Lock()


def _executable(sfn: Any, arn: str) -> bool:
    """True when the interpreter's backend (execution mode on) already has this state machine."""
    try:
        sfn.describe_state_machine(stateMachineArn=arn)
    except sfn.exceptions.StateMachineDoesNotExist:
        return False
    return True


def make_state_machines_executable(ctx: Any, stack: Any) -> list[str]:
    """Re-create a stack's state machines where moto's interpreter can run them (MOTO.md §1b).

    moto serves Step Functions from its interpreter backend while execution mode is on, and that
    backend does not see state machines made by CloudFormation. An iatk server copies them there as
    they are created (:func:`mirror_cfn_state_machines`), so this only checks. On a server without
    that (a moto server iatk did not start), with execution mode briefly off it reads each definition
    (already resolved by CloudFormation), then creates the same state machine (same name, hence same
    ARN) in the interpreter's backend. Returns the ARNs.
    """
    from .stack import Stack

    machines: list[str] = []

    def collect(current: Stack) -> None:
        for resource in current.resources:
            if resource.type == "AWS::StepFunctions::StateMachine" and resource.physical_id:
                machines.append(resource.physical_id)
            elif resource.type == "AWS::CloudFormation::Stack" and resource.physical_id:
                collect(current.nested(resource.logical_id))

    collect(stack)
    if not machines:
        return []
    url = ctx.endpoint_url
    sfn = ctx.stepfunctions
    # An iatk server copies them as CloudFormation creates them (mirror_cfn_state_machines): then
    # there is nothing to do, and execution mode is never switched off under another worker's runs.
    missing = [arn for arn in machines if not _executable(sfn, arn)]
    if not missing:
        return machines
    with _sfn_lock:
        set_stepfunctions_execution(url, enabled=False)
        try:
            described = [sfn.describe_state_machine(stateMachineArn=arn) for arn in missing]
        finally:
            set_stepfunctions_execution(url, enabled=True)
        for machine in described:
            extra: dict[str, Any] = {}
            if machine.get("tracingConfiguration"):
                extra["tracingConfiguration"] = machine["tracingConfiguration"]
            sfn.create_state_machine(
                name=machine["name"],
                definition=machine["definition"],
                roleArn=machine["roleArn"],
                type=machine.get("type", "STANDARD"),
                **extra,
            )
    return machines
