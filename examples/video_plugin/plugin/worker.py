"""The plugin under test: reads lifecycle events from its inbox and reports on the bus.

For every ``video.pluginManager`` event it receives, it does its (tiny) work and puts a
``plugin-complete`` event with source ``video.plugin.<pluginTitle>`` on the bus, or
``plugin-failed`` when the work fails (the title ``BrokenPlugin`` always fails, so tests can show a
failure). It is instrumented with aws-xray-sdk: its segment continues the trace whose header came in
the event's ``detail.trace``. When the SQS message's ``AWSTraceHeader`` (what EventBridge handed to
the queue) belongs to that same trace, the segment hangs under the node it names, the bus's, as a
Lambda function triggered by the queue would.

In production this would be a container or a Lambda function; the example's conftest runs it as a
process. Configuration comes from the environment: ``PLUGIN_INBOX_URL``, ``PLUGIN_BUS_NAME``, the
usual ``AWS_*`` variables (``AWS_ENDPOINT_URL`` on the embedded backend) and
``AWS_XRAY_DAEMON_ADDRESS``.

Run: ``python -m plugin.worker`` (stops on SIGTERM).
"""

from __future__ import annotations

import json
import logging
import os
import signal
import time
from typing import Any

import boto3
from aws_xray_sdk.core import patch, xray_recorder
from aws_xray_sdk.core.models.trace_header import TraceHeader

log = logging.getLogger("video.plugin")
running = True


def stop(*_: object) -> None:
    global running  # noqa: PLW0603 - a signal flag
    running = False


def handle(events: Any, bus: str, envelope: dict[str, Any], message_header: str | None = None) -> str:
    """Process one lifecycle event; returns the detail-type it reported.

    ``message_header`` is the message's ``AWSTraceHeader``: it gives the parent when it names the
    event's own trace.
    """
    detail = envelope.get("detail", {})
    title = detail.get("pluginTitle", "UnknownPlugin")
    hook = detail.get("hook", "?")
    header = TraceHeader.from_header_str(detail.get("trace") or "")
    delivered = TraceHeader.from_header_str(message_header or "")
    parent = delivered.parent if delivered.root and delivered.root == header.root else header.parent
    segment = xray_recorder.begin_segment(name=title, traceid=header.root, parent_id=parent, sampling=1)
    segment.origin = "AWS::Lambda::Function"  # what it stands in for
    segment.put_annotation("hook", hook)
    outcome = "plugin-complete"
    try:
        with xray_recorder.in_subsegment(f"run {hook}") as work:
            work.put_annotation("videoId", detail.get("video", {}).get("videoId", ""))
            if title == "BrokenPlugin":
                outcome = "plugin-failed"
                work.add_error_flag()
            time.sleep(0.01)  # the plugin's "work"
        events.put_events(
            Entries=[
                {
                    "EventBusName": bus,
                    "Source": f"video.plugin.{title}",
                    "DetailType": outcome,
                    "Detail": json.dumps(
                        {
                            "hook": hook,
                            "videoId": detail.get("video", {}).get("videoId"),
                            "trace": detail.get("trace"),
                            "correlationId": detail.get("correlationId"),
                        }
                    ),
                }
            ]
        )
    finally:
        xray_recorder.end_segment()
    return outcome


def main() -> int:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s plugin %(message)s")
    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    inbox = os.environ["PLUGIN_INBOX_URL"]
    bus = os.environ["PLUGIN_BUS_NAME"]
    xray_recorder.configure(
        service="video-plugin",
        sampling=False,
        context_missing="LOG_ERROR",
        daemon_address=os.environ.get("AWS_XRAY_DAEMON_ADDRESS", "127.0.0.1:2000"),
    )
    patch(["botocore"])  # the put_events call becomes a subsegment
    sqs = boto3.client("sqs")
    events = boto3.client("events")
    log.info("listening on %s", inbox)
    while running:
        messages = sqs.receive_message(
            QueueUrl=inbox, MaxNumberOfMessages=10, WaitTimeSeconds=1, MessageSystemAttributeNames=["AWSTraceHeader"]
        ).get("Messages", [])
        for message in messages:
            try:
                trace_header = message.get("Attributes", {}).get("AWSTraceHeader")
                outcome = handle(events, bus, json.loads(message["Body"]), trace_header)
                log.info("handled %s -> %s", message["MessageId"], outcome)
            except Exception:
                log.exception("could not handle %s", message.get("MessageId"))
            sqs.delete_message(QueueUrl=inbox, ReceiptHandle=message["ReceiptHandle"])
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
