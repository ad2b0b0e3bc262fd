"""The embedded server: moto's werkzeug app on a free port of ``127.0.0.1``, in a thread of this process.

:class:`EmbeddedBackend` starts it (or attaches to one another process started), turns on moto's
Step Functions interpreter, starts the X-Ray relay and exports their addresses to the environment;
:func:`embedded_session` wraps that for code without pytest. Both are public as :mod:`iatk.embedded`.
"""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from iatk._aws import IatkSession, embedded_boto_session, installed_session, set_default_session
from iatk.exceptions import ConfigError

from .cfn_models import install_cfn_models
from .cloudformation import fix_cloudformation_models
from .control import reset_backends, set_stepfunctions_execution
from .eventbridge import install_target_delivery, with_iatk_api
from .events_segments import install_events_tracing
from .lambda_control import LambdaControl
from .otlp_receiver import ENV_ENDPOINT, ENV_PROTOCOL, PROTOCOL, OtlpMiddleware, SpanStore, endpoint
from .patches import (
    bound_sqs_deleted_handles,
    cheap_sqs_clock,
    memoise_dispatch,
    prime_boto3_session,
    profile_set_aside,
    refuse_aws_sources,
    serialise_moto_events,
    untrack_sqs_messages,
)
from .references import refuse_unresolved_references
from .sfn_segments import record_sfn_segments
from .sns_segments import install_sns_tracing
from .sqs_segments import install_sqs_tracing
from .stepfunctions import mirror_cfn_state_machines, name_unnamed_executions
from .trace_context import with_trace_context
from .transaction_search import emulate_transaction_search
from .xray_relay import ENV_XRAY, XRayRelay, point_recorder

log = logging.getLogger("iatk.embedded")

ENV_URL = "IATK_EMBEDDED_URL"


@dataclass
class _Server:
    thread: threading.Thread
    server: Any
    url: str


def _start_moto_server(region: str = "us-east-1") -> _Server:
    try:
        from moto.moto_server.werkzeug_app import (
            DomainDispatcherApplication,
            MotoRequestHandler,
            create_backend_app,
        )
        from werkzeug.serving import make_server
    except ImportError as err:  # pragma: no cover - depends on the install
        raise ConfigError("the embedded backend needs moto's server: pip install 'iatk[moto]'") from err

    prime_boto3_session()
    serialise_moto_events()
    memoise_dispatch()
    cheap_sqs_clock()
    bound_sqs_deleted_handles()
    untrack_sqs_messages()
    with profile_set_aside():  # these import moto modules that build a boto3 Session
        fix_cloudformation_models()  # before mirror_cfn_state_machines, which wraps the state machine's create
        mirror_cfn_state_machines()
        install_cfn_models()
        refuse_unresolved_references()
        name_unnamed_executions()
        record_sfn_segments()
        install_target_delivery()
        refuse_aws_sources()
        emulate_transaction_search()
        install_sqs_tracing()  # the trace header travels on: messages, events' targets, subscribers
        install_sns_tracing()
        install_events_tracing()

    class QuietHandler(MotoRequestHandler):
        # werkzeug writes a response's headers and its body in two writes on a connection it then
        # closes; with Nagle's algorithm on, the body waits for the client's (delayed) ACK of the
        # headers: 20-40 ms a request on loopback, most of an SQS call's time.
        disable_nagle_algorithm = True

        def log_request(self, *args: Any, **kwargs: Any) -> None:
            """Keep one access-log line per AWS call out of the test output."""

    # POST /v1/traces (OTLP), /iatk-api/undelivered and /iatk-api/lambda/* (settle, prewarm) are
    # answered before moto's dispatcher sees them; every request's X-Amzn-Trace-Id is kept for the
    # services it reaches (.trace_context).
    moto_app = with_trace_context(DomainDispatcherApplication(create_backend_app))
    app = LambdaControl(OtlpMiddleware(with_iatk_api(moto_app), SpanStore(region)))
    server = make_server("127.0.0.1", 0, app, threaded=True, request_handler=QuietHandler)
    # A short poll interval: werkzeug's default 0.5 s makes every stop take half a second.
    thread = threading.Thread(
        target=server.serve_forever, kwargs={"poll_interval": 0.05}, name="iatk-moto-server", daemon=True
    )
    thread.start()
    return _Server(thread=thread, server=server, url=f"http://127.0.0.1:{server.server_port}")


_running: EmbeddedBackend | None = None


def check_region(region: str) -> str:
    """``region`` when AWS has it (any partition), else a :class:`ConfigError` with the closest ones.

    moto serves only the regions botocore's endpoint data lists; for any other it answers every call
    with an HTML 500 page, so an unknown region is refused before the server starts.
    """
    from botocore.loaders import create_loader

    from iatk._text import closest

    # botocore's endpoint data, read directly: a session would read the profile (AWS_PROFILE may not exist).
    partitions = create_loader().load_data("endpoints").get("partitions", [])
    known = {region for partition in partitions for region in partition.get("regions", {})}
    if region in known:
        return region
    near = closest(region, sorted(known), n=3, cutoff=0.5)
    hint = f"did you mean {', '.join(near)}? " if near else ""
    raise ConfigError(
        f"unknown region {region!r} for the embedded backend: {hint}It serves AWS's regions "
        f"({', '.join(sorted(known)[:12])}, ...); set --iatk-region / IATK_REGION (or region=) to one of them"
    )


_LOOPBACK_HOSTS = ("127.0.0.1", "localhost")


class EmbeddedBackend:
    """A running embedded backend: moto server + X-Ray relay, or an attachment to another process's.

    Args:
        region: The region of the session it hands out (default ``us-east-1``).
        url: Attach to a server already running (an xdist worker gets the controller's URL);
            ``None`` starts a new server in this process.
        xray_address: With ``url``, the relay address of that server's owner.
    """

    def __init__(self, region: str | None = None, *, url: str | None = None, xray_address: str | None = None) -> None:
        self.region = check_region(region or "us-east-1")
        self._server: _Server | None = None
        self._relay: XRayRelay | None = None
        self._lambda: Any = None  # the Lambda service (lambda_service.LambdaService) of an owner
        self._saved_env: dict[str, str | None] = {}
        self._unpoint_recorder: Callable[[], None] | None = None
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
        self._bypass_proxies()
        if self.owner:
            # The relay's address is exported before the server starts: starting it imports moto.xray,
            # which imports aws_xray_sdk.core, whose recorder reads AWS_XRAY_DAEMON_ADDRESS only then.
            self._relay = XRayRelay()
            self.xray_address = self._relay.address
            self._setenv(ENV_XRAY, self.xray_address)
            try:
                self._server = _start_moto_server(self.region)
            except BaseException:
                self.stop()  # the relay's socket, the environment
                raise
            self.url = self._server.url
            # moto's state-machine interpreter calls services at localhost:$MOTO_PORT (MOTO.md §7).
            self._setenv("MOTO_PORT", str(self._server.server.server_port))
            set_stepfunctions_execution(self.url, enabled=True)
            self._relay.start(self.session())
            from .lambda_service import install_service  # its runtime starts at the first invocation

            self._lambda = install_service(self.url, self.xray_address, otlp_traces_endpoint=endpoint(str(self.url)))
            _running = self
        if self.xray_address:
            self._setenv(ENV_XRAY, self.xray_address)
            self._unpoint_recorder = point_recorder(self.xray_address)
        self._setenv(ENV_ENDPOINT, endpoint(str(self.url)))  # OpenTelemetry's OTLP exporter
        self._setenv(ENV_PROTOCOL, PROTOCOL)
        log.info("embedded backend at %s (X-Ray relay %s)", self.url, self.xray_address)
        return self

    def _bypass_proxies(self) -> None:
        """Keep loopback calls off any proxy: add 127.0.0.1 and localhost to ``NO_PROXY``/``no_proxy``.

        Clients that read the environment (moto's state-machine interpreter, which calls
        localhost:$MOTO_PORT, and a test's own ``boto3.client(..., endpoint_url=...)``) would otherwise
        send the embedded server's calls to ``HTTP_PROXY``; restored at :meth:`stop`.
        """
        for key in ("NO_PROXY", "no_proxy"):
            current = [item.strip() for item in os.environ.get(key, "").split(",") if item.strip()]
            missing = [host for host in _LOOPBACK_HOSTS if host not in current]
            if missing:
                self._setenv(key, ",".join([*current, *missing]))

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
        if self._lambda is not None:
            self._lambda.reset()  # its pollers and environments first: the resources they use go next
        if self.url:
            reset_backends(self.url)
            set_stepfunctions_execution(self.url, enabled=True)

    def settle(self, timeout: float = 30.0) -> None:
        """Wait until every asynchronous Lambda invocation has finished (``InvocationType=Event``,
        EventBridge and SNS deliveries, their retries and destinations) and every SQS mapping's poller
        is idle with no visible message left in its queue. Works from any process of the run.

        Raises:
            WaitTimeout: still busy after ``timeout`` seconds (the message lists what).
        """
        if self._lambda is not None:
            self._lambda.settle(timeout)
        elif self.url:
            from .lambda_control import settle

            settle(self.url, timeout)
        else:
            raise ConfigError("the embedded backend is not started: call start() first")

    def prewarm(self, *functions: str, stack: str | None = None, n: int = 1) -> dict[str, int]:
        """Start ``n`` warm execution environments for each function named (and each of ``stack``'s),
        so cold starts stay out of timings; returns function name → environments warm."""
        if not self.url:
            raise ConfigError("the embedded backend is not started: call start() first")
        from .lambda_control import prewarm

        return prewarm(self.url, functions, stack=stack, n=n, region=self.region)

    def stop(self) -> None:
        """Stop what this process started and restore the environment."""
        global _running  # noqa: PLW0603 - the process's one server
        if _running is self:
            _running = None
        if self._lambda is not None:
            from .lambda_service import uninstall_service

            uninstall_service(self._lambda)  # every execution environment ends
            self._lambda = None
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
        if self._unpoint_recorder is not None:  # after the environment, which aws-xray-sdk reads
            self._unpoint_recorder()
            self._unpoint_recorder = None

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
