"""The embedded server's Lambda service: moto's functions run on the Docker-less runtime (:mod:`.lambda_`).

One :class:`LambdaService` lives in the process that owns the moto server (:func:`install_service`,
called by ``EmbeddedBackend.start``); its :class:`~.lambda_.LambdaRuntime` starts at the first
invocation. Every path that invokes a function comes here:

- :meth:`LambdaService.invoke` runs one synchronous invocation (``RequestResponse``) of a moto
  ``LambdaFunction``: it builds the :class:`~.lambda_.FunctionSpec` from moto's model (code, layers,
  configuration; ``CodeSha256`` and the configuration as the hash, so a change starts fresh
  environments), joins the caller's X-Ray trace (:class:`~.lambda_segments.LambdaInvocationTrace`:
  the ``AWS::Lambda`` and ``AWS::Lambda::Function`` segments, the handler under the function
  segment's header) and writes the invocation's log lines to ``/aws/lambda/<name>``, one stream per
  execution environment, in moto's CloudWatch Logs;
- :meth:`LambdaService.invoke_async` queues an asynchronous invocation (``InvocationType=Event``, an
  EventBridge target, an SNS subscription, a Lambda destination) and returns at once. Worker threads
  run it; a function error is retried ``MaximumRetryAttempts`` times (default 2) after short delays
  (``retry_delay`` × the attempt, instead of AWS's one and two minutes); an event older than
  ``MaximumEventAgeInSeconds`` is dropped; the outcome goes to the ``OnSuccess`` / ``OnFailure``
  destination of ``PutFunctionEventInvokeConfig`` (SQS, SNS, an EventBridge bus or another function)
  as AWS's invocation record. A throttled attempt (every environment busy) is retried without counting;
- :meth:`LambdaService.settle` waits until no asynchronous invocation is queued, running or waiting for
  a retry and every SQS poller is idle with nothing visible in its queue: the deterministic "it has all
  happened" a test needs before it looks at the effects;
- :meth:`LambdaService.prewarm` starts warm environments for functions (or a stack's), so cold starts
  stay out of SLA timings.

``reset`` (the server's ``/moto-api/reset``) drops the queued work and ends every environment;
``shutdown`` (``EmbeddedBackend.stop``) also stops the threads. Nothing here holds a lock while a
handler runs, so a handler may call back into any service of the server (EventBridge included).
"""

from __future__ import annotations

import hashlib
import heapq
import json
import logging
import os
import threading
import time
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any

from iatk.exceptions import ConfigError, WaitTimeout

from .lambda_ import ConcurrencyLimitExceeded, FunctionSpec, InvokeResult, LambdaRuntime, RuntimeNotSupported
from .lambda_segments import LambdaInvocationTrace

log = logging.getLogger("iatk.embedded")

__all__ = [
    "DEFAULT_RETRY_ATTEMPTS",
    "ENV_STRICT",
    "LambdaService",
    "current_service",
    "install_service",
    "spec_of",
    "uninstall_service",
]

#: ``MaximumRetryAttempts`` when the function has no event invoke configuration (AWS's default).
DEFAULT_RETRY_ATTEMPTS = 2
#: ``MaximumEventAgeInSeconds``' default (six hours).
DEFAULT_EVENT_AGE = 21600
#: Set to ``1`` to run Python handlers in strict mode (no virtualenv packages: only the code, its
#: layers and what AWS's runtime provides).
ENV_STRICT = "IATK_LAMBDA_STRICT"
#: How long an asynchronous invocation may keep being throttled before it counts as too old.
THROTTLE_LIMIT = 30.0

#: The invocation record's ``DetailType`` on an EventBridge destination.
_DETAIL_TYPES = {
    True: "Lambda Function Invocation Result - Success",
    False: "Lambda Function Invocation Result - Failure",
}


def spec_of(fn: Any) -> FunctionSpec:
    """The runtime's view of a moto ``LambdaFunction`` (one published version, or ``$LATEST``)."""
    from moto.awslambda.utils import get_backend

    backend = get_backend(fn.account_id, fn.region)
    layers: list[bytes] = []
    layer_arns: list[str] = []
    for layer in fn.layers or ():
        layer_version = backend.layers_versions_by_arn(layer["Arn"])
        if layer_version is not None:
            layers.append(bytes(getattr(layer_version, "code_bytes", b"") or b""))
            layer_arns.append(f"{layer['Arn']}@{getattr(layer_version, 'code_sha_256', '')}")
    version = str(fn.version)
    if version in ("", "None", "0"):
        version = "$LATEST"
    reserved = fn.reserved_concurrency
    environment = {str(k): str(v) for k, v in (fn.environment_vars or {}).items()}
    conf = {
        "runtime": fn.run_time,
        "handler": fn.handler,
        "timeout": fn.timeout,
        "memory": fn.memory_size,
        "env": sorted(environment.items()),
        "layers": layer_arns,
        "package_type": fn.package_type,
    }
    config_hash = hashlib.sha256(
        (str(getattr(fn, "code_sha_256", "")) + json.dumps(conf, sort_keys=True, default=str)).encode()
    ).hexdigest()
    arn = fn.function_arn
    base_arn = ":".join(arn.split(":")[:7])
    return FunctionSpec(
        name=fn.function_name,
        runtime=str(fn.run_time or ""),
        handler=str(fn.handler or ""),
        code=bytes(getattr(fn, "code_bytes", b"") or b""),
        arn=base_arn,
        version=version,
        layers=tuple(layers),
        timeout=float(fn.timeout or 3),
        memory=int(fn.memory_size or 128),
        environment=environment,
        reserved_concurrency=int(reserved) if reserved not in (None, "") else None,
        region=fn.region,
        package_type=str(fn.package_type or "Zip"),
        config_hash=config_hash,
    )


def _now_iso() -> str:
    return datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


def _new_root() -> str:
    return f"1-{int(time.time()):08x}-{uuid.uuid4().hex[:24]}"


@dataclass
class _Job:
    """One asynchronous invocation, through its attempts."""

    fn: Any
    payload: bytes
    trace_header: str | None
    generation: int
    source: str
    enqueued_at: float = field(default_factory=time.time)
    attempts: int = 0
    throttled_since: float | None = None
    id: str = field(default_factory=lambda: uuid.uuid4().hex)

    def describe(self) -> str:
        return f"{self.source} → {self.fn.function_name} (attempt {self.attempts + 1})"


class LambdaService:
    """Runs moto's functions: synchronous and asynchronous invocations, logs, traces, settle, prewarm.

    Args:
        endpoint_url: The embedded server (the handlers' ``AWS_ENDPOINT_URL``).
        xray_daemon_address: The X-Ray relay (the handlers' ``AWS_XRAY_DAEMON_ADDRESS``).
        otlp_traces_endpoint: The OTLP receiver (the handlers' ``OTEL_EXPORTER_OTLP_TRACES_ENDPOINT``).
        strict: Python handlers without the test's virtualenv (default: ``IATK_LAMBDA_STRICT=1``).
        retry_delay: Seconds before an asynchronous retry, times the attempt number.
        workers: Threads running asynchronous invocations.
        runtime_options: More keyword arguments of :class:`~.lambda_.LambdaRuntime` (caps, timeouts).
    """

    def __init__(
        self,
        *,
        endpoint_url: str | None,
        xray_daemon_address: str | None = None,
        otlp_traces_endpoint: str | None = None,
        strict: bool | None = None,
        retry_delay: float = 0.1,
        workers: int = 8,
        runtime_options: dict[str, Any] | None = None,
    ) -> None:
        if workers < 1:
            raise ConfigError(f"the Lambda service needs at least one worker thread (workers={workers})")
        self.endpoint_url = endpoint_url
        self.xray_daemon_address = xray_daemon_address
        self.otlp_traces_endpoint = otlp_traces_endpoint
        self.strict = (
            os.environ.get(ENV_STRICT, "").strip().lower() in ("1", "true", "yes") if strict is None else strict
        )
        self.retry_delay = retry_delay
        self.workers = workers
        self.runtime_options = dict(runtime_options or {})
        self._runtime: LambdaRuntime | None = None
        self._runtime_lock = threading.Lock()
        self._cond = threading.Condition()
        self._ready: list[_Job] = []
        self._delayed: list[tuple[float, str, _Job]] = []
        self._running: dict[str, _Job] = {}
        self._threads: list[threading.Thread] = []
        self._generation = 0
        self._closed = False
        self._log_lock = threading.Lock()
        #: Callables saying whether a poller is idle (the SQS pollers register theirs): settle waits for all.
        self._idle_probes: dict[str, Callable[[], str | None]] = {}
        self._resetters: list[Callable[[], None]] = []

    # -- the runtime -------------------------------------------------------------------------------

    @property
    def runtime(self) -> LambdaRuntime:
        """The runtime, started at the first use."""
        with self._runtime_lock:
            if self._closed:
                raise ConfigError("the embedded Lambda service is shut down")
            if self._runtime is None:
                self._runtime = LambdaRuntime(
                    endpoint_url=self.endpoint_url,
                    xray_daemon_address=self.xray_daemon_address,
                    otlp_traces_endpoint=self.otlp_traces_endpoint,
                    strict=self.strict,
                    **self.runtime_options,
                )
            return self._runtime

    @property
    def started(self) -> bool:
        """Whether the runtime has started (an invocation or a prewarm happened)."""
        return self._runtime is not None

    def live_processes(self) -> list[int]:
        """The pids of the execution environments still running."""
        runtime = self._runtime
        return runtime.live_processes() if runtime is not None else []

    # -- synchronous -------------------------------------------------------------------------------

    def invoke(
        self,
        fn: Any,
        payload: bytes | str,
        *,
        trace_header: str | None = None,
        log_tail: bool = False,
        client_context: str | None = None,
        invoked_arn: str | None = None,
    ) -> InvokeResult:
        """Run ``fn`` (a moto ``LambdaFunction``) once and wait for its answer, with its logs and trace.

        Raises:
            RuntimeNotSupported: the function's runtime cannot be served here.
            ConcurrencyLimitExceeded: every environment it may have stayed busy.
        """
        spec = spec_of(fn)
        data = payload.encode() if isinstance(payload, str) else bytes(payload)
        if not data.strip():
            data = b"{}"
        header = trace_header
        if not header and str((fn.tracing_config or {}).get("Mode", "")).lower() == "active":
            header = f"Root={_new_root()};Sampled=1"
        start = time.time()
        trace = LambdaInvocationTrace.begin(header, function_arn=spec.arn, request_id="", start=start)
        handler_header = trace.function_header if trace is not None else header
        result = self.runtime.invoke(
            spec,
            data,
            trace_id=handler_header,
            client_context=client_context,
            log_tail=log_tail,
            invoked_arn=invoked_arn or fn.function_arn,
        )
        end = time.time()
        self._write_logs(fn, result)
        if trace is not None:
            trace.request_id = result.request_id
            if result.init_duration_ms is not None:
                trace.cold_start = True
                trace.initialised(start + result.init_duration_ms / 1000)
            try:
                trace.finish(error=result.error_type or result.function_error, end=end, region=fn.region)
            except Exception:  # a segment must never break the invocation it describes
                log.exception("could not record the Lambda segments of %s", spec.arn)
        return result

    def _write_logs(self, fn: Any, result: InvokeResult) -> None:
        """Append the invocation's lines to ``/aws/lambda/<name>``, the environment's stream."""
        try:
            from moto.logs.models import logs_backends

            backend = logs_backends[fn.account_id][fn.region]
            group = f"/aws/lambda/{fn.function_name}"
            stamp = int(time.time() * 1000)
            events = [{"timestamp": stamp, "message": line} for line in result.logs]
            with self._log_lock:
                if group not in backend.groups:
                    backend.create_log_group(group, {})
                if result.log_stream_name not in backend.groups[group].streams:
                    backend.create_log_stream(group, result.log_stream_name)
                if events:
                    backend.put_log_events(group, result.log_stream_name, events)
        except Exception:  # the log must never break the invocation
            log.exception("could not write the log of %s", fn.function_name)

    # -- asynchronous ------------------------------------------------------------------------------

    def invoke_async(
        self, fn: Any, payload: bytes | str, *, trace_header: str | None = None, source: str = "Invoke"
    ) -> str:
        """Queue an asynchronous invocation of ``fn`` and return its id at once (it runs on a worker)."""
        data = payload.encode() if isinstance(payload, str) else bytes(payload)
        with self._cond:
            if self._closed:
                raise ConfigError("the embedded Lambda service is shut down")
            job = _Job(fn, data or b"{}", trace_header, self._generation, source)
            self._ready.append(job)
            self._start_workers()
            self._cond.notify_all()
        return job.id

    def _start_workers(self) -> None:
        if self._threads:
            return
        for index in range(self.workers):
            thread = threading.Thread(target=self._work, name=f"iatk-lambda-async-{index}", daemon=True)
            thread.start()
            self._threads.append(thread)

    def _next_job(self) -> _Job | None:
        """The next job to run, waiting for one (None: shut down)."""
        with self._cond:
            while True:
                if self._closed:
                    return None
                now = time.time()
                while self._delayed and self._delayed[0][0] <= now:
                    self._ready.append(heapq.heappop(self._delayed)[2])
                if self._ready:
                    job = self._ready.pop(0)
                    self._running[job.id] = job
                    return job
                wait = self._delayed[0][0] - now if self._delayed else 1.0
                self._cond.wait(max(min(wait, 1.0), 0.001))

    def _work(self) -> None:
        while True:
            job = self._next_job()
            if job is None:
                return
            try:
                self._attempt(job)
            except Exception:
                log.exception("asynchronous invocation of %s failed in the embedded backend", job.fn.function_name)
            finally:
                with self._cond:
                    self._running.pop(job.id, None)
                    self._cond.notify_all()

    def _schedule(self, job: _Job, delay: float) -> None:
        with self._cond:
            if job.generation != self._generation or self._closed:
                return
            heapq.heappush(self._delayed, (time.time() + delay, job.id, job))
            self._cond.notify_all()

    def _attempt(self, job: _Job) -> None:
        config = event_invoke_config(job.fn)
        max_retries = int(config.get("MaximumRetryAttempts", DEFAULT_RETRY_ATTEMPTS))
        max_age = float(config.get("MaximumEventAgeInSeconds", DEFAULT_EVENT_AGE))
        if time.time() - job.enqueued_at > max_age:
            self._finish(job, None, "EventAgeExceeded", config)
            return
        try:
            result: InvokeResult | None = self.invoke(job.fn, job.payload, trace_header=job.trace_header)
        except ConcurrencyLimitExceeded:
            job.throttled_since = job.throttled_since or time.time()
            if time.time() - job.throttled_since > min(THROTTLE_LIMIT, max_age):
                self._finish(job, None, "EventAgeExceeded", config)
            else:
                self._schedule(job, self.retry_delay)
            return
        except RuntimeNotSupported as err:
            log.error("asynchronous invocation of %s: %s", job.fn.function_name, err)
            job.attempts += 1
            self._finish(job, None, "RetriesExhausted", config, error=(err.code or "InvalidRuntimeException", str(err)))
            return
        job.attempts += 1
        job.throttled_since = None
        assert result is not None
        if result.function_error is None:
            self._finish(job, result, "Success", config)
        elif job.attempts <= max_retries:
            self._schedule(job, self.retry_delay * job.attempts)
        else:
            self._finish(job, result, "RetriesExhausted", config)

    def _finish(
        self,
        job: _Job,
        result: InvokeResult | None,
        condition: str,
        config: dict[str, Any],
        *,
        error: tuple[str, str] | None = None,
    ) -> None:
        """Send the invocation record to the destination the outcome asks for (if any)."""
        with self._cond:
            if job.generation != self._generation:
                return  # the server was reset meanwhile: its destinations are gone
        success = condition == "Success"
        destination = ((config.get("DestinationConfig") or {}).get("OnSuccess" if success else "OnFailure") or {}).get(
            "Destination"
        )
        if not success:
            log.warning(
                "asynchronous invocation of %s from %s failed (%s after %d attempt(s))",
                job.fn.function_name,
                job.source,
                condition,
                job.attempts,
            )
        if not destination:
            return
        record = invocation_record(job, result, condition, error=error)
        try:
            self._deliver_record(job, str(destination), record, success)
        except Exception as err:
            log.warning("could not send the invocation record of %s to %s: %s", job.fn.function_name, destination, err)

    def _deliver_record(self, job: _Job, destination: str, record: dict[str, Any], success: bool) -> None:
        parts = destination.split(":", 5)
        if len(parts) < 6:
            raise ConfigError(f"destination {destination!r} is not an ARN")
        service, region, account, resource = parts[2], parts[3], parts[4], parts[5]
        text = json.dumps(record)
        if service == "sqs":
            from moto.sqs.models import sqs_backends

            sqs_backends[account][region].send_message(queue_name=resource, message_body=text)
        elif service == "sns":
            from moto.sns.models import sns_backends

            sns_backends[account][region].publish(message=text, arn=destination)
        elif service == "events":
            from moto.events.models import events_backends

            entry = {
                "Source": "lambda",
                "DetailType": _DETAIL_TYPES[success],
                "Detail": text,
                "Resources": [record["requestContext"]["functionArn"], destination],
                "EventBusName": destination,
            }
            failed = [e for e in events_backends[account][region].put_events([entry]) if e.get("ErrorCode")]
            if failed:
                raise ConfigError(f"PutEvents refused the record: {failed[0]}")
        elif service == "lambda":
            from moto.awslambda.utils import get_backend

            name = resource.split(":", 1)[1] if resource.startswith("function:") else resource
            target = get_backend(account, region).get_function(name)
            self.invoke_async(
                target, text, trace_header=job.trace_header, source=f"destination of {job.fn.function_name}"
            )
        else:
            raise ConfigError(f"destination {destination!r}: Lambda sends records to SQS, SNS, EventBridge or Lambda")

    # -- settle, prewarm, reset --------------------------------------------------------------------

    def register_idle_probe(self, key: str, probe: Callable[[], str | None]) -> None:
        """Make :meth:`settle` wait until ``probe()`` returns None (else it says what is pending)."""
        with self._cond:
            self._idle_probes[key] = probe

    def unregister_idle_probe(self, key: str) -> None:
        with self._cond:
            self._idle_probes.pop(key, None)

    def on_reset(self, callback: Callable[[], None]) -> None:
        """Call ``callback`` at every :meth:`reset` (the SQS pollers stop theirs)."""
        self._resetters.append(callback)

    def pending(self) -> list[str]:
        """What is still to happen: asynchronous invocations and busy pollers (empty: settled)."""
        with self._cond:
            items = [f"queued: {job.describe()}" for job in self._ready]
            items += [f"running: {job.describe()}" for job in self._running.values()]
            items += [f"retry scheduled: {job.describe()}" for _, _, job in self._delayed]
            probes = list(self._idle_probes.values())
        for probe in probes:
            try:
                busy = probe()
            except Exception as err:  # a poller whose queue is gone is not pending
                log.debug("idle probe failed: %s", err)
                continue
            if busy:
                items.append(busy)
        return items

    def settle(self, timeout: float = 30.0) -> None:
        """Wait until every asynchronous invocation has finished (retries and destinations included)
        and every SQS poller is idle with no visible message left in its queue.

        Raises:
            WaitTimeout: still busy after ``timeout`` seconds (the message lists what).
        """
        start = time.monotonic()
        deadline = start + timeout
        attempts = 0
        while True:
            attempts += 1
            pending = self.pending()
            if not pending:
                # Twice in a row, a poll apart: a poller may have just taken the last batch off its queue.
                time.sleep(0.005)
                pending = self.pending()
                if not pending:
                    return
            if time.monotonic() >= deadline:
                raise WaitTimeout(
                    f"the embedded Lambda service did not settle within {timeout:g} s; still pending:\n  "
                    + "\n  ".join(pending[:20]),
                    description="asynchronous Lambda invocations to finish",
                    timeout=timeout,
                    elapsed=time.monotonic() - start,
                    attempts=attempts,
                    last=pending,
                )
            with self._cond:
                self._cond.wait(0.01)

    def prewarm(self, functions: Iterable[Any], n: int = 1) -> dict[str, int]:
        """Start ``n`` warm environments for each moto function given; returns name → warm count."""
        warm: dict[str, int] = {}
        for fn in functions:
            try:
                warm[fn.function_name] = self.runtime.prewarm(spec_of(fn), n)
            except RuntimeNotSupported as err:  # its invocations will say so; the others still warm up
                log.warning("not prewarmed: %s", err)
                warm[fn.function_name] = 0
        return warm

    def reset(self) -> None:
        """Forget the queued work and end every environment (``/moto-api/reset``)."""
        with self._cond:
            self._generation += 1
            self._ready.clear()
            self._delayed.clear()
            self._cond.notify_all()
        for callback in list(self._resetters):
            try:
                callback()
            except Exception:
                log.exception("a Lambda reset hook failed")
        if self._runtime is not None:
            self._runtime.reset()

    def shutdown(self) -> None:
        """Stop the workers and the pollers and end every environment. Idempotent."""
        self.reset()
        with self._cond:
            self._closed = True
            self._cond.notify_all()
            threads, self._threads = self._threads, []
        for thread in threads:
            if thread is not threading.current_thread():
                thread.join(timeout=5)
        with self._runtime_lock:
            runtime, self._runtime = self._runtime, None
        if runtime is not None:
            runtime.shutdown()


def event_invoke_config(fn: Any) -> dict[str, Any]:
    """The function's ``PutFunctionEventInvokeConfig`` (its own, else ``$LATEST``'s), as a dict."""
    configs = list(getattr(fn, "event_invoke_config", None) or [])
    if not configs and str(fn.version) != "$LATEST":
        try:
            from moto.awslambda.utils import get_backend

            latest = get_backend(fn.account_id, fn.region).get_function(fn.function_name)
            configs = list(getattr(latest, "event_invoke_config", None) or [])
        except Exception:  # the function is gone
            configs = []
    return dict(configs[-1].config) if configs else {}


def invocation_record(
    job: _Job, result: InvokeResult | None, condition: str, *, error: tuple[str, str] | None = None
) -> dict[str, Any]:
    """The record Lambda sends a destination, as AWS documents it."""
    try:
        request: Any = json.loads(job.payload)
    except ValueError:
        request = job.payload.decode("utf-8", "replace")
    version = str(job.fn.version) if str(job.fn.version) not in ("", "None", "0") else "$LATEST"
    base = ":".join(str(job.fn.function_arn).split(":")[:7])
    record: dict[str, Any] = {
        "version": "1.0",
        "timestamp": _now_iso(),
        "requestContext": {
            "requestId": result.request_id if result is not None else job.id,
            "functionArn": f"{base}:{version}",
            "condition": condition,
            "approximateInvokeCount": job.attempts,
        },
        "requestPayload": request,
        "responseContext": {"statusCode": 200, "executedVersion": version},
    }
    if result is not None:
        if result.function_error:
            record["responseContext"]["functionError"] = result.function_error
        try:
            record["responsePayload"] = result.json()
        except ValueError:
            record["responsePayload"] = result.payload.decode("utf-8", "replace")
    elif error is not None:
        record["responseContext"]["functionError"] = "Unhandled"
        record["responsePayload"] = {"errorType": error[0], "errorMessage": error[1]}
    return record


_service: LambdaService | None = None
_service_lock = threading.Lock()


def install_service(endpoint_url: str, xray_daemon_address: str | None = None, **options: Any) -> LambdaService:
    """Make a :class:`LambdaService` this process's (the embedded server's owner calls it), and hook moto."""
    global _service  # noqa: PLW0603 - the process's one server has one Lambda service
    from .lambda_invoke import install_invoke
    from .lambda_sfn import install_sfn_lambda
    from .lambda_sqs import install_sqs_pollers
    from .lambda_triggers import install_triggers

    with _service_lock:
        if _service is not None:
            _service.shutdown()
        _service = LambdaService(endpoint_url=endpoint_url, xray_daemon_address=xray_daemon_address, **options)
        install_invoke()
        install_sqs_pollers(_service)
        install_triggers()
        install_sfn_lambda()
        return _service


def uninstall_service(service: LambdaService) -> None:
    """Shut ``service`` down and forget it (``EmbeddedBackend.stop``)."""
    global _service  # noqa: PLW0603 - the process's one server has one Lambda service
    with _service_lock:
        if _service is service:
            _service = None
    service.shutdown()


def current_service() -> LambdaService:
    """This process's Lambda service (raises when no embedded server runs here)."""
    service = _service
    if service is None:
        raise ConfigError(
            "no embedded Lambda service in this process: functions run in the process that owns the moto"
            " server (EmbeddedBackend.start)"
        )
    return service
