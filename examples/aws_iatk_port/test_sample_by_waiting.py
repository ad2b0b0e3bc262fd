"""serverless-test-samples' IATK test_by_waiting, ported: wait until the plugin's completion event matches.

Only the import differs from the original's shape: one postValidate run, and a matcher that returns a
bool. aws-iatk 0.1.0 counted *any* return as a match (so the sample passed on whatever event came
first); iatk counts ``False`` as "no match", so here the wait really checks the event. That fix, and
that unmatched events are kept rather than deleted, are shown in tests/functional/compat
(``test_wait_false_return_is_no_match_and_the_event_is_kept``,
``test_bool_matcher_filters_and_unmatched_events_stay_for_the_next_call``).
"""

# ruff: noqa: PT009 - unittest-style, as the aws-iatk originals are

from __future__ import annotations

import json
import os
from unittest import TestCase

import boto3

import iatk as aws_iatk


class TestMinimalPluginByWaiting(TestCase):
    """The plugin's completion event, within the SLA."""

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
        """The plugin answers postValidate with plugin-complete from video.plugin.PythonMinimalPlugin."""
        self.sfn.start_execution(
            stateMachineArn=self.workflow_arn,
            input=json.dumps({"eventHook": "postValidate", "pluginTitle": "PythonMinimalPlugin"}),
        )

        def is_post_validate_completion(body: str) -> bool:
            event = json.loads(body)
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
