"""aws-iatk example 3, ported: trace a Step Functions run with a patched boto3 client.

The original patches the client, starts an execution, reads the trace header back from
``describe_execution()["traceHeader"]`` and compares the origins of the tree's paths. moto's
describe_execution has no ``traceHeader``, and moto's Step Functions records no segments. Adapted,
honestly: the header comes from ``trace_header_of`` (ours: patch_aws_client now sends a real trace id,
so it is known up front) when the response lacks it, and the app hands it to the plugin in its input,
so the one segment offline is the plugin's.
"""

# ruff: noqa: PT009 - unittest-style, as the aws-iatk originals are

from __future__ import annotations

import json
import os
import uuid
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
        """Every path starts at the plugin's segment (on AWS: at the state machine), without errors."""
        sent = self.iatk.trace_header_of(self.sfn)
        execution_arn = self.sfn.start_execution(
            stateMachineArn=self.workflow_arn,
            name=uuid.uuid4().hex,
            input=json.dumps({"eventHook": "postMetadata", "pluginTitle": "PythonMinimalPlugin", "trace": sent}),
        )["executionArn"]
        tracing_header = self.sfn.describe_execution(executionArn=execution_arn).get("traceHeader") or sent

        def assertion_fn(output: aws_iatk.GetTraceTreeOutput) -> None:
            tree = output.trace_tree
            assert [[segment.origin for segment in path] for path in tree.paths] == [["AWS::Lambda::Function"]]
            assert tree.root.name == "PythonMinimalPlugin"
            assert all(segment.fault is None for path in tree.paths for segment in path)

        self.assertTrue(
            self.iatk.retry_get_trace_tree_until(
                tracing_header=tracing_header, assertion_fn=assertion_fn, timeout_seconds=20
            )
        )
