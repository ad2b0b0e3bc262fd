"""Benchmark: Lambda functions on the embedded backend (moto server + the Docker-less runtime), through the API.

Run: python benchmarks/bench_lambda.py [N]  (prints markdown tables)

- cold and warm ``Invoke`` of an echo handler and of a handler that makes one boto3 call (SQS
  ``ListQueues`` back to the embedded server), each beside the same handler called in-process (the
  floor: no process, no HTTP); a cold invoke follows a configuration change, so it gets a fresh
  environment, as on AWS;
- ``PutEvents`` → the handler's effect (a rule's Lambda target sends an SQS message; needs the embedded
  EventBridge target registry, else n/a), and ``SendMessage`` → the handler's effect (an SQS mapping);
- a state machine with one ``lambda:invoke`` task beside one with a Pass state (StartExecution → done);
- the resident memory of one idle environment of each handler.

Medians and p90 in ms; the machine's noise applies (2 shared cores). Targets (issue 15): warm Invoke
≤ 15 ms above the in-process call; cold Invoke of the boto3 handler ≤ 400 ms on 2 cores.
"""

from __future__ import annotations

import importlib.util
import io
import json
import statistics
import sys
import time
import types
import uuid
import zipfile
from collections.abc import Callable
from typing import Any

from iatk.embedded import EmbeddedBackend

N = int(sys.argv[1]) if len(sys.argv) > 1 else 20
N_COLD = max(3, N // 4)
RUNTIME = f"python{sys.version_info.major}.{sys.version_info.minor}"

ECHO = "def handler(event, context):\n    return event\n"
BOTO3 = (
    "import boto3\n"
    "sqs = boto3.client('sqs')\n"
    "def handler(event, context):\n"
    "    return {'queues': len(sqs.list_queues().get('QueueUrls', []))}\n"
)
EFFECT = (
    "import json, os, boto3\n"
    "sqs = boto3.client('sqs')\n"
    "def handler(event, context):\n"
    "    sqs.send_message(QueueUrl=os.environ['OUT'], MessageBody='done')\n"
)


def _zip(code: str) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        zf.writestr("index.py", code)
    return buf.getvalue()


def _ms(samples: list[float]) -> str:
    data = sorted(samples)
    p90 = data[min(len(data) - 1, round(0.9 * (len(data) - 1)))]
    return f"{statistics.median(data) * 1000:.1f} | {p90 * 1000:.1f}"


def _time(call: Callable[[], Any], n: int) -> list[float]:
    samples = []
    for _ in range(n):
        start = time.perf_counter()
        call()
        samples.append(time.perf_counter() - start)
    return samples


def _in_process(code: str, endpoint: str) -> Callable[[], Any]:
    """The handler run in this process (its module executed once, as an init), called with a dummy context."""
    module = types.ModuleType("bench_handler")
    import os

    for key, value in (
        ("AWS_ENDPOINT_URL", endpoint),
        ("AWS_DEFAULT_REGION", "us-east-1"),
        ("AWS_ACCESS_KEY_ID", "bench"),
        ("AWS_SECRET_ACCESS_KEY", "bench"),
    ):
        os.environ.setdefault(key, value)
    exec(compile(code, "index.py", "exec"), module.__dict__)
    handler = module.__dict__["handler"]
    return lambda: handler({"bench": 1}, None)


def _drain(sqs: Any, url: str, timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        got = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=1, WaitTimeSeconds=0).get("Messages", [])
        if got:
            sqs.delete_message(QueueUrl=url, ReceiptHandle=got[0]["ReceiptHandle"])
            return
        time.sleep(0.002)
    raise TimeoutError(f"no message in {url}")


def main() -> None:
    with EmbeddedBackend() as backend:
        session = backend.session()
        lam, sqs, sfn = session.client("lambda"), session.client("sqs"), session.client("stepfunctions")
        events = session.client("events")
        role = session.client("iam").create_role(RoleName="bench", AssumeRolePolicyDocument="{}")["Role"]["Arn"]
        rows: list[tuple[str, str]] = []
        memory: list[tuple[str, str]] = []
        for label, code in (("echo", ECHO), ("boto3 call", BOTO3)):
            name = f"bench-{label.split()[0]}"
            lam.create_function(
                FunctionName=name, Runtime=RUNTIME, Role=role, Handler="index.handler", Code={"ZipFile": _zip(code)}
            )
            colds = []
            for i in range(N_COLD):
                lam.update_function_configuration(FunctionName=name, Environment={"Variables": {"COLD": str(i)}})
                colds += _time(lambda name=name: lam.invoke(FunctionName=name, Payload=b'{"bench": 1}'), 1)
            warm = _time(lambda name=name: lam.invoke(FunctionName=name, Payload=b'{"bench": 1}'), N)
            floor = _in_process(code, str(backend.url))
            floor()
            rows += [
                (f"{label}: cold Invoke", _ms(colds)),
                (f"{label}: warm Invoke", _ms(warm)),
                (f"{label}: in-process call (floor)", _ms(_time(floor, N))),
            ]
            runtime = backend._lambda.runtime
            envs = [env for env in runtime.environments() if env.spec.name == name]
            rss = envs[0].rss_bytes() if envs else None
            memory.append((label, f"{rss / 2**20:.1f}" if rss else "n/a"))

        out = sqs.create_queue(QueueName="bench-out")["QueueUrl"]
        lam.create_function(
            FunctionName="bench-effect",
            Runtime=RUNTIME,
            Role=role,
            Handler="index.handler",
            Code={"ZipFile": _zip(EFFECT)},
            Environment={"Variables": {"OUT": out}},
        )
        effect_arn = lam.get_function(FunctionName="bench-effect")["Configuration"]["FunctionArn"]
        lam.invoke(FunctionName="bench-effect")
        _drain(sqs, out)
        if importlib.util.find_spec("iatk._backend.moto.eventbridge") is not None:
            events.put_rule(Name="bench-rule", EventPattern=json.dumps({"source": ["bench"]}))
            events.put_targets(Rule="bench-rule", Targets=[{"Id": "fn", "Arn": effect_arn}])

            def put_and_wait() -> None:
                events.put_events(Entries=[{"Source": "bench", "DetailType": "t", "Detail": "{}"}])
                _drain(sqs, out)

            rows.append(("put_events → handler effect", _ms(_time(put_and_wait, N))))
        else:
            rows.append(("put_events → handler effect", "n/a (no EventBridge target registry) | n/a"))
        work = sqs.create_queue(QueueName="bench-work")["QueueUrl"]
        work_arn = sqs.get_queue_attributes(QueueUrl=work, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
        lam.create_event_source_mapping(EventSourceArn=work_arn, FunctionName="bench-effect", BatchSize=1)

        def send_and_wait() -> None:
            sqs.send_message(QueueUrl=work, MessageBody="{}")
            _drain(sqs, out)

        send_and_wait()
        rows.append(("SendMessage → handler effect (mapping)", _ms(_time(send_and_wait, N))))

        def machine(states: dict[str, Any]) -> str:
            definition = {"StartAt": "Only", "States": {"Only": {**states, "End": True}}}
            return str(
                sfn.create_state_machine(
                    name=f"bench-{uuid.uuid4().hex[:6]}", definition=json.dumps(definition), roleArn=role
                )["stateMachineArn"]
            )

        def execute(arn: str) -> Callable[[], None]:
            def run() -> None:
                execution = sfn.start_execution(stateMachineArn=arn, name=uuid.uuid4().hex)["executionArn"]
                while sfn.describe_execution(executionArn=execution)["status"] == "RUNNING":
                    time.sleep(0.002)

            return run

        task = machine(
            {"Type": "Task", "Resource": "arn:aws:states:::lambda:invoke", "Parameters": {"FunctionName": "bench-echo"}}
        )
        passing = machine({"Type": "Pass"})
        execute(task)()
        rows.append(("state machine, one lambda:invoke task", _ms(_time(execute(task), N))))
        rows.append(("state machine, one Pass state", _ms(_time(execute(passing), N))))

    print(f"## Lambda on the embedded backend (N={N}, cold N={N_COLD}, {RUNTIME})\n")
    print("| case | median ms | p90 ms |\n|---|---|---|")
    for label, figures in rows:
        print(f"| {label} | {figures} |")
    print("\n| idle environment | RSS MB |\n|---|---|")
    for label, rss in memory:
        print(f"| {label} | {rss} |")


if __name__ == "__main__":
    main()
