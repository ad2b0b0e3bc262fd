"""Listener figures on the embedded moto server, printed as a markdown table.

Run: ``/work/venv/bin/python benchmarks/bench_listener.py`` (about 10 minutes; most of it is moto's PutEvents). Figures:

* put → ``expect_event`` latency, median and p90 over 50: (a) the wait is already long-polling and a
  background thread puts; the time is from just before ``put_events`` to the return of
  ``expect_event``. (b) put, then ``expect_event``, in one thread (the event is already queued).
* AWS calls per poll (counted with botocore ``before-call`` hooks): empty, and with events.
* time to create and close a listener (median over 20), rule copy, no canary (the embedded backend
  delivers synchronously); also with the canary forced on, for reference.
* memory after 10,000 events through one listener (put with put_events in batches of 10, each batch
  polled at once): what the listener holds, measured with tracemalloc as the traced memory with the
  (closed) listener alive minus the traced memory once it is dropped, for the default buffer (1000);
  and, for comparison, 2,000 events with a buffer that keeps them all. The traced memory of the whole
  process (moto included) every 2,000 events shows whether it stays flat.
"""

from __future__ import annotations

import gc
import json
import statistics
import sys
import threading
import time
import tracemalloc
from typing import Any

from iatk._aws import aws
from iatk.embedded import EmbeddedBackend
from iatk.events import put_events
from iatk.listener import Listener
from iatk.matchers import match

SOURCE = "bench.shop"


def p90(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[max(0, round(0.9 * len(ordered)) - 1)]


def ms(value: float) -> str:
    return f"{value * 1000:.1f} ms"


def setup(session: Any) -> str:
    events = session.client("events")
    events.create_event_bus(Name="bench")
    events.put_rule(
        Name="Placed", EventBusName="bench", EventPattern=json.dumps({"source": [SOURCE], "detail-type": ["Placed"]})
    )
    return "bench"


def latency_background(session: Any, bus: str, runs: int = 50) -> list[float]:
    results = []
    with Listener(bus, rule="Placed", session=session) as listener:
        for n in range(runs):
            put_at: list[float] = []

            def put(n: int = n, put_at: list[float] = put_at) -> None:
                time.sleep(0.02)  # let the main thread enter its long poll
                put_at.append(time.perf_counter())
                put_events({"Source": SOURCE, "DetailType": "Placed", "Detail": {"n": n}}, bus=bus, session=session)

            thread = threading.Thread(target=put)
            thread.start()
            listener.expect_event(match(detail={"n": n}), within=10)
            returned = time.perf_counter()
            thread.join()
            results.append(returned - put_at[0])
    return results


def latency_sequential(session: Any, bus: str, runs: int = 50) -> list[float]:
    results = []
    with Listener(bus, rule="Placed", session=session) as listener:
        for n in range(runs):
            start = time.perf_counter()
            put_events({"Source": SOURCE, "DetailType": "Placed", "Detail": {"n": n}}, bus=bus, session=session)
            listener.expect_event(match(detail={"n": n}), within=10)
            results.append(time.perf_counter() - start)
    return results


def calls_per_poll(session: Any, bus: str) -> dict[str, list[str]]:
    seen: list[str] = []

    def record(model: Any, **_: Any) -> None:
        seen.append(model.name)

    client = aws(session).sqs
    client.meta.events.register("before-call.sqs", record)
    out: dict[str, list[str]] = {}
    try:
        with Listener(bus, rule="Placed", session=session) as listener:
            seen.clear()
            listener.poll()
            out["poll, queue empty"] = list(seen)
            put_events(
                *({"Source": SOURCE, "DetailType": "Placed", "Detail": {"n": n}} for n in range(3)),
                bus=bus,
                session=session,
            )
            seen.clear()
            listener.poll(wait=1)
            out["poll, 3 events queued"] = list(seen)
            put_events({"Source": SOURCE, "DetailType": "Placed", "Detail": {"n": 9}}, bus=bus, session=session)
            seen.clear()
            listener.expect_event(match(detail={"n": 9}), within=5)
            out["expect_event, event queued"] = list(seen)
            seen.clear()
            listener.expect_event(match(detail={"n": 1}), within=0)  # received by the 3-event poll
            out["expect_event, event already in the buffer"] = list(seen)
    finally:
        client.meta.events.unregister("before-call.sqs", record)
    return out


def create_close(session: Any, bus: str, runs: int = 20, readiness: str = "auto") -> tuple[list[float], list[float]]:
    creates, closes = [], []
    for _ in range(runs):
        start = time.perf_counter()
        listener = Listener(bus, rule="Placed", readiness=readiness, session=session).start()  # type: ignore[arg-type]
        made = time.perf_counter()
        listener.close()
        creates.append(made - start)
        closes.append(time.perf_counter() - made)
    return creates, closes


def memory(session: Any, bus: str, total: int = 10_000, buffer: int | None = None) -> dict[str, Any]:
    """Put ``total`` events in batches of 10, polling after each batch; measure what the listener keeps.

    Polling after each batch keeps the queue shallow: moto's ReceiveMessage gets slow with a deep queue
    (0.4 s per call at 400 messages), which would measure moto, not iatk.
    """
    gc.collect()
    tracemalloc.start(1)
    listener = Listener(bus, rule="Placed", buffer=buffer, session=session).start()
    checkpoints: dict[int, float] = {}
    started = time.perf_counter()
    received = 0
    for base in range(0, total, 10):
        put_events(
            *(
                {"Source": SOURCE, "DetailType": "Placed", "Detail": {"n": n, "sku": f"SKU-{n:06d}", "qty": n % 7}}
                for n in range(base, base + 10)
            ),
            bus=bus,
            session=session,
        )
        while True:
            got = listener.poll(wait=0)
            received += len(got)
            if len(got) < 10:
                break
        if (base + 10) % 2000 == 0:
            checkpoints[base + 10] = tracemalloc.get_traced_memory()[0]
    elapsed = time.perf_counter() - started
    listener.close()  # frees moto's queue; the listener's buffer stays
    gc.collect()
    with_listener, peak = tracemalloc.get_traced_memory()
    kept, dropped, polls = len(listener.events), listener.dropped, listener.polls
    del listener
    gc.collect()
    without, _ = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return {
        "buffer": kept,
        "received": received,
        "dropped": dropped,
        "retained": with_listener - without,
        "peak_all": peak,
        "checkpoints": checkpoints,
        "polls": polls,
        "time": elapsed,
    }


def main() -> int:
    with EmbeddedBackend() as backend:
        session = backend.session()
        bus = setup(session)
        # Warm-up: the first client calls load botocore models.
        create_close(session, bus, runs=2)
        background = latency_background(session, bus)
        sequential = latency_sequential(session, bus)
        calls = calls_per_poll(session, bus)
        creates, closes = create_close(session, bus)
        canary_creates, _ = create_close(session, bus, runs=10, readiness="canary")
        small = memory(session, bus)
        large = memory(session, bus, total=2_000, buffer=2_000)

    def row(*cells: object) -> None:
        print("| " + " | ".join(str(cell) for cell in cells) + " |")

    print(f"## Listener figures (embedded moto server, Python {sys.version.split()[0]})\n")
    row("figure", "median", "p90")
    row("---", "---", "---")
    for what, values in (
        ("put → expect_event, wait already polling (n=50)", background),
        ("put then expect_event, one thread (n=50)", sequential),
        ("create listener (copy rule, n=20)", creates),
        ("close listener (n=20)", closes),
        ("create listener with canary forced on (n=10)", canary_creates),
    ):
        row(what, ms(statistics.median(values)), ms(p90(values)))
    print()
    row("AWS calls", "SQS operations")
    row("---", "---")
    for what, ops in calls.items():
        row(what, f"{len(ops)}: {', '.join(ops) or '-'}")
    print()
    row("events through one listener", "10,000, buffer 1000 (default)", "2,000, buffer 2,000")
    row("---", "---", "---")
    both = (small, large)
    row("events received", *(m["received"] for m in both))
    row("events in buffer / dropped", *(f"{m['buffer']} / {m['dropped']}" for m in both))
    row("held by the listener (freed when it is dropped)", *(f"{m['retained'] / 1e6:.2f} MB" for m in both))
    row("per event kept", *(f"{m['retained'] / max(m['buffer'], 1) / 1e3:.2f} kB" for m in both))
    row("tracemalloc peak (whole process, moto too)", *(f"{m['peak_all'] / 1e6:.1f} MB" for m in both))
    row(
        "traced memory after 2k/4k/6k/8k/10k events (whole process)",
        *(" / ".join(f"{v / 1e6:.1f}" for v in m["checkpoints"].values()) + " MB" for m in both),
    )
    row("ReceiveMessage calls", *(m["polls"] for m in both))
    row("time (put 10 + poll, tracemalloc on)", *(f"{m['time']:.0f} s" for m in both))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
