"""aws-iatk example 2, ported: an EventBridge listener shared by a test class.

setUpClass removes listeners a killed earlier run left (by tag), then adds one that copies the success
rule *and* its target's input transformation (``target_id``), so the test sees what the real target
receives. Only the import differs from the aws-iatk 0.1.0 original's shape.

The start-of-class sweep by a fixed tag is the original's pattern: it is not safe when two processes run
this class at once (one would remove the other's listener). iatk's own fixtures tag a run id instead.
"""

# ruff: noqa: PT009 - unittest-style, as the aws-iatk originals are

from __future__ import annotations

import json
import os
import uuid
from unittest import TestCase

import boto3

import iatk as aws_iatk


class TestEventBridgeListener(TestCase):
    """Plugin completions put on the bus reach the listener, transformed as for the results queue."""

    @classmethod
    def setUpClass(cls) -> None:
        cls.iatk = aws_iatk.AwsIatk(region=os.environ["AWS_REGION"])
        cls.iatk.remove_listeners(tag_filters=[aws_iatk.RemoveListeners_TagFilter(key="stage", values=["example02"])])
        outputs = cls.iatk.get_stack_outputs(
            stack_name=os.environ["PLUGIN_TESTER_STACK_NAME"],
            output_names=["PluginEventBusName", "PluginSuccessEventRuleName"],
        ).outputs
        cls.bus_name = outputs["PluginEventBusName"]
        cls.listener_id = cls.iatk.add_listener(
            event_bus_name=cls.bus_name,
            rule_name=outputs["PluginSuccessEventRuleName"],
            target_id="plugin-results",
            tags={"stage": "example02"},
        ).id
        cls.events = boto3.client("events")

    @classmethod
    def tearDownClass(cls) -> None:
        cls.iatk.remove_listeners(ids=[cls.listener_id])

    def put_completion(self) -> str:
        video_id = uuid.uuid4().hex
        self.events.put_events(
            Entries=[
                {
                    "EventBusName": self.bus_name,
                    "Source": "video.plugin.ExamplePlugin",
                    "DetailType": "plugin-complete",
                    "Detail": json.dumps({"hook": "postMetadata", "videoId": video_id}),
                }
            ]
        )
        return video_id

    def test_wait_until_event_matched(self) -> None:
        """An assert-style matcher on the transformed body."""
        video_id = self.put_completion()

        def assertion_fn(body: str) -> None:
            payload = json.loads(body)
            assert payload["videoId"] == video_id
            assert payload["plugin"] == "video.plugin.ExamplePlugin"
            assert payload["status"] == "complete"

        self.assertTrue(
            self.iatk.wait_until_event_matched(
                listener_id=self.listener_id, assertion_fn=assertion_fn, timeout_seconds=10
            )
        )

    def test_poll_events(self) -> None:
        """One poll of up to 5 s returns the transformed completion."""
        video_id = self.put_completion()
        received = self.iatk.poll_events(
            listener_id=self.listener_id, wait_time_seconds=5, max_number_of_messages=10
        ).events
        self.assertEqual(
            [json.loads(body) for body in received],
            [
                {
                    "plugin": "video.plugin.ExamplePlugin",
                    "hook": "postMetadata",
                    "videoId": video_id,
                    "status": "complete",
                }
            ],
        )
