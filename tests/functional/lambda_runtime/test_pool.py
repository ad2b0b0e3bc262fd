"""The pool: caps and waiting, code changes, pre-warming, reaping, shutdown, unsupported runtimes, SIGKILL."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import pytest
from lambda_helpers import PY, PY_RUNTIME, py_spec, zip_files

from iatk._backend.moto.lambda_ import (
    ConcurrencyLimitExceeded,
    FunctionSpec,
    LambdaRuntimeError,
    RuntimeNotSupported,
)
from lambda_processes import wait_gone


def _parallel(rt, spec, n, payload):
    with ThreadPoolExecutor(n) as pool:
        return list(pool.map(lambda _: rt.invoke(spec, payload), range(n)))


class _Peak:
    """The largest number of live processes seen while running."""

    def __init__(self, rt):
        self.rt, self.peak, self._stop = rt, 0, threading.Event()
        self._thread = threading.Thread(target=self._run)

    def _run(self):
        while not self._stop.is_set():
            self.peak = max(self.peak, len(self.rt.live_processes()))
            time.sleep(0.005)

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join()


def test_parallel_invokes_get_environments_up_to_the_cap(make_runtime):
    rt = make_runtime(per_function_cap=3)
    spec = py_spec("app.sleep", name="par")
    with _Peak(rt) as peak:
        results = _parallel(rt, spec, 8, json.dumps({"seconds": 0.3}))
    assert all(r.function_error is None for r in results)
    environments = {r.environment_id for r in results}
    assert len(environments) == 3
    assert peak.peak <= 3
    assert sum(r.cold for r in results) == 3


def test_reserved_concurrency_is_the_cap(make_runtime):
    rt = make_runtime(per_function_cap=4)
    spec = py_spec("app.sleep", name="reserved", reserved_concurrency=2)
    results = _parallel(rt, spec, 5, json.dumps({"seconds": 0.2}))
    assert len({r.environment_id for r in results}) == 2


def test_reserved_concurrency_zero_throttles(runtime):
    with pytest.raises(ConcurrencyLimitExceeded) as info:
        runtime.invoke(py_spec("app.echo", name="throttled", reserved_concurrency=0))
    assert info.value.code == "TooManyRequestsException"


def test_past_the_cap_a_call_waits_then_fails_at_its_deadline(make_runtime):
    rt = make_runtime(per_function_cap=1, acquire_timeout=0.3)
    spec = py_spec("app.sleep", name="one-at-a-time", timeout=5)
    with ThreadPoolExecutor(1) as pool:
        slow = pool.submit(rt.invoke, spec, json.dumps({"seconds": 1.5}))
        deadline = time.monotonic() + 10
        while not rt.live_processes() and time.monotonic() < deadline:  # the slow call holds the one slot
            time.sleep(0.02)
        started = time.monotonic()
        with pytest.raises(ConcurrencyLimitExceeded) as info:
            rt.invoke(spec, json.dumps({"seconds": 0}))
        assert time.monotonic() - started >= 0.25  # it waited for its acquire_timeout before failing
        assert "one-at-a-time" in str(info.value)
        assert slow.result().function_error is None


def test_global_cap_ends_an_idle_environment_of_another_function(make_runtime):
    rt = make_runtime(global_cap=2)
    a, b, c = (py_spec("app.pid", name=n) for n in "abc")
    pid_a = rt.invoke(a).json()
    rt.invoke(b)
    assert len(rt.live_processes()) == 2
    rt.invoke(c)  # a is the least recently used idle environment: it makes room
    assert len(rt.live_processes()) == 2
    assert wait_gone([pid_a], 2) == set()
    assert rt.invoke(a).cold


def test_code_or_configuration_change_starts_fresh_environments(make_runtime):
    rt = make_runtime()
    v1 = FunctionSpec(
        name="changing",
        runtime=PY_RUNTIME,
        handler="index.handler",
        code=zip_files({"index.py": "def handler(e, c):\n    return 1\n"}),
    )
    v2 = FunctionSpec(
        name="changing",
        runtime=PY_RUNTIME,
        handler="index.handler",
        code=zip_files({"index.py": "def handler(e, c):\n    return 2\n"}),
    )
    first = rt.invoke(v1)
    pid = rt.live_processes()
    assert first.json() == 1
    assert not rt.invoke(v1).cold
    second = rt.invoke(v2)
    assert second.json() == 2
    assert second.cold
    assert second.environment_id != first.environment_id
    assert wait_gone(pid, 2) == set()
    v3 = FunctionSpec(
        name="changing", runtime=PY_RUNTIME, handler="index.handler", code=v2.code, environment={"K": "v"}
    )
    assert rt.invoke(v3).cold  # configuration only
    assert len(rt.live_processes()) == 1
    explicit = FunctionSpec(
        name="changing", runtime=PY_RUNTIME, handler="index.handler", code=v2.code, config_hash="h1"
    )
    assert rt.invoke(explicit).cold
    assert not rt.invoke(explicit).cold


def test_prewarm(make_runtime):
    rt = make_runtime()
    spec = py_spec("app.sleep", name="prewarmed")
    assert rt.prewarm(spec, n=2) == 2
    assert len(rt.live_processes()) == 2
    assert all(env.ready for env in rt.environments(spec))
    results = _parallel(rt, spec, 2, json.dumps({"seconds": 0.2}))
    assert {r.environment_id for r in results} == {env.id for env in rt.environments(spec)}
    assert rt.prewarm(spec, n=2) == 2  # already warm: nothing more started
    assert len(rt.live_processes()) == 2
    broken = FunctionSpec(name="prewarm-broken", runtime=PY_RUNTIME, handler="nowhere.handler", code=PY)
    assert rt.prewarm(broken) == 0
    assert rt.invoke(broken).error_type == "Runtime.ImportModuleError"


def test_idle_environments_are_reaped(make_runtime):
    rt = make_runtime(idle_timeout=0.2)
    rt.invoke(py_spec("app.echo", name="reaped"))
    pids = rt.live_processes()
    assert len(pids) == 1
    assert wait_gone(pids, 3) == set()
    deadline = time.monotonic() + 2
    while rt.live_processes() and time.monotonic() < deadline:
        time.sleep(0.02)
    assert rt.live_processes() == []
    assert rt.invoke(py_spec("app.echo", name="reaped")).cold


def test_reset_and_shutdown(make_runtime):
    rt = make_runtime()
    spec = py_spec("app.sleep", name="ending")
    rt.invoke(spec, b'{"seconds": 0}')
    with ThreadPoolExecutor(1) as pool:
        busy = pool.submit(rt.invoke, spec, json.dumps({"seconds": 5}))
        time.sleep(0.3)
        pids = rt.live_processes()
        rt.reset()
        assert busy.result(timeout=5).error_type == "Runtime.ExitError"
    assert rt.live_processes() == []
    assert wait_gone(pids, 2) == set()
    assert rt.invoke(spec, b'{"seconds": 0}').cold  # still usable after reset
    work = rt._store.root
    rt.shutdown()
    rt.shutdown()  # idempotent
    assert rt.live_processes() == []
    assert not work.exists()
    with pytest.raises(LambdaRuntimeError, match="shut down"):
        rt.invoke(spec)


@pytest.mark.parametrize(
    ("kw", "fragment"),
    [
        ({"runtime": "java21"}, "cannot be run by the embedded backend"),
        ({"runtime": "python2.7"}, "cannot be run by the embedded backend"),
        ({"runtime": "", "package_type": "Image"}, "container image"),
    ],
)
def test_unsupported_runtimes_fail_clearly(runtime, kw, fragment):
    spec = FunctionSpec(name="unsupported", handler="x.y", code=PY, **kw)
    with pytest.raises(RuntimeNotSupported) as info:
        runtime.invoke(spec)
    assert fragment in str(info.value)
    assert runtime.environments(spec) == []  # refused before any process was started
    assert "unsupported" in str(info.value)
    assert info.value.function == "unsupported"


# A runtime that outlives its Runtime API: when `next` fails (the parent is gone) it sleeps on. Only the
# kernel's parent-death signal can end it (iatk's own bootstraps would exit on the broken connection).
_STUBBORN = """#!/usr/bin/env python3
import http.client, os, time
host, port = os.environ["AWS_LAMBDA_RUNTIME_API"].split(":")
try:
    conn = http.client.HTTPConnection(host, int(port))
    conn.request("GET", "/2018-06-01/runtime/invocation/next")
    conn.getresponse().read()
except Exception:
    pass
time.sleep(60)
"""


def test_environments_die_with_a_sigkilled_parent(tmp_path):
    code = tmp_path / "stubborn"
    code.mkdir()
    (code / "bootstrap").write_text(_STUBBORN)
    (code / "bootstrap").chmod(0o755)
    script = tmp_path / "parent.py"
    script.write_text(
        textwrap.dedent(
            f"""
            import sys, time
            from pathlib import Path
            from iatk._backend.moto.lambda_ import FunctionSpec, LambdaRuntime
            rt = LambdaRuntime(use_awslambdaric=False)
            stubborn = FunctionSpec(name="stubborn", runtime="provided.al2023", handler="h", code=Path({str(code)!r}))
            spec = FunctionSpec(name="orphan", runtime="{PY_RUNTIME}", handler="app.echo", code=Path({str(PY)!r}))
            assert rt.prewarm(stubborn) == 1 and rt.prewarm(spec) == 1
            print(" ".join(map(str, rt.live_processes())), flush=True)
            time.sleep(60)
            """
        )
    )
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(p for p in sys.path if p)}
    parent = subprocess.Popen([sys.executable, str(script)], stdout=subprocess.PIPE, env=env, text=True)
    try:
        line = parent.stdout.readline()
        pids = [int(p) for p in line.split()]
        assert len(pids) == 2, line
        assert wait_gone(pids, 0.2) == set(pids)  # alive while the parent lives
    finally:
        parent.send_signal(signal.SIGKILL)
        parent.wait(5)
    assert wait_gone(pids, 5) == set()
