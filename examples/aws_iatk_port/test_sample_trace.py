"""serverless-test-samples' IATK test_trace, ported: the X-Ray trace of a workflow run.

The original makes its own trace id, passes ``traceHeader`` to StartExecution, sleeps 20 s, reads the
tree with ``get_trace_tree`` and expects one path of six segments through Step Functions, EventBridge
and two Lambda functions. Here the 20 s sleep is ``retry_get_trace_tree_until`` (which the original's
comment suggests), until the path is whole; then ``get_trace_tree``. The example app's path is the
one X-Ray shows on AWS for it: the state machine, the bus's ``Events`` node (the workflow's PutEvents
task), the plugin function's ``AWS::Lambda`` and ``AWS::Lambda::Function`` segments (a function
invoked by a rule joins the event's trace), and the ``Events`` node of the plugin's own PutEvents
call (a subsegment of the function segment, from aws-xray-sdk's patched boto3). The app has no
``PluginTaskSuccessFunction``, so the path has five segments instead of six. Only aws-iatk's API and
boto3 are used.
"""

# ruff: noqa: PT009 - unittest-style, as the aws-iatk originals are

from __future__ import annotations

import json
import os
import secrets
import time
from unittest import TestCase

import boto3

import iatk as aws_iatk

#: The origins of the one path, as X-Ray shows the app's run on AWS.
ORIGINS = [
    "AWS::StepFunctions::StateMachine",
    "AWS::Events",
    "AWS::Lambda",
    "AWS::Lambda::Function",
    "AWS::Events",
]


class TestPluginTrace(TestCase):
    """The plugin's work is in the trace started with the workflow, on the workflow's path."""

    def setUp(self) -> None:
        self.iatk = aws_iatk.AwsIatk(region=os.environ["AWS_REGION"])
        outputs = self.iatk.get_stack_outputs(
            stack_name=os.environ["PLUGIN_TESTER_STACK_NAME"], output_names=["PluginLifecycleWorkflow"]
        ).outputs
        self.workflow_arn = outputs["PluginLifecycleWorkflow"]
        self.sfn = boto3.client("stepfunctions")

    def test_trace(self) -> None:
        """One path through the workflow, EventBridge and the plugin function, with no error and no fault."""
        trace_id = f"1-{int(time.time()):08x}-{secrets.token_hex(12)}"
        header = f"Root={trace_id};Sampled=1"
        self.sfn.start_execution(
            stateMachineArn=self.workflow_arn,
            input=json.dumps({"eventHook": "postValidate", "pluginTitle": "PythonMinimalPlugin"}),
            traceHeader=header,
        )

        def path_is_whole(output: aws_iatk.GetTraceTreeOutput) -> None:
            origins = [[segment.origin for segment in path] for path in output.trace_tree.paths]
            assert origins == [ORIGINS], origins

        self.assertTrue(
            self.iatk.retry_get_trace_tree_until(tracing_header=header, assertion_fn=path_is_whole, timeout_seconds=20)
        )
        trace_tree = self.iatk.get_trace_tree(tracing_header=header).trace_tree

        [path] = trace_tree.paths
        self.assertEqual([segment.origin for segment in path], ORIGINS)
        workflow, bus, service, function, plugin_bus = path
        self.assertEqual(workflow.name, self.workflow_arn.rsplit(":", 1)[-1])
        self.assertEqual((bus.name, plugin_bus.name), ("Events", "Events"))
        self.assertEqual(service.name, function.name)  # Lambda names both after the function
        for segment in path:
            self.assertIsNone(segment.error)
            self.assertIsNone(segment.fault)
        self.assertEqual(trace_tree.source_trace.id, trace_id)
