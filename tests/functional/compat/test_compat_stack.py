"""AwsIatk's CloudFormation helpers on the embedded moto server (bug 15: stack ARNs, missing keys named)."""

from __future__ import annotations

import json
import secrets
from collections.abc import Iterator
from typing import Any

import pytest

from iatk.compat import AwsIatk, IatkException

TEMPLATE = {
    "Resources": {
        "Inbox": {"Type": "AWS::SQS::Queue", "Properties": {"QueueName": "compat-inbox-QUEUE"}},
        "Topic": {"Type": "AWS::SNS::Topic"},
    },
    "Outputs": {
        "InboxUrl": {"Value": {"Ref": "Inbox"}},
        "InboxArn": {"Value": {"Fn::GetAtt": ["Inbox", "Arn"]}},
    },
}


@pytest.fixture(scope="module")
def stack(moto_session: Any) -> Iterator[dict[str, str]]:
    """A deployed stack with a queue and two outputs; yields its name and id (an ARN)."""
    name = f"compat-stack-{secrets.token_hex(3)}"
    body = json.dumps(TEMPLATE).replace("QUEUE", name)
    cloudformation = moto_session.client("cloudformation")
    stack_id = cloudformation.create_stack(StackName=name, TemplateBody=body)["StackId"]
    yield {"name": name, "id": stack_id}
    cloudformation.delete_stack(StackName=stack_id)


def test_outputs_by_name(kit: AwsIatk, stack: dict[str, str]):
    """Only the requested keys come back, duplicates folded, as in aws-iatk."""
    outputs = kit.get_stack_outputs(stack["name"], ["InboxUrl", "InboxArn", "InboxUrl"]).outputs
    assert list(outputs) == ["InboxUrl", "InboxArn"]
    assert outputs["InboxUrl"].endswith("/compat-inbox-" + stack["name"])
    assert outputs["InboxArn"].startswith("arn:aws:sqs:")


def test_outputs_by_stack_arn(kit: AwsIatk, stack: dict[str, str]):
    """Bug 15: a stack ARN (stack id) works too (aws-iatk matched the name exactly and failed)."""
    assert stack["id"].startswith("arn:aws:cloudformation:")
    by_arn = kit.get_stack_outputs(stack["id"], ["InboxArn"]).outputs
    assert by_arn == kit.get_stack_outputs(stack["name"], ["InboxArn"]).outputs


def test_missing_output_is_named(kit: AwsIatk, stack: dict[str, str]):
    """Bug 15: the error names the missing key and lists the outputs (aws-iatk: 'Not all output keys found')."""
    with pytest.raises(IatkException, match=r"no output 'InboxURL'.*InboxArn, InboxUrl") as caught:
        kit.get_stack_outputs(stack["name"], ["InboxArn", "InboxURL"])
    assert caught.value.error_code == 404


def test_unknown_stack_is_404(kit: AwsIatk):
    """A stack that does not exist is a 404 with the stack's name (aws-iatk: code 0)."""
    with pytest.raises(IatkException, match="no-such-stack-x") as caught:
        kit.get_stack_outputs("no-such-stack-x", ["A"])
    assert caught.value.error_code == 404


def test_physical_id_of_a_queue_is_its_url(kit: AwsIatk, stack: dict[str, str]):
    """get_physical_id_from_stack gives the queue URL, by stack name or ARN."""
    url = kit.get_stack_outputs(stack["name"], ["InboxUrl"]).outputs["InboxUrl"]
    assert kit.get_physical_id_from_stack("Inbox", stack["name"]).physical_id == url
    assert kit.get_physical_id_from_stack("Inbox", stack["id"]).physical_id == url


def test_unknown_logical_id_is_404_with_the_closest(kit: AwsIatk, stack: dict[str, str]):
    """An unknown logical id is a 404 that lists the stack's logical ids, closest first."""
    with pytest.raises(IatkException, match="Inbx.*Inbox") as caught:
        kit.get_physical_id_from_stack("Inbx", stack["name"])
    assert caught.value.error_code == 404


def test_region_and_profile_stay_on_the_embedded_backend(moto_session: Any, stack: dict[str, str]):
    """Under --iatk-backend=moto, AwsIatk(region=..., profile=...) uses the embedded server, never AWS."""
    from iatk import _aws

    previous = _aws.installed_session()
    _aws.set_default_session(moto_session)
    try:
        assert AwsIatk().session is None  # the run's session, looked up at each call
        assert AwsIatk(region="us-east-1", profile="prod").session is moto_session
        assert AwsIatk(region="us-east-1").get_stack_outputs(stack["name"], ["InboxArn"]).outputs["InboxArn"]
        other = AwsIatk(region="eu-west-1").session
        assert other is not None
        assert other.region_name == "eu-west-1"
        assert other.iatk_endpoint_url == moto_session.iatk_endpoint_url
    finally:
        _aws.set_default_session(previous)
