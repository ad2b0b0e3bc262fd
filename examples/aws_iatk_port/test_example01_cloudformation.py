"""aws-iatk example 1, ported: read a deployed stack's physical ids and outputs.

Only the import differs from the aws-iatk 0.1.0 original's shape, and every assertion would hold with
aws-iatk too. (iatk's error for a missing output also names it; tests/functional/compat shows that.)
"""

# ruff: noqa: PT009, PT027 - unittest-style, as the aws-iatk originals are

from __future__ import annotations

import os
from unittest import TestCase

import boto3

import iatk as aws_iatk


class TestCloudFormationHelpers(TestCase):
    """Resources of the plugin tester stack, found through CloudFormation."""

    @classmethod
    def setUpClass(cls) -> None:
        cls.iatk = aws_iatk.AwsIatk(region=os.environ["AWS_REGION"])
        cls.stack_name = os.environ["PLUGIN_TESTER_STACK_NAME"]

    def test_get_physical_id_from_stack(self) -> None:
        """A queue's physical id is its URL, a state machine's its ARN: both usable with boto3."""
        queue_url = self.iatk.get_physical_id_from_stack(
            logical_resource_id="PluginResults", stack_name=self.stack_name
        ).physical_id
        attributes = boto3.client("sqs").get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])
        self.assertTrue(attributes["Attributes"]["QueueArn"].endswith(queue_url.rsplit("/", 1)[1]))

        workflow_arn = self.iatk.get_physical_id_from_stack(
            logical_resource_id="PluginLifecycleWorkflow", stack_name=self.stack_name
        ).physical_id
        described = boto3.client("stepfunctions").describe_state_machine(stateMachineArn=workflow_arn)
        self.assertEqual(described["stateMachineArn"], workflow_arn)

    def test_get_stack_outputs(self) -> None:
        """Exactly the outputs asked for, with the values the resources have."""
        outputs = self.iatk.get_stack_outputs(
            stack_name=self.stack_name, output_names=["PluginEventBusName", "PluginResultsUrl"]
        ).outputs
        self.assertEqual(set(outputs), {"PluginEventBusName", "PluginResultsUrl"})
        bus = boto3.client("events").describe_event_bus(Name=outputs["PluginEventBusName"])
        self.assertEqual(bus["Name"], outputs["PluginEventBusName"])
        self.assertEqual(
            outputs["PluginResultsUrl"],
            self.iatk.get_physical_id_from_stack(
                logical_resource_id="PluginResults", stack_name=self.stack_name
            ).physical_id,
        )

    def test_missing_output(self) -> None:
        """Asking for an output the stack does not have raises IatkException."""
        with self.assertRaises(aws_iatk.IatkException):
            self.iatk.get_stack_outputs(stack_name=self.stack_name, output_names=["NoSuchOutput"])
