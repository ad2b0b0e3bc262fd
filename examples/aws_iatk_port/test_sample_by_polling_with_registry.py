"""serverless-test-samples' IATK test_by_polling_with_registry, ported: a generated trigger, then polling.

As in the original, the workflow input is generated from the PluginTesterWorkflowTrigger schema (JSON
Schema draft 4) in the app's Schema Registry with ``generate_mock_event(registry_name=...,
schema_name=...)``, both names read from the stack's outputs (``PluginEventRegistryName``,
``PluginTesterWorkflowTriggerEventSchemaName``); only the import differs. The app's stack defines
the schema (``AWS::EventSchemas::Schema``): on AWS the registry is read, on the embedded backend what
the stack defined.
"""

# ruff: noqa: PT009 - unittest-style, as the aws-iatk originals are

from __future__ import annotations

import json
import os
from unittest import TestCase

import boto3

import iatk as aws_iatk


class TestMinimalPluginWithRegistry(TestCase):
    """A trigger generated from the schema drives the workflow; the plugin reports completion."""

    def setUp(self) -> None:
        self.iatk = aws_iatk.AwsIatk(region=os.environ["AWS_REGION"])
        outputs = self.iatk.get_stack_outputs(
            stack_name=os.environ["PLUGIN_TESTER_STACK_NAME"],
            output_names=[
                "PluginLifecycleWorkflow",
                "PluginSuccessEventRuleName",
                "PluginEventBusName",
                "PluginEventRegistryName",
                "PluginTesterWorkflowTriggerEventSchemaName",
            ],
        ).outputs
        self.workflow_arn = outputs["PluginLifecycleWorkflow"]
        self.registry_name = outputs["PluginEventRegistryName"]
        self.schema_name = outputs["PluginTesterWorkflowTriggerEventSchemaName"]
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

        trigger = self.iatk.generate_mock_event(
            registry_name=self.registry_name, schema_name=self.schema_name, contexts=[set_props]
        ).event
        self.sfn.start_execution(stateMachineArn=self.workflow_arn, input=json.dumps(trigger))

        received = self.iatk.poll_events(
            listener_id=self.listener_id, wait_time_seconds=20, max_number_of_messages=1
        ).events

        self.assertEqual(len(received), 1)
        event = json.loads(received[0])
        self.assertEqual(event["source"], "video.plugin.PythonMinimalPlugin")
        self.assertEqual(event["detail-type"], "plugin-complete")
