"""Plain boto3 reaches the embedded server under --iatk-backend=moto (issue 16, item 4).

Each run is a subprocess pytest with a hostile environment: a profile that does not exist, a
session token, a per-service endpoint and a region elsewhere. The suite has no conftest and uses only
``boto3.client(...)``, aws-iatk's unittest style and unnamed executions.
"""

from __future__ import annotations

import json

import pytest

UNITTEST_SUITE = """
import json, os, subprocess, sys, unittest
import boto3

DEFINITION = json.dumps({"StartAt": "P", "States": {"P": {"Type": "Pass", "End": True}}})


class TestPlainBoto3(unittest.TestCase):
    def test_clients_reach_the_embedded_server(self):
        sqs = boto3.client("sqs")
        url = sqs.create_queue(QueueName="plain-boto3")["QueueUrl"]
        self.assertTrue(url.startswith("http://127.0.0.1:"), url)
        self.assertEqual(os.environ["AWS_ENDPOINT_URL"].rsplit(":", 1)[0], "http://127.0.0.1")
        self.assertNotIn("AWS_PROFILE", os.environ)
        self.assertNotIn("AWS_SESSION_TOKEN", os.environ)
        self.assertNotIn("AWS_ENDPOINT_URL_SQS", os.environ)
        self.assertEqual(boto3.session.Session().region_name, "us-east-1")

    def test_unnamed_executions_each_run(self):
        sfn = boto3.client("stepfunctions")
        arn = sfn.create_state_machine(
            name="plain", definition=DEFINITION, roleArn="arn:aws:iam::123456789012:role/r"
        )["stateMachineArn"]
        first = sfn.start_execution(stateMachineArn=arn)["executionArn"]
        second = sfn.start_execution(stateMachineArn=arn)["executionArn"]
        self.assertNotEqual(first, second)
        self.assertFalse(first.endswith(":None"), first)

    def test_a_child_process_reaches_it_too(self):
        code = "import boto3; print(boto3.client('sqs').get_queue_url(QueueName='plain-boto3')['QueueUrl'])"
        boto3.client("sqs").create_queue(QueueName="plain-boto3")
        out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True)
        self.assertIn("/plain-boto3", out.stdout)

    def test_aws_iatk_api(self):
        import iatk as aws_iatk

        boto3.client("cloudformation").create_stack(
            StackName="plain-stack",
            TemplateBody=json.dumps({"Resources": {"Q": {"Type": "AWS::SQS::Queue"}}, "Outputs": {"U": {"Value": {"Ref": "Q"}}}}),
        )
        outputs = aws_iatk.AwsIatk(region="us-east-1").get_stack_outputs(stack_name="plain-stack", output_names=["U"])
        self.assertTrue(outputs.outputs["U"].endswith("/123456789012/plain-stack-Q") or "plain-stack" in outputs.outputs["U"])
"""

KEEP_ENV_SUITE = """
import os

def test_environment_is_left_alone():
    assert os.environ.get("AWS_PROFILE") == "nowhere"
    assert "AWS_ENDPOINT_URL" not in os.environ
"""


@pytest.fixture
def hostile_env(monkeypatch):
    """What a developer's machine may hold: none of it may reach the run's boto3 clients."""
    monkeypatch.setenv("AWS_PROFILE", "nowhere")
    monkeypatch.setenv("AWS_SESSION_TOKEN", "stale")
    monkeypatch.setenv("AWS_ENDPOINT_URL_SQS", "http://127.0.0.1:1")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "eu-west-3")
    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)


def test_plain_boto3_suite_passes_without_a_conftest(pytester, hostile_env):
    pytester.makepyfile(test_plain=UNITTEST_SUITE)
    result = pytester.runpytest_subprocess("--iatk-backend=moto", "-p", "no:cacheprovider")
    result.assert_outcomes(passed=4)


def test_keep_env_leaves_the_environment(pytester, hostile_env):
    pytester.makepyfile(test_keep=KEEP_ENV_SUITE)
    result = pytester.runpytest_subprocess("--iatk-backend=moto", "--iatk-keep-env", "-p", "no:cacheprovider")
    result.assert_outcomes(passed=1)


def test_environment_is_restored_after_the_run(pytester, hostile_env, tmp_path):
    """An in-process run (pytester's) gives the environment back as it found it."""
    import os

    pytester.makepyfile(test_env="def test_set():\n    import os\n    assert os.environ['AWS_ENDPOINT_URL']\n")
    before = {k: v for k, v in os.environ.items() if k.startswith("AWS_")}
    pytester.runpytest_inprocess("--iatk-backend=moto", "-p", "no:cacheprovider").assert_outcomes(passed=1)
    assert {k: v for k, v in os.environ.items() if k.startswith("AWS_")} == before
    assert json.dumps(before)  # the hostile values, still there
    assert before["AWS_PROFILE"] == "nowhere"
