"""serverless-test-samples' IATK test_by_polling_with_registry, ported: a generated trigger, then polling.

The original generates the workflow input from the PluginTesterWorkflowTriggerEventSchema in the
app's Schema Registry. moto has no Schema Registry, so the one line that differs besides the import is
``schema_file=`` (ours) in place of ``registry_name=..., schema_name=...``: it reads the same JSON
Schema draft 4 from the app's ``schemas/plugin_trigger.json``. On AWS, with the schema in a registry,
the original call works unchanged (tests/unit/test_compat.py covers the registry path).
"""

# ruff: noqa: PT009 - unittest-style, as the aws-iatk originals are

from __future__ import annotations

import json
import os
import uuid
from pathlib import Path
from unittest import TestCase

import boto3

import iatk as aws_iatk

TRIGGER_SCHEMA = Path(__file__).parents[1] / "video_plugin" / "schemas" / "plugin_trigger.json"


class TestMinimalPluginWithRegistry(TestCase):
    """A trigger generated from the schema drives the workflow; the plugin reports completion."""

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
        self.iatk.remove_listeners(ids=[self.listener_id])

    def test_minimal_plugin_event_published(self) -> None:
        """The generated trigger, with the hook and title set by a context, makes the plugin complete."""

        def set_props(event: dict) -> dict:
            event["eventHook"] = "postValidate"
            event["pluginTitle"] = "PythonMinimalPlugin"
            return event

        trigger = self.iatk.generate_mock_event(schema_file=str(TRIGGER_SCHEMA), contexts=[set_props]).event
        self.sfn.start_execution(stateMachineArn=self.workflow_arn, name=uuid.uuid4().hex, input=json.dumps(trigger))

        received = self.iatk.poll_events(
            listener_id=self.listener_id, wait_time_seconds=20, max_number_of_messages=1
        ).events

        self.assertEqual(len(received), 1)
        event = json.loads(received[0])
        self.assertEqual(event["source"], "video.plugin.PythonMinimalPlugin")
        self.assertEqual(event["detail-type"], "plugin-complete")
