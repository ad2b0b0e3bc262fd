"""serverless-test-samples' IATK test_trace, ported: the X-Ray trace of a workflow run.

The original makes its own trace id, passes ``traceHeader`` to StartExecution, sleeps 20 s, reads the
tree with ``get_trace_tree`` and expects one path of six segments through Step Functions, EventBridge
and two Lambda functions. Here the 20 s sleep is ``retry_get_trace_tree_until`` (which the original's
comment suggests), until the plugin's segment is there; then ``get_trace_tree``. Offline the
embedded backend records the workflow's segment, and the plugin (a Lambda function) continues the
trace whose header the app hands it in its input (``trace``); the embedded EventBridge does not carry
the trace to its targets, so these are two paths, not the original's one. Only aws-iatk's API and
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


class TestPluginTrace(TestCase):
    """The plugin's work shows up in the trace started with the workflow."""

    def setUp(self) -> None:
        self.iatk = aws_iatk.AwsIatk(region=os.environ["AWS_REGION"])
        outputs = self.iatk.get_stack_outputs(
            stack_name=os.environ["PLUGIN_TESTER_STACK_NAME"], output_names=["PluginLifecycleWorkflow"]
        ).outputs
        self.workflow_arn = outputs["PluginLifecycleWorkflow"]
        self.sfn = boto3.client("stepfunctions")

    def test_trace(self) -> None:
        """The workflow's run and the plugin's segment are in the trace, with no error and no fault."""
        trace_id = f"1-{int(time.time()):08x}-{secrets.token_hex(12)}"
        header = f"Root={trace_id};Sampled=1"
        self.sfn.start_execution(
            stateMachineArn=self.workflow_arn,
            input=json.dumps({"eventHook": "postValidate", "pluginTitle": "PythonMinimalPlugin", "trace": header}),
            traceHeader=header,
        )

        def plugin_segment_arrived(output: aws_iatk.GetTraceTreeOutput) -> None:
            assert any(segment.name == "PythonMinimalPlugin" for segment in output.trace_tree.source_trace.segments)

        self.assertTrue(
            self.iatk.retry_get_trace_tree_until(
                tracing_header=header, assertion_fn=plugin_segment_arrived, timeout_seconds=20
            )
        )
        trace_tree = self.iatk.get_trace_tree(tracing_header=header).trace_tree

        paths = [[(segment.origin, segment.name) for segment in path] for path in trace_tree.paths]
        # On AWS one path: the workflow, EventBridge, the function. Offline the embedded EventBridge
        # does not carry the trace to its targets, so the workflow's run and the plugin's segment
        # are two paths of the same trace.
        self.assertIn([("AWS::Lambda::Function", "PythonMinimalPlugin")], paths)
        self.assertIn("AWS::StepFunctions::StateMachine", {path[0][0] for path in paths})
        for segment in (segment for path in trace_tree.paths for segment in path):
            self.assertIsNone(segment.error)
            self.assertIsNone(segment.fault)
        self.assertEqual(trace_tree.source_trace.id, trace_id)
