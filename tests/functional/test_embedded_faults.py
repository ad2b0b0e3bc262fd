"""Deploy and PutEvents faults on the embedded backend (issue 22, items 3, 4 and 14).

Each fault is what a hostile user sends: a type moto does not implement, a reference to what the
template does not define, text that is no template, a Detail that is not a JSON object. Each gets a
typed error naming what is wrong, and the server stays usable after it (``DescribeStacks`` answers).
"""

from __future__ import annotations

import json
import secrets
from pathlib import Path
from typing import Any

import pytest
from botocore.exceptions import ClientError

import iatk
from iatk.exceptions import ConfigError, DeployError


def name(prefix: str) -> str:
    return f"{prefix}-{secrets.token_hex(3)}"


class Calls:
    """The CloudFormation operations a session's client makes (botocore before-call hook)."""

    def __init__(self, session: Any) -> None:
        from iatk._aws import aws

        self.client = aws(session).cloudformation
        self.names: list[str] = []
        self.client.meta.events.register("before-call.cloudformation", self.record)

    def record(self, model: Any, **_: Any) -> None:
        self.names.append(model.name)

    def close(self) -> None:
        self.client.meta.events.unregister("before-call.cloudformation", self.record)


def stacks_readable(session: Any) -> list[str]:
    """DescribeStacks of every stack answers (it failed for the rest of the run after moto's HTTP 500)."""
    return [stack["StackName"] for stack in session.client("cloudformation").describe_stacks()["Stacks"]]


@pytest.mark.parametrize(
    ("resource_type", "properties"),
    [
        ("AWS::AppSync::GraphQLApi", {"Name": "api", "AuthenticationType": "API_KEY"}),
        ("AWS::Made::Up", {}),
        ("AWS::CloudFormation::CustomResource", {"ServiceToken": "arn:aws:lambda:us-east-1:123456789012:function:f"}),
    ],
)
def test_a_type_moto_does_not_implement_names_the_type(moto_session, resource_type, properties):
    """Not skipped silently (a Stack whose resource does not exist): a DeployError naming resource and type."""
    stack = name("unimplemented")
    template = {"Resources": {"Q": {"Type": "AWS::SQS::Queue"}, "X": {"Type": resource_type, "Properties": properties}}}
    with pytest.raises(DeployError) as caught:
        iatk.deploy_stack(json.dumps(template), stack, session=moto_session)
    assert f"X ({resource_type})" in str(caught.value)
    assert "XML" not in str(caught.value)
    assert stack not in stacks_readable(moto_session)  # the half-made stack was deleted


def test_references_to_what_the_template_does_not_define_fail_before_create_stack(moto_session):
    """Each bad Ref / GetAtt / Sub / DependsOn / condition / mapping is named; CreateStack is never called."""
    template = {
        "Parameters": {"Stage": {"Type": "String"}},
        "Conditions": {"IsProd": {"Fn::Equals": [{"Ref": "Stage"}, "prod"]}},
        "Mappings": {"Sizes": {"prod": {"n": "3"}}},
        "Resources": {
            "Queue": {
                "Type": "AWS::SQS::Queue",
                "DependsOn": "Missing",
                "Properties": {
                    "QueueName": {"Fn::Sub": "${Stage}-${Nope}-${AWS::Region}"},
                    "DelaySeconds": {"Fn::FindInMap": ["Size", "prod", "n"]},
                },
            },
            "Topic": {
                "Type": "AWS::SNS::Topic",
                "Condition": "IsProduction",
                "Properties": {"TopicName": {"Ref": "Queu"}},
            },
        },
        "Outputs": {
            "Arn": {"Value": {"Fn::GetAtt": ["Absent", "Arn"]}},
            "Url": {"Value": {"Ref": "Queue"}},  # fine
        },
    }
    calls = Calls(moto_session)
    try:
        with pytest.raises(DeployError) as caught:
            iatk.deploy_stack(json.dumps(template), name("refs"), {"Stage": "t"}, session=moto_session)
    finally:
        calls.close()
    message = str(caught.value)
    assert "refers to 6 things it does not define" in message
    assert "resource 'Queue' refers to 'Missing' with DependsOn" in message
    assert "resource 'Queue' refers to 'Nope' with Fn::Sub" in message
    assert (
        "resource 'Queue' refers to 'Size' with Fn::FindInMap: the template has no mapping of that name; did you mean 'Sizes'?"
        in message
    )
    assert "resource 'Topic' refers to 'IsProduction' with Condition" in message
    assert "did you mean 'IsProd'?" in message
    assert "resource 'Topic' refers to 'Queu' with Ref" in message
    assert "did you mean 'Queue'?" in message
    assert "Output 'Arn' refers to 'Absent' with Fn::GetAtt: the template has no resource of that name" in message
    assert "'Stage'" not in message
    assert "AWS::Region" not in message
    assert "CreateStack" not in calls.names
    stacks_readable(moto_session)


def test_plain_create_stack_with_a_bad_output_reference_leaves_the_stack_list_readable(moto_session):
    """CloudFormation's ValidationError for a plain CreateStack; moto registered the stack and every
    later DescribeStacks of the server answered HTTP 500 (botocore: "invalid XML")."""
    client = moto_session.client("cloudformation")
    stack = name("bad-output")
    template = {"Resources": {"Q": {"Type": "AWS::SQS::Queue"}}, "Outputs": {"O": {"Value": {"Ref": "Nope"}}}}
    with pytest.raises(ClientError) as caught:
        client.create_stack(StackName=stack, TemplateBody=json.dumps(template))
    assert caught.value.response["Error"]["Code"] == "ValidationError"
    assert caught.value.response["Error"]["Message"] == (
        "Template format error: Unresolved resource dependencies [Nope] in the Outputs block of the template"
    )
    assert stack not in stacks_readable(moto_session)
    good = name("good")
    client.create_stack(StackName=good, TemplateBody=json.dumps({"Resources": {"Q": {"Type": "AWS::SQS::Queue"}}}))
    try:
        assert good in stacks_readable(moto_session)
    finally:
        client.delete_stack(StackName=good)


@pytest.mark.parametrize(
    ("template", "expected"),
    [
        ({"Resources": {"Q": {"Type": "AWS::SQS::Queue", "Properties": {"QueueName": {"Fn::GetAtt": ["X", "Arn"]}}}}},
         "Template error: instance of Fn::GetAtt references undefined resource X"),
        ({"Resources": {"Q": {"Type": "AWS::SQS::Queue", "DependsOn": ["A", "B"]}}},
         "Template format error: Unresolved resource dependencies [A, B] in the Resources block of the template"),
    ],
)  # fmt: skip
def test_plain_create_stack_gets_cloudformations_validation_error(moto_session, template, expected):
    """A Ref / GetAtt / DependsOn to nothing: CloudFormation's answer, nothing registered."""
    client = moto_session.client("cloudformation")
    stack = name("plain")
    with pytest.raises(ClientError) as caught:
        client.create_stack(StackName=stack, TemplateBody=json.dumps(template))
    assert caught.value.response["Error"]["Message"] == expected
    assert stack not in stacks_readable(moto_session)


def test_plain_create_stack_with_text_that_is_no_template(moto_session):
    """moto answered HTTP 500; now "Template format error" naming the parse problem."""
    client = moto_session.client("cloudformation")
    with pytest.raises(ClientError) as caught:
        client.create_stack(StackName=name("garbage"), TemplateBody="Resources: [\n  : : x\n")
    assert caught.value.response["Error"]["Code"] == "ValidationError"
    assert "not well-formed" in caught.value.response["Error"]["Message"]
    stacks_readable(moto_session)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Resources:\n  Q: [\n  : : x\n", r"template does not parse as YAML: expected the node content.* at line 3, column 3"),
        ("Resources: [Q: {", r"template does not parse as YAML: .* at line 1, column \d+"),
        ('{"Resources": {"Q": }', r"template does not parse as JSON: Expecting value at line 1, column 21"),
        ("just some words", r"template is not a CloudFormation template: it has no Resources section"),
    ],
)  # fmt: skip
def test_template_text_that_does_not_parse_says_so_and_where(moto_session, text, expected):
    """Not "template file ... not found": what it does not parse as, and the line and column."""
    with pytest.raises(ConfigError, match=expected) as caught:
        iatk.deploy_stack(text, name("text"), session=moto_session)
    assert "not found" not in str(caught.value)
    assert "section 'Stacks'" in str(caught.value)


def test_a_missing_template_file_is_still_not_found(moto_session, tmp_path):
    with pytest.raises(ConfigError, match="template file .*missing.yaml' not found"):
        iatk.deploy_stack(str(tmp_path / "missing.yaml"), name("file"), session=moto_session)


def test_put_events_with_a_detail_that_is_not_an_object_is_malformed(moto_session):
    """EventBridge answers MalformedDetail for a JSON array / string / number; moto delivered it."""
    events = moto_session.client("events")
    entries = [
        {"Source": "app.faults", "DetailType": "t", "Detail": "[1, 2]"},
        {"Source": "app.faults", "DetailType": "t", "Detail": '"text"'},
        {"Source": "app.faults", "DetailType": "t", "Detail": "42"},
        {"Source": "app.faults", "DetailType": "t", "Detail": '{"fine": true}'},
    ]
    answer = events.put_events(Entries=entries)  # type: ignore[arg-type]
    assert answer["FailedEntryCount"] == 3
    assert [entry.get("ErrorCode") for entry in answer["Entries"]] == ["MalformedDetail"] * 3 + [None]
    assert answer["Entries"][0]["ErrorMessage"] == "Detail is malformed."


def _upload_buckets(session: Any) -> set[str]:
    return {b["Name"] for b in session.client("s3").list_buckets()["Buckets"]} & {"iatk-templates", "iatk-artifacts"}


def test_deploy_uploads_are_tagged_then_removed(moto_session, tmp_path: Path):
    """Nested templates and SAM code go to tagged buckets, removed once the create has read them."""
    (tmp_path / "child.yaml").write_text("Resources:\n  Queue:\n    Type: AWS::SQS::Queue\n")
    (tmp_path / "src").mkdir()
    (tmp_path / "src" / "app.py").write_text("def handler(event, context):\n    return event\n")
    (tmp_path / "template.yaml").write_text(
        "Transform: AWS::Serverless-2016-10-31\n"
        "Resources:\n"
        "  Child:\n    Type: AWS::CloudFormation::Stack\n    Properties:\n      TemplateURL: child.yaml\n"
        "  Fn:\n    Type: AWS::Serverless::Function\n"
        "    Properties:\n      Runtime: python3.12\n      Handler: app.handler\n      CodeUri: src\n"
    )
    seen: dict[str, Any] = {}
    s3 = moto_session.client("s3")

    def at_create(**_: Any) -> None:  # the buckets as CreateStack finds them
        for bucket in ("iatk-templates", "iatk-artifacts"):
            seen[bucket] = (
                s3.get_bucket_tagging(Bucket=bucket)["TagSet"],
                [item["Key"] for item in s3.list_objects_v2(Bucket=bucket).get("Contents", [])],
            )

    calls = Calls(moto_session)
    calls.client.meta.events.register("before-call.cloudformation.CreateStack", at_create)
    stack_name = name("uploads")
    try:
        stack = iatk.deploy_stack(tmp_path / "template.yaml", stack_name, session=moto_session)
    finally:
        calls.client.meta.events.unregister("before-call.cloudformation.CreateStack", at_create)
        calls.close()
    try:
        tags, keys = seen["iatk-templates"]
        assert tags == [{"Key": "iatk:embedded", "Value": "deploy-uploads"}]
        assert keys == [f"{stack_name}/Child/child.yaml.json"]
        tags, keys = seen["iatk-artifacts"]
        assert tags == [{"Key": "iatk:embedded", "Value": "deploy-uploads"}]
        assert len(keys) == 1
        assert keys[0].startswith(f"{stack_name}/")
        assert keys[0].endswith(".zip")
        assert _upload_buckets(moto_session) == set()  # removed: the stack's create has read them
        assert stack.physical_id("Child/Queue")  # and the stack is whole
    finally:
        stack.delete()


def test_a_failed_deploy_removes_its_uploads_too(moto_session, tmp_path: Path):
    (tmp_path / "child.yaml").write_text("Resources:\n  X:\n    Type: AWS::Made::Up\n")
    (tmp_path / "template.yaml").write_text(
        "Resources:\n  Child:\n    Type: AWS::CloudFormation::Stack\n    Properties:\n      TemplateURL: child.yaml\n"
    )
    with pytest.raises(DeployError):
        iatk.deploy_stack(tmp_path / "template.yaml", name("failed-uploads"), session=moto_session)
    assert _upload_buckets(moto_session) == set()
    stacks_readable(moto_session)


def test_the_schema_bucket_goes_with_the_last_schema(moto_session):
    """iatk-schemas is made (tagged) with the first AWS::EventSchemas::Schema and deleted with the last."""
    registry = name("reg")
    content = {"openapi": "3.0.0", "info": {"title": "E", "version": "1"}, "paths": {},
               "components": {"schemas": {"AWSEvent": {"type": "object"}}}}  # fmt: skip
    template = {
        "Resources": {
            "Schema": {
                "Type": "AWS::EventSchemas::Schema",
                "Properties": {
                    "RegistryName": registry,
                    "SchemaName": "E",
                    "Type": "OpenApi3",
                    "Content": json.dumps(content),
                },
            }
        }
    }
    s3 = moto_session.client("s3")
    stack = iatk.deploy_stack(json.dumps(template), name("schema"), session=moto_session)
    try:
        assert s3.get_bucket_tagging(Bucket="iatk-schemas")["TagSet"] == [{"Key": "iatk:embedded", "Value": "schemas"}]
    finally:
        stack.delete()
    assert "iatk-schemas" not in {b["Name"] for b in s3.list_buckets()["Buckets"]}


def test_sqs_visibility_and_delay_hold_with_the_cheaper_clock(moto_session):
    """The server reads the clock once per queue scan (issue 22, item 9): delayed and in-flight messages
    stay hidden, and come back when their time is up, as before."""
    import time

    sqs = moto_session.client("sqs")
    url = sqs.create_queue(QueueName=name("clock"))["QueueUrl"]
    try:
        sqs.send_message(QueueUrl=url, MessageBody="later", DelaySeconds=1)
        sqs.send_message(QueueUrl=url, MessageBody="now")
        first = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, VisibilityTimeout=1)["Messages"]
        assert [m["Body"] for m in first] == ["now"]  # "later" is delayed
        assert "Messages" not in sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, WaitTimeSeconds=0)
        time.sleep(1.2)
        again = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10)["Messages"]
        assert sorted(m["Body"] for m in again) == ["later", "now"]  # delay over, "now" visible again
    finally:
        sqs.delete_queue(QueueUrl=url)


def test_a_queue_remembers_only_the_latest_deleted_receipt_handles(moto_session):
    """moto kept every deleted message's receipt handle forever (a set per queue that only grew);
    the latest 2,000 are kept, so deleting a message twice still succeeds, as on AWS."""
    from moto.sqs.models import sqs_backends

    from iatk._backend.moto.patches import REMEMBERED_DELETES

    sqs = moto_session.client("sqs")
    queue_name = name("deletes")
    url = sqs.create_queue(QueueName=queue_name)["QueueUrl"]
    try:
        handles = []
        for batch in range(0, REMEMBERED_DELETES + 500, 10):
            sqs.send_message_batch(
                QueueUrl=url, Entries=[{"Id": str(n), "MessageBody": f"m{batch + n}"} for n in range(10)]
            )
            received = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10)["Messages"]
            sqs.delete_message_batch(
                QueueUrl=url,
                Entries=[{"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]} for i, m in enumerate(received)],
            )
            handles += [m["ReceiptHandle"] for m in received]
        queue = sqs_backends["123456789012"]["us-east-1"].queues[queue_name]
        assert len(queue.deleted_messages) == REMEMBERED_DELETES  # bounded, not 2,500
        sqs.delete_message(QueueUrl=url, ReceiptHandle=handles[-1])  # a recent one: deleting again succeeds
    finally:
        sqs.delete_queue(QueueUrl=url)


def test_sqs_messages_are_not_kept_once_deleted(moto_session):
    """moto appended every message, and every copy a receive makes, to Message.instances_tracked and
    kept them until a reset: the growth of a long run. Sent, received and deleted, none is kept."""
    import gc
    import weakref

    from moto.sqs.models import Message

    sqs = moto_session.client("sqs")
    url = sqs.create_queue(QueueName=name("tracked"))["QueueUrl"]
    try:
        sqs.send_message_batch(QueueUrl=url, Entries=[{"Id": str(n), "MessageBody": f"m{n}"} for n in range(10)])
        received = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10)["Messages"]
        alive = [weakref.ref(m) for m in gc.get_objects() if isinstance(m, Message) and m.body.startswith("m")]
        assert len(alive) >= 10
        sqs.delete_message_batch(
            QueueUrl=url, Entries=[{"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]} for i, m in enumerate(received)]
        )
        gc.collect()
        assert [ref for ref in alive if ref() is not None] == []
        assert not any(isinstance(m, Message) for m in Message.instances_tracked)  # type: ignore[attr-defined]
    finally:
        sqs.delete_queue(QueueUrl=url)
