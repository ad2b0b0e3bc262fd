"""serverless-test-samples' IATK test_trace, ported: the X-Ray trace of a workflow run.

The original makes its own trace id, passes ``traceHeader`` to StartExecution, sleeps 20 s, reads the
tree with ``get_trace_tree`` and expects one path of six segments through Step Functions, EventBridge
and two Lambda functions. Here the 20 s sleep is ``retry_get_trace_tree_until`` (which the original's
comment suggests), until the plugin's segment is there; then ``get_trace_tree`` and the original's
assertions. Offline, the embedded backend records the service nodes X-Ray shows: the state machine's
segment, the bus its ``PutEvents`` task reaches (which hands the header on to the plugin's queue),
the plugin (a process standing in for the original's Lambda functions), and the bus of the plugin's
own ``PutEvents``: one path, as in the original. Only aws-iatk's API and boto3 are used.
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
        """One path, the plugin's segment, with no error and no fault."""
        trace_id = f"1-{int(time.time()):08x}-{secrets.token_hex(12)}"
        header = f"Root={trace_id};Sampled=1"
        self.sfn.start_execution(
            stateMachineArn=self.workflow_arn,
            name=uuid.uuid4().hex,
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

        self.assertEqual(len(trace_tree.paths), 1)
        self.assertEqual(
            [(segment.origin, segment.name) for segment in trace_tree.paths[0]],
            [
                ("AWS::StepFunctions::StateMachine", self.workflow_arn.rsplit(":", 1)[-1]),
                ("AWS::Events", "Events"),
                ("AWS::Lambda::Function", "PythonMinimalPlugin"),
                ("AWS::Events", "Events"),
            ],
        )
        for segment in trace_tree.paths[0]:
            self.assertIsNone(segment.error)
            self.assertIsNone(segment.fault)
        self.assertEqual(trace_tree.source_trace.id, trace_id)
