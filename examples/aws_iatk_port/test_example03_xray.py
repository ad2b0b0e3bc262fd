"""aws-iatk example 3, ported: trace a Step Functions run with a patched boto3 client.

As in the original: ``patch_aws_client`` on a ``stepfunctions`` client, ``start_execution``, the trace
header read back from ``describe_execution()["traceHeader"]``, then ``retry_get_trace_tree_until`` on
the origins of the tree's paths. Only aws-iatk's API and boto3 are used; with aws-iatk 0.1.0 this
would pass too, in principle (its RPC never ran here).

Adapted for the example app: the assertion asks for the origins of the app's one path as X-Ray
shows it on AWS (state machine → the bus's ``Events`` node → the plugin function's ``AWS::Lambda``
and ``AWS::Lambda::Function`` segments → the ``Events`` node of the plugin's PutEvents call, a
subsegment of the function) instead of the original's three paths through the original app. The
test makes the trace id itself, as serverless-test-samples' ``test_trace`` does, and passes it as
StartExecution's ``traceHeader``; it still prefers ``describe_execution``'s ``traceHeader`` (what AWS
returns).
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


class TestXRayTrace(TestCase):
    """The trace of a workflow run started by a patched client."""

    @classmethod
    def setUpClass(cls) -> None:
        cls.iatk = aws_iatk.AwsIatk(region=os.environ["AWS_REGION"])
        cls.workflow_arn = cls.iatk.get_stack_outputs(
            stack_name=os.environ["PLUGIN_TESTER_STACK_NAME"], output_names=["PluginLifecycleWorkflow"]
        ).outputs["PluginLifecycleWorkflow"]
        cls.sfn = cls.iatk.patch_aws_client(boto3.client("stepfunctions"))

    def test_trace_tree_origins(self) -> None:
        """One path from the state machine through the bus and the plugin function, and no segment has a fault."""
        trace_header = f"Root=1-{int(time.time()):08x}-{secrets.token_hex(12)};Sampled=1"
        run_input = {"eventHook": "postMetadata", "pluginTitle": "PythonMinimalPlugin"}
        execution_arn = self.sfn.start_execution(
            stateMachineArn=self.workflow_arn,
            input=json.dumps(run_input),
            traceHeader=trace_header,
        )["executionArn"]
        tracing_header = self.sfn.describe_execution(executionArn=execution_arn).get("traceHeader") or trace_header

        def assertion_fn(output: aws_iatk.GetTraceTreeOutput) -> None:
            tree = output.trace_tree
            origins = [[segment.origin for segment in path] for path in tree.paths]
            assert origins == [
                [
                    "AWS::StepFunctions::StateMachine",
                    "AWS::Events",
                    "AWS::Lambda",
                    "AWS::Lambda::Function",
                    "AWS::Events",
                ]
            ], origins
            # Lambda names both of its segments after the function.
            assert tree.paths[0][2].name == tree.paths[0][3].name
            assert all(segment.fault is None for path in tree.paths for segment in path)

        self.assertTrue(
            self.iatk.retry_get_trace_tree_until(
                tracing_header=tracing_header, assertion_fn=assertion_fn, timeout_seconds=20
            )
        )
