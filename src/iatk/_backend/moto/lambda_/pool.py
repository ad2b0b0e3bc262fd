"""The runtime: warm execution environments per function, within caps, with idle reaping.

:class:`LambdaRuntime` is the object the embedded backend owns (one per moto server). ``invoke`` takes
an idle environment of the function (warm) or starts one (cold) when the function has fewer than its
cap: its ``reserved_concurrency`` if set, else ``per_function_cap``; and the runtime fewer than
``global_cap`` in all (an idle environment of another function is ended to make room). A call past
the caps waits for a free environment until ``acquire_timeout``, then raises
:class:`~.spec.ConcurrencyLimitExceeded` (a reserved concurrency of 0 raises at once: AWS throttles).
A new ``effective_hash`` (code or configuration changed) ends the function's idle environments and
retires the busy ones as they finish. Idle environments are ended after ``idle_timeout``.
"""

from __future__ import annotations

import atexit
import importlib.util
import shutil
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

from iatk.exceptions import ConfigError

from .code import CodeStore
from .environment import INIT_TIMEOUT, EnvironmentLost, EnvironmentOptions, ExecutionEnvironment
from .runtimes import LaunchOptions, LaunchPlan, plan_launch
from .spec import ConcurrencyLimitExceeded, FunctionSpec, InvokeResult, LambdaRuntimeError

__all__ = ["LambdaRuntime", "awslambdaric_dir"]


def awslambdaric_dir() -> str | None:
    """The directory AWS's ``awslambdaric`` is importable from in this interpreter (None: not installed)."""
    try:
        spec = importlib.util.find_spec("awslambdaric")
    except (ImportError, ValueError):
        return None
    if spec is None or not spec.origin:
        return None
    return str(Path(spec.origin).resolve().parent.parent)


def _site_dirs() -> tuple[str, ...]:
    import site

    dirs = list(site.getsitepackages())
    if site.ENABLE_USER_SITE and site.getusersitepackages():
        dirs.append(site.getusersitepackages())
    return tuple(d for d in dict.fromkeys(dirs) if Path(d).is_dir())


@dataclass
class _Pool:
    """One function's environments (all versions of its configuration)."""

    config_hash: str
    idle: list[ExecutionEnvironment] = field(default_factory=list)
    busy: set[ExecutionEnvironment] = field(default_factory=set)
    starting: int = 0

    @property
    def live(self) -> int:
        return len(self.idle) + len(self.busy) + self.starting


class LambdaRuntime:
    """Runs Lambda functions in warm local subprocesses (no Docker).

    Args:
        endpoint_url: ``AWS_ENDPOINT_URL`` for the handlers (the embedded server).
        xray_daemon_address: ``AWS_XRAY_DAEMON_ADDRESS`` for the handlers (``host:port`` of the relay).
        otlp_traces_endpoint: ``OTEL_EXPORTER_OTLP_TRACES_ENDPOINT`` for the handlers (the OTLP receiver).
        strict: Leave the test's virtualenv out of Python handlers' ``sys.path`` (they keep their code,
            their layers, and the packages AWS's runtime provides: boto3 and its dependencies).
        per_function_cap: Environments per function when it has no reserved concurrency.
        global_cap: Environments in all.
        idle_timeout: Seconds an environment stays warm unused.
        acquire_timeout: Longest wait for a free environment past the caps.
        use_awslambdaric: Run Python functions on AWS's ``awslambdaric``: None uses it when importable
            (never under strict mode), True requires it, False never.
        node: The ``node`` executable (default: ``node`` on the test process's PATH).
        python: The interpreter for Python functions (default: this one).
        work_dir: Where to extract code (default: a temporary directory removed at shutdown).
    """

    def __init__(
        self,
        *,
        endpoint_url: str | None = None,
        xray_daemon_address: str | None = None,
        otlp_traces_endpoint: str | None = None,
        strict: bool = False,
        per_function_cap: int = 4,
        global_cap: int = 32,
        idle_timeout: float = 300.0,
        acquire_timeout: float = 30.0,
        use_awslambdaric: bool | None = None,
        node: str | None = None,
        python: str | None = None,
        work_dir: Path | None = None,
    ) -> None:
        if per_function_cap < 1 or global_cap < 1:
            raise ConfigError(
                f"the caps must be at least 1 (per_function_cap={per_function_cap}, global_cap={global_cap})"
            )
        ric = awslambdaric_dir() if use_awslambdaric is not False else None
        if use_awslambdaric and ric is None:
            raise ConfigError("use_awslambdaric=True but awslambdaric is not importable: pip install awslambdaric")
        if use_awslambdaric and strict:
            raise ConfigError(
                "use_awslambdaric=True and strict=True: strict mode hides the virtualenv awslambdaric is in"
            )
        self.strict = strict
        self.per_function_cap = per_function_cap
        self.global_cap = global_cap
        self.idle_timeout = idle_timeout
        self.acquire_timeout = acquire_timeout
        self.uses_awslambdaric = ric is not None and not strict
        self._store = CodeStore(work_dir)
        home = Path(tempfile.mkdtemp(prefix="home-", dir=self._store.root))
        self._launch = LaunchOptions(
            python=python or sys.executable,
            node=node if node is not None else shutil.which("node"),
            strict=strict,
            ric_dir=ric,
            sites=() if strict else _site_dirs(),
        )
        self._env_options = EnvironmentOptions(
            endpoint_url, xray_daemon_address, str(home), otlp_traces_endpoint=otlp_traces_endpoint
        )
        self._cond = threading.Condition()
        self._pools: dict[str, _Pool] = {}
        self._plans: dict[str, LaunchPlan] = {}
        self._all: set[ExecutionEnvironment] = set()
        self._closed = False
        self._reaper: threading.Thread | None = None
        atexit.register(self.shutdown)

    # -- the API part 2 calls ----------------------------------------------------------------------

    def invoke(
        self,
        spec: FunctionSpec,
        payload: bytes | str = b"{}",
        *,
        trace_id: str | None = None,
        client_context: str | None = None,
        log_tail: bool = False,
        cognito_identity: str | None = None,
        invoked_arn: str | None = None,
    ) -> InvokeResult:
        """Run one synchronous invocation (``RequestResponse``); it blocks until the function answers.

        Args:
            spec: The function.
            payload: The event (JSON text).
            trace_id: The X-Ray trace header (``Root=...;Parent=...;Sampled=...``); a new one when None.
            client_context: The client context as JSON text (the Invoke API's base64 value, decoded).
            log_tail: Fill ``log_tail`` (``LogType=Tail``).
            cognito_identity: The Cognito identity as JSON text.
            invoked_arn: The ARN the caller used (a qualified or alias ARN); the spec's ARN when None.

        Raises:
            RuntimeNotSupported: the function's runtime cannot be served here.
            ConcurrencyLimitExceeded: no environment became free within ``acquire_timeout``.
            LambdaRuntimeError: the runtime is shut down.
        """
        data = payload.encode() if isinstance(payload, str) else bytes(payload)
        plan = self._plan(spec)
        while True:
            env = self._acquire(spec, plan)
            try:
                return env.invoke(
                    data,
                    trace_id=trace_id,
                    client_context=client_context,
                    cognito_identity=cognito_identity,
                    invoked_arn=invoked_arn,
                    log_tail=log_tail,
                )
            except EnvironmentLost:
                continue  # a warm process died between invocations: the next one is cold, as on AWS
            finally:
                self._release(spec, env)

    def prewarm(self, spec: FunctionSpec, n: int = 1) -> int:
        """Start environments until ``n`` are warm and idle (within the caps); returns how many are.

        Environments whose init fails are ended (the next invoke starts cold and reports the error).
        """
        plan = self._plan(spec)
        with self._cond:
            self._check_open()
            pool, stale = self._pool_for(spec)
            cap = self._cap(spec)
            want = 0
            while len(pool.idle) + want < n and pool.live < cap and self._total() < self.global_cap:
                pool.starting += 1
                want += 1
        self._kill_all(stale)
        started = []
        try:
            for _ in range(want):
                started.append(ExecutionEnvironment(spec, plan, self._env_options))
        finally:
            with self._cond:
                pool.starting -= want
                self._all.update(started)
                pool.busy.update(started)
        for env in started:
            env.wait_ready(INIT_TIMEOUT)
        for env in started:
            self._release(spec, env)
        with self._cond:
            return sum(1 for env in pool.idle if env.alive)

    def reset(self) -> None:
        """End every environment (busy ones too: their invocations end with ``Runtime.ExitError``)."""
        with self._cond:
            envs = list(self._all)
            for pool in self._pools.values():
                pool.idle.clear()
            self._pools.clear()
            self._cond.notify_all()
        self._kill_all(envs)

    def shutdown(self) -> None:
        """End every environment and server and remove the extracted code. Idempotent; also run at exit."""
        with self._cond:
            if self._closed:
                return
            self._closed = True
            self._cond.notify_all()
        self.reset()
        if self._reaper is not None and self._reaper is not threading.current_thread():
            self._reaper.join(timeout=5)
        self._store.close()
        atexit.unregister(self.shutdown)

    def live_processes(self) -> list[int]:
        """The pids of this runtime's environment processes that are still running."""
        with self._cond:
            envs = list(self._all)
        return sorted(
            env.pid for env in envs if env.pid is not None and env.proc is not None and env.proc.poll() is None
        )

    def environments(self, spec: FunctionSpec | None = None) -> list[ExecutionEnvironment]:
        """The environments not yet ended (of one function when ``spec`` is given)."""
        with self._cond:
            pools = [self._pools.get(spec.key)] if spec is not None else list(self._pools.values())
            return [env for pool in pools if pool is not None for env in (*pool.idle, *pool.busy)]

    def __enter__(self) -> LambdaRuntime:
        return self

    def __exit__(self, *exc: object) -> None:
        self.shutdown()

    # -- internals ---------------------------------------------------------------------------------

    def _plan(self, spec: FunctionSpec) -> LaunchPlan:
        self._check_open()
        key = spec.effective_hash
        plan = self._plans.get(key)
        if plan is None:
            plan = plan_launch(spec, self._store, self._launch)
            self._plans[key] = plan
        return plan

    def _is_closed(self) -> bool:
        return self._closed

    def _check_open(self) -> None:
        if self._closed:
            raise LambdaRuntimeError("the embedded Lambda runtime is shut down")

    def _cap(self, spec: FunctionSpec) -> int:
        cap = spec.reserved_concurrency if spec.reserved_concurrency is not None else self.per_function_cap
        return min(cap, self.global_cap)

    def _total(self) -> int:
        return sum(pool.live for pool in self._pools.values())

    def _pool_for(self, spec: FunctionSpec) -> tuple[_Pool, list[ExecutionEnvironment]]:
        """The function's pool, switched to the spec's hash (returns the idle environments to end)."""
        pool = self._pools.get(spec.key)
        if pool is None:
            pool = self._pools[spec.key] = _Pool(spec.effective_hash)
            return pool, []
        if pool.config_hash == spec.effective_hash:
            return pool, []
        stale, pool.idle = pool.idle, []
        pool.config_hash = spec.effective_hash
        return pool, stale

    def _acquire(self, spec: FunctionSpec, plan: LaunchPlan) -> ExecutionEnvironment:
        cap = self._cap(spec)
        if cap <= 0:
            raise ConcurrencyLimitExceeded(
                f"function {spec.name!r} has a reserved concurrency of 0: every invocation is throttled",
                function=spec.name,
                limit=0,
            )
        deadline = time.monotonic() + self.acquire_timeout
        to_kill: list[ExecutionEnvironment] = []
        try:
            with self._cond:
                while True:
                    self._check_open()
                    pool, stale = self._pool_for(spec)
                    to_kill += stale
                    while pool.idle:
                        env = pool.idle.pop()
                        if env.alive:
                            pool.busy.add(env)
                            return env
                        to_kill.append(env)
                    if pool.live < cap:
                        if self._total() < self.global_cap:
                            pool.starting += 1
                            break
                        victim = self._oldest_idle()
                        if victim is not None:
                            to_kill.append(victim)
                            continue
                    left = deadline - time.monotonic()
                    if left <= 0:
                        raise ConcurrencyLimitExceeded(
                            f"function {spec.name!r}: no execution environment became free within"
                            f" {self.acquire_timeout:g} s ({pool.live} of its cap of {cap} busy;"
                            f" {self._total()} of the global cap of {self.global_cap})",
                            function=spec.name,
                            limit=cap,
                        )
                    self._cond.wait(left)
        finally:
            self._kill_all(to_kill)
        try:
            env = ExecutionEnvironment(spec, plan, self._env_options)
        except BaseException:
            with self._cond:
                pool.starting -= 1
                self._cond.notify_all()
            raise
        with self._cond:
            pool.starting -= 1
            pool.busy.add(env)
            self._all.add(env)
            self._start_reaper()
        return env

    def _oldest_idle(self) -> ExecutionEnvironment | None:
        """Remove and return the least recently used idle environment of any function."""
        best: tuple[float, _Pool, ExecutionEnvironment] | None = None
        for pool in self._pools.values():
            for env in pool.idle:
                if best is None or env.last_used < best[0]:
                    best = (env.last_used, pool, env)
        if best is None:
            return None
        best[1].idle.remove(best[2])
        return best[2]

    def _release(self, spec: FunctionSpec, env: ExecutionEnvironment) -> None:
        with self._cond:
            pool = self._pools.get(spec.key)
            keep = (
                not self._closed
                and pool is not None
                and env in pool.busy
                and env.alive
                and env.config_hash == pool.config_hash
            )
            if pool is not None:
                pool.busy.discard(env)
                if keep:
                    pool.idle.append(env)
            self._cond.notify_all()
        if not keep:
            self._kill_all([env])

    def _kill_all(self, envs: list[ExecutionEnvironment]) -> None:
        for env in envs:  # signal them all first: they die in parallel
            env.signal_kill()
        for env in envs:
            env.kill()
        if envs:
            with self._cond:
                self._all.difference_update(envs)
                self._cond.notify_all()

    def _start_reaper(self) -> None:
        if self._reaper is None:
            self._reaper = threading.Thread(target=self._reap_loop, name="iatk-lambda-reaper", daemon=True)
            self._reaper.start()

    def _reap_loop(self) -> None:
        period = max(min(self.idle_timeout / 4, 5.0), 0.05)
        while True:
            with self._cond:
                if self._closed:
                    return
                self._cond.wait(period)
                if self._is_closed():  # a call: mypy would keep the narrowing from before the wait
                    return
                now = time.monotonic()
                expired: list[ExecutionEnvironment] = []
                for pool in self._pools.values():
                    for env in list(pool.idle):
                        if not env.alive or now - env.last_used >= self.idle_timeout:
                            pool.idle.remove(env)
                            expired.append(env)
            self._kill_all(expired)
