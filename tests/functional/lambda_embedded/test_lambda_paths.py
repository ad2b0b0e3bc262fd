"""Every path that invokes a function, on the embedded backend, with one CloudFormation stack of inline
functions (``tests/data/templates/lambda_app.yaml``): Invoke (RequestResponse, Event, DryRun), an
EventBridge rule, Step Functions, an SQS mapping, SNS, a custom resource; logs and traces."""

from __future__ import annotations

import base64
import importlib.util
import json
import time
import uuid
from typing import Any

import pytest
from lambda_app_helpers import HAS_NODE, PY_RUNTIME, needs_node, read_queue

import iatk
from iatk.trace import get_trace_tree


def fn(app: iatk.Stack, suffix: str) -> str:
    return f"{app.name}-{suffix}"


def test_direct_invoke_answers_as_aws(app: iatk.Stack, moto_session: Any) -> None:
    lam = moto_session.client("lambda")
    answer = lam.invoke(FunctionName=fn(app, "echo"), Payload=json.dumps({"order": 7}), LogType="Tail")
    assert answer["StatusCode"] == 200
    assert "FunctionError" not in answer
    assert answer["ExecutedVersion"] == "$LATEST"
    body = json.loads(answer["Payload"].read())
    assert body["event"] == {"order": 7}
    assert body["greeting"] == "hello"
    assert body["function"] == fn(app, "echo")
    assert 0 < body["remaining"] <= 3000
    assert body["region"] == "us-east-1"
    assert body["leaked"] == []  # nothing of the test process reaches the handler
    tail = base64.b64decode(answer["LogResult"]).decode()
    assert 'echo {"order": 7}' in tail
    assert "START RequestId:" in tail
    assert "REPORT RequestId:" in tail


def test_a_function_exports_its_spans_to_the_embedded_otlp_receiver(
    app: iatk.Stack, embedded: Any, moto_session: Any
) -> None:
    """The handler's OpenTelemetry exporter is pointed at the server's /v1/traces, beside the X-Ray relay."""
    answer = moto_session.client("lambda").invoke(FunctionName=fn(app, "echo"), Payload=b"{}")
    body = json.loads(answer["Payload"].read())
    assert body["otlp"] == [f"{embedded.url}/v1/traces", "http/protobuf"]
    assert body["xray_daemon"] == embedded.xray_address


def test_an_unhandled_error_and_dry_run(app: iatk.Stack, moto_session: Any) -> None:
    lam = moto_session.client("lambda")
    answer = lam.invoke(FunctionName=fn(app, "validator"), Payload=json.dumps({"amount": -1}))
    assert answer["StatusCode"] == 200
    assert answer["FunctionError"] == "Unhandled"
    error = json.loads(answer["Payload"].read())
    assert error["errorType"] == "ValidationError"
    assert error["errorMessage"] == "amount must not be negative"
    assert error["stackTrace"]
    dry = lam.invoke(FunctionName=fn(app, "validator"), InvocationType="DryRun")
    assert dry["StatusCode"] == 204


def test_an_unservable_runtime_and_a_throttled_function_answer_clearly(app: iatk.Stack, moto_session: Any) -> None:
    lam = moto_session.client("lambda")
    role = lam.get_function(FunctionName=fn(app, "echo"))["Configuration"]["Role"]
    name = f"java-{uuid.uuid4().hex[:8]}"
    lam.create_function(
        FunctionName=name,
        Runtime="java21",
        Role=role,
        Handler="Main::handle",
        Code={"ZipFile": b"PK\x05\x06" + b"\0" * 18},
    )
    with pytest.raises(lam.exceptions.InvalidRuntimeException) as raised:
        lam.invoke(FunctionName=name)
    message = raised.value.response["Error"]["Message"]
    assert name in message
    assert "java21" in message
    lam.delete_function(FunctionName=name)

    lam.put_function_concurrency(FunctionName=fn(app, "validator"), ReservedConcurrentExecutions=0)
    try:
        with pytest.raises(lam.exceptions.TooManyRequestsException) as throttled:
            lam.invoke(FunctionName=fn(app, "validator"), Payload=b'{"amount": 1}')
        assert throttled.value.response["ResponseMetadata"]["HTTPStatusCode"] == 429
        assert throttled.value.response["Reason"] == "ReservedFunctionConcurrentInvocationLimitExceeded"
    finally:
        lam.delete_function_concurrency(FunctionName=fn(app, "validator"))


def test_prewarm_starts_a_stacks_functions(app: iatk.Stack, embedded: Any) -> None:
    warm = embedded.prewarm(stack=app.name)
    assert warm[fn(app, "echo")] >= 1
    assert warm[fn(app, "greeter")] >= 1
    assert warm[fn(app, "node")] == (1 if HAS_NODE else 0)
    attached = type(embedded)(url=embedded.url)  # what an xdist worker has: the same server, over HTTP
    assert attached.prewarm(fn(app, "batch"), n=2) == {fn(app, "batch"): 2}
    attached.settle(10)


def test_a_timeout_ends_the_environment(app: iatk.Stack, moto_session: Any, embedded: Any) -> None:
    lam = moto_session.client("lambda")
    answer = lam.invoke(FunctionName=fn(app, "sleeper"), LogType="Tail")
    assert answer["FunctionError"] == "Unhandled"
    error = json.loads(answer["Payload"].read())
    assert error["errorType"] == "Sandbox.Timedout"
    assert "Task timed out after 1.00 seconds" in error["errorMessage"]
    assert "Task timed out after 1.00 seconds" in base64.b64decode(answer["LogResult"]).decode()
    spec_names = [env.spec.name for env in embedded._lambda.runtime.environments()]
    assert fn(app, "sleeper") not in spec_names  # killed: the next call is cold


def test_async_invoke_retries_twice_then_goes_to_on_failure(app: iatk.Stack, moto_session: Any, embedded: Any) -> None:
    lam, sqs = moto_session.client("lambda"), moto_session.client("sqs")
    name = fn(app, "failing")
    lam.put_function_event_invoke_config(
        FunctionName=name,
        DestinationConfig={"OnFailure": {"Destination": app.outputs["FailureQueueArn"]}},
    )
    order = uuid.uuid4().hex
    answer = lam.invoke(FunctionName=name, InvocationType="Event", Payload=json.dumps({"order": order}))
    assert answer["StatusCode"] == 202
    embedded.settle(30)
    attempts = read_queue(
        sqs,
        app.outputs["ResultsUrl"],
        lambda got: len(got) >= 3,
        keep=lambda b: b.get("attempt", {}).get("order") == order,
    )
    assert len(attempts) == 3  # the first attempt and MaximumRetryAttempts' default 2 retries
    [record] = read_queue(sqs, app.outputs["FailureQueueUrl"], lambda got: len(got) >= 1)
    assert record["requestContext"]["condition"] == "RetriesExhausted"
    assert record["requestContext"]["approximateInvokeCount"] == 3
    assert record["requestContext"]["functionArn"].endswith(f":function:{name}:$LATEST")
    assert record["requestPayload"] == {"order": order}
    assert record["responseContext"]["functionError"] == "Unhandled"
    assert record["responsePayload"]["errorType"] == "OrderRejected"


def test_async_invoke_with_no_retries_and_an_on_success_destination(
    app: iatk.Stack, moto_session: Any, embedded: Any
) -> None:
    lam, sqs = moto_session.client("lambda"), moto_session.client("sqs")
    queue = sqs.create_queue(QueueName=f"success-{uuid.uuid4().hex[:8]}")["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=queue, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    name = fn(app, "echo")
    lam.put_function_event_invoke_config(
        FunctionName=name, MaximumRetryAttempts=0, DestinationConfig={"OnSuccess": {"Destination": arn}}
    )
    lam.invoke(FunctionName=name, InvocationType="Event", Payload=b'{"n": 1}')
    embedded.settle(30)
    [record] = read_queue(sqs, queue, lambda got: len(got) >= 1)
    assert record["requestContext"]["condition"] == "Success"
    assert record["responsePayload"]["event"] == {"n": 1}
    assert "functionError" not in record["responseContext"]
    lam.delete_function_event_invoke_config(FunctionName=name)
    sqs.delete_queue(QueueUrl=queue)


def test_a_state_machine_catches_the_handlers_error_type(app: iatk.Stack, moto_session: Any) -> None:
    sfn = moto_session.client("stepfunctions")

    def run(payload: dict[str, Any]) -> dict[str, Any]:
        arn = sfn.start_execution(
            stateMachineArn=app.outputs["MachineArn"], name=uuid.uuid4().hex, input=json.dumps(payload)
        )["executionArn"]
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            described: dict[str, Any] = sfn.describe_execution(executionArn=arn)
            if described["status"] != "RUNNING":
                return described
            time.sleep(0.05)
        raise AssertionError(f"{arn} still running")

    good = run({"amount": 5})
    assert good["status"] == "SUCCEEDED", good
    output = json.loads(good["output"])
    assert output["validation"] == {"valid": True}
    assert output["direct"] == {"valid": True, "amount": 5}  # a plain function ARN as Resource

    bad = run({"amount": -3})
    assert bad["status"] == "SUCCEEDED", bad  # caught twice on errorType, then Succeed
    output = json.loads(bad["output"])
    assert output["error"]["Error"] == "ValidationError"
    assert json.loads(output["error"]["Cause"])["errorMessage"] == "amount must not be negative"
    assert output["again"]["Error"] == "ValidationError"


def test_an_sqs_mapping_batches_filters_and_reports_item_failures(
    app: iatk.Stack, moto_session: Any, embedded: Any
) -> None:
    sqs = moto_session.client("sqs")
    run = uuid.uuid4().hex
    entries = [
        {"Id": str(i), "MessageBody": json.dumps({"kind": "order", "run": run, "n": i, "fail": i == 2})}
        for i in range(5)
    ]
    entries.append({"Id": "skip", "MessageBody": json.dumps({"kind": "noise", "run": run})})
    sqs.send_message_batch(QueueUrl=app.outputs["WorkUrl"], Entries=entries)
    batches = read_queue(
        sqs,
        app.outputs["ResultsUrl"],
        lambda got: len(got) >= 1,
        keep=lambda b: any(x.get("run") == run for x in b.get("batch", [])),
    )
    assert [sorted(x["n"] for x in batch["batch"]) for batch in batches] == [
        [0, 1, 2, 3, 4]
    ]  # BatchSize 5, noise filtered
    # The failed item stays; after the 2 s visibility timeout the redrive policy (maxReceiveCount 1) moves it
    [dead] = read_queue(sqs, app.outputs["WorkDlqUrl"], lambda got: len(got) >= 1, keep=lambda b: b.get("run") == run)
    assert dead["n"] == 2
    embedded.settle(30)
    left = sqs.get_queue_attributes(QueueUrl=app.outputs["WorkUrl"], AttributeNames=["All"])["Attributes"]
    assert left["ApproximateNumberOfMessages"] == "0"
    assert left["ApproximateNumberOfMessagesNotVisible"] == "0"


def test_a_disabled_then_deleted_mapping_stops_polling(app: iatk.Stack, moto_session: Any, embedded: Any) -> None:
    lam, sqs = moto_session.client("lambda"), moto_session.client("sqs")
    queue = sqs.create_queue(QueueName=f"paused-{uuid.uuid4().hex[:8]}")["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=queue, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    mapping = lam.create_event_source_mapping(EventSourceArn=arn, FunctionName=fn(app, "batch"), BatchSize=1)["UUID"]
    run = uuid.uuid4().hex
    sqs.send_message(QueueUrl=queue, MessageBody=json.dumps({"run": run, "n": 1}))
    read_queue(
        sqs,
        app.outputs["ResultsUrl"],
        lambda got: len(got) >= 1,
        keep=lambda b: any(x.get("run") == run for x in b["batch"]),
    )
    lam.update_event_source_mapping(UUID=mapping, Enabled=False)
    sqs.send_message(QueueUrl=queue, MessageBody=json.dumps({"run": run, "n": 2}))
    embedded.settle(10)  # a disabled mapping has nothing pending
    time.sleep(0.5)
    assert (
        sqs.get_queue_attributes(QueueUrl=queue, AttributeNames=["ApproximateNumberOfMessages"])["Attributes"][
            "ApproximateNumberOfMessages"
        ]
        == "1"
    )
    lam.update_event_source_mapping(UUID=mapping, Enabled=True)
    read_queue(
        sqs,
        app.outputs["ResultsUrl"],
        lambda got: len(got) >= 1,
        keep=lambda b: any(x.get("n") == 2 and x.get("run") == run for x in b["batch"]),
    )
    lam.delete_event_source_mapping(UUID=mapping)
    sqs.send_message(QueueUrl=queue, MessageBody=json.dumps({"run": run, "n": 3}))
    time.sleep(0.5)
    assert (
        sqs.get_queue_attributes(QueueUrl=queue, AttributeNames=["ApproximateNumberOfMessages"])["Attributes"][
            "ApproximateNumberOfMessages"
        ]
        == "1"
    )  # moto would still invoke after the delete
    sqs.delete_queue(QueueUrl=queue)


def test_an_sns_subscription_invokes_asynchronously(app: iatk.Stack, moto_session: Any, embedded: Any) -> None:
    sns, sqs = moto_session.client("sns"), moto_session.client("sqs")
    text = f"hello {uuid.uuid4().hex}"
    published = sns.publish(
        TopicArn=app.outputs["TopicArn"],
        Message=text,
        Subject="greeting",
        MessageAttributes={"kind": {"DataType": "String", "StringValue": "test"}},
    )
    embedded.settle(30)
    [got] = read_queue(
        sqs,
        app.outputs["ResultsUrl"],
        lambda got: len(got) >= 1,
        keep=lambda b: b.get("sns", {}).get("Message") == text,
    )
    sns_part = got["sns"]
    assert sns_part["MessageId"] == published["MessageId"]
    assert sns_part["TopicArn"] == app.outputs["TopicArn"]
    assert sns_part["Subject"] == "greeting"
    assert sns_part["MessageAttributes"] == {"kind": {"Type": "String", "Value": "test"}}


def test_a_custom_resource_completes_the_stack_with_its_data(app: iatk.Stack) -> None:
    assert app.status == "CREATE_COMPLETE"
    assert app.outputs["Greeting"] == "hello world"
    assert app.outputs["GreetingId"] == "greeting-world"  # the PhysicalResourceId the function answered


EVENTBRIDGE = importlib.util.find_spec("iatk._backend.moto.eventbridge") is not None


@pytest.mark.skipif(not EVENTBRIDGE, reason="the embedded EventBridge target registry (issue 16) is not merged yet")
def test_an_eventbridge_rule_invokes_a_handler_whose_event_reaches_a_listener(
    app: iatk.Stack, moto_session: Any, embedded: Any
) -> None:
    order = uuid.uuid4().hex
    with iatk.Listener(
        "default", pattern={"source": ["app.router"], "detail": {"order": [order]}}, session=moto_session
    ) as listener:
        iatk.put_events(
            {"Source": f"test.{app.name}", "DetailType": "OrderPlaced", "Detail": {"order": order}},
            session=moto_session,
        )
        event = listener.expect_event(iatk.match(detail={"order": order}), within=30)
    assert event.detail == {"order": order, "routed_by": fn(app, "router")}
    embedded.settle(30)


def record_tester(session: Any, header: iatk.TraceHeader) -> None:
    """The traced caller's segment, whose subsegment (``header.parent``) made the call."""
    now = time.time()
    document = {
        "id": "5e1f00d5c0ffee01",
        "trace_id": header.root,
        "name": "tester",
        "start_time": now - 5,
        "end_time": now,
        "subsegments": [{"id": header.parent, "name": "call", "start_time": now - 4, "end_time": now}],
    }
    session.client("xray").put_trace_segments(TraceSegmentDocuments=[json.dumps(document)])


@pytest.mark.skipif(not EVENTBRIDGE, reason="the embedded EventBridge target registry (issue 16) is not merged yet")
def test_a_rule_invoked_function_joins_the_events_trace(app: iatk.Stack, moto_session: Any, embedded: Any) -> None:
    """On AWS a function a rule invokes continues the event's trace: its segments hang under the bus's node."""
    header = iatk.TraceHeader(iatk.new_trace_header().root, True, "5e1f00d5c0ffee00")
    entry = {"Source": f"test.{app.name}", "DetailType": "OrderPlaced", "Detail": json.dumps({"order": "traced"})}
    answer = moto_session.client("events").put_events(Entries=[{**entry, "TraceHeader": str(header)}])
    assert answer["FailedEntryCount"] == 0
    embedded.settle(30)
    record_tester(moto_session, header)
    tree = get_trace_tree(header, within=10, session=moto_session, source="xray", until=lambda t: len(t.segments) >= 4)
    # ... : the router's own PutEvents (botocore sends the handler's header) adds a bus node after it.
    _, bus, service, _, *_ = tree.assert_path(["tester", "AWS::Events", "AWS::Lambda", "AWS::Lambda::Function", ...])
    assert service.name == fn(app, "router")
    assert service.document["parent_id"] == bus.id


def test_a_function_subscribed_to_an_active_topic_joins_the_publishers_trace(
    app: iatk.Stack, moto_session: Any, embedded: Any
) -> None:
    """An actively traced topic's Lambda delivery is a subsegment of its segment; the function continues under it."""
    sns = moto_session.client("sns")
    topic = app.outputs["TopicArn"]
    sns.set_topic_attributes(TopicArn=topic, AttributeName="TracingConfig", AttributeValue="Active")
    header = iatk.TraceHeader(iatk.new_trace_header().root, True, "5e1f00d5c0ffee00")
    iatk.trace_client(sns, header)
    try:
        sns.publish(TopicArn=topic, Message=f"traced {uuid.uuid4().hex}")
    finally:
        iatk.untrace_client(sns)
        sns.set_topic_attributes(TopicArn=topic, AttributeName="TracingConfig", AttributeValue="PassThrough")
    embedded.settle(30)
    record_tester(moto_session, header)
    tree = get_trace_tree(header, within=10, session=moto_session, source="xray", until=lambda t: len(t.segments) >= 4)
    # ... : the handler's SendMessage (botocore sends the handler's header) adds the queue's node after it.
    _, node, service, _, *_ = tree.assert_path(
        ["tester", "AWS::SNS::Topic", "AWS::Lambda", "AWS::Lambda::Function", ...]
    )
    [delivery] = node.subsegments
    assert delivery.name == "Lambda"
    assert service.name == fn(app, "notified")
    assert service.document["parent_id"] == delivery.id


@pytest.mark.skipif(not HAS_NODE, reason=needs_node)
def test_a_node_function_from_inline_code(app: iatk.Stack, moto_session: Any) -> None:
    lam = moto_session.client("lambda")
    answer = lam.invoke(FunctionName=fn(app, "node"), Payload=b'{"x": 1}')
    assert "FunctionError" not in answer
    body = json.loads(answer["Payload"].read())
    assert body["event"] == {"x": 1}
    assert body["function"] == fn(app, "node")
    assert body["node"].startswith("v")


def test_each_invocation_logs_to_its_log_group(app: iatk.Stack, moto_session: Any) -> None:
    lam, logs = moto_session.client("lambda"), moto_session.client("logs")
    marker = uuid.uuid4().hex
    invoked = [lam.invoke(FunctionName=fn(app, "echo"), Payload=json.dumps({"m": marker})) for _ in range(2)]
    assert all("FunctionError" not in answer for answer in invoked)
    events = logs.filter_log_events(logGroupName=f"/aws/lambda/{fn(app, 'echo')}")["events"]
    messages = [e["message"] for e in events]
    mine = [i for i, m in enumerate(messages) if marker in m]
    assert len(mine) == 2
    for index in mine:
        assert messages[index - 1].startswith("START RequestId: ")
        assert messages[index + 1].startswith("END RequestId: ")
        assert messages[index + 2].startswith("REPORT RequestId: ")
        assert "Duration: " in messages[index + 2]
    assert any(m.startswith("INIT_START ") for m in messages)
    assert any("Init Duration: " in m for m in messages if m.startswith("REPORT"))
    streams = logs.describe_log_streams(logGroupName=f"/aws/lambda/{fn(app, 'echo')}")["logStreams"]
    assert streams
    assert all("[$LATEST]" in s["logStreamName"] for s in streams)


def test_an_invocation_joins_the_callers_trace(app: iatk.Stack, moto_session: Any) -> None:
    lam = moto_session.client("lambda")
    header = iatk.TraceHeader(iatk.new_trace_header().root, True, "5e1f00d5c0ffee00")
    iatk.trace_client(lam, header)
    try:
        answer = lam.invoke(FunctionName=fn(app, "echo"), Payload=b"{}")
    finally:
        iatk.untrace_client(lam)
    handler_header = iatk.TraceHeader.parse(json.loads(answer["Payload"].read())["trace"])
    assert handler_header.root == header.root
    now = time.time()
    caller = {"id": header.parent, "trace_id": header.root, "name": "test", "start_time": now - 5, "end_time": now}
    moto_session.client("xray").put_trace_segments(TraceSegmentDocuments=[json.dumps(caller)])
    tree = get_trace_tree(header, within=10, session=moto_session, source="xray")
    tree.assert_path(["test", "AWS::Lambda", "AWS::Lambda::Function"])
    [service] = tree.find(origin="AWS::Lambda")
    [function] = tree.find(origin="AWS::Lambda::Function")
    assert service.name == function.name == fn(app, "echo")
    assert service.document["parent_id"] == header.parent
    assert handler_header.parent == function.id  # the handler's own segments nest under the function segment
    assert [s.name for s in function.subsegments][-2:] == ["Invocation", "Overhead"]


def test_a_traced_execution_links_its_lambda_task(app: iatk.Stack, moto_session: Any) -> None:
    sfn = moto_session.client("stepfunctions")
    header = iatk.new_trace_header()
    arn = sfn.start_execution(
        stateMachineArn=app.outputs["MachineArn"], name=uuid.uuid4().hex, input='{"amount": 1}', traceHeader=header
    )["executionArn"]
    deadline = time.monotonic() + 30
    while sfn.describe_execution(executionArn=arn)["status"] == "RUNNING":
        assert time.monotonic() < deadline, "the execution did not end"
        time.sleep(0.05)
    tree = get_trace_tree(header, within=10, session=moto_session, source="xray")
    tree.assert_path(["AWS::StepFunctions::StateMachine", "AWS::Lambda", "AWS::Lambda::Function"])
    assert len(tree.find(origin="AWS::Lambda::Function")) == 2  # the lambda:invoke task and the plain-ARN one


FAILING_CUSTOM_RESOURCE = """
Resources:
  Role:
    Type: AWS::IAM::Role
    Properties:
      AssumeRolePolicyDocument: {Version: "2012-10-17", Statement: []}
  Broken:
    Type: AWS::Lambda::Function
    Properties:
      Runtime: %s
      Handler: index.handler
      Role: !GetAtt Role.Arn
      Code:
        ZipFile: |
          def handler(event, context):
              raise RuntimeError("cannot make the thing")
  Thing:
    Type: Custom::Thing
    Properties:
      ServiceToken: !GetAtt Broken.Arn
"""


def test_a_custom_resource_whose_function_fails_fails_the_stack(moto_session: Any, tmp_path: Any) -> None:
    template = tmp_path / "broken.yaml"
    template.write_text(FAILING_CUSTOM_RESOURCE % PY_RUNTIME)
    with pytest.raises(iatk.DeployError) as raised:
        iatk.deploy_stack(template, f"broken-{uuid.uuid4().hex[:8]}", session=moto_session)
    assert "cannot make the thing" in str(raised.value)
