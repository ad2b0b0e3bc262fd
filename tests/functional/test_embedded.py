"""The embedded backend: isolation from real AWS, the X-Ray relay, endpoint handling."""

from __future__ import annotations

import json
import subprocess
import sys
import time

import boto3

import iatk
from iatk._aws import IatkSession, aws


def test_embedded_session_uses_dummy_credentials_and_its_endpoint(moto_session, embedded, monkeypatch):
    """Real-looking AWS settings in the environment (keys, token, a missing profile, endpoints, FIPS, a proxy) never reach the embedded session."""
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "AKIAREALLOOKINGKEY00")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "real-secret")
    monkeypatch.setenv("AWS_SESSION_TOKEN", "real-token")
    monkeypatch.setenv("AWS_PROFILE", "doesnotexist")
    monkeypatch.setenv("AWS_ENDPOINT_URL", "https://example.invalid")
    monkeypatch.setenv("AWS_ENDPOINT_URL_SQS", "https://sqs.example.invalid")
    monkeypatch.setenv("AWS_USE_FIPS_ENDPOINT", "true")
    monkeypatch.setenv("HTTP_PROXY", "http://127.0.0.1:9")
    session = embedded.session()
    client = session.client("sqs")
    assert client.meta.endpoint_url == embedded.url
    credentials = session.get_credentials().get_frozen_credentials()
    assert (credentials.access_key, credentials.secret_key, credentials.token) == (
        "iatk-embedded",
        "iatk-embedded",
        None,
    )
    seen = []
    client.meta.events.register("before-send.sqs.*", lambda request, **_: seen.append(request))
    client.create_queue(QueueName="isolation-q")
    assert any(q.endswith("/isolation-q") for q in client.list_queues()["QueueUrls"])
    assert seen[0].url.startswith(embedded.url)
    assert "Credential=iatk-embedded/" in seen[0].headers["Authorization"].decode()
    assert b"X-Amz-Security-Token" not in b"".join(bytes(k, "ascii") for k in seen[0].headers)


def test_embedded_config_tries_each_call_once(moto_session):
    """Embedded clients never retry (moto may apply a failed call's effects) and carry iatk's user agent."""
    config = moto_session.client("sqs").meta.config
    assert config.retries == {"mode": "standard", "total_max_attempts": 1}
    assert f"iatk/{iatk.__version__}" in config.user_agent_extra


def test_xray_daemon_address_is_exported_to_the_environment(embedded):
    """The running backend puts its relay's address in os.environ, where aws-xray-sdk in the test process reads it."""
    import os

    assert embedded.xray_address
    assert os.environ["AWS_XRAY_DAEMON_ADDRESS"] == embedded.xray_address


def test_clients_carry_iatk_user_agent(moto_session):
    """Every client's user agent names iatk and its version."""
    agent = aws(moto_session).sqs.meta.config.user_agent_extra
    assert f"iatk/{iatk.__version__}" in agent


def test_aws_endpoint_url_env_still_works(embedded, monkeypatch):
    """A non-embedded session without an endpoint honours AWS_ENDPOINT_URL, as boto3 does."""
    monkeypatch.setenv("AWS_ENDPOINT_URL", embedded.url)
    session = IatkSession(aws_access_key_id="x", aws_secret_access_key="x", region_name="us-east-1")
    assert session.client("sqs").meta.endpoint_url == embedded.url


def test_errors_are_wrapped_with_code_and_cause(moto_session):
    """A botocore error becomes an AwsError with the AWS code kept and the original as __cause__."""
    from iatk._aws import calling

    try:
        with calling("reading a queue"):
            aws(moto_session).sqs.get_queue_url(QueueName="nope")
    except iatk.AwsError as err:
        assert err.code == "AWS.SimpleQueueService.NonExistentQueue"
        assert "reading a queue" in str(err)
        assert err.__cause__ is not None
        assert err.operation == "GetQueueUrl"
    else:
        raise AssertionError("no error")


def test_xray_sdk_in_a_subprocess_reaches_the_server(moto_session, embedded):
    """A process using aws-xray-sdk with AWS_XRAY_DAEMON_ADDRESS sends segments through the relay."""
    code = """
import os, sys
from aws_xray_sdk.core import xray_recorder
xray_recorder.configure(sampling=False, context_missing="LOG_ERROR", daemon_address=os.environ["AWS_XRAY_DAEMON_ADDRESS"])
segment = xray_recorder.begin_segment("worker")
with xray_recorder.in_subsegment("step"):
    pass
xray_recorder.end_segment()
print(segment.trace_id)
"""
    import os

    env = dict(os.environ, AWS_XRAY_DAEMON_ADDRESS=embedded.xray_address)
    trace_id = subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True, timeout=60
    ).stdout.strip()
    xray = moto_session.client("xray")
    deadline = time.monotonic() + 5
    traces = []
    while time.monotonic() < deadline and not traces:
        traces = xray.batch_get_traces(TraceIds=[trace_id])["Traces"]
        time.sleep(0.05)
    document = json.loads(traces[0]["Segments"][0]["Document"])
    assert document["name"] == "worker"
    assert document["subsegments"][0]["name"] == "step"


def test_embedded_session_context_manager_installs_and_restores_default():
    """embedded_session() works without pytest and makes session=None calls use it, then restores."""
    from iatk import _aws

    before = _aws.installed_session()
    with iatk.embedded_session() as session:
        assert _aws.default_session() is session
        url = session.client("sqs").create_queue(QueueName="ctx-q")["QueueUrl"]
        assert url in (_aws.aws(None).sqs.list_queues(QueueNamePrefix="ctx-q").get("QueueUrls") or [])
    assert _aws.installed_session() is before
    assert isinstance(session, boto3.Session)


def test_state_machine_created_by_cloudformation_runs_without_any_switch(moto_session, embedded):
    """A state machine made by a plain CreateStack (not deploy_stack) executes: the server copies it."""
    name = f"mirror-{time.time_ns()}"
    template = {
        "Resources": {
            "Role": {
                "Type": "AWS::IAM::Role",
                "Properties": {"AssumeRolePolicyDocument": {"Version": "2012-10-17", "Statement": []}},
            },
            "Flow": {
                "Type": "AWS::StepFunctions::StateMachine",
                "Properties": {
                    "StateMachineName": name,
                    "RoleArn": {"Fn::GetAtt": ["Role", "Arn"]},
                    "DefinitionString": json.dumps(
                        {"StartAt": "Done", "States": {"Done": {"Type": "Pass", "Result": {"ok": 1}, "End": True}}}
                    ),
                },
            },
        },
        "Outputs": {"Arn": {"Value": {"Ref": "Flow"}}},
    }
    cfn = moto_session.client("cloudformation")
    cfn.create_stack(StackName=name, TemplateBody=json.dumps(template))
    try:
        arn = cfn.describe_stacks(StackName=name)["Stacks"][0]["Outputs"][0]["OutputValue"]
        sfn = moto_session.client("stepfunctions")
        execution = sfn.start_execution(stateMachineArn=arn, name="run-1", input="{}")["executionArn"]
        deadline = time.monotonic() + 10
        status = "RUNNING"
        while status == "RUNNING" and time.monotonic() < deadline:
            time.sleep(0.05)
            described = sfn.describe_execution(executionArn=execution)
            status = described["status"]
        assert status == "SUCCEEDED"
        assert json.loads(described["output"]) == {"ok": 1}
    finally:
        cfn.delete_stack(StackName=name)
    assert all(m["stateMachineArn"] != arn for m in sfn.list_state_machines()["stateMachines"])
