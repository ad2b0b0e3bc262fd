"""serverless-test-samples' IATK test_by_waiting, ported: wait until the plugin's completion event matches.

The original's matcher returns a bool. aws-iatk 0.1.0 counted *any* return as a match, so the sample
passed on whatever event came first. Here a False return is "no match": two workflows run (two hooks),
and the matcher really picks the postValidate completion. Only the import differs from the original's
shape.
"""

# ruff: noqa: PT009 - unittest-style, as the aws-iatk originals are

from __future__ import annotations

import json
import os
import uuid
from unittest import TestCase

import boto3

import iatk as aws_iatk


class TestMinimalPluginByWaiting(TestCase):
    """The plugin's completion for one hook, among others, within the SLA."""

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

    def start(self, hook: str) -> None:
        self.sfn.start_execution(
            stateMachineArn=self.workflow_arn,
            name=uuid.uuid4().hex,
            input=json.dumps({"eventHook": hook, "pluginTitle": "PythonMinimalPlugin"}),
        )

    def test_minimal_plugin_event_published(self) -> None:
        """Of the preValidate and postValidate completions, the matcher accepts only postValidate's."""
        self.start("preValidate")
        self.start("postValidate")
        seen_hooks = []

        def is_post_validate_completion(body: str) -> bool:
            event = json.loads(body)
            seen_hooks.append(event["detail"]["hook"])
            return (
                event["source"] == "video.plugin.PythonMinimalPlugin"
                and event["detail-type"] == "plugin-complete"
                and event["detail"]["hook"] == "postValidate"
            )

        self.assertTrue(
            self.iatk.wait_until_event_matched(
                listener_id=self.listener_id, assertion_fn=is_post_validate_completion, timeout_seconds=20
            )
        )
        self.assertEqual(seen_hooks[-1], "postValidate")

    def test_false_is_no_match(self) -> None:
        """A matcher that always returns False never matches: the wait ends False at its deadline."""
        self.start("postValidate")
        self.assertFalse(
            self.iatk.wait_until_event_matched(
                listener_id=self.listener_id, assertion_fn=lambda body: False, timeout_seconds=2
            )
        )
        # The completion is still there for a poll: waits do not throw events away.
        [body] = self.iatk.poll_events(
            listener_id=self.listener_id, wait_time_seconds=0, max_number_of_messages=10
        ).events
        self.assertEqual(json.loads(body)["detail"]["hook"], "postValidate")
