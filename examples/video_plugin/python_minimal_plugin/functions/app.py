"""The plugin under test: a Lambda function that reacts to the platform's lifecycle events.

For each ``video.pluginManager`` event it does its (tiny) work and puts ``plugin-complete`` with
source ``video.plugin.<pluginTitle>`` on the plugin bus (``PLUGIN_BUS_NAME``), or
``plugin-failed`` when the work fails (the title ``BrokenPlugin`` always fails, so tests can show a
failure). The answer echoes the event's ``hook``, ``videoId``, ``trace`` and ``correlationId``.

Tracing: the platform hands a trace header in ``detail.trace``; the function records its work as a
segment of that trace (named after the plugin, origin ``AWS::Lambda::Function``), sent to the X-Ray
daemon Lambda provides (``AWS_XRAY_DAEMON_ADDRESS``). Without aws-xray-sdk it just does the work.
"""

from __future__ import annotations

import json
import os
import time
from contextlib import contextmanager
from typing import Any

import boto3

try:
    from aws_xray_sdk.core import AWSXRayRecorder
    from aws_xray_sdk.core.context import Context
    from aws_xray_sdk.core.models.trace_header import TraceHeader
except ImportError:  # tracing is optional
    AWSXRayRecorder = None

events = boto3.client("events")
recorder = None
if AWSXRayRecorder is not None:
    # Its own recorder with a plain context: the segment continues the platform's trace, not the
    # invocation's (Lambda's default context only allows subsegments of the function's segment).
    recorder = AWSXRayRecorder()
    recorder.configure(
        service="video-plugin",
        context=Context(),
        sampling=False,
        context_missing="LOG_ERROR",
        daemon_address=os.environ.get("AWS_XRAY_DAEMON_ADDRESS", "127.0.0.1:2000"),
    )


@contextmanager
def traced(title: str, header: str, hook: str, video_id: str) -> Any:
    """A segment named after the plugin in the trace ``header`` names (nothing without one)."""
    parsed = TraceHeader.from_header_str(header) if recorder is not None and header else None
    if parsed is None or not parsed.root:
        yield None
        return
    segment = recorder.begin_segment(name=title, traceid=parsed.root, parent_id=parsed.parent, sampling=1)
    segment.origin = "AWS::Lambda::Function"
    segment.put_annotation("hook", hook)
    try:
        with recorder.in_subsegment(f"run {hook}") as work:
            work.put_annotation("videoId", video_id)
            yield work
    finally:
        recorder.end_segment()


def lambda_handler(event: dict[str, Any], context: Any) -> dict[str, str]:
    detail = event.get("detail") or {}
    title = detail.get("pluginTitle", "UnknownPlugin")
    hook = detail.get("hook", "?")
    video_id = (detail.get("video") or {}).get("videoId", "")
    outcome = "plugin-complete"
    with traced(title, detail.get("trace") or "", hook, video_id) as work:
        if title == "BrokenPlugin":
            outcome = "plugin-failed"
            if work is not None:
                work.add_error_flag()
        time.sleep(0.01)  # the plugin's "work"
    events.put_events(
        Entries=[
            {
                "EventBusName": os.environ["PLUGIN_BUS_NAME"],
                "Source": f"video.plugin.{title}",
                "DetailType": outcome,
                "Detail": json.dumps(
                    {
                        "hook": hook,
                        "videoId": video_id,
                        "trace": detail.get("trace"),
                        "correlationId": detail.get("correlationId"),
                    }
                ),
            }
        ]
    )
    return {"outcome": outcome}
