"""Template fix-ups of the embedded backend (issue 16, items 2 and 5), each against what moto did."""

from __future__ import annotations

import json
import secrets
import traceback

import pytest
from botocore.exceptions import ClientError

import iatk
from iatk.exceptions import DeployError


def name(prefix: str) -> str:
    return f"{prefix}-{secrets.token_hex(3)}"


def test_event_schemas_become_registry_entries(moto_session):
    """AWS::EventSchemas::* could not be created; now mock_event(registry=, schema=) reads them."""
    registry = name("reg")
    content = {
        "openapi": "3.0.0",
        "info": {"title": "Done", "version": "1"},
        "paths": {},
        "components": {
            "schemas": {
                "AWSEvent": {
                    "type": "object",
                    "properties": {"detail": {"$ref": "#/components/schemas/Done"}},
                },
                "Done": {"type": "object", "required": ["order"], "properties": {"order": {"type": "string"}}},
            }
        },
    }
    template = {
        "Resources": {
            "Registry": {"Type": "AWS::EventSchemas::Registry", "Properties": {"RegistryName": registry}},
            "Schema": {
                "Type": "AWS::EventSchemas::Schema",
                "Properties": {
                    "RegistryName": {"Fn::GetAtt": ["Registry", "RegistryName"]},
                    "SchemaName": "app@Done",
                    "Type": "OpenApi3",
                    "Content": json.dumps(content),
                },
            },
        },
        "Outputs": {"SchemaArn": {"Value": {"Ref": "Schema"}}},
    }
    stack = iatk.deploy_stack(json.dumps(template), name("schemas"), session=moto_session)
    try:
        assert stack.output("SchemaArn") == f"arn:aws:schemas:us-east-1:123456789012:schema/{registry}/app@Done"
        event = iatk.mock_event(registry=registry, schema="app@Done", session=moto_session)
        assert "order" in event["detail"]
    finally:
        stack.delete()


def test_bucket_eventbridge_notifications(moto_session):
    """moto ignored NotificationConfiguration.EventBridgeConfiguration: an upload put no event."""
    bucket = name("bucket")
    template = {
        "Resources": {
            "Bucket": {
                "Type": "AWS::S3::Bucket",
                "Properties": {
                    "BucketName": bucket,
                    "NotificationConfiguration": {"EventBridgeConfiguration": {"EventBridgeEnabled": True}},
                },
            }
        }
    }
    stack = iatk.deploy_stack(json.dumps(template), name("bucket"), session=moto_session)
    try:
        with iatk.Listener(
            "default", pattern={"source": ["aws.s3"], "detail": {"bucket": {"name": [bucket]}}}, session=moto_session
        ) as listener:
            moto_session.client("s3").put_object(Bucket=bucket, Key="k", Body=b"x")
            event = listener.expect_event(iatk.match(detail_type="Object Created"), within=5)
        assert event.detail["object"]["key"] == "k"
    finally:
        moto_session.client("s3").delete_object(Bucket=bucket, Key="k")
        stack.delete()


def test_describe_stack_resource_unknown_id_is_a_validation_error(moto_session):
    """moto answered HTTP 500 (AttributeError) when the stack held a type it does not model."""
    template = {
        "Resources": {
            "Q": {"Type": "AWS::SQS::Queue"},
            "Alarm": {"Type": "AWS::CloudWatch::Alarm", "Properties": {"MetricName": "m"}},
        }
    }
    stack_name = name("describe")
    stack = iatk.deploy_stack(json.dumps(template), stack_name, session=moto_session)
    try:
        with pytest.raises(ClientError) as caught:
            moto_session.client("cloudformation").describe_stack_resource(
                StackName=stack_name, LogicalResourceId="Nope"
            )
        assert caught.value.response["Error"]["Code"] == "ValidationError"
        assert "Nope" in caught.value.response["Error"]["Message"]
    finally:
        stack.delete()


def test_rest_api_without_name(moto_session):
    """A RestApi without Name failed the create (KeyError: 'Name')."""
    template = {"Resources": {"Api": {"Type": "AWS::ApiGateway::RestApi", "Properties": {"Description": "d"}}}}
    stack = iatk.deploy_stack(json.dumps(template), name("api"), session=moto_session)
    try:
        api = moto_session.client("apigateway").get_rest_api(restApiId=stack.physical_id("Api"))
        assert api["name"].endswith("Api") or api["name"]
    finally:
        stack.delete()


def test_a_type_moto_cannot_create_is_a_short_deploy_error(moto_session):
    """moto skipped it (or answered HTTP 500, "invalid XML"); now the error names resource and type."""
    template = {
        "Resources": {
            "Q": {"Type": "AWS::SQS::Queue"},
            "Pipe": {
                "Type": "AWS::Pipes::Pipe",
                "Properties": {"Source": {"Fn::GetAtt": ["Q", "Arn"]}, "Target": "x", "RoleArn": "r"},
            },
        }
    }
    with pytest.raises(DeployError) as caught:
        iatk.deploy_stack(json.dumps(template), name("pipe"), session=moto_session)
    message = str(caught.value)
    assert "Pipe (AWS::Pipes::Pipe)" in message
    assert "cannot create this type" in message
    assert "XML" not in message
    assert len(message.splitlines()) <= 4


def test_deploy_error_traceback_stops_at_the_callers_line(moto_session):
    """The traceback of a failed deploy is a few frames, not moto's and botocore's 240 lines."""
    template = {"Resources": {"Pipe": {"Type": "AWS::Pipes::Pipe", "Properties": {}}}}
    try:
        iatk.deploy_stack(json.dumps(template), name("tb"), session=moto_session)
    except DeployError as err:
        printed = "".join(traceback.format_exception(err))
    else:  # pragma: no cover - the deploy must fail
        pytest.fail("the deploy did not fail")
    assert "site-packages/botocore" not in printed
    assert "site-packages/moto" not in printed
    assert "invalid XML" not in printed
    assert len(printed.splitlines()) < 15
