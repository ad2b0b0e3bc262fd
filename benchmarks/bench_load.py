"""Throughput and memory under load on one embedded moto server, printed as markdown tables.

Run: ``/work/venv/bin/python benchmarks/bench_load.py`` (a few minutes; ``--events N`` for more or
fewer events per row, ``--quick`` for a smaller grid). Run it on a quiet machine: the figures are
CPU-bound, and another process on the same cores halves them.

* **Throughput**: ``L`` listeners (each a :class:`~iatk.listener.Listener` with its own rule and
  queue, polled by its own thread) on one bus that also holds ``R`` other rules (each with an SQS
  target, none matching); one thread puts ``N`` events with ``put_events`` in batches of 10. The
  figure is events/s delivered: ``N`` over the time from the first put until every listener holds
  every event. Each listener counts what it received: *lost* (put, never received within the
  deadline) and *duplicated* (a message received twice, counted from the raw ReceiveMessage
  answers, before the listener's own deduplication).
* **Floor**: the same rules, queues and consumer threads (plain boto3: ReceiveMessage,
  DeleteMessageBatch) against a bare ``moto_server`` started in another process, without any of
  iatk's fix-ups: what moto itself delivers.
* **Memory**: one listener, ``--memory-events`` events (default 10,000) in batches of 10, each batch
  polled at once; the traced heap (``tracemalloc``, the whole process, the in-process server
  included) and the RSS every 1,000 events.
"""

from __future__ import annotations

import argparse
import gc
import itertools
import json
import os
import socket
import statistics
import subprocess
import sys
import threading
import time
import tracemalloc
import urllib.request
from collections import Counter
from typing import Any

import boto3

from iatk.embedded import EmbeddedBackend
from iatk.events import put_events
from iatk.listener import Listener

SOURCE = "bench.load"
DEADLINE = 600.0  # seconds a row may take before what is missing counts as lost


def rss_mb() -> float:
    with open("/proc/self/statm") as handle:
        pages = int(handle.read().split()[1])
    return pages * os.sysconf("SC_PAGE_SIZE") / 1e6


def other_rules(client: Any, bus: str, count: int, queue_arn: str) -> None:
    """``count`` rules that match nothing the benchmark puts, each with an SQS target."""
    for n in range(count):
        name = f"other-{n}"
        pattern = {"source": [f"other.{n}"], "detail": {"kind": [{"prefix": f"k{n}"}]}}
        client.put_rule(Name=name, EventBusName=bus, EventPattern=json.dumps(pattern))
        client.put_targets(Rule=name, EventBusName=bus, Targets=[{"Id": "q", "Arn": queue_arn}])


def batches(total: int, run: str) -> list[list[dict[str, Any]]]:
    return [
        [
            {"Source": SOURCE, "DetailType": "Load", "Detail": {"run": run, "n": n, "sku": f"SKU-{n:06d}"}}
            for n in range(base, min(base + 10, total))
        ]
        for base in range(0, total, 10)
    ]


def iatk_row(session: Any, listeners: int, rules: int, total: int) -> dict[str, Any]:
    """L Listeners on a fresh bus with R other rules; one putter; events/s, lost, duplicated."""
    events = session.client("events")
    sqs = session.client("sqs")
    bus = f"load-{listeners}-{rules}-{time.monotonic_ns()}"
    events.create_event_bus(Name=bus)
    sink = sqs.create_queue(QueueName=f"{bus}-sink")["QueueUrl"]
    sink_arn = sqs.get_queue_attributes(QueueUrl=sink, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    other_rules(events, bus, rules, sink_arn)
    run = bus
    opened = [
        Listener(bus, pattern={"source": [SOURCE], "detail": {"run": [run]}}, session=session).start()
        for _ in range(listeners)
    ]
    raw: list[Counter[str]] = [Counter() for _ in opened]
    got: list[set[str]] = [set() for _ in opened]
    by_queue = {listener.queue_url: index for index, listener in enumerate(opened)}
    client = opened[0]._inbox.sqs  # type: ignore[union-attr]  # the session's one SQS client: count raw answers

    def note(params: Any, context: Any, **_: Any) -> None:
        context["bench_queue"] = params.get("QueueUrl")

    def count(parsed: Any, context: Any, **_: Any) -> None:
        index = by_queue.get(context.get("bench_queue"))
        for message in parsed.get("Messages") or [] if index is not None else []:
            raw[index][json.loads(message["Body"])["id"]] += 1

    client.meta.events.register("before-call.sqs.ReceiveMessage", note)
    client.meta.events.register("after-call.sqs.ReceiveMessage", count)
    stop = threading.Event()
    done = [threading.Event() for _ in opened]

    def consume(index: int) -> None:
        listener = opened[index]
        while not stop.is_set():
            for event in listener.poll(wait=1):
                got[index].add(event.id)
            if len(got[index]) >= total:
                done[index].set()
                return

    threads = [threading.Thread(target=consume, args=(i,), daemon=True) for i in range(listeners)]
    for thread in threads:
        thread.start()
    started = time.perf_counter()
    put_ids: list[str] = []
    for batch in batches(total, run):
        put_ids += put_events(*batch, bus=bus, session=session)
    put_done = time.perf_counter()
    for flag in done:
        flag.wait(max(0.0, DEADLINE - (time.perf_counter() - started)))
    elapsed = time.perf_counter() - started
    stop.set()
    for thread in threads:
        thread.join(5)
    client.meta.events.unregister("before-call.sqs.ReceiveMessage", note)
    client.meta.events.unregister("after-call.sqs.ReceiveMessage", count)
    for listener in opened:
        listener.close()
    sqs.delete_queue(QueueUrl=sink)
    for n in range(rules):
        events.remove_targets(Rule=f"other-{n}", EventBusName=bus, Ids=["q"])
        events.delete_rule(Name=f"other-{n}", EventBusName=bus)
    events.delete_event_bus(Name=bus)
    wanted = set(put_ids)
    return {
        "rate": total / elapsed,
        "put_rate": total / (put_done - started),
        "lost": sum(len(wanted - seen) for seen in got),
        "duplicated": sum(sum(c - 1 for c in counts.values() if c > 1) for counts in raw),
        "elapsed": elapsed,
    }


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def bare_moto_row(url: str, listeners: int, rules: int, total: int) -> dict[str, Any]:
    """The floor: the same bus, rules and queues on a bare moto_server, consumed with plain boto3."""
    session = boto3.Session(aws_access_key_id="testing", aws_secret_access_key="testing", region_name="us-east-1")
    events = session.client("events", endpoint_url=url)
    bus = f"floor-{listeners}-{rules}-{time.monotonic_ns()}"
    events.create_event_bus(Name=bus)
    sqs = session.client("sqs", endpoint_url=url)
    sink = sqs.create_queue(QueueName=f"{bus}-sink")["QueueUrl"]
    sink_arn = sqs.get_queue_attributes(QueueUrl=sink, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    other_rules(events, bus, rules, sink_arn)
    queues = []
    for n in range(listeners):
        queue = sqs.create_queue(QueueName=f"{bus}-l{n}")["QueueUrl"]
        arn = sqs.get_queue_attributes(QueueUrl=queue, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
        pattern = {"source": [SOURCE], "detail": {"run": [bus]}}
        events.put_rule(Name=f"l{n}", EventBusName=bus, EventPattern=json.dumps(pattern))
        events.put_targets(Rule=f"l{n}", EventBusName=bus, Targets=[{"Id": "q", "Arn": arn}])
        queues.append(queue)
    raw: list[Counter[str]] = [Counter() for _ in queues]
    stop = threading.Event()
    done = [threading.Event() for _ in queues]

    def consume(index: int) -> None:
        client = session.client("sqs", endpoint_url=url)
        while not stop.is_set():
            messages = client.receive_message(QueueUrl=queues[index], MaxNumberOfMessages=10, WaitTimeSeconds=1).get(
                "Messages", []
            )
            for message in messages:
                raw[index][json.loads(message["Body"])["id"]] += 1
            if messages:
                client.delete_message_batch(
                    QueueUrl=queues[index],
                    Entries=[{"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]} for i, m in enumerate(messages)],
                )
            if len(raw[index]) >= total:
                done[index].set()
                return

    threads = [threading.Thread(target=consume, args=(i,), daemon=True) for i in range(listeners)]
    for thread in threads:
        thread.start()
    started = time.perf_counter()
    put_ids: list[str] = []
    for batch in batches(total, bus):
        for entry in batch:
            entry["Detail"] = json.dumps(entry["Detail"])
            entry["EventBusName"] = bus
        put_ids += [e["EventId"] for e in events.put_events(Entries=batch)["Entries"]]  # type: ignore[arg-type]
    put_done = time.perf_counter()
    for flag in done:
        flag.wait(max(0.0, DEADLINE - (time.perf_counter() - started)))
    elapsed = time.perf_counter() - started
    stop.set()
    for thread in threads:
        thread.join(5)
    wanted = set(put_ids)
    return {
        "rate": total / elapsed,
        "put_rate": total / (put_done - started),
        "lost": sum(len(wanted - set(counts)) for counts in raw),
        "duplicated": sum(sum(c - 1 for c in counts.values() if c > 1) for counts in raw),
        "elapsed": elapsed,
    }


def start_bare_moto() -> tuple[subprocess.Popen[bytes], str]:
    port = free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}"
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    for _ in range(200):
        try:
            opener.open(f"{url}/moto-api/", timeout=1).close()
            return process, url
        except OSError:
            time.sleep(0.1)
    process.kill()
    raise RuntimeError("the bare moto_server did not start")


def memory_series(session: Any, total: int) -> list[tuple[int, float, float]]:
    """(events, traced heap MB, RSS MB) every 1,000 events through one listener."""
    events = session.client("events")
    bus = f"memory-{time.monotonic_ns()}"
    events.create_event_bus(Name=bus)
    gc.collect()
    tracemalloc.start(1)
    series = [(0, tracemalloc.get_traced_memory()[0] / 1e6, rss_mb())]
    with Listener(bus, pattern={"source": [SOURCE]}, session=session) as listener:
        for number, batch in enumerate(batches(total, bus), 1):
            put_events(*batch, bus=bus, session=session)
            while len(listener.poll(wait=0)) == 10:
                pass
            if (number * 10) % 1000 == 0:
                gc.collect()
                series.append((number * 10, tracemalloc.get_traced_memory()[0] / 1e6, rss_mb()))
    tracemalloc.stop()
    events.delete_event_bus(Name=bus)
    return series


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--events", type=int, default=2000, help="events per throughput row (default 2000)")
    parser.add_argument("--memory-events", type=int, default=10_000)
    parser.add_argument("--quick", action="store_true", help="rows 1 and 8 listeners, 0 and 50 other rules")
    parser.add_argument("--no-floor", action="store_true", help="skip the bare moto_server rows")
    args = parser.parse_args()
    grid = [(1, 0), (8, 0), (8, 50)] if args.quick else [(1, 0), (4, 0), (8, 0), (1, 50), (8, 50), (8, 200)]

    def row(*cells: object) -> None:
        print("| " + " | ".join(str(cell) for cell in cells) + " |", flush=True)

    print(f"## Load (Python {sys.version.split()[0]}, {os.cpu_count()} CPUs, {args.events} events per row)\n")
    row("server", "listeners", "other rules", "delivered events/s", "put events/s", "lost", "duplicated", "time s")
    row(*["---"] * 8)
    with EmbeddedBackend() as backend:
        session = backend.session()
        iatk_row(session, 1, 0, 50)  # warm-up: botocore models, moto's first requests
        for listeners, rules in grid:
            result = iatk_row(session, listeners, rules, args.events)
            row(
                "iatk embedded",
                listeners,
                rules,
                f"{result['rate']:.0f}",
                f"{result['put_rate']:.0f}",
                result["lost"],
                result["duplicated"],
                f"{result['elapsed']:.1f}",
            )
        if not args.no_floor:
            process, url = start_bare_moto()
            try:
                bare_moto_row(url, 1, 0, 50)
                for listeners, rules in grid:
                    result = bare_moto_row(url, listeners, rules, args.events)
                    row(
                        "bare moto_server",
                        listeners,
                        rules,
                        f"{result['rate']:.0f}",
                        f"{result['put_rate']:.0f}",
                        result["lost"],
                        result["duplicated"],
                        f"{result['elapsed']:.1f}",
                    )
            finally:
                process.terminate()
                process.wait(10)
        print(f"\n## Memory: one listener, {args.memory_events} events\n")
        series = memory_series(session, args.memory_events)
        row("events", "traced heap MB", "RSS MB")
        row("---", "---", "---")
        for count, heap, rss in series:
            row(count, f"{heap:.2f}", f"{rss:.1f}")
        growth = [heap for _, heap, _ in series[1:]]
        if len(growth) > 1:
            print(
                f"\nheap after the first 1,000: {growth[0]:.2f} MB → {growth[-1]:.2f} MB at the end; "
                f"median step {statistics.median(b - a for a, b in itertools.pairwise(growth)) * 1000:.0f} kB"
            )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
