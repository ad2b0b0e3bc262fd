"""An order handler instrumented with aws-xray-sdk: a subsegment of its own, and one per AWS SDK call.

In Lambda the SDK's recorder has a facade segment for the ``AWS::Lambda::Function`` segment (from
``_X_AMZN_TRACE_ID``) and sends each closed subsegment to the daemon at ``AWS_XRAY_DAEMON_ADDRESS``
(offline: the embedded relay). ``patch(["botocore"])`` records the SQS call.
"""

from __future__ import annotations

import json
import os
from typing import Any

import boto3
from aws_xray_sdk.core import patch, xray_recorder

patch(["botocore"])
sqs = boto3.client("sqs")


def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    order = event.get("detail") or {}
    with xray_recorder.in_subsegment("handle order") as work:
        work.put_annotation("order_id", str(order.get("orderId")))
        sqs.send_message(QueueUrl=os.environ["RECEIPTS_URL"], MessageBody=json.dumps({"by": "xray", "order": order}))
    return {"orderId": order.get("orderId")}
