"""Stack resolution and deploy_stack on the embedded moto server."""

from __future__ import annotations

import json
import logging
import time

import pytest
from botocore.stub import ANY, Stubber

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
    """A template moto cannot create (a type it has no model for, after a bus) raises DeployError, cause kept, and the half-made stack is removed."""
    template = {
        "Resources": {
            "Bus": {"Type": "AWS::Events::EventBus", "Properties": {"Name": "bad-bus"}},
            "R": {
                "Type": "AWS::Pipes::Pipe",
                "Properties": {"Source": {"Fn::GetAtt": ["Bus", "Arn"]}, "Target": "x", "RoleArn": "r"},
            },
        }
    }
    with pytest.raises(DeployError, match="cannot create stack 'half-made'") as info:
        iatk.deploy_stack(json.dumps(template), "half-made", session=moto_session)
    assert info.value.__cause__ is not None
    assert "the half-made stack arn:aws:cloudformation:" in str(info.value)
    assert "was deleted" in str(info.value)
    # moto answered HTTP 500 after registering the stack; nothing of it is left CREATE_IN_PROGRESS
    summaries = aws(moto_session).cloudformation.list_stacks()["StackSummaries"]
    assert {s["StackStatus"] for s in summaries if s["StackName"] == "half-made"} <= {"DELETE_COMPLETE"}
    with pytest.raises(StackNotFound):
        iatk.Stack("half-made", session=moto_session).status  # noqa: B018


def test_deploy_over_an_existing_stack_leaves_it_alone(moto_session, app):
    """A create refused because the name is taken raises DeployError and never deletes the stack that is there."""
    with pytest.raises(DeployError, match="cannot create stack 'stack-tests'") as info:
        iatk.deploy_stack(
            json.dumps({"Resources": {"Q": {"Type": "AWS::SQS::Queue"}}}), "stack-tests", session=moto_session
        )
    assert info.value.code == "AlreadyExistsException"
    assert "half-made" not in str(info.value)
    assert iatk.Stack("stack-tests", session=moto_session).status == "CREATE_COMPLETE"


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


def _stubbed_session():
    """A plain boto3 Session with dummy keys; its iatk CloudFormation client is stubbed by the test."""
    import boto3

    return boto3.Session(aws_access_key_id="x", aws_secret_access_key="x", region_name="us-east-1")


def _described(status, name="s"):
    """A DescribeStacks response in AWS's shape for one stack in ``status``."""
    return {
        "Stacks": [
            {
                "StackName": name,
                "StackId": f"arn:aws:cloudformation:us-east-1:111122223333:stack/{name}/1",
                "CreationTime": "2026-01-01T00:00:00Z",
                "StackStatus": status,
            }
        ]
    }


def _answer(client, responses):
    """Answer the client's calls at the AWS boundary by operation name (any order, any count), like
    Stubber does through botocore's before-call event; returns the operations called."""
    from botocore.awsrequest import AWSResponse

    called = []

    def respond(model, **_):
        called.append(model.name)
        if model.name not in responses:
            raise AssertionError(f"unexpected AWS call {model.name}")
        return AWSResponse(None, 200, {}, None), responses[model.name]

    client.meta.events.register_first("before-call.*.*", respond)
    return called


@pytest.mark.parametrize(
    ("stack_status", "resource_status"),
    [
        ("CREATE_IN_PROGRESS", "CREATE_COMPLETE"),
        ("UPDATE_IN_PROGRESS", "UPDATE_COMPLETE"),
        ("ROLLBACK_COMPLETE", "DELETE_SKIPPED"),
    ],
)
def test_first_physical_id_on_a_fresh_stack_checks_the_stack_status(stack_status, resource_status):
    """physical_id on a new Stack raises StackNotReady for a stack not ready, even when the resource itself is complete."""
    session = _stubbed_session()
    arn = "arn:aws:cloudformation:us-east-1:111122223333:stack/s/1"
    queue = {
        "StackName": "s",
        "StackId": arn,
        "LogicalResourceId": "Queue",
        "PhysicalResourceId": "https://sqs.us-east-1.amazonaws.com/111122223333/q",
        "ResourceType": "AWS::SQS::Queue",
        "LastUpdatedTimestamp": "2026-01-01T00:00:01Z",
        "ResourceStatus": resource_status,
    }
    called = _answer(
        aws(session).cloudformation,
        {
            "DescribeStacks": _described(stack_status),
            "DescribeStackResource": {"StackResourceDetail": queue},
            "DescribeStackResources": {"StackResources": [{**queue, "Timestamp": "2026-01-01T00:00:01Z"}]},
            "ListStackResources": {"StackResourceSummaries": [queue]},
        },
    )
    with pytest.raises(StackNotReady, match=f"stack 's' is {stack_status}"):
        iatk.Stack("s", session=session).physical_id("Queue")
    assert "DescribeStacks" in called


def test_physical_id_without_status_check_is_one_call():
    """check_status=False (aws-iatk's way): one DescribeStackResource, whatever the stack's state."""
    session = _stubbed_session()
    queue = {
        "StackName": "s",
        "StackId": "arn:aws:cloudformation:us-east-1:111122223333:stack/s/1",
        "LogicalResourceId": "Queue",
        "PhysicalResourceId": "https://sqs.us-east-1.amazonaws.com/111122223333/q",
        "ResourceType": "AWS::SQS::Queue",
        "LastUpdatedTimestamp": "2026-01-01T00:00:01Z",
        "ResourceStatus": "CREATE_COMPLETE",
    }
    called = _answer(aws(session).cloudformation, {"DescribeStackResource": {"StackResourceDetail": queue}})
    assert iatk.Stack("s", session=session).physical_id("Queue", check_status=False) == queue["PhysicalResourceId"]
    assert called == ["DescribeStackResource"]


def test_physical_id_without_status_check_explains_a_miss_like_the_default():
    """check_status=False: a resource still in progress falls back to the full path, which reports the stack."""
    session = _stubbed_session()
    queue = {
        "StackName": "s",
        "StackId": "arn:aws:cloudformation:us-east-1:111122223333:stack/s/1",
        "LogicalResourceId": "Queue",
        "PhysicalResourceId": "q",
        "ResourceType": "AWS::SQS::Queue",
        "LastUpdatedTimestamp": "2026-01-01T00:00:01Z",
        "ResourceStatus": "CREATE_IN_PROGRESS",
    }
    called = _answer(
        aws(session).cloudformation,
        {"DescribeStackResource": {"StackResourceDetail": queue}, "DescribeStacks": _described("CREATE_IN_PROGRESS")},
    )
    with pytest.raises(StackNotReady, match="stack 's' is CREATE_IN_PROGRESS"):
        iatk.Stack("s", session=session).physical_id("Queue", check_status=False)
    assert called[:2] == ["DescribeStackResource", "DescribeStacks"]


def test_deploy_failure_raises_with_the_stacks_failure_events():
    """A create that ends ROLLBACK_COMPLETE raises DeployError naming each failed resource, with .events, and deletes the stack."""
    session = _stubbed_session()
    arn = "arn:aws:cloudformation:us-east-1:111122223333:stack/orders/1"
    failed = {
        "StackId": arn,
        "EventId": "e2",
        "StackName": "orders",
        "LogicalResourceId": "Inbox",
        "ResourceType": "AWS::SQS::Queue",
        "Timestamp": "2026-01-01T00:00:02Z",
        "ResourceStatus": "CREATE_FAILED",
        "ResourceStatusReason": "Resource handler returned message: access denied",
    }
    rolled_back = {
        "StackId": arn,
        "EventId": "e3",
        "StackName": "orders",
        "LogicalResourceId": "orders",
        "ResourceType": "AWS::CloudFormation::Stack",
        "Timestamp": "2026-01-01T00:00:03Z",
        "ResourceStatus": "ROLLBACK_COMPLETE",
    }
    with Stubber(aws(session).cloudformation) as stub:
        stub.add_response(
            "create_stack",
            {"StackId": arn},
            {
                "StackName": "orders",
                "TemplateBody": ANY,
                "Parameters": [],
                "Capabilities": ["CAPABILITY_IAM", "CAPABILITY_NAMED_IAM", "CAPABILITY_AUTO_EXPAND"],
                "Tags": ANY,
                "OnFailure": "DO_NOTHING",
            },
        )
        stub.add_response("describe_stacks", _described("CREATE_IN_PROGRESS", "orders"), {"StackName": arn})
        stub.add_response("describe_stacks", _described("ROLLBACK_COMPLETE", "orders"), {"StackName": arn})
        stub.add_response("describe_stack_events", {"StackEvents": [rolled_back, failed]}, {"StackName": arn})
        stub.add_response("delete_stack", {}, {"StackName": arn})
        template = json.dumps({"Resources": {"Inbox": {"Type": "AWS::SQS::Queue"}}})
        with pytest.raises(DeployError) as info:
            iatk.deploy_stack(template, "orders", session=session)
        stub.assert_no_pending_responses()
    message = str(info.value)
    assert "stack 'orders' ended ROLLBACK_COMPLETE" in message
    assert "Inbox (AWS::SQS::Queue): Resource handler returned message: access denied" in message
    assert [e["EventId"] for e in info.value.events] == ["e2"]


def test_unknown_stack_with_no_close_name_lists_the_stacks_there():
    """StackNotFound without a close match lists the stacks that exist (deleted ones left out)."""
    session = _stubbed_session()
    summaries = [
        {"StackName": name, "StackStatus": status, "CreationTime": "2026-01-01T00:00:00Z"}
        for name, status in [
            ("payments", "CREATE_COMPLETE"),
            ("gone", "DELETE_COMPLETE"),
            ("inventory", "UPDATE_COMPLETE"),
        ]
    ]
    with Stubber(aws(session).cloudformation) as stub:
        stub.add_client_error(
            "describe_stacks",
            "ValidationError",
            "Stack with id zzzz does not exist",
            400,
            expected_params={"StackName": "zzzz"},
        )
        stub.add_response("list_stacks", {"StackSummaries": summaries}, {})
        with pytest.raises(StackNotFound) as info:
            iatk.Stack("zzzz", session=session).outputs  # noqa: B018
    message = str(info.value)
    assert "stack 'zzzz' not found in region us-east-1; stacks here: inventory, payments." in message
    assert "did you mean" not in message
    assert "gone" not in message


POLICY_APP = """\
# A plain AWS template: on AWS the rule delivers only because of the queue policy.
Resources:
  Bus:
    Type: AWS::Events::EventBus
    Properties:
      Name: qp-bus
  Inbox:
    Type: AWS::SQS::Queue
    Properties:
      QueueName: qp-inbox
  InboxPolicy:
    Type: AWS::SQS::QueuePolicy
    Properties:
      Queues: [!Ref Inbox]
      PolicyDocument:
        Version: "2012-10-17"
        Statement:
          - Effect: Allow
            Principal: {Service: events.amazonaws.com}
            Action: sqs:SendMessage
            Resource: !GetAtt Inbox.Arn
            Condition:
              ArnEquals: {"aws:SourceArn": !GetAtt Rule.Arn}
  Rule:
    Type: AWS::Events::Rule
    DependsOn: [Inbox, InboxPolicy]
    Properties:
      EventBusName: !GetAtt Bus.Name
      EventPattern: {source: [qp.test]}
      Targets:
        - Id: inbox
          Arn: !GetAtt Inbox.Arn
  Later:
    Type: AWS::SQS::Queue
    DependsOn: InboxPolicy
    Properties:
      QueueName: qp-later
Outputs:
  InboxUrl:
    Value: !Ref Inbox
"""


def _anonymous_entries(session, stack_name):
    """Resources moto lists with no logical id (what it does for a type it skipped)."""
    resources = aws(session).cloudformation.describe_stack_resources(StackName=stack_name)["StackResources"]
    return [r for r in resources if not r.get("LogicalResourceId")]


@pytest.mark.filterwarnings("error")
def test_queue_policy_is_left_out_on_the_embedded_backend(moto_session, caplog):
    """A template with a QueuePolicy and DependsOn on it deploys under -W error; the rule delivers; no policy and no anonymous entry is listed."""
    caplog.set_level(logging.INFO, logger="iatk.stack")
    stack = iatk.deploy_stack(POLICY_APP, "qp-app", session=moto_session)
    assert [(r.logical_id, r.type) for r in stack.resources] == [
        ("Bus", "AWS::Events::EventBus"),
        ("Inbox", "AWS::SQS::Queue"),
        ("Rule", "AWS::Events::Rule"),
        ("Later", "AWS::SQS::Queue"),
    ]
    assert _anonymous_entries(moto_session, "qp-app") == []
    assert (
        "embedded backend: left out 1 resource moto cannot create from stack 'qp-app': "
        "InboxPolicy (AWS::SQS::QueuePolicy)" in caplog.messages
    )
    ctx = aws(moto_session)
    ctx.events.put_events(Entries=[{"EventBusName": "qp-bus", "Source": "qp.test", "DetailType": "t", "Detail": "{}"}])
    messages = ctx.sqs.receive_message(QueueUrl=stack.output("InboxUrl"), WaitTimeSeconds=5).get("Messages", [])
    assert [json.loads(m["Body"])["source"] for m in messages] == ["qp.test"]
    with pytest.raises(ResourceNotInStack, match="has no resource 'InboxPolicy'"):
        stack.physical_id("InboxPolicy")


def test_every_type_left_out_is_one_moto_skips(moto_session):
    """moto (as installed) has no model for any type deploy_stack leaves out; the embedded server stands
    in for them, so a plain CreateStack with them completes and lists each with its logical id."""
    from moto.core.common_models import CloudFormationModel

    from iatk._templates import MOTO_SKIPPED_TYPES

    moto_types = {
        m.cloudformation_type() for m in CloudFormationModel.__subclasses__() if m.__module__.startswith("moto.")
    }
    assert not (MOTO_SKIPPED_TYPES & moto_types)
    resources = {
        "Queue": {"Type": "AWS::SQS::Queue", "Properties": {"QueueName": "skip-probe"}},
        **{f"P{i}": {"Type": t, "Properties": {}} for i, t in enumerate(sorted(MOTO_SKIPPED_TYPES))},
    }
    cfn = aws(moto_session).cloudformation
    cfn.create_stack(StackName="skip-probe", TemplateBody=json.dumps({"Resources": resources}))
    try:
        anonymous = _anonymous_entries(moto_session, "skip-probe")
        listed = {
            r["LogicalResourceId"] for r in cfn.describe_stack_resources(StackName="skip-probe")["StackResources"]
        }
    finally:
        cfn.delete_stack(StackName="skip-probe")
    assert anonymous == []
    assert listed == set(resources)


@pytest.mark.filterwarnings("error")
def test_policies_of_a_nested_template_are_left_out(moto_session, tmp_path, caplog):
    """A local nested template's policies are left out too (its DependsOn with them), and logged with their path."""
    (tmp_path / "parent.yaml").write_text(
        "Resources:\n"
        "  Topic:\n    Type: AWS::SNS::Topic\n"
        "  TopicPolicy:\n    Type: AWS::SNS::TopicPolicy\n"
        "    Properties: {Topics: [!Ref Topic], PolicyDocument: {Statement: []}}\n"
        "  Child:\n    Type: AWS::CloudFormation::Stack\n    DependsOn: TopicPolicy\n"
        "    Properties: {TemplateURL: nested/child.yaml}\n"
    )
    (tmp_path / "nested").mkdir()
    (tmp_path / "nested" / "child.yaml").write_text(
        "Resources:\n"
        "  Queue:\n    Type: AWS::SQS::Queue\n    DependsOn: [QueuePolicy]\n    Properties: {QueueName: nested-qp}\n"
        "  QueuePolicy:\n    Type: AWS::SQS::QueuePolicy\n"
        "    Properties: {Queues: [!Ref Queue], PolicyDocument: {Statement: []}}\n"
        "Outputs:\n  QueueUrl:\n    Value: !Ref Queue\n"
    )
    caplog.set_level(logging.INFO, logger="iatk.stack")
    stack = iatk.deploy_stack(tmp_path / "parent.yaml", "nested-qp", session=moto_session)
    assert [r.logical_id for r in stack.resources] == ["Topic", "Child"]
    assert [(r.logical_id, r.type) for r in stack.nested("Child").resources] == [("Queue", "AWS::SQS::Queue")]
    assert stack.physical_id("Child/Queue").endswith("/nested-qp")
    assert _anonymous_entries(moto_session, stack.nested("Child").name) == []
    assert (
        "embedded backend: left out 2 resources moto cannot create from stack 'nested-qp': "
        "TopicPolicy (AWS::SNS::TopicPolicy), Child/QueuePolicy (AWS::SQS::QueuePolicy)" in caplog.messages
    )


def test_an_output_of_a_left_out_resource_fails_before_the_create(moto_session, tmp_path):
    """An Output that refers to a policy the embedded backend leaves out raises DeployError naming both, and no stack is made."""
    template = POLICY_APP + "  PolicyId:\n    Value: !Ref InboxPolicy\n"
    with pytest.raises(DeployError) as info:
        iatk.deploy_stack(template, "qp-output", session=moto_session)
    message = str(info.value)
    assert (
        "stack 'qp-output' (template): the embedded backend leaves out InboxPolicy (AWS::SQS::QueuePolicy)" in message
    )
    assert "Output 'PolicyId' refers to 'InboxPolicy' with Ref" in message
    assert "section 'Stacks'" in message
    with pytest.raises(StackNotFound):
        iatk.Stack("qp-output", session=moto_session).status  # noqa: B018


def test_a_nested_reference_to_a_left_out_resource_fails_before_any_upload(moto_session, tmp_path):
    """A nested template whose resource uses a left-out policy's id fails, naming the nested template, before uploading."""
    (tmp_path / "parent.yaml").write_text(
        "Resources:\n  Child:\n    Type: AWS::CloudFormation::Stack\n    Properties: {TemplateURL: child.yaml}\n"
    )
    (tmp_path / "child.yaml").write_text(
        "Resources:\n"
        "  Queue:\n    Type: AWS::SQS::Queue\n"
        "  QueuePolicy:\n    Type: AWS::SQS::QueuePolicy\n"
        "    Properties: {Queues: [!Ref Queue], PolicyDocument: {Statement: []}}\n"
        "  Other:\n    Type: AWS::SQS::Queue\n    Properties: {QueueName: !Sub 'after-${QueuePolicy}'}\n"
    )
    puts = count_calls(moto_session, "s3", "PutObject")
    with pytest.raises(
        DeployError,
        match=r"nested template 'child.yaml' \(Child\): .*resource 'Other' refers to 'QueuePolicy' with Fn::Sub",
    ):
        iatk.deploy_stack(tmp_path / "parent.yaml", "qp-nested-ref", session=moto_session)
    assert puts == []


def test_on_aws_the_template_text_is_sent_unchanged(tmp_path):
    """Off the embedded backend, CreateStack gets the file's text byte for byte, policy, comments and CRLF included."""
    session = _stubbed_session()
    path = tmp_path / "app.yaml"
    path.write_bytes(POLICY_APP.replace("\n", "\r\n").encode())
    arn = "arn:aws:cloudformation:us-east-1:111122223333:stack/qp/1"
    with Stubber(aws(session).cloudformation) as stub:
        stub.add_response(
            "create_stack",
            {"StackId": arn},
            {
                "StackName": "qp",
                "TemplateBody": path.read_bytes().decode(),
                "Parameters": [],
                "Capabilities": ANY,
                "Tags": ANY,
                "OnFailure": "DO_NOTHING",
            },
        )
        stub.add_response("describe_stacks", _described("CREATE_COMPLETE", "qp"), {"StackName": arn})
        stack = iatk.deploy_stack(path, "qp", session=session)
        stub.assert_no_pending_responses()
    assert repr(stack) == f"Stack({arn!r})"
