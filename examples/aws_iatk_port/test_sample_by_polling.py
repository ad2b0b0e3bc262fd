"""serverless-test-samples' IATK test_by_polling, ported: the plugin reports completion, read by polling.

Only the import differs from the aws-iatk 0.1.0 original's shape. Reads PLUGIN_TESTER_STACK_NAME and
AWS_REGION (this folder's conftest sets them after deploying the app, as ``sam deploy`` did).
"""

# ruff: noqa: PT009 - unittest-style, as the aws-iatk originals are

from __future__ import annotations

import json
import os
from unittest import TestCase

import boto3

import iatk as aws_iatk


class TestMinimalPluginByPolling(TestCase):
    """Start the plugin lifecycle workflow; the plugin's completion event must come within one 20 s poll."""

    def setUp(self) -> None:
        self.iatk = aws_iatk.AwsIatk(region=os.environ["AWS_REGION"])
        outputs = self.iatk.get_stack_outputs(
            stack_name=os.environ["PLUGIN_TESTER_STACK_NAME"],
            output_names=["PluginLifecycleWorkflow", "PluginSuccessEventRuleName", "PluginEventBusName"],
        ).outputs
        self.workflow_arn = outputs["PluginLifecycleWorkflow"]
        self.listener_id = self.iatk.add_listener(
            event_bus_name=outputs["PluginEventBusName"], rule_name=outputs["PluginSuccessEventRuleName"]
        ).id
        self.sfn = boto3.client("stepfunctions")

    def tearDown(self) -> None:
        # A listener left behind keeps its copy of the rule firing: always remove it.
        self.iatk.remove_listeners(ids=[self.listener_id])

    def test_minimal_plugin_event_published(self) -> None:
        """The plugin answers postValidate with plugin-complete from video.plugin.PythonMinimalPlugin."""
        self.sfn.start_execution(
            stateMachineArn=self.workflow_arn,
            input=json.dumps({"eventHook": "postValidate", "pluginTitle": "PythonMinimalPlugin"}),
        )

        received = self.iatk.poll_events(
            listener_id=self.listener_id, wait_time_seconds=20, max_number_of_messages=1
        ).events

        self.assertEqual(len(received), 1)
        event = json.loads(received[0])
        self.assertEqual(event["source"], "video.plugin.PythonMinimalPlugin")
        self.assertEqual(event["detail-type"], "plugin-complete")
        self.assertEqual(event["detail"]["hook"], "postValidate")
