"""Benchmark: iatk's aws-iatk drop-in against bare boto3 and aws-iatk 0.1.0, side by side.

Run: ``python benchmarks/bench_vs_aws_iatk.py`` (about 5 minutes; ``--runs 30``). It prints a markdown
table and writes ``benchmarks/RESULTS.md``. aws-iatk is a benchmark-only dependency
(``pip install 'iatk[bench]'``, i.e. ``aws-iatk==0.1.0 cryptography``); without it the aws-iatk
columns are skipped with a note.

Setup: one embedded moto server (``iatk.EmbeddedBackend``) and, in front of it, the loopback TLS relay
of ``../shared/tools/tls_relay.py`` (aws-iatk's Go binary ignores ``AWS_ENDPOINT_URL``; the relay ends
TLS for ``*.amazonaws.com`` and forwards to moto by Host). All three clients go through that relay with
``HTTPS_PROXY`` + ``AWS_CA_BUNDLE``, so they pay the same path:

* bare boto3: the fewest boto3 calls that do the operation, one reused client per service;
* iatk: ``iatk.AwsIatk`` on an iatk session through the relay (flagged embedded: no readiness canary,
  no retries, as on the embedded backend);
* aws-iatk 0.1.0: ``aws_iatk.AwsIatk(region=...)``, one Go process per call. Each call runs in a
  worker thread with a timeout; a call past it has its process killed.

AWS calls per operation are counted at the relay (requests it forwarded or answered). Each operation
runs ``--runs`` times per tool, tools interleaved, after two warm-up runs that are not counted.
``schemas:DescribeSchema`` (moto has no Schema Registry) is answered by the relay's stub hook.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import secrets
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor, TimeoutError as FutureTimeout
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path
from typing import Any

import boto3
from botocore.config import Config

SHARED_TOOLS = Path(__file__).resolve().parents[2] / "shared" / "tools"
sys.path.insert(0, str(SHARED_TOOLS))

from tls_relay import MitmRelay  # noqa: E402 - found through SHARED_TOOLS

import iatk  # noqa: E402
from iatk._aws import IatkSession  # noqa: E402
from iatk.embedded import EmbeddedBackend  # noqa: E402

try:
    import aws_iatk
except ImportError:  # the aws-iatk columns are skipped
    aws_iatk = None

HERE = Path(__file__).resolve().parent
REGION = "us-east-1"
STACK = "bench-vs-aws-iatk"
TOOLS = ("boto3", "iatk", "aws-iatk")
UNKNOWN_DEADLINE = 5.0
AWS_IATK_TIMEOUT = 30.0  # any aws-iatk call that takes longer is killed

TEMPLATE = {
    "Resources": {
        "Bus": {"Type": "AWS::Events::EventBus", "Properties": {"Name": "bench-bus"}},
        "AppQueue": {"Type": "AWS::SQS::Queue", "Properties": {"QueueName": "bench-app-queue"}},
        **{
            f"Rule{key}": {
                "Type": "AWS::Events::Rule",
                "Properties": {
                    "Name": f"bench-rule-{tool}",
                    "EventBusName": {"Fn::GetAtt": ["Bus", "Name"]},
                    "EventPattern": {"source": [f"bench.{tool}"]},
                    "Targets": [{"Id": "app", "Arn": {"Fn::GetAtt": ["AppQueue", "Arn"]}}],
                },
            }
            for key, tool in (("Boto3", "boto3"), ("Iatk", "iatk"), ("AwsIatk", "awsiatk"))
        },
    },
    "Outputs": {
        "BusName": {"Value": {"Fn::GetAtt": ["Bus", "Name"]}},
        "QueueUrl": {"Value": {"Ref": "AppQueue"}},
        "RuleIatk": {"Value": "bench-rule-iatk"},
    },
}

SCHEMA = {
    "openapi": "3.0.0",
    "info": {"title": "OrderPlaced", "version": "1.0.0"},
    "paths": {},
    "components": {
        "schemas": {
            "AWSEvent": {
                "type": "object",
                "required": ["detail-type", "resources", "detail", "id", "source", "time", "region", "account"],
                "x-amazon-events-detail-type": "OrderPlaced",
                "x-amazon-events-source": "bench.shop",
                "properties": {
                    "detail": {"$ref": "#/components/schemas/OrderPlaced"},
                    "account": {"type": "string"},
                    "detail-type": {"type": "string"},
                    "id": {"type": "string"},
                    "region": {"type": "string"},
                    "resources": {"type": "array", "items": {"type": "string"}},
                    "source": {"type": "string"},
                    "time": {"type": "string", "format": "date-time"},
                    "version": {"type": "string"},
                },
            },
            "OrderPlaced": {
                "type": "object",
                "required": ["orderId", "amount", "express", "items"],
                "properties": {
                    "orderId": {"type": "string"},
                    "amount": {"type": "number"},
                    "express": {"type": "boolean"},
                    "items": {"type": "array", "items": {"$ref": "#/components/schemas/Item"}},
                },
            },
            "Item": {
                "type": "object",
                "properties": {"sku": {"type": "string"}, "quantity": {"type": "integer"}},
            },
        }
    },
}


def describe_schema_stub(method: str, host: str | None, path: str, body: bytes) -> tuple[int, str, bytes] | None:
    """The relay's answer to schemas:DescribeSchema (moto has no Schema Registry); None: forward."""
    if not host or not host.startswith("schemas.") or "/schemas/name/" not in path:
        return None
    name = path.split("/schemas/name/", 1)[1].split("?", 1)[0].split("/", 1)[0]
    payload = {
        "Content": json.dumps(SCHEMA),
        "SchemaArn": f"arn:aws:schemas:{REGION}:123456789012:schema/bench/{name}",
        "SchemaName": name,
        "SchemaVersion": "1",
        "Type": "OpenApi3",
        "VersionCreatedDate": "2024-01-01T00:00:00Z",
        "LastModified": "2024-01-01T00:00:00Z",
    }
    return 200, "application/json", json.dumps(payload).encode()


# -- measuring -------------------------------------------------------------------------------------------
@dataclass
class Samples:
    """One tool's measurements of one operation."""

    ms: list[float] = field(default_factory=list)
    calls: list[int] = field(default_factory=list)
    hung: int = 0
    failed: list[str] = field(default_factory=list)

    def median(self) -> float | None:
        return statistics.median(self.ms) if self.ms else None

    def p90(self) -> float | None:
        if not self.ms:
            return None
        ordered = sorted(self.ms)
        return ordered[max(0, round(0.9 * len(ordered)) - 1)]

    def calls_per_op(self) -> float | None:
        return statistics.median(self.calls) if self.calls else None


class AwsIatkRunner:
    """Runs aws-iatk calls in a worker thread with a timeout; kills the Go process of a call that hangs."""

    def __init__(self) -> None:
        assert aws_iatk is not None
        self.kit = aws_iatk.AwsIatk(region=REGION)
        self.pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="aws-iatk")
        self.live: list[subprocess.Popen[bytes]] = []
        original = aws_iatk.Popen

        def recording_popen(*args: Any, **kwargs: Any) -> subprocess.Popen[bytes]:
            process = original(*args, **kwargs)
            self.live.append(process)
            return process

        aws_iatk.Popen = recording_popen  # to kill a hung call's process (ours), by its handle

    def run(self, fn: Callable[[Any], Any], timeout: float) -> tuple[bool, Any]:
        """``(finished, result or exception)``; on a timeout the call's process is killed."""
        future = self.pool.submit(fn, self.kit)
        try:
            return True, future.result(timeout=timeout)
        except FutureTimeout:
            self.kill()
            try:
                future.result(timeout=10)
            except Exception as err:  # the killed process gave no JSON
                return False, err
            return False, None
        except Exception as err:
            return True, err
        finally:
            self.live = [p for p in self.live if p.poll() is None]

    def kill(self) -> None:
        for process in self.live:
            if process.poll() is None:
                process.kill()
                process.wait(timeout=10)

    def close(self) -> None:
        self.kill()
        self.pool.shutdown(wait=True)


@dataclass
class Op:
    """One benchmarked operation: a callable per tool, each returning nothing or raising."""

    name: str
    runs: dict[str, Callable[[], Any]]
    unknown: bool = False  # the unknown-trace row: bounded by its deadline
    polling: bool = False


class Bench:
    def __init__(self, relay: MitmRelay, runner: AwsIatkRunner | None) -> None:
        self.relay = relay
        self.runner = runner

    def requests(self) -> int:
        return len(self.relay.srv.requests)

    def measure(self, tool: str, fn: Callable[[], Any], samples: Samples, timeout: float) -> None:
        before = self.requests()
        start = time.perf_counter()
        if tool == "aws-iatk":
            assert self.runner is not None
            finished, outcome = self.runner.run(fn, timeout)
            elapsed = time.perf_counter() - start
            if not finished:
                samples.hung += 1
                time.sleep(0.2)  # let the killed process's last requests land before counting
            elif isinstance(outcome, Exception):
                samples.failed.append(repr(outcome)[:200])
        else:
            try:
                fn()
            except Exception as err:
                samples.failed.append(repr(err)[:200])
            elapsed = time.perf_counter() - start
        samples.ms.append(elapsed * 1000)
        samples.calls.append(self.requests() - before)


# -- the operations --------------------------------------------------------------------------------------
def build_ops(ctx: dict[str, Any]) -> list[Op]:
    bare = ctx["bare"]
    kit = ctx["kit"]
    registry_kit = ctx["registry_kit"]
    cfn, sqs, events, xray, schemas = (bare[n] for n in ("cloudformation", "sqs", "events", "xray", "schemas"))
    bus = ctx["bus"]

    def put(tool: str, nonce: str) -> None:
        events.put_events(
            Entries=[
                {
                    "EventBusName": bus,
                    "Source": f"bench.{tool}",
                    "DetailType": "Bench",
                    "Detail": json.dumps({"n": nonce}),
                }
            ]
        )

    # stack outputs / physical id
    def boto3_outputs() -> None:
        outputs = cfn.describe_stacks(StackName=STACK)["Stacks"][0]["Outputs"]
        found = {o["OutputKey"]: o["OutputValue"] for o in outputs if o["OutputKey"] in ("BusName", "QueueUrl")}
        assert len(found) == 2

    def iatk_outputs() -> None:
        assert len(kit.get_stack_outputs(STACK, ["BusName", "QueueUrl"]).outputs) == 2

    def aws_outputs(k: Any) -> None:
        assert len(k.get_stack_outputs(STACK, ["BusName", "QueueUrl"]).outputs) == 2

    def boto3_physical() -> None:
        detail = cfn.describe_stack_resource(StackName=STACK, LogicalResourceId="AppQueue")["StackResourceDetail"]
        assert detail["PhysicalResourceId"]

    def iatk_physical() -> None:
        assert kit.get_physical_id_from_stack("AppQueue", STACK).physical_id

    def aws_physical(k: Any) -> None:
        assert k.get_physical_id_from_stack("AppQueue", STACK).physical_id

    # add + remove a listener
    def boto3_listener() -> None:
        name = f"iatk_eb_bench{secrets.token_hex(6)}"
        bus_arn = events.describe_event_bus(Name=bus)["Arn"]
        pattern = events.describe_rule(Name="bench-rule-boto3", EventBusName=bus)["EventPattern"]
        url = sqs.create_queue(
            QueueName=name,
            Attributes={"MessageRetentionPeriod": "3600", "Policy": json.dumps({"Statement": []})},
            tags={"iatk:TestHarness:ID": name, "iatk:TestHarness:Target": bus_arn},
        )["QueueUrl"]
        events.put_rule(Name=name, EventBusName=bus, EventPattern=pattern, Tags=[{"Key": "k", "Value": "v"}])
        arn = f"arn:aws:sqs:{REGION}:123456789012:{name}"
        response = events.put_targets(Rule=name, EventBusName=bus, Targets=[{"Id": name, "Arn": arn}])
        assert response["FailedEntryCount"] == 0
        events.remove_targets(Rule=name, EventBusName=bus, Ids=[name])
        events.delete_rule(Name=name, EventBusName=bus)
        sqs.delete_queue(QueueUrl=url)

    def iatk_listener() -> None:
        made = kit.add_listener(bus, "bench-rule-iatk", tags={"bench": "yes"})
        kit.remove_listeners(ids=[made.id])

    def aws_listener(k: Any) -> None:
        made = k.add_listener(bus, "bench-rule-awsiatk", tags={"bench": "yes"})
        k.remove_listeners(ids=[made.id])

    # polls
    def boto3_poll() -> None:
        assert not sqs.receive_message(QueueUrl=ctx["boto3_queue"], WaitTimeSeconds=0, MaxNumberOfMessages=10).get(
            "Messages"
        )

    def iatk_poll() -> None:
        assert kit.poll_events(ctx["iatk_listener"], 0, 10).events == []

    def aws_poll(k: Any) -> None:
        assert k.poll_events(ctx["aws_listener"], 0, 10).events == []

    parts: dict[str, list[float]] = ctx["parts"]

    def boto3_matched() -> None:
        nonce = uuid.uuid4().hex
        start = time.perf_counter()
        put("boto3", nonce)
        parts["PutEvents"].append(time.perf_counter() - start)
        while True:
            start = time.perf_counter()
            messages = sqs.receive_message(QueueUrl=ctx["boto3_queue"], WaitTimeSeconds=10, MaxNumberOfMessages=10).get(
                "Messages", []
            )
            parts["ReceiveMessage"].append(time.perf_counter() - start)
            if messages:
                start = time.perf_counter()
                sqs.delete_message_batch(
                    QueueUrl=ctx["boto3_queue"],
                    Entries=[{"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]} for i, m in enumerate(messages)],
                )
                parts["DeleteMessageBatch"].append(time.perf_counter() - start)
            if any(json.loads(m["Body"])["detail"]["n"] == nonce for m in messages):
                return

    def iatk_matched() -> None:
        nonce = uuid.uuid4().hex
        put("iatk", nonce)
        assert kit.wait_until_event_matched(
            ctx["iatk_listener"], lambda body: json.loads(body)["detail"]["n"] == nonce, timeout_seconds=10
        )

    def aws_matched(k: Any) -> None:
        nonce = uuid.uuid4().hex
        put("awsiatk", nonce)

        def matches(body: str) -> None:
            assert json.loads(body)["detail"]["n"] == nonce

        assert k.wait_until_event_matched(ctx["aws_listener"], matches, timeout_seconds=10)

    # traces
    known = ctx["known_header"]

    def boto3_trace() -> None:
        assert xray.batch_get_traces(TraceIds=[ctx["known_trace"]])["Traces"]

    def iatk_trace() -> None:
        assert len(kit.get_trace_tree(known).trace_tree.paths) == 2

    def aws_trace(k: Any) -> None:
        assert len(k.get_trace_tree(known).trace_tree.paths) == 2

    def boto3_unknown() -> None:
        response = xray.batch_get_traces(TraceIds=[f"1-{int(time.time()):08x}-{secrets.token_hex(12)}"])
        assert not response["Traces"]

    def iatk_unknown() -> None:
        header = f"Root=1-{int(time.time()):08x}-{secrets.token_hex(12)}"
        try:
            kit.get_trace_tree(header, timeout_seconds=UNKNOWN_DEADLINE)
        except iatk.IatkException as err:
            if err.error_code != 408:
                raise
        else:
            raise AssertionError("an unknown trace was found")

    def aws_unknown(k: Any) -> None:
        k.get_trace_tree(f"Root=1-{int(time.time()):08x}-{secrets.token_hex(12)}")

    # mock events
    def boto3_schema() -> None:
        assert schemas.describe_schema(RegistryName="bench", SchemaName="OrderPlaced")["Content"]

    def iatk_mock() -> None:
        event = registry_kit.generate_mock_event("bench", "OrderPlaced").event
        assert isinstance(event["detail"]["express"], bool)

    def aws_mock(k: Any) -> None:
        event = k.generate_mock_event(registry_name="bench", schema_name="OrderPlaced", event_ref="AWSEvent").event
        assert "detail" in event

    return [
        Op("stack outputs (2 keys)", {"boto3": boto3_outputs, "iatk": iatk_outputs, "aws-iatk": aws_outputs}),
        Op("physical id", {"boto3": boto3_physical, "iatk": iatk_physical, "aws-iatk": aws_physical}),
        Op("add + remove listener", {"boto3": boto3_listener, "iatk": iatk_listener, "aws-iatk": aws_listener}),
        Op(
            "poll, empty queue (wait 0)",
            {"boto3": boto3_poll, "iatk": iatk_poll, "aws-iatk": aws_poll},
            polling=True,
        ),
        Op("put → matched event", {"boto3": boto3_matched, "iatk": iatk_matched, "aws-iatk": aws_matched}),
        Op("trace tree, known id", {"boto3": boto3_trace, "iatk": iatk_trace, "aws-iatk": aws_trace}),
        Op(
            f"trace tree, unknown id ({UNKNOWN_DEADLINE:g} s deadline)",
            {"boto3": boto3_unknown, "iatk": iatk_unknown, "aws-iatk": aws_unknown},
            unknown=True,
        ),
        Op("mock event from a registry schema", {"boto3": boto3_schema, "iatk": iatk_mock, "aws-iatk": aws_mock}),
    ]


# -- setup -------------------------------------------------------------------------------------------------
def setup(direct: Any, bare_session: boto3.Session, relay: MitmRelay) -> dict[str, Any]:
    with tempfile.TemporaryDirectory() as folder:
        template = Path(folder) / "template.json"
        template.write_text(json.dumps(TEMPLATE))
        stack = iatk.deploy_stack(template, STACK, session=direct)
    bus = stack.output("BusName")
    bare = {
        name: bare_session.client(name, region_name=REGION, verify=relay.ca_pem)
        for name in ("cloudformation", "sqs", "events", "xray", "schemas")
    }
    # bare boto3's own "listener": a rule copying bench-rule-boto3 into a queue.
    queue_url = bare["sqs"].create_queue(QueueName="bench-boto3-listener")["QueueUrl"]
    queue_arn = bare["sqs"].get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])["Attributes"][
        "QueueArn"
    ]
    pattern = bare["events"].describe_rule(Name="bench-rule-boto3", EventBusName=bus)["EventPattern"]
    bare["events"].put_rule(Name="bench-boto3-listener", EventBusName=bus, EventPattern=pattern)
    bare["events"].put_targets(
        Rule="bench-boto3-listener", EventBusName=bus, Targets=[{"Id": "queue", "Arn": queue_arn}]
    )
    # A known trace: a root and two children.
    trace_id = f"1-{int(time.time()):08x}-{secrets.token_hex(12)}"
    now = time.time()
    docs = [
        {"id": "a000000000000001", "name": "api", "origin": "AWS::ApiGateway::Stage", "start_time": now},
        {
            "id": "b000000000000002",
            "name": "fn",
            "origin": "AWS::Lambda",
            "start_time": now + 0.01,
            "parent_id": "a000000000000001",
        },
        {
            "id": "c000000000000003",
            "name": "events",
            "origin": "AWS::Events",
            "start_time": now + 0.02,
            "parent_id": "a000000000000001",
        },
    ]
    for doc in docs:
        doc.update(trace_id=trace_id, end_time=doc["start_time"] + 0.05)
    direct.client("xray").put_trace_segments(TraceSegmentDocuments=[json.dumps(d) for d in docs])
    return {
        "bare": bare,
        "bus": bus,
        "boto3_queue": queue_url,
        "known_trace": trace_id,
        "known_header": f"Root={trace_id};Sampled=1",
    }


# -- report ------------------------------------------------------------------------------------------------
def fmt(value: float | None, unit: str = "") -> str:
    if value is None:
        return "—"
    return f"{value:.1f}{unit}" if value < 100 else f"{value:.0f}{unit}"


def ratio(a: float | None, b: float | None) -> float | None:
    return a / b if a is not None and b else None


def table(ops: list[Op], results: dict[str, dict[str, Samples]], with_aws: bool) -> tuple[str, list[str]]:
    head = ["operation", "boto3 median / p90 ms", "iatk median / p90 ms"]
    if with_aws:
        head += ["aws-iatk median / p90 ms", "iatk ÷ aws-iatk"]
    head += ["iatk ÷ boto3", "AWS calls boto3 / iatk" + (" / aws-iatk" if with_aws else "")]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    misses: list[str] = []
    for op in ops:
        row = results[op.name]
        b, i, a = row["boto3"], row["iatk"], row.get("aws-iatk")
        to_aws = ratio(i.median(), a.median() if a else None)
        to_boto = None if op.unknown else ratio(i.median(), b.median())
        cells = [op.name, f"{fmt(b.median())} / {fmt(b.p90())}", f"{fmt(i.median())} / {fmt(i.p90())}"]
        if with_aws and a is not None:
            hung = f" ({a.hung} of {len(a.ms)} hung, killed)" if a.hung else ""
            cells += [f"{fmt(a.median())} / {fmt(a.p90())}{hung}", f"{to_aws:.2f}×" if to_aws else "—"]
        cells.append(f"{to_boto:.2f}×" if to_boto else "n/a (deadline-bound)" if op.unknown else "—")
        counts = [fmt(b.calls_per_op()), fmt(i.calls_per_op())]
        if with_aws and a is not None:
            counts.append(fmt(a.calls_per_op()))
        cells.append(" / ".join(counts))
        lines.append("| " + " | ".join(cells) + " |")
        # targets
        if to_boto is not None and to_boto > 1.2:
            misses.append(f"{op.name}: iatk is {to_boto:.2f}× bare boto3 (target ≤ 1.2×)")
        limit = 0.2 if op.polling else 0.5
        if to_aws is not None and to_aws > limit and not op.unknown:
            misses.append(f"{op.name}: iatk is {to_aws:.2f}× aws-iatk (target ≤ {limit}×)")
        if op.unknown and to_aws is not None and a is not None and a.hung:
            pass  # both are bound by the same deadline; aws-iatk only stops because it is killed
        if op.name.startswith("put") and (i.median() or 0) > 30:
            misses.append(f"{op.name}: iatk median {i.median():.1f} ms (target ≤ 30 ms)")
        for tool, samples in row.items():
            if samples.failed:
                misses.append(f"{op.name}: {tool} failed {len(samples.failed)}×, e.g. {samples.failed[0]}")
    return "\n".join(lines), misses


class RelaySession(IatkSession):
    """An iatk session flagged embedded whose clients go through the relay.

    Embedded sessions ignore proxies from the environment (their server is on 127.0.0.1), so the
    relay's proxy is given to each client explicitly.
    """

    def __init__(self, proxy: str, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._proxy = proxy

    def client(self, *args: Any, **kwargs: Any) -> Any:
        via = Config(proxies={"https": self._proxy})
        kwargs["config"] = kwargs["config"].merge(via) if kwargs.get("config") else via
        return super().client(*args, **kwargs)


def machine() -> str:
    uname = subprocess.run(["uname", "-a"], capture_output=True, text=True, check=False).stdout.strip()
    return f"`{uname}`, {os.cpu_count()} CPUs (nproc), Python {platform.python_version()}"


def versions() -> str:
    names = ["boto3", "botocore", "moto", "iatk", "aws-iatk"]
    found = []
    for name in names:
        try:
            found.append(f"{name} {metadata.version(name)}")
        except metadata.PackageNotFoundError:
            found.append(f"{name} (not installed)")
    return ", ".join(found)


NOTES = """\
Notes:
* All three tools reach moto through the same TLS relay (`HTTPS_PROXY` + `AWS_CA_BUNDLE`), so every figure
  includes the relay hop (about 2 ms per request on this machine). boto3 and iatk keep their HTTPS
  connections; aws-iatk starts a Go process per call, which loads its config and opens new TLS connections.
* "AWS calls" are the requests the relay saw per operation (median). aws-iatk's poll is
  GetQueueUrl + GetQueueAttributes + ListQueueTags + DescribeRule + ReceiveMessage per call; iatk's is one
  ReceiveMessage (the listener's queue URL is kept). aws-iatk's `wait_until_event_matched` runs that poll
  in a loop, plus DeleteMessageBatch.
* Trace tree, unknown id: iatk retries with capped backoff (0.2 s doubling to 2 s) and raises
  `IatkException` (error_code 408) at its 5 s deadline. aws-iatk 0.1.0 never returns (moto lists the id in
  `UnprocessedTraceIds` and the Go loop re-asks with no pause); its process is killed at 5 s. Both rows
  are bound by the deadline, so their time ratio says nothing; the call counts are the difference. The
  bare boto3 column is one BatchGetTraces (no waiting), so there is no boto3 ratio for that row.
* Mock event: iatk caches a registry schema per session, so after the first call it makes no AWS call
  and only generates; bare boto3 is the DescribeSchema call alone (no generation). This row's iatk
  session is a plain one through the relay (iatk refuses registry reads on a session flagged embedded).
* put → matched: bare boto3 is three AWS calls (PutEvents, ReceiveMessage, DeleteMessageBatch; the line
  under the table times each). iatk's wait makes two: a listener's queue hides received messages for
  12 h, so a wait defers their delete and sends one DeleteMessageBatch per ten messages (0.1 call per
  operation here); the events are in its buffer already. moto's PutEvents is the largest part: it
  matches every rule on the bus (six here) and delivers to the targets synchronously. The same put is
  inside the aws-iatk figure, which is why that ratio stays near 0.5× although aws-iatk makes 7 calls
  and spawns 2 processes.
* physical id: the drop-in makes aws-iatk's one DescribeStackResource
  (`Stack.physical_id(check_status=False)`); iatk's own `Stack.physical_id` first reads the stack's
  status and lists its resources once (two calls, then none for every later look-up on that Stack).
* add + remove listener: iatk's session is flagged embedded, so `add_listener` does not put and await a
  readiness canary (on AWS it does, because a new rule takes effect eventually; aws-iatk does not wait,
  and may miss the first events). The bare boto3 row is the 8 calls a listener needs (DescribeEventBus,
  DescribeRule, CreateQueue, PutRule, PutTargets, RemoveTargets, DeleteRule, DeleteQueue).
"""


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=30, help="measured runs per operation and tool (>= 20)")
    parser.add_argument("--unknown-runs", type=int, default=20, help="runs of the unknown-trace row (5 s each)")
    parser.add_argument("--no-write", action="store_true", help="print only; do not write benchmarks/RESULTS.md")
    args = parser.parse_args()
    with_aws = aws_iatk is not None
    if not with_aws:
        print("note: aws-iatk is not installed (pip install 'iatk[bench]'): its columns are skipped.\n")
    backend = EmbeddedBackend(REGION).start()
    port = int(str(backend.url).rsplit(":", 1)[1])
    relay = MitmRelay(moto_port=port, region=REGION, stub=describe_schema_stub)
    saved = dict(os.environ)
    os.environ.update(relay.env())
    os.environ.update(
        AWS_ACCESS_KEY_ID="bench",
        AWS_SECRET_ACCESS_KEY="bench",
        AWS_DEFAULT_REGION=REGION,
        AWS_REGION=REGION,
        AWS_EC2_METADATA_DISABLED="true",
    )
    runner = AwsIatkRunner() if with_aws else None
    try:
        direct = backend.session()
        bare_session = boto3.Session(aws_access_key_id="bench", aws_secret_access_key="bench", region_name=REGION)
        ctx = setup(direct, bare_session, relay)
        # iatk through the relay: no endpoint (real AWS host names, proxied), embedded behaviour.
        relay_session = RelaySession(
            relay.env()["HTTPS_PROXY"],
            aws_access_key_id="bench",
            aws_secret_access_key="bench",
            region_name=REGION,
            embedded=True,
        )
        ctx["kit"] = iatk.AwsIatk(session=relay_session)
        ctx["parts"] = {"PutEvents": [], "ReceiveMessage": [], "DeleteMessageBatch": []}
        # The registry refuses embedded sessions (moto has no Schemas); through the relay the stub answers.
        ctx["registry_kit"] = iatk.AwsIatk(
            session=IatkSession(aws_access_key_id="bench", aws_secret_access_key="bench", region_name=REGION)
        )
        ctx["iatk_listener"] = ctx["kit"].add_listener(ctx["bus"], "bench-rule-iatk").id
        if runner is not None:
            finished, made = runner.run(lambda k: k.add_listener(ctx["bus"], "bench-rule-awsiatk"), AWS_IATK_TIMEOUT)
            if not finished or isinstance(made, Exception):
                raise SystemExit(f"aws-iatk could not make a listener: {made!r}")
            ctx["aws_listener"] = made.id
        ops = build_ops(ctx)
        bench = Bench(relay, runner)
        tools = [t for t in TOOLS if with_aws or t != "aws-iatk"]
        results: dict[str, dict[str, Samples]] = {}
        for op in ops:
            runs = args.unknown_runs if op.unknown else args.runs
            warmup = 0 if op.unknown else 2
            row = {tool: Samples() for tool in tools}
            timeout = UNKNOWN_DEADLINE if op.unknown else AWS_IATK_TIMEOUT
            for index in range(warmup + runs):
                shift = index % len(tools)  # rotate the order: no tool always runs right after a Go process
                for tool in tools[shift:] + tools[:shift]:
                    target = row[tool] if index >= warmup else Samples()
                    bench.measure(tool, op.runs[tool], target, timeout)
            results[op.name] = row
            print(f"measured: {op.name}", file=sys.stderr)
        text, misses = table(ops, results, with_aws)
        floor = ", ".join(f"{name} {statistics.median(v) * 1000:.1f} ms" for name, v in ctx["parts"].items() if v)
        text += f"\n\nput → matched, the bare boto3 calls alone (median): {floor}."
        if not with_aws:
            text += "\n\n(aws-iatk columns skipped: aws-iatk is not installed.)"
        ctx["kit"].remove_listeners(ids=[ctx["iatk_listener"]])
        if runner is not None:
            runner.run(lambda k: k.remove_listeners(ids=[ctx["aws_listener"]]), AWS_IATK_TIMEOUT)
    finally:
        if runner is not None:
            runner.close()
        relay.close()
        os.environ.clear()
        os.environ.update(saved)
        backend.stop()
    missed = "\n".join(f"* {line}" for line in misses) if misses else "* none"
    runs_text = f"{args.runs} runs per tool (after 2 warm-up runs); the unknown-trace row {args.unknown_runs} runs"
    report = f"{text}\n\nTargets missed:\n{missed}\n\n{NOTES}"
    print(report)
    if not args.no_write:
        now = dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
        (HERE / "RESULTS.md").write_text(
            "# iatk vs aws-iatk 0.1.0 vs bare boto3\n\n"
            f"Last run: {now}. Machine: {machine()}.\n\n{versions()}.\n\n"
            f"Command: `python benchmarks/bench_vs_aws_iatk.py` ({runs_text}). One embedded moto server, "
            "every client through the same TLS relay (see the script's docstring).\n\n"
            f"{report}"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
