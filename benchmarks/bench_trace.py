"""Benchmark: iatk.get_trace_tree vs a bare boto3 batch_get_traces on the same moto server and client.

Run: python benchmarks/bench_trace.py  (prints markdown tables)

The second table is OpenTelemetry's road on the embedded backend: spans exported over OTLP/HTTP
(the real SDK exporter), the time until the tree is readable, and trees of 50 and 500 spans read
through X-Ray (beside a bare ``BatchGetTraces``) and through Transaction Search (beside a bare
``StartTraceRetrieval`` + ``ListRetrievedTraces``, the two calls it needs).

Both sides use the same cached X-Ray client (``aws(session).xray``, iatk's botocore Config), and are
timed alternately so they share the machine's noise. get_trace_tree makes one BatchGetTraces call
for a complete trace, then parses the documents and builds the tree; the ratio is that overhead.
"""

from __future__ import annotations

import json
import logging
import statistics
import sys
import time
from typing import Any

from moto.server import ThreadedMotoServer

from iatk._aws import aws, embedded_boto_session
from iatk.trace import TraceTree, get_trace_tree, new_trace_header

N = 50


def _stats(samples: list[float]) -> tuple[float, float]:
    ordered = sorted(samples)
    return statistics.median(ordered), ordered[max(0, int(len(ordered) * 0.9) - 1)]


def compare(ours: Any, bare: Any, n: int = N) -> tuple[tuple[float, float], tuple[float, float]]:
    """Time both callables alternately, after one warm-up each; (median, p90) in ms for each."""
    ours()
    bare()
    a: list[float] = []
    b: list[float] = []
    for _ in range(n):
        for fn, out in ((ours, a), (bare, b)):
            start = time.perf_counter()
            fn()
            out.append((time.perf_counter() - start) * 1000)
    return _stats(a), _stats(b)


def documents(trace_id: str, lambdas: int) -> list[dict[str, Any]]:
    """A state machine calling ``lambdas`` functions: 1 + 2 × lambdas segments, with subsegments."""
    now = time.time()
    states = [
        {"id": f"a{n:015x}", "name": f"Step{n}", "start_time": now + n * 0.01, "end_time": now + n * 0.01 + 0.009}
        for n in range(lambdas)
    ]
    docs: list[dict[str, Any]] = [
        {
            "trace_id": trace_id,
            "id": "1000000000000000",
            "name": "Workflow",
            "origin": "AWS::StepFunctions::StateMachine",
            "start_time": now,
            "end_time": now + lambdas * 0.01 + 0.01,
            "subsegments": states,
        }
    ]
    for n in range(lambdas):
        start = now + n * 0.01
        docs.append(
            {
                "trace_id": trace_id,
                "id": f"b{n:015x}",
                "parent_id": f"a{n:015x}",
                "name": f"fn-{n}",
                "origin": "AWS::Lambda",
                "start_time": start + 0.001,
                "end_time": start + 0.008,
            }
        )
        docs.append(
            {
                "trace_id": trace_id,
                "id": f"c{n:015x}",
                "parent_id": f"b{n:015x}",
                "name": f"fn-{n}",
                "origin": "AWS::Lambda::Function",
                "start_time": start + 0.002,
                "end_time": start + 0.007,
                "annotations": {"n": n},
                "subsegments": [
                    {"id": f"d{n:015x}", "name": "Invocation", "start_time": start + 0.003, "end_time": start + 0.006}
                ],
            }
        )
    return docs


def main() -> int:
    logging.getLogger("werkzeug").setLevel(logging.ERROR)  # no request log on stderr
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    try:
        host, port = server.get_host_and_port()
        session = embedded_boto_session(f"http://{host}:{port}")
        xray = aws(session).xray  # the very client get_trace_tree uses
        rows = []
        for lambdas in (2, 25):
            trace_id = new_trace_header().root
            docs = documents(trace_id, lambdas)
            for start in range(0, len(docs), 10):
                xray.put_trace_segments(TraceSegmentDocuments=[json.dumps(d) for d in docs[start : start + 10]])

            def ours(trace_id: str = trace_id) -> TraceTree:
                return get_trace_tree(trace_id, within=5, session=session, source="xray")

            def bare(trace_id: str = trace_id) -> Any:
                return xray.batch_get_traces(TraceIds=[trace_id])

            assert len(ours().paths) == lambdas
            rows.append((f"{len(docs)} segments", *compare(ours, bare)))
            response = bare()
            build = []
            for _ in range(N):
                start = time.perf_counter()
                TraceTree.from_api(response)
                build.append((time.perf_counter() - start) * 1000)
            rows.append((f"{len(docs)} segments: tree build only (no call)", _stats(build), (float("nan"),) * 2))
    finally:
        server.stop()
    print(f"get_trace_tree vs bare batch_get_traces, one ThreadedMotoServer, same client (n={N}, ms)\n")
    print("| trace | get_trace_tree median | p90 | batch_get_traces median | p90 | ratio (medians) |")
    print("|---|---|---|---|---|---|")
    for name, (med, p90), (bmed, bp90) in rows:
        if bmed != bmed:  # NaN: no bare counterpart
            print(f"| {name} | {med:.2f} | {p90:.2f} | – | – | – |")
        else:
            print(f"| {name} | {med:.2f} | {p90:.2f} | {bmed:.2f} | {bp90:.2f} | {med / bmed:.2f} |")
    otlp_tables()
    return 0


def export_spans(count: int) -> tuple[str, float]:
    """Export ``count`` spans of one trace over OTLP/HTTP (protobuf): a root server span, then groups
    of a server span (a segment) under a client span of the previous group, with three client spans
    (subsegments) each. Returns the trace id and the seconds the export took."""
    from opentelemetry import trace
    from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
    from opentelemetry.sdk.resources import Resource
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import SimpleSpanProcessor
    from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

    memory = InMemorySpanExporter()
    provider = TracerProvider(resource=Resource.create({"service.name": "bench"}))
    provider.add_span_processor(SimpleSpanProcessor(memory))
    tracer = provider.get_tracer("bench")
    made = 0
    with tracer.start_as_current_span("root", kind=trace.SpanKind.SERVER) as root:
        made += 1
        context = trace.set_span_in_context(root)
        while made < count:
            with tracer.start_as_current_span("call", context=context, kind=trace.SpanKind.CLIENT) as call:
                made += 1
                with tracer.start_as_current_span(
                    "service", context=trace.set_span_in_context(call), kind=trace.SpanKind.SERVER
                ) as service:
                    made += 1
                    inner = trace.set_span_in_context(service)
                    for _ in range(min(3, count - made)):
                        with tracer.start_as_current_span("work", context=inner, kind=trace.SpanKind.CLIENT):
                            made += 1
                    context = inner
    spans = memory.get_finished_spans()
    exporter = OTLPSpanExporter()  # the endpoint from OTEL_EXPORTER_OTLP_TRACES_ENDPOINT
    start = time.perf_counter()
    for first in range(0, len(spans), 512):  # the batch processor's default batch
        exporter.export(spans[first : first + 512])
    took = time.perf_counter() - start
    exporter.shutdown()
    provider.shutdown()
    hex_id = f"{root.get_span_context().trace_id:032x}"
    return f"1-{hex_id[:8]}-{hex_id[8:]}", took


def otlp_tables() -> None:
    from iatk.embedded import EmbeddedBackend

    rows = []
    with EmbeddedBackend() as backend:
        session = backend.session()
        xray = aws(session).xray
        available = []
        for _ in range(10):
            trace_id, took = export_spans(5)
            start = time.perf_counter()
            get_trace_tree(trace_id, within=5, session=session, source="xray")
            available.append((took + time.perf_counter() - start) * 1000)
        rows.append(("5 spans: OTLP export → tree available", _stats(available), (float("nan"),) * 2))
        for count in (50, 500):
            trace_id, _ = export_spans(count)
            got = get_trace_tree(trace_id, within=5, session=session, source="xray")
            assert len(got.source_trace.documents) == count, len(got.source_trace.documents)

            def ours_xray(trace_id: str = trace_id) -> TraceTree:
                return get_trace_tree(trace_id, within=5, session=session, source="xray")

            def bare_xray(trace_id: str = trace_id) -> Any:
                return xray.batch_get_traces(TraceIds=[trace_id])

            def ours_search(trace_id: str = trace_id) -> TraceTree:
                return get_trace_tree(trace_id, within=5, session=session, source="transaction-search")

            def bare_search(trace_id: str = trace_id) -> Any:
                now = time.time()
                token = xray.start_trace_retrieval(TraceIds=[trace_id], StartTime=now - 3600, EndTime=now + 300)
                return xray.list_retrieved_traces(RetrievalToken=token["RetrievalToken"], TraceFormat="XRAY")

            n = 20 if count > 100 else N
            rows.append((f"{count} spans, X-Ray (vs BatchGetTraces)", *compare(ours_xray, bare_xray, n)))
            rows.append(
                (
                    f"{count} spans, Transaction Search (vs Start+ListRetrievedTraces)",
                    *compare(ours_search, bare_search, n),
                )
            )
    print("\nOpenTelemetry spans on the embedded backend (OTLP/HTTP protobuf, ms)\n")
    print("| case | iatk median | p90 | bare calls median | p90 | ratio (medians) |")
    print("|---|---|---|---|---|---|")
    for name, (med, p90), (bmed, bp90) in rows:
        if bmed != bmed:
            print(f"| {name} | {med:.2f} | {p90:.2f} | – | – | – |")
        else:
            print(f"| {name} | {med:.2f} | {p90:.2f} | {bmed:.2f} | {bp90:.2f} | {med / bmed:.2f} |")


if __name__ == "__main__":
    sys.exit(main())
