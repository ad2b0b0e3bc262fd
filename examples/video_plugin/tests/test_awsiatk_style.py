"""The same app tested the aws-iatk way: ``unittest.TestCase`` suites, plain boto3 clients, ``AwsIatk``.

Written as AWS's IATK example app writes its tests (serverless-test-samples, python-minimal-plugin):
the stack name and region come from the environment (``PLUGIN_TESTER_STACK_NAME``, ``AWS_REGION``),
the workflow is started with ``boto3.client("stepfunctions")`` and no execution name, and only
aws-iatk 0.1.0's API is used (``import iatk as aws_iatk`` is the one change from the originals).
With ``--iatk-backend=moto`` the plain boto3 clients reach the embedded server by themselves.

The one pytest touch is ``usefixtures("plugin_stack")``: it deploys the app on the embedded backend,
as ``sam deploy`` does before the originals run. Each run carries a ``correlationId`` (the workflow
echoes it through the plugin), so these pass beside the other tests on the same bus.
"""

# ruff: noqa: PT009 - unittest-style, as the aws-iatk originals are

from __future__ import annotations

import json
import os
import secrets
import time
import uuid
from unittest import TestCase

import boto3
import pytest

import iatk as aws_iatk

SLA_TIMEOUT_SECONDS = 20
#: The origins of the run's one path, as X-Ray shows it on AWS: the workflow, the bus, the plugin
#: function's two segments, the bus of the plugin's own PutEvents call.
ORIGINS = ["AWS::StepFunctions::StateMachine", "AWS::Events", "AWS::Lambda", "AWS::Lambda::Function", "AWS::Events"]


@pytest.mark.usefixtures("plugin_stack")
class TestPythonMinimalPlugin(TestCase):
    """The plugin answers a postValidate hook with plugin-complete, within the SLA."""

    def setUp(self) -> None:
        self.iatk = aws_iatk.AwsIatk(region=os.environ["AWS_REGION"])
        outputs = self.iatk.get_stack_outputs(
            stack_name=os.environ.get("PLUGIN_TESTER_STACK_NAME", "video-plugin-tester"),
            output_names=["PluginLifecycleWorkflow", "PluginSuccessEventRuleName", "PluginEventBusName"],
        ).outputs
        self.workflow_arn = outputs["PluginLifecycleWorkflow"]
        self.listener_id = self.iatk.add_listener(
            event_bus_name=outputs["PluginEventBusName"], rule_name=outputs["PluginSuccessEventRuleName"]
        ).id
        self.sfn = boto3.client("stepfunctions")

    def tearDown(self) -> None:
        self.iatk.remove_listeners(ids=[self.listener_id])

    def start(self, trace_header: str | None = None) -> str:
        """Start the workflow (no execution name, as the originals); returns this run's correlation id."""
        correlation = uuid.uuid4().hex
        traced = {"traceHeader": trace_header} if trace_header else {}
        self.sfn.start_execution(
            stateMachineArn=self.workflow_arn,
            input=json.dumps(
                {"eventHook": "postValidate", "pluginTitle": "PythonMinimalPlugin", "correlationId": correlation}
            ),
            **traced,
        )
        return correlation

    def test_plugin_complete_by_waiting(self) -> None:
        """wait_until_event_matched is True once this run's plugin-complete arrives."""
        correlation = self.start()

        def is_this_runs_completion(received: str) -> bool:
            event = json.loads(received)
            return (
                event["source"] == "video.plugin.PythonMinimalPlugin"
                and event["detail-type"] == "plugin-complete"
                and event["detail"]["correlationId"] == correlation
            )

        self.assertTrue(
            self.iatk.wait_until_event_matched(
                listener_id=self.listener_id,
                assertion_fn=is_this_runs_completion,
                timeout_seconds=SLA_TIMEOUT_SECONDS,
            )
        )

    def test_plugin_complete_by_polling(self) -> None:
        """poll_events in a loop, as the originals do, finds this run's completion."""
        correlation = self.start()
        mine: list[dict] = []
        deadline = time.monotonic() + SLA_TIMEOUT_SECONDS
        while not mine and time.monotonic() < deadline:
            bodies = self.iatk.poll_events(
                listener_id=self.listener_id, wait_time_seconds=5, max_number_of_messages=10
            ).events
            mine = [e for e in map(json.loads, bodies) if e["detail"].get("correlationId") == correlation]
        self.assertEqual([(e["detail-type"], e["detail"]["hook"]) for e in mine], [("plugin-complete", "postValidate")])

    def test_two_runs_without_names_both_complete(self) -> None:
        """Two executions started without a name are two runs (moto alone reused ':None' for both)."""
        first, second = self.start(), self.start()
        seen: set[str] = set()
        deadline = time.monotonic() + SLA_TIMEOUT_SECONDS
        while seen != {first, second} and time.monotonic() < deadline:
            bodies = self.iatk.poll_events(
                listener_id=self.listener_id, wait_time_seconds=5, max_number_of_messages=10
            ).events
            seen |= {json.loads(b)["detail"].get("correlationId") for b in bodies} & {first, second}
        self.assertEqual(seen, {first, second})

    def test_plugin_trace_tree(self) -> None:
        """get_trace_tree reads the run's trace: one path through the workflow, the bus and the plugin
        function, whose work subsegment (aws-xray-sdk's, under the function segment) has the hook."""
        trace_id = f"1-{int(time.time()):08x}-{secrets.token_hex(12)}"
        header = f"Root={trace_id};Sampled=1"
        correlation = self.start(trace_header=header)
        self.assertTrue(
            self.iatk.wait_until_event_matched(
                listener_id=self.listener_id,
                assertion_fn=lambda body: json.loads(body)["detail"]["correlationId"] == correlation,
                timeout_seconds=SLA_TIMEOUT_SECONDS,
            )
        )

        def path_is_whole(output: aws_iatk.GetTraceTreeOutput) -> None:
            assert [[s.origin for s in path] for path in output.trace_tree.paths] == [ORIGINS]

        self.assertTrue(
            self.iatk.retry_get_trace_tree_until(
                tracing_header=header, assertion_fn=path_is_whole, timeout_seconds=SLA_TIMEOUT_SECONDS
            )
        )
        tree = self.iatk.get_trace_tree(tracing_header=header).trace_tree
        self.assertEqual(tree.source_trace.id, trace_id)
        [path] = tree.paths
        function = path[3]
        self.assertEqual(function.origin, "AWS::Lambda::Function")
        self.assertEqual(path[2].name, function.name)
        for segment in path:
            self.assertIsNone(segment.error)
            self.assertIsNone(segment.fault)
        # In Lambda aws-xray-sdk records subsegments of the function segment; the plugin's annotation is on its work's.
        [work] = [sub for sub in function.subsegments if sub.name == "run_plugin"]
        self.assertEqual((work.annotations or {}).get("hook"), "postValidate")
