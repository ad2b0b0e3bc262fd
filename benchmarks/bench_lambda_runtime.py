"""Benchmark: the Docker-less Lambda runtime (iatk._backend.moto.lambda_) without moto.

Run: python benchmarks/bench_lambda_runtime.py [N]  (prints markdown tables)

For an echo handler and a handler that imports boto3 and builds a client at init (each in Python
and, where ``node`` is on PATH, the echo in Node.js): cold invoke (a fresh environment each time:
the code changes, so the runtime starts a new one), warm invoke (the same environment), beside the
same Python handler called in-process (the floor: no process, no HTTP). Then the resident memory of
one idle environment of each. Medians and p90 in ms; the machine's noise applies (2 shared cores).
"""

from __future__ import annotations

import contextlib
import importlib.util
import io
import json
import shutil
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from iatk._backend.moto.lambda_ import FunctionSpec, LambdaRuntime

DATA = Path(__file__).resolve().parents[1] / "tests" / "data" / "lambda"
N = int(sys.argv[1]) if len(sys.argv) > 1 else 30
N_COLD = max(N // 3, 5)
PY_RUNTIME = f"python{sys.version_info.major}.{sys.version_info.minor}"


def _stats(samples: list[float]) -> str:
    ordered = sorted(samples)
    p90 = ordered[max(0, int(len(ordered) * 0.9) - 1)]
    return f"{statistics.median(ordered):.3f} | {p90:.3f}"


def _time(fn: Callable[[], Any], n: int) -> list[float]:
    out = []
    for _ in range(n):
        start = time.perf_counter()
        fn()
        out.append((time.perf_counter() - start) * 1000)
    return out


def _in_process(module_path: Path, func: str) -> Callable[[], Any]:
    spec = importlib.util.spec_from_file_location(f"bench_{module_path.stem}", module_path)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    with contextlib.redirect_stdout(io.StringIO()):  # the module's own init output
        spec.loader.exec_module(module)
    handler = getattr(module, func)

    class Context:
        aws_request_id = "bench"

        def get_remaining_time_in_millis(self) -> int:
            return 3000

    # The floor does what the runtime does around the handler: decode the event, encode the answer.
    return lambda: json.dumps(handler(json.loads(b'{"bench": 1}'), Context())).encode()


def main() -> None:
    rt = LambdaRuntime(use_awslambdaric=False, idle_timeout=600)
    cases: list[tuple[str, str, Path, str, Callable[[], Any] | None]] = [
        ("echo (Python)", PY_RUNTIME, DATA / "python", "app.echo", _in_process(DATA / "python" / "app.py", "echo")),
        (
            "boto3 (Python)",
            PY_RUNTIME,
            DATA / "python",
            "boto3_handler.handler",
            _in_process(DATA / "python" / "boto3_handler.py", "handler"),
        ),
    ]
    if shutil.which("node"):
        cases.append(("echo (Node.js)", "nodejs20.x", DATA / "node" / "esm", "index.handler", None))
    rows = []
    memory = []
    try:
        for label, runtime, code, handler, floor in cases:
            spec = FunctionSpec(name=label.split()[0], runtime=runtime, handler=handler, code=code)
            rt.invoke(spec, b'{"bench": 1}')
            warm = _time(lambda spec=spec: rt.invoke(spec, b'{"bench": 1}'), N)
            colds = []
            for i in range(N_COLD):
                # A new configuration each time: a fresh environment, with the code already on disk.
                fresh = FunctionSpec(
                    name=spec.name, runtime=runtime, handler=handler, code=code, environment={"BENCH_COLD": str(i)}
                )
                colds += _time(lambda fresh=fresh: rt.invoke(fresh, b'{"bench": 1}'), 1)
            rows.append((f"{label} cold invoke", _stats(colds)))
            rows.append((f"{label} warm invoke", _stats(warm)))
            if floor is not None:
                floor()
                rows.append((f"{label} in-process call (floor)", _stats(_time(floor, N * 10))))
            idle = FunctionSpec(name=f"{spec.name}-idle", runtime=runtime, handler=handler, code=code)
            rt.prewarm(idle)
            time.sleep(0.2)
            envs = rt.environments(idle)
            rss = envs[0].rss_bytes() if envs else None
            memory.append((label, f"{rss / 2**20:.1f}" if rss else "n/a"))
    finally:
        rt.shutdown()
    print(f"## Lambda runtime (n={N} warm, {N_COLD} cold; Python {sys.version.split()[0]})\n")
    print("| case | median ms | p90 ms |")
    print("|---|---:|---:|")
    for label, stats in rows:
        print(f"| {label} | {stats} |")
    print("\n| idle environment | RSS MB |")
    print("|---|---:|")
    for label, rss in memory:
        print(f"| {label} | {rss} |")


if __name__ == "__main__":
    main()
