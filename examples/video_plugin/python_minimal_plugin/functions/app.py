"""The plugin under test: a Lambda function that reacts to the platform's lifecycle events.

For each ``video.pluginManager`` event it does its (tiny) work and puts ``plugin-complete`` with
source ``video.plugin.<pluginTitle>`` on the plugin bus (``PLUGIN_BUS_NAME``), or
``plugin-failed`` when the work fails (the title ``BrokenPlugin`` always fails, so tests can show a
failure). The answer echoes the event's ``hook``, ``videoId``, ``trace`` and ``correlationId``.

Tracing, as a Python function traces with aws-xray-sdk (the function has ``Tracing: Active``):
``patch_all()`` makes each boto3 call a subsegment, and ``xray_recorder.capture`` records the work
as one. In Lambda the SDK makes no segment of its own: it reads ``_X_AMZN_TRACE_ID``, which the
runtime sets per invocation to the function segment's header, so these subsegments sit under the
invocation's ``AWS::Lambda::Function`` segment, in the trace the event came with. The work's
subsegment holds the ``hook`` annotation (in Lambda annotations go on subsegments: the function
segment is Lambda's). Without aws-xray-sdk the function just does the work.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Callable
from typing import Any

import boto3

try:
    from aws_xray_sdk.core import patch_all, xray_recorder
except ImportError:  # tracing is optional
    xray_recorder = None
else:
    patch_all()

events = boto3.client("events")


def _capture(name: str) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """``xray_recorder.capture(name)``, or no decorator at all without aws-xray-sdk."""
    if xray_recorder is None:
        return lambda fn: fn
    return xray_recorder.capture(name)


@_capture("run_plugin")
def run_plugin(title: str, hook: str, video_id: str) -> str:
    """The plugin's work: the outcome to report."""
    if xray_recorder is not None:
        xray_recorder.put_annotation("hook", hook)
        xray_recorder.put_annotation("videoId", video_id)
    time.sleep(0.01)  # the plugin's "work"
    return "plugin-failed" if title == "BrokenPlugin" else "plugin-complete"


def lambda_handler(event: dict[str, Any], context: Any) -> dict[str, str]:
    detail = event.get("detail") or {}
    title = detail.get("pluginTitle", "UnknownPlugin")
    hook = detail.get("hook", "?")
    video_id = (detail.get("video") or {}).get("videoId", "")
    outcome = run_plugin(title, hook, video_id)
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
