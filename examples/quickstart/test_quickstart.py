"""Quickstart: read a deployed stack, run its workflow, and see the event it routes."""

from __future__ import annotations

import json
import uuid


def test_stack_outputs_and_ids(app):
    """Outputs and physical ids (a nested one too) come straight from CloudFormation."""
    assert app.outputs["BusName"].startswith("orders-")
    assert app.physical_id("Child/Queue").endswith("/child-queue")


def test_workflow_routes_an_order_event(app, iatk_session):
    """Starting the workflow puts an order event on the bus; the rule delivers it transformed."""
    sfn = iatk_session.client("stepfunctions")
    sqs = iatk_session.client("sqs")
    # A name per execution: moto otherwise gives every unnamed execution the same ARN.
    sfn.start_execution(stateMachineArn=app.output("WorkflowArn"), name=uuid.uuid4().hex, input=json.dumps({"id": 7}))
    messages = sqs.receive_message(QueueUrl=app.output("InboxUrl"), WaitTimeSeconds=10).get("Messages", [])
    assert [json.loads(m["Body"]) for m in messages] == [{"orderId": 7, "kind": "order-created"}]
