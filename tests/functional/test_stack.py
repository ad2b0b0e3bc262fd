"""Stack resolution and deploy_stack on the embedded moto server."""

from __future__ import annotations

import json
import time

import pytest
from botocore.stub import Stubber

import iatk
from iatk._aws import aws
from iatk.exceptions import (
    DeployError,
    ResourceNotInStack,
    StackNotFound,
    StackNotReady,
    StackOutputNotFound,
)


@pytest.fixture(scope="module")
def app(moto_session, data_dir):
    """The sample app (with a nested stack) deployed once for this module."""
    return iatk.deploy_stack(data_dir / "templates" / "app.yaml", "stack-tests", {"Stage": "st"}, session=moto_session)


def count_calls(session, service, operation):
    """Count API calls of one operation made through the session's cached client."""
    calls = []
    aws(session).client(service).meta.events.register(f"before-call.{service}.{operation}", lambda **_: calls.append(1))
    return calls


def test_outputs_and_physical_ids(app):
    """Outputs and physical ids read back, including a queue's URL and a state machine's ARN."""
    assert app.outputs["BusName"] == "orders-st"
    assert app.output("InboxUrl").endswith("/orders-inbox-st")
    assert app.physical_id("Workflow") == app.output("WorkflowArn")
    assert app.status == "CREATE_COMPLETE"
    assert app.name == "stack-tests"


def test_nested_physical_id(app):
    """'Child/Queue' follows the nested stack."""
    assert app.physical_id("Child/Queue").endswith("/child-queue")
    assert app.nested("Child").physical_id("Queue") == app.physical_id("Child/Queue")


def test_event_bus_without_physical_id_falls_back_to_template_name(app):
    """moto gives EventBus no physical id; the template's Name (a !Sub over parameters) stands in."""
    assert app.physical_id("Bus") == "orders-st"


def test_resources_are_frozen_records(app):
    """Resources list logical id, physical id, type and status, and cannot be changed."""
    by_id = {r.logical_id: r for r in app.resources}
    assert by_id["Inbox"].type == "AWS::SQS::Queue"
    assert by_id["Child"].type == "AWS::CloudFormation::Stack"
    with pytest.raises(AttributeError):
        by_id["Inbox"].status = "x"  # type: ignore[misc]


def test_lookups_are_cached(moto_session, app):
    """Many look-ups on one Stack cost one DescribeStacks and one ListStackResources."""
    describes = count_calls(moto_session, "cloudformation", "DescribeStacks")
    lists = count_calls(moto_session, "cloudformation", "ListStackResources")
    stack = iatk.Stack(app.arn, session=moto_session)
    for _ in range(5):
        stack.outputs  # noqa: B018
        stack.physical_id("Inbox")
        stack.physical_id("OrderRule")
    assert (len(describes), len(lists)) == (1, 1)
    stack.refresh().outputs  # noqa: B018
    assert len(describes) == 2


def test_stack_by_arn(moto_session, app):
    """A stack ARN works as the name (aws-iatk's get_stack_outputs fails on it)."""
    assert iatk.Stack(app.arn, session=moto_session).output("BusName") == "orders-st"


def test_unknown_stack_suggests_close_names(moto_session, app):
    """StackNotFound names the stack asked for and the close ones that exist."""
    with pytest.raises(StackNotFound, match=r"stack 'stack-test' not found .*did you mean: stack-tests") as info:
        iatk.Stack("stack-test", session=moto_session).outputs  # noqa: B018
    assert info.value.code == "ValidationError"
    assert info.value.__cause__ is not None


def test_unknown_output_lists_outputs(app):
    """StackOutputNotFound lists every output and a close match."""
    with pytest.raises(
        StackOutputNotFound,
        match=r"no output 'BusNam'; its outputs are: BusArn, BusName, InboxUrl.*Did you mean 'BusName'",
    ):
        app.output("BusNam")


def test_unknown_logical_id_lists_closest_first(app):
    """ResourceNotInStack lists logical ids, closest first, with a suggestion."""
    with pytest.raises(ResourceNotInStack) as info:
        app.physical_id("Inbx")
    message = str(info.value)
    assert "Did you mean 'Inbox'?" in message
    assert "closest first: Inbox," in message


def test_unknown_nested_logical_id(app):
    """A miss inside a nested stack names the nested stack's ids."""
    with pytest.raises(ResourceNotInStack, match=r"has no resource 'Nope'.*closest first: Queue"):
        app.physical_id("Child/Nope")


def test_not_a_nested_stack(app):
    """Following a path through a resource that is not a stack says what it is."""
    with pytest.raises(ResourceNotInStack, match="is a AWS::SQS::Queue, not a nested stack"):
        app.physical_id("Inbox/Queue")


@pytest.mark.parametrize("status", ["CREATE_IN_PROGRESS", "ROLLBACK_COMPLETE", "UPDATE_ROLLBACK_FAILED"])
def test_stack_not_ready_is_reported(status):
    """A stack outside the readable *_COMPLETE states raises StackNotReady with its status (AWS shape, stubbed)."""
    import boto3

    session = boto3.Session(aws_access_key_id="x", aws_secret_access_key="x", region_name="us-east-1")
    cfn = aws(session).cloudformation
    with Stubber(cfn) as stub:
        stub.add_response(
            "describe_stacks",
            {
                "Stacks": [
                    {
                        "StackName": "s",
                        "StackId": "arn:aws:cloudformation:us-east-1:1:stack/s/1",
                        "CreationTime": "2026-01-01T00:00:00Z",
                        "StackStatus": status,
                        "StackStatusReason": "because",
                    }
                ]
            },
            {"StackName": "s"},
        )
        with pytest.raises(StackNotReady, match=f"stack 's' is {status} \\(because\\)"):
            iatk.Stack("s", session=session).outputs  # noqa: B018


def test_deploy_failure_raises_with_the_aws_error(moto_session):
    """A template moto cannot create (Rule.EventBusName: !Ref Bus) raises DeployError, cause kept."""
    template = {
        "Resources": {
            "Bus": {"Type": "AWS::Events::EventBus", "Properties": {"Name": "bad-bus"}},
            "R": {
                "Type": "AWS::Events::Rule",
                "Properties": {"EventBusName": {"Ref": "Bus"}, "EventPattern": {"source": ["x"]}},
            },
        }
    }
    with pytest.raises(DeployError, match="cannot create stack 'bad'") as info:
        iatk.deploy_stack(json.dumps(template), "bad", session=moto_session)
    assert info.value.__cause__ is not None


def test_deploy_rejects_unknown_parameters(moto_session, data_dir):
    """A parameter the template does not declare is refused before any call."""
    with pytest.raises(iatk.ConfigError, match="unknown template parameter.*Stag.*declares: Stage"):
        iatk.deploy_stack(data_dir / "templates" / "app.yaml", "x", {"Stag": "1"}, session=moto_session)


def test_deployed_stack_is_tagged(moto_session, app):
    """deploy_stack tags the stack with iatk:deploy, the run id and an expiry."""
    stacks = aws(moto_session).cloudformation.describe_stacks(StackName=app.arn)["Stacks"]
    tags = {t["Key"]: t["Value"] for t in stacks[0]["Tags"]}
    assert tags["iatk:deploy"] == "true"
    assert tags["iatk:run-id"] == iatk._tags.current_run_id()
    assert "iatk:expires-at" in tags


def test_deployed_state_machine_executes(moto_session, app):
    """On the embedded backend the template's state machine really runs: its event reaches the queue."""
    sfn = moto_session.client("stepfunctions")
    sqs = moto_session.client("sqs")
    execution = sfn.start_execution(
        stateMachineArn=app.output("WorkflowArn"), name="exec-41", input=json.dumps({"id": 41})
    )
    messages = sqs.receive_message(QueueUrl=app.output("InboxUrl"), WaitTimeSeconds=5).get("Messages", [])
    assert [json.loads(m["Body"]) for m in messages] == [{"orderId": 41, "kind": "order-created"}]
    deadline = time.monotonic() + 5  # moto closes the execution a moment after the event lands
    while (status := sfn.describe_execution(executionArn=execution["executionArn"])["status"]) == "RUNNING":
        assert time.monotonic() < deadline, "execution still RUNNING 5 s after its event arrived"
        time.sleep(0.05)
    assert status == "SUCCEEDED"
