"""A SAM app as published apps write it, deployed unchanged on the embedded backend (issue 16).

The template (tests/data/templates/sam_app) has a local-code Python function on an EventBridgeRule,
an SQS and an Api event, a SAM state machine read from a local DefinitionUri with
DefinitionSubstitutions, a bus referenced by ``!Ref`` everywhere, and one rule whose targets are the
state machine, the function, an SNS topic (with an SQS subscription) and an SQS queue with
InputPath. One event is put; each target's effect is seen through a listener and boto3, the
function's in its log group (it prints the event it got).
"""

from __future__ import annotations

import json
import time
from typing import Any

import pytest

import iatk
from iatk._backend.moto.eventbridge import read_undelivered
from iatk.exceptions import DeployError

STACK = "sam-app-tests"


@pytest.fixture(scope="module")
def app(moto_session, data_dir) -> iatk.Stack:
    return iatk.deploy_stack(
        data_dir / "templates" / "sam_app" / "template.yaml", STACK, {"Stage": "t"}, session=moto_session
    )


def receive(session: Any, url: str, *, within: float = 5.0) -> list[str]:
    sqs = session.client("sqs")
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        messages = sqs.receive_message(QueueUrl=url, WaitTimeSeconds=1, MaxNumberOfMessages=10).get("Messages", [])
        if messages:
            return [m["Body"] for m in messages]
    return []


def test_bus_ref_gives_its_name_everywhere(app):
    """Ref of the bus is its name in Outputs and Fn::Sub (moto gave a Python repr)."""
    assert app.output("BusName") == "sam-app-bus-t"
    assert app.output("BusText") == "bus sam-app-bus-t"
    assert app.physical_id("AppBus") == "sam-app-bus-t"


def test_sam_resources_are_expanded_and_code_packaged(app, moto_session):
    """The transform is expanded: the function exists with the packaged code, its events made."""
    types = {r.logical_id: r.type for r in app.resources}
    assert types["OrderFunction"] == "AWS::Lambda::Function"
    assert types["OrderFunctionOnOrder"] == "AWS::Events::Rule"
    assert types["OrderFunctionFromInbox"] == "AWS::Lambda::EventSourceMapping"
    assert types["Flow"] == "AWS::StepFunctions::StateMachine"
    function = moto_session.client("lambda").get_function(FunctionName=app.output("FunctionName"))
    assert function["Configuration"]["Handler"] == "app.handler"
    assert function["Configuration"]["Environment"]["Variables"]["BUS_NAME"] == "sam-app-bus-t"
    mappings = moto_session.client("lambda").list_event_source_mappings(FunctionName=app.output("FunctionName"))
    assert mappings["EventSourceMappings"][0]["BatchSize"] == 5


def test_state_machine_definition_is_substituted(app, moto_session):
    """DefinitionUri was read and DefinitionSubstitutions applied (moto left ${BusName} in it)."""
    definition = json.loads(
        moto_session.client("stepfunctions").describe_state_machine(stateMachineArn=app.output("FlowArn"))["definition"]
    )
    entry = definition["States"]["Announce"]["Parameters"]["Entries"][0]
    assert entry["EventBusName"] == "sam-app-bus-t"
    assert entry["Source"] == "sam.flow.t"


def test_api_event_has_its_route(app, moto_session):
    """The Api event's implicit REST API deploys (moto needs a Name) with its /hello GET route."""
    api_id = app.physical_id("ServerlessRestApi")
    resources = moto_session.client("apigateway").get_resources(restApiId=api_id)["items"]
    hello = next(r for r in resources if r["path"] == "/hello")
    assert "GET" in hello["resourceMethods"]
    stages = moto_session.client("apigateway").get_stages(restApiId=api_id)["item"]
    assert "Prod" in {s["stageName"] for s in stages}
    assert app.output("ApiUrl").endswith(".execute-api.us-east-1.amazonaws.com/Prod/hello")


def test_one_event_reaches_every_target(app, moto_session, embedded):
    """Step Functions runs, SNS fans out, SQS gets the InputPath's value, the function runs on the event."""
    started = time.time()
    with iatk.Listener(app.output("BusName"), pattern={"source": ["sam.flow.t"]}, session=moto_session) as done:
        entry = {
            "Source": "sam.app",
            "DetailType": "order",
            "Detail": {"order": "o-42"},
            "EventBusName": "sam-app-bus-t",
        }
        response = moto_session.client("events").put_events(Entries=[{**entry, "Detail": json.dumps(entry["Detail"])}])
        assert response["FailedEntryCount"] == 0
        event_id = response["Entries"][0]["EventId"]
        # Step Functions: the workflow ran and put its own event on the bus.
        flow_done = done.expect_event(iatk.match(detail_type="flow-done"), within=10)
        assert flow_done.detail["order"] == "o-42"
        assert flow_done.account == "123456789012"
    # SQS with InputPath: the detail only.
    assert [json.loads(body) for body in receive(moto_session, app.output("ResultsUrl"))] == [{"order": "o-42"}]
    # SNS: the whole envelope, with account, reached the subscribed queue.
    copies = [json.loads(body) for body in receive(moto_session, app.output("AlertsCopyUrl"))]
    assert [c["id"] for c in copies] == [event_id]
    assert set(copies[0]) == {
        "version",
        "id",
        "detail-type",
        "source",
        "account",
        "time",
        "region",
        "resources",
        "detail",
    }
    assert copies[0]["account"] == "123456789012"
    executions = moto_session.client("stepfunctions").list_executions(stateMachineArn=app.output("FlowArn"))
    assert len(executions["executions"]) == 1
    # Lambda: the rule's function target ran on the event (the handler prints it to its log group).
    embedded.settle(30)
    url = moto_session.client("sqs").meta.endpoint_url
    assert [u for u in read_undelivered(url, bus="sam-app-bus-t", since=started) if u.target_id == "function"] == []
    group = f"/aws/lambda/{app.physical_id('OrderFunction')}"
    logged = moto_session.client("logs").filter_log_events(logGroupName=group)["events"]
    assert any(event_id in line["message"] for line in logged)


def test_local_code_on_aws_says_how_to_package(data_dir):
    """On AWS a SAM template with a local CodeUri fails before any call, saying how to package it."""
    import boto3

    session = boto3.Session(aws_access_key_id="x", aws_secret_access_key="x", region_name="us-east-1")
    with pytest.raises(DeployError) as caught:
        iatk.deploy_stack(data_dir / "templates" / "sam_app" / "template.yaml", "never-created", session=session)
    message = str(caught.value)
    assert "OrderFunction (AWS::Serverless::Function) CodeUri: 'src/'" in message
    assert "sam package" in message
    assert "Flow (AWS::Serverless::StateMachine) DefinitionUri" in message


def test_other_event_sources_layers_and_http_api(moto_session, data_dir):
    """HttpApi, Schedule, CloudWatchEvent, DynamoDB and SNS events, a local-content layer: all deploy."""
    stack = iatk.deploy_stack(
        data_dir / "templates" / "sam_sources" / "template.yaml", "sam-sources", session=moto_session
    )
    try:
        types = {r.logical_id: r.type for r in stack.resources}
        assert types["ServerlessHttpApi"] == "AWS::ApiGatewayV2::Api"
        assert types["FnTick"] == types["FnOld"] == "AWS::Events::Rule"
        assert types["FnStream"] == "AWS::Lambda::EventSourceMapping"
        assert types["FnNote"] == "AWS::SNS::Subscription"
        layer = next(r for r in stack.resources if r.type == "AWS::Lambda::LayerVersion")
        assert layer.physical_id
        api_id = stack.physical_id("ServerlessHttpApi")
        assert stack.output("Url") == f"https://{api_id}.execute-api.us-east-1.amazonaws.com/x"
        rule = moto_session.client("events").describe_rule(Name=stack.physical_id("FnTick"))
        assert rule["ScheduleExpression"] == "rate(1 hour)"
    finally:
        stack.delete()
