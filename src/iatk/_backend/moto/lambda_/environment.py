"""One execution environment: a warm child process, its Runtime API server and its log.

**The child's environment is built from nothing**: no variable of the test process is passed on
(``AWS_PROFILE``, real credentials, a test's own variables never reach the handler). It gets, in this
order (a later group cannot override an earlier reserved name):

1. Lambda's own variables: ``AWS_LAMBDA_FUNCTION_NAME``, ``AWS_LAMBDA_FUNCTION_VERSION``,
   ``AWS_LAMBDA_FUNCTION_MEMORY_SIZE``, ``AWS_LAMBDA_LOG_GROUP_NAME``, ``AWS_LAMBDA_LOG_STREAM_NAME``,
   ``AWS_LAMBDA_INITIALIZATION_TYPE``, ``AWS_REGION``, ``AWS_DEFAULT_REGION``, ``AWS_EXECUTION_ENV``
   (not for ``provided*``, as on AWS), ``LAMBDA_TASK_ROOT``, ``LAMBDA_RUNTIME_DIR``, ``_HANDLER``,
   ``AWS_LAMBDA_RUNTIME_API``, dummy credentials (``AWS_ACCESS_KEY_ID``, ``AWS_SECRET_ACCESS_KEY``,
   ``AWS_SESSION_TOKEN``), and ``_X_AMZN_TRACE_ID`` per invocation (set by the bootstrap from the
   invocation's trace header);
2. what iatk points at itself: ``AWS_ENDPOINT_URL`` (the embedded server, so the handler's SDK calls
   come back to it; the function's own ``AWS_ENDPOINT_URL*`` values are dropped, so a template can
   never send the handler to real AWS), ``AWS_XRAY_DAEMON_ADDRESS`` (the X-Ray relay, given by the
   caller) with AWS's ``_AWS_XRAY_DAEMON_ADDRESS``/``_PORT`` and ``AWS_XRAY_CONTEXT_MISSING``, and
   ``OTEL_EXPORTER_OTLP_TRACES_ENDPOINT`` with ``OTEL_EXPORTER_OTLP_TRACES_PROTOCOL=http/protobuf``
   (the server's OTLP receiver, given by the caller: OpenTelemetry's exporter in the handler sends
   its spans there; they win over the function's own values, so no span goes to real AWS);
3. the only keys that describe this machine rather than Lambda, each for a reason:
   ``PATH`` (Lambda's shape, ``/usr/local/bin:/usr/bin:/bin``, after the layers' ``bin/`` and the
   interpreter's own directory, so a ``provided`` bootstrap finds ``sh``/``python3``/``node``; never the
   test process's PATH), ``LD_LIBRARY_PATH`` (the host's value only when set: an interpreter built
   with a shared libpython or libnode in a non-standard place cannot start without it; the layers'
   ``lib/`` first, as ``/opt/lib``), ``HOME`` (an empty run-scoped directory: no SDK in the handler
   reads the developer's ``~/.aws/config`` or credentials), ``LANG=C.UTF-8`` (AWS sets
   ``en_US.UTF-8``, which may not be installed here), ``TZ=:UTC``, and ``NODE_PATH`` for Node
   (the layers' ``nodejs/node<major>/node_modules``, ``nodejs/node_modules``, then the task root);
4. the function's own ``Environment.Variables``, which may override the non-reserved keys of 3.
   (``PATH``, ``LANG``, ``TZ``, ``NODE_PATH``, ``LD_LIBRARY_PATH``...), as on AWS.

**Processes.** Every child is started from one long-lived thread, in a new process group, with
``prctl(PR_SET_PDEATHSIG, SIGKILL)`` set between fork and exec (Linux): the kernel kills it when the
thread that forked it ends, that is, when the test process dies, even by SIGKILL. (The signal follows
the forking *thread*, hence the one spawner thread that lives as long as the process.) :meth:`kill`
kills the whole group.

**Logs.** stdout and stderr share one pipe, read all the time (a chatty handler never blocks on a full
pipe) and cut per invocation: what the runtime printed before it first asked for work is the init
output; the rest belongs to the invocation in flight. Each invocation's lines are framed as on AWS
(``INIT_START`` when cold, ``START``, ``END``, ``REPORT`` with Duration, Billed Duration, Memory Size,
Max Memory Used, and Init Duration when cold).
"""

from __future__ import annotations

import contextlib
import ctypes
import ctypes.util
import functools
import json
import math
import os
import queue
import select
import signal
import subprocess
import sys
import threading
import time
import uuid
from concurrent.futures import Future
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any

from .runtime_api import Invocation, Outcome, RuntimeApi, new_trace_id
from .runtimes import RUNTIME_DIR, LaunchPlan
from .spec import FunctionSpec, InvokeResult

__all__ = [
    "DUMMY_KEY_ID",
    "EnvironmentLost",
    "INIT_TIMEOUT",
    "LOG_TAIL_BYTES",
    "RESERVED",
    "EnvironmentOptions",
    "ExecutionEnvironment",
    "build_environ",
]

#: The dummy credentials' key and secret (the value of ``iatk._aws.EMBEDDED_KEY_ID``, not imported
#: here because ``iatk._aws`` loads boto3).
DUMMY_KEY_ID = "iatk-embedded"
#: AWS's limit for an on-demand environment's init phase.
INIT_TIMEOUT = 10.0
#: ``LogType=Tail`` returns the last 4 KB of the log.
LOG_TAIL_BYTES = 4096
#: Lambda's reserved names: a function's own variable of that name is ignored (AWS rejects it).
RESERVED = frozenset(
    {
        "_HANDLER",
        "_X_AMZN_TRACE_ID",
        "AWS_DEFAULT_REGION",
        "AWS_REGION",
        "AWS_EXECUTION_ENV",
        "AWS_LAMBDA_FUNCTION_NAME",
        "AWS_LAMBDA_FUNCTION_MEMORY_SIZE",
        "AWS_LAMBDA_FUNCTION_VERSION",
        "AWS_LAMBDA_INITIALIZATION_TYPE",
        "AWS_LAMBDA_LOG_GROUP_NAME",
        "AWS_LAMBDA_LOG_STREAM_NAME",
        "AWS_ACCESS_KEY",
        "AWS_ACCESS_KEY_ID",
        "AWS_SECRET_ACCESS_KEY",
        "AWS_SESSION_TOKEN",
        "AWS_LAMBDA_RUNTIME_API",
        "LAMBDA_TASK_ROOT",
        "LAMBDA_RUNTIME_DIR",
    }
)
#: OpenTelemetry's traces exporter variables (the names ``otlp_receiver`` exports to the test process;
#: not imported from it: this package does not depend on the server's modules).
_OTLP_ENDPOINT = "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT"
_OTLP_PROTOCOL = "OTEL_EXPORTER_OTLP_TRACES_PROTOCOL"
_SIGNALS = {
    signal.SIGKILL: "killed",
    signal.SIGTERM: "terminated",
    signal.SIGSEGV: "segmentation fault",
    signal.SIGABRT: "aborted",
    signal.SIGINT: "interrupt",
}


class EnvironmentLost(Exception):
    """A warm environment's process ended before it took the invocation (the pool retries elsewhere)."""


@dataclass(frozen=True)
class EnvironmentOptions:
    """What the caller points the children at (the embedded server, its X-Ray relay, its OTLP receiver)."""

    endpoint_url: str | None = None
    xray_daemon_address: str | None = None
    #: An empty directory to be the children's HOME.
    home: str = "/nonexistent"
    #: The OTLP/HTTP traces endpoint (``<server>/v1/traces``).
    otlp_traces_endpoint: str | None = None


def build_environ(
    spec: FunctionSpec, plan: LaunchPlan, options: EnvironmentOptions, *, log_stream: str, api_address: str
) -> dict[str, str]:
    """The child's whole environment (see the module's docstring for each key and why it is there)."""
    env: dict[str, str] = {
        "AWS_LAMBDA_FUNCTION_NAME": spec.name,
        "AWS_LAMBDA_FUNCTION_VERSION": spec.version,
        "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": str(spec.memory),
        "AWS_LAMBDA_LOG_GROUP_NAME": spec.log_group_name,
        "AWS_LAMBDA_LOG_STREAM_NAME": log_stream,
        "AWS_LAMBDA_INITIALIZATION_TYPE": "on-demand",
        "AWS_REGION": spec.region,
        "AWS_DEFAULT_REGION": spec.region,
        "LAMBDA_TASK_ROOT": str(plan.task_root),
        "LAMBDA_RUNTIME_DIR": str(RUNTIME_DIR),
        "_HANDLER": spec.handler,
        "AWS_LAMBDA_RUNTIME_API": api_address,
        "AWS_ACCESS_KEY_ID": DUMMY_KEY_ID,
        "AWS_SECRET_ACCESS_KEY": DUMMY_KEY_ID,
        "AWS_SESSION_TOKEN": DUMMY_KEY_ID,
    }
    if plan.kind != "provided":
        env["AWS_EXECUTION_ENV"] = f"AWS_Lambda_{spec.runtime}"
    own: dict[str, str] = {}
    if options.endpoint_url:
        own["AWS_ENDPOINT_URL"] = options.endpoint_url
    if options.xray_daemon_address:
        host, _, port = options.xray_daemon_address.rpartition(":")
        own["AWS_XRAY_DAEMON_ADDRESS"] = options.xray_daemon_address
        own["_AWS_XRAY_DAEMON_ADDRESS"] = host
        own["_AWS_XRAY_DAEMON_PORT"] = port
    if options.otlp_traces_endpoint:
        own[_OTLP_ENDPOINT] = options.otlp_traces_endpoint
        own[_OTLP_PROTOCOL] = "http/protobuf"
    machine: dict[str, str] = {
        "PATH": ":".join(dict.fromkeys([*plan.path_dirs, "/usr/local/bin", "/usr/bin", "/bin"])),
        "HOME": options.home,
        "LANG": "C.UTF-8",
        "TZ": ":UTC",
        "AWS_XRAY_CONTEXT_MISSING": "LOG_ERROR",
    }
    libs = [str(plan.opt / "lib")] if plan.opt else []
    if os.environ.get("LD_LIBRARY_PATH"):
        libs.append(os.environ["LD_LIBRARY_PATH"])
    if libs:
        machine["LD_LIBRARY_PATH"] = ":".join(libs)
    if plan.node_path:
        machine["NODE_PATH"] = ":".join(plan.node_path)
    for key, value in spec.environment.items():
        if key in RESERVED or key.startswith("AWS_ENDPOINT_URL"):
            continue
        machine[key] = str(value)
    return {**machine, **own, **env}


class _Spawner:
    """The one thread that forks every child, so that PR_SET_PDEATHSIG follows the process's life."""

    _instance: _Spawner | None = None
    _lock = threading.Lock()

    def __init__(self) -> None:
        self._jobs: queue.Queue[tuple[dict[str, Any], Future[subprocess.Popen[bytes]]]] = queue.Queue()
        self._libc = _load_libc()
        threading.Thread(target=self._run, name="iatk-lambda-spawner", daemon=True).start()

    @classmethod
    def get(cls) -> _Spawner:
        with cls._lock:
            if cls._instance is None:
                cls._instance = cls()
            return cls._instance

    def spawn(self, **popen: Any) -> subprocess.Popen[bytes]:
        future: Future[subprocess.Popen[bytes]] = Future()
        self._jobs.put((popen, future))
        return future.result(timeout=30)

    def _run(self) -> None:
        while True:
            popen, future = self._jobs.get()
            if not future.set_running_or_notify_cancel():
                continue
            try:
                # preexec_fn is the only way to set PR_SET_PDEATHSIG before exec. It runs in the forked
                # child of this one thread and only calls setpgid, prctl and getppid (no locks, no imports).
                setup = functools.partial(_in_child, self._libc, os.getpid())
                proc = subprocess.Popen(**popen, preexec_fn=setup, close_fds=True)  # noqa: PLW1509
            except BaseException as err:
                future.set_exception(err)
            else:
                future.set_result(proc)


def _load_libc() -> Any:
    if not sys.platform.startswith("linux"):
        return None
    try:
        return ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)
    except OSError:
        return None


_PR_SET_PDEATHSIG = 1


def _in_child(libc: Any, parent: int) -> None:
    """Between fork and exec: a new process group, and die with the parent (Linux)."""
    os.setpgid(0, 0)
    if libc is not None:
        libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
    if os.getppid() != parent:  # the parent died before prctl took effect
        os._exit(1)


class ExecutionEnvironment:
    """One warm process serving one function's code and configuration, one invocation at a time.

    Args:
        spec: The function (its ``effective_hash`` is this environment's ``config_hash``).
        plan: What to start (see :mod:`.runtimes`).
        options: The endpoint and X-Ray addresses, the children's HOME.
    """

    def __init__(self, spec: FunctionSpec, plan: LaunchPlan, options: EnvironmentOptions) -> None:
        self.spec = spec
        self.plan = plan
        self.config_hash = spec.effective_hash
        self.id = uuid.uuid4().hex
        day = datetime.now(timezone.utc).strftime("%Y/%m/%d")
        self.log_stream_name = f"{day}/[{spec.version}]{self.id}"
        self.api = RuntimeApi(self.id[:8])
        self.api.on_dispatch = self._mark_dispatch
        self.environ = build_environ(spec, plan, options, log_stream=self.log_stream_name, api_address=self.api.address)
        self.started_at = time.monotonic()
        self.last_used = self.started_at
        self.invocations = 0
        self.exit_status: int | None = None
        self._killed = False
        self._out = bytearray()
        self._out_lock = threading.Lock()
        self._dispatch_mark = 0
        self._start_error: bytes | None = None
        self.proc: subprocess.Popen[bytes] | None = None
        try:
            self.proc = _Spawner.get().spawn(
                args=list(plan.argv),
                env=self.environ,
                cwd=str(plan.task_root),
                stdin=subprocess.DEVNULL,
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT,
            )
        except OSError as err:
            # A missing or non-executable bootstrap: AWS's Runtime.InvalidEntrypoint, as an init error.
            self._start_error = json.dumps(
                {
                    "errorType": "Runtime.InvalidEntrypoint",
                    "errorMessage": f"Couldn't start {plan.argv[0]}: {err.strerror}",
                }
            ).encode()
            self.api.close()
            return
        assert self.proc.stdout is not None
        self._fd = self.proc.stdout.fileno()
        os.set_blocking(self._fd, False)
        self._reader = threading.Thread(target=self._read_loop, name=f"lambda-log-{self.id[:8]}", daemon=True)
        self._reader.start()
        self._watcher = threading.Thread(target=self._watch, name=f"lambda-wait-{self.id[:8]}", daemon=True)
        self._watcher.start()

    # -- state -------------------------------------------------------------------------------------

    @property
    def pid(self) -> int | None:
        return self.proc.pid if self.proc is not None else None

    @property
    def alive(self) -> bool:
        """Whether the process still runs and can take an invocation."""
        return self.proc is not None and self.exit_status is None and not self._killed and self.api.init_outcome is None

    @property
    def ready(self) -> bool:
        """Whether the runtime finished its init and waits for work."""
        return self.api.ready_at is not None

    def wait_ready(self, timeout: float = INIT_TIMEOUT) -> bool:
        """Wait until the runtime asks for its first invocation (False: it failed or took too long)."""
        end = time.monotonic() + timeout
        with self.api.cond:
            while self.alive and self.api.ready_at is None:
                left = end - time.monotonic()
                if left <= 0:
                    return False
                self.api.cond.wait(left)
            return self.alive and self.api.ready_at is not None

    def rss_bytes(self) -> int | None:
        """The process's resident memory now (Linux; None elsewhere)."""
        return _proc_status_kb(self.pid, "VmRSS")

    # -- invoking ----------------------------------------------------------------------------------

    def invoke(
        self,
        payload: bytes,
        *,
        trace_id: str | None = None,
        client_context: str | None = None,
        cognito_identity: str | None = None,
        invoked_arn: str | None = None,
        log_tail: bool = False,
    ) -> InvokeResult:
        """Run one invocation to its end (answer, error, exit, or timeout: then the process is killed)."""
        spec = self.spec
        cold = self.invocations == 0
        self.invocations += 1
        t0 = time.monotonic()
        inv = Invocation(
            payload=payload,
            timeout=spec.timeout,
            invoked_arn=invoked_arn or spec.arn,
            trace_id=trace_id or new_trace_id(),
            client_context=client_context,
            cognito_identity=cognito_identity,
        )
        outcome, status = self._run(inv, t0, cold=cold)
        end = time.monotonic()
        max_memory = _proc_status_kb(self.pid, "VmHWM")
        if status is not None:
            self.kill()
        begun = inv.dispatched_at or end
        duration = (end - begun) * 1000
        init_ms: float | None = None
        if cold:
            init_end = self.api.ready_at or (inv.dispatched_at or end)
            init_ms = (init_end - self.started_at) * 1000
        output = self._take_output()
        init_text, run_text = output[: self._dispatch_mark], output[self._dispatch_mark :]
        self._dispatch_mark = 0
        lines: list[str] = []
        if cold:
            lines.append(f"INIT_START Runtime Version: {self.plan.runtime_version}")
        lines += _lines(init_text)
        if outcome.kind == "init_error":
            lines.append(
                f"INIT_REPORT Init Duration: {init_ms or 0:.2f} ms\tPhase: init\tStatus: error"
                f"\tError Type: {outcome.error_type}"
            )
        lines.append(f"START RequestId: {inv.request_id} Version: {spec.version}")
        lines += _lines(run_text)
        if status == "timeout":
            stamp = datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"
            lines.append(f"{stamp} {inv.request_id} Task timed out after {spec.timeout:.2f} seconds")
        elif status == "error" and outcome.error_type == "Runtime.ExitError":
            lines.append(json.loads(outcome.body)["errorMessage"])
            lines.append("Runtime.ExitError")
        lines.append(f"END RequestId: {inv.request_id}")
        report = (
            f"REPORT RequestId: {inv.request_id}\tDuration: {duration:.2f} ms"
            f"\tBilled Duration: {max(math.ceil(duration), 1)} ms"
            f"\tMemory Size: {spec.memory} MB\tMax Memory Used: {math.ceil((max_memory or 0) / 1024 / 1024)} MB"
        )
        if init_ms is not None:
            report += f"\tInit Duration: {init_ms:.2f} ms"
        if status is not None:
            report += f"\tStatus: {status}"
            if outcome.error_type and status == "error":
                report += f"\tError Type: {outcome.error_type}"
        lines.append(report)
        self.last_used = time.monotonic()
        tail = None
        if log_tail:
            tail = ("\n".join(lines) + "\n").encode()[-LOG_TAIL_BYTES:].decode("utf-8", "ignore")
        return InvokeResult(
            payload=outcome.body,
            function_error=None if outcome.kind == "response" else "Unhandled",
            request_id=inv.request_id,
            duration_ms=duration,
            init_duration_ms=init_ms,
            logs=tuple(lines),
            log_tail=tail,
            log_stream_name=self.log_stream_name,
            executed_version=spec.version,
            environment_id=self.id,
        )

    def _run(self, inv: Invocation, t0: float, *, cold: bool) -> tuple[Outcome, str | None]:
        """Submit and wait. Returns the outcome and, when the environment must end, a REPORT status.

        Raises :class:`EnvironmentLost` when a warm runtime exited before it took the invocation (it
        reported an error of its previous one, then exited, as Node's does): AWS would start a fresh
        environment for this invocation, and so does the pool.
        """
        api = self.api
        if self._start_error is not None:
            return Outcome("init_error", self._start_error, "Runtime.InvalidEntrypoint"), "error"
        with api.cond:
            if api.init_outcome is not None:  # a pre-warm's init failed: this invocation gets it
                return api.init_outcome, "error"
            api.submit(inv)
            while inv.outcome is None:
                if self.exit_status is not None:
                    break
                now = time.monotonic()
                # Not dispatched yet: the init phase (cold), or the runtime not back at `next` yet.
                limit = t0 + INIT_TIMEOUT if inv.dispatched_at is None else inv.dispatched_at + inv.timeout
                if now >= limit:
                    api.abandon(inv)
                    doc = {
                        "errorType": "Sandbox.Timedout",
                        "errorMessage": f"RequestId: {inv.request_id} Error: Task timed out after"
                        f" {inv.timeout:.2f} seconds",
                    }
                    return Outcome("error", json.dumps(doc).encode(), "Sandbox.Timedout"), "timeout"
                api.cond.wait(limit - now)
            if inv.outcome is not None:
                if inv.outcome.kind == "init_error":
                    return inv.outcome, "error"
                return inv.outcome, None
            api.abandon(inv)
            if inv.dispatched_at is None and not cold:
                raise EnvironmentLost(self.id)
        code = self.exit_status if self.exit_status is not None else -signal.SIGKILL
        if code < 0:
            try:
                how = f"signal: {_SIGNALS.get(signal.Signals(-code), signal.Signals(-code).name)}"
            except ValueError:
                how = f"signal: {-code}"
        else:
            how = f"exit status {code}"
        doc = {
            "errorType": "Runtime.ExitError",
            "errorMessage": f"RequestId: {inv.request_id} Error: Runtime exited with error: {how}",
        }
        return Outcome("error", json.dumps(doc).encode(), "Runtime.ExitError"), "error"

    # -- the process -------------------------------------------------------------------------------

    def signal_kill(self) -> None:
        """Send SIGKILL to the process group without waiting (:meth:`kill` then reaps it)."""
        self._killed = True
        proc = self.proc
        if proc is not None and proc.poll() is None:
            try:
                os.killpg(proc.pid, signal.SIGKILL)
            except (ProcessLookupError, PermissionError):
                proc.kill()

    def kill(self) -> None:
        """End the process group and the Runtime API server. Idempotent; waits at most a few seconds."""
        self.signal_kill()
        proc = self.proc
        if proc is not None:
            with contextlib.suppress(subprocess.TimeoutExpired):
                proc.wait(timeout=5)
            if self._reader is not threading.current_thread():
                self._reader.join(timeout=2)
            if proc.stdout is not None:
                proc.stdout.close()
        self.api.close()

    def _watch(self) -> None:
        assert self.proc is not None
        code = self.proc.wait()
        with self.api.cond:
            self.exit_status = code
            self.api.cond.notify_all()

    def _read_loop(self) -> None:
        while True:
            try:
                readable, _, _ = select.select([self._fd], [], [], 0.5)
            except (OSError, ValueError):
                return
            if readable and not self._drain():
                return
            if self.exit_status is not None and not readable:
                self._drain()
                return

    def _drain(self) -> bool:
        """Move what the pipe holds into the buffer. False at end of file."""
        with self._out_lock:
            while True:
                try:
                    chunk = os.read(self._fd, 65536)
                except BlockingIOError:
                    return True
                except OSError:
                    return False
                if not chunk:
                    return False
                self._out += chunk

    def _take_output(self) -> bytes:
        if self.proc is not None and self.proc.stdout is not None and not self.proc.stdout.closed:
            self._drain()
        with self._out_lock:
            data = bytes(self._out)
            self._out.clear()
            return data

    def _mark_dispatch(self, inv: Invocation) -> None:
        """Called as ``next`` hands an invocation over: what was printed until now is the init output."""
        if self.proc is not None and self.proc.stdout is not None and not self.proc.stdout.closed:
            self._drain()
        with self._out_lock:
            self._dispatch_mark = len(self._out)


def _lines(data: bytes) -> list[str]:
    return data.decode("utf-8", "replace").splitlines()


def _proc_status_kb(pid: int | None, key: str) -> int | None:
    """A ``/proc/<pid>/status`` field in bytes (Linux; None when unknown)."""
    if pid is None:
        return None
    try:
        with open(f"/proc/{pid}/status", encoding="ascii", errors="replace") as status:
            for line in status:
                if line.startswith(key + ":"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        return None
    return None
