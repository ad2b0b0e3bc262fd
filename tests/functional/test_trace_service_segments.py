"""Service segments offline: Step Functions executions (and the Lambda helper) record what X-Ray shows on AWS."""

from __future__ import annotations

import json
import time
import uuid
from typing import Any

import pytest

import iatk
from iatk._backend.moto.lambda_segments import LambdaInvocationTrace
from iatk._backend.moto.sfn_segments import integration
from iatk.trace import get_trace_tree

ROLE = "arn:aws:iam::123456789012:role/sfn"


@pytest.fixture(scope="module")
def machine(moto_session: Any) -> Any:
    sns = moto_session.client("sns")
    topic = sns.create_topic(Name=f"segments-{uuid.uuid4().hex[:8]}")["TopicArn"]
    definition = {
        "StartAt": "Prepare",
        "States": {
            "Prepare": {"Type": "Pass", "Next": "Notify"},
            "Notify": {
                "Type": "Task",
                "Resource": "arn:aws:states:::sns:publish",
                "Parameters": {"TopicArn": topic, "Message": "done"},
                "End": True,
            },
        },
    }
    sfn = moto_session.client("stepfunctions")
    name = f"Segments{uuid.uuid4().hex[:8]}"
    arn = sfn.create_state_machine(name=name, definition=json.dumps(definition), roleArn=ROLE)["stateMachineArn"]
    yield {"arn": arn, "name": name, "topic": topic}
    sfn.delete_state_machine(stateMachineArn=arn)
    sns.delete_topic(TopicArn=topic)


def finished(sfn: Any, execution_arn: str) -> dict[str, Any]:
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        described: dict[str, Any] = sfn.describe_execution(executionArn=execution_arn)
        if described["status"] != "RUNNING":
            return described
        time.sleep(0.05)
    raise AssertionError(f"{execution_arn} still running after 20 s")


def check_tree(tree: iatk.TraceTree, machine: dict[str, Any]) -> None:
    root = tree.root
    assert (root.origin, root.name) == ("AWS::StepFunctions::StateMachine", machine["name"])
    assert [(s.name, s.aws["state_type"]) for s in root.subsegments] == [("Prepare", "Pass"), ("Notify", "Task")]
    [call] = root.subsegments[1].subsegments
    assert (call.name, call.namespace, call.aws["operation"], call.aws["topic_arn"]) == (
        "SNS",
        "aws",
        "Publish",
        machine["topic"],
    )
    assert root.start_time <= root.subsegments[0].start_time <= call.start_time <= call.end_time <= root.end_time
    # the Publish carried the execution's header under the task's call: X-Ray's inferred SNS node hangs there
    tree.assert_path(["AWS::StepFunctions::StateMachine", "AWS::SNS"])
    [topic] = tree.find(origin="AWS::SNS")
    assert (topic.parent_id, topic.inferred, topic.aws["topic_arn"]) == (call.id, True, machine["topic"])


def test_an_execution_started_with_a_trace_header_records_its_segment(moto_session: Any, machine: Any) -> None:
    sfn = moto_session.client("stepfunctions")
    header = iatk.new_trace_header()
    started = sfn.start_execution(stateMachineArn=machine["arn"], traceHeader=header)
    described = finished(sfn, started["executionArn"])
    assert described["status"] == "SUCCEEDED"
    assert described["traceHeader"] == header  # moto 5.2.5 drops it: DescribeExecution has none
    tree = get_trace_tree(described, within=10, session=moto_session, source="xray")
    check_tree(tree, machine)
    assert tree.root.aws["execution_arn"] == started["executionArn"]
    assert "parent_id" not in tree.root.document


def test_a_patched_client_header_is_the_executions_and_its_parent_kept(moto_session: Any, machine: Any) -> None:
    sfn = moto_session.client("stepfunctions")
    header = iatk.TraceHeader(iatk.new_trace_header().root, True, "00f067aa0ba902b7")
    iatk.trace_client(sfn, header)
    started = sfn.start_execution(stateMachineArn=machine["arn"])
    described = finished(sfn, started["executionArn"])
    assert iatk.TraceHeader.parse(described["traceHeader"]) == header
    # the segment hangs off the caller's segment 00f067aa0ba902b7: send that one too, as the caller would
    now = time.time()
    caller = {"id": "00f067aa0ba902b7", "trace_id": header.root, "name": "test", "start_time": now - 5, "end_time": now}
    moto_session.client("xray").put_trace_segments(TraceSegmentDocuments=[json.dumps(caller)])
    tree = get_trace_tree(header, within=10, session=moto_session, source="transaction-search")
    assert tree.root.name == "test"
    tree.assert_path(["test", "AWS::StepFunctions::StateMachine", "AWS::SNS"])


def test_an_untraced_execution_records_nothing_and_tracing_enabled_starts_a_trace(
    moto_session: Any, machine: Any
) -> None:
    sfn = moto_session.client("stepfunctions")
    plain = finished(sfn, sfn.start_execution(stateMachineArn=machine["arn"])["executionArn"])
    assert "traceHeader" not in plain

    definition = {"StartAt": "Only", "States": {"Only": {"Type": "Pass", "End": True}}}
    traced_arn = sfn.create_state_machine(
        name=f"Traced{uuid.uuid4().hex[:8]}",
        definition=json.dumps(definition),
        roleArn=ROLE,
        tracingConfiguration={"enabled": True},
    )["stateMachineArn"]
    try:
        described = finished(sfn, sfn.start_execution(stateMachineArn=traced_arn)["executionArn"])
        header = iatk.TraceHeader.parse(described["traceHeader"])
        assert header.sampled is True
        tree = get_trace_tree(header, within=10, session=moto_session, source="xray")
        assert [s.name for s in tree.root.subsegments] == ["Only"]
    finally:
        sfn.delete_state_machine(stateMachineArn=traced_arn)


@pytest.mark.parametrize(
    ("resource", "expected"),
    [
        ("arn:aws:states:::lambda:invoke", ("Lambda", "Invoke")),
        ("arn:aws:lambda:us-east-1:123456789012:function:f", ("Lambda", "Invoke")),
        ("arn:aws:states:::sqs:sendMessage", ("SQS", "SendMessage")),
        ("arn:aws:states:::events:putEvents.waitForTaskToken", ("Events", "PutEvents")),
        ("arn:aws:states:::aws-sdk:dynamodb:getItem", ("DynamoDB", "GetItem")),
    ],
)
def test_task_resources_name_their_downstream_call(resource: str, expected: tuple[str, str]) -> None:
    assert integration(resource) == expected


def test_the_lambda_helper_records_the_service_and_function_segments(moto_session: Any) -> None:
    header = iatk.TraceHeader(iatk.new_trace_header().root, True, "53995c3f42cd8ad8")
    arn = "arn:aws:lambda:us-east-1:123456789012:function:plugin"
    trace = LambdaInvocationTrace.begin(header, function_arn=arn, request_id="req-1", cold_start=True)
    assert trace is not None
    assert trace.function_header == f"Root={header.root};Parent={trace.function_id};Sampled=1"
    trace.initialised()
    trace.finish(error="Unhandled")
    now = time.time()
    caller = {
        "id": "53995c3f42cd8ad8",
        "trace_id": header.root,
        "name": "caller",
        "start_time": now - 5,
        "end_time": now,
    }
    moto_session.client("xray").put_trace_segments(TraceSegmentDocuments=[json.dumps(caller)])
    tree = get_trace_tree(header, within=10, session=moto_session, source="xray")
    tree.assert_path(["caller", "AWS::Lambda", "AWS::Lambda::Function"])
    function = next(iter(tree.find(origin="AWS::Lambda::Function")))
    assert [s.name for s in function.subsegments] == ["Initialization", "Invocation", "Overhead"]
    assert function.fault
    assert function.aws["function_arn"] == arn
    assert LambdaInvocationTrace.begin(None, function_arn=arn, request_id="r") is None
    assert LambdaInvocationTrace.begin(f"Root={header.root};Sampled=0", function_arn=arn, request_id="r") is None
