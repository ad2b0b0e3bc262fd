"""A proxy in the environment (HTTP_PROXY / HTTPS_PROXY, no NO_PROXY) never stops the embedded backend."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import textwrap


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_the_embedded_backend_and_its_clients_ignore_environment_proxies() -> None:
    """With every proxy variable pointing at a closed port: the server starts, iatk's session, a plain
    boto3 client on the server's URL and a state machine execution (moto's interpreter calls the
    server itself) all work; NO_PROXY is restored when the backend stops."""
    proxy = f"http://127.0.0.1:{_closed_port()}"
    env = {key: value for key, value in os.environ.items() if key.lower() != "no_proxy"}
    env.update({"HTTP_PROXY": proxy, "HTTPS_PROXY": proxy, "http_proxy": proxy, "https_proxy": proxy})
    code = textwrap.dedent(
        """
        import json, os, time, boto3, iatk
        with iatk.embedded_session() as session:
            url = session.client("sqs").meta.endpoint_url
            queue = session.client("sqs").create_queue(QueueName="proxied")["QueueUrl"]
            plain = boto3.client("sqs", endpoint_url=url, region_name="us-east-1",
                                 aws_access_key_id="x", aws_secret_access_key="x")
            plain.send_message(QueueUrl=queue, MessageBody="hi")
            sfn = session.client("stepfunctions")
            definition = {"StartAt": "Send", "States": {"Send": {
                "Type": "Task", "Resource": "arn:aws:states:::sqs:sendMessage",
                "Parameters": {"QueueUrl": queue, "MessageBody": "from sfn"}, "End": True}}}
            machine = sfn.create_state_machine(name="proxied", definition=json.dumps(definition),
                                               roleArn="arn:aws:iam::123456789012:role/x")["stateMachineArn"]
            run = sfn.start_execution(stateMachineArn=machine, name="one")["executionArn"]
            for _ in range(200):
                status = sfn.describe_execution(executionArn=run)["status"]
                if status != "RUNNING":
                    break
                time.sleep(0.05)
            bodies = []
            for _ in range(3):
                got = plain.receive_message(QueueUrl=queue, MaxNumberOfMessages=10).get("Messages", [])
                bodies += [m["Body"] for m in got]
            inside = os.environ.get("NO_PROXY", "")
        print(json.dumps({"status": status, "bodies": sorted(bodies), "inside": inside,
                          "after": os.environ.get("NO_PROXY")}))
        """
    )
    done = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-3000:]
    result = json.loads(done.stdout.strip().splitlines()[-1])
    assert result["status"] == "SUCCEEDED"
    assert result["bodies"] == ["from sfn", "hi"]
    assert "127.0.0.1" in result["inside"].split(",")
    assert result["after"] is None
