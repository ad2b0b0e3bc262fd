"""aws-iatk example 4, ported: mock events from Schema Registry schemas, with contexts and eventbridge_event_context.

As in the original, ``MyEvent`` comes from the app's registry and ``aws.autoscaling@EC2InstanceLaunchSuccessful``
version 2 from the public ``aws.events`` registry, through ``generate_mock_event(registry_name=...,
schema_name=...)``; only the import differs. moto has no Schema Registry, so on the embedded backend the
``schema_dir`` setting (``IATK_SCHEMA_DIR``, set for the examples to ``aws_iatk_port/schemas``) stands in
for it: ``schemas/<registry>/<schema>.json``, or ``schemas/<registry>/<schema>/<version>.json`` for one
version (the EC2 one is a small stand-in written for this example). On AWS the registries are read.
As with aws-iatk, values are placeholders (``""``, ``0``, ``[]``, the first enum value, now for a
date-time), so a context fills what the test needs; ``iatk.mock_event`` gives realistic values instead.
"""

# ruff: noqa: PT009 - unittest-style, as the aws-iatk originals are

from __future__ import annotations

import os
from datetime import datetime
from unittest import TestCase

import iatk as aws_iatk
from iatk.context_generation import eventbridge_event_context

# The original read these two from its schema stack's outputs.
REGISTRY_NAME = "aws-iatk-examples"
SCHEMA_NAME = "MyEvent"


class TestMockEvents(TestCase):
    """Events generated from an OpenAPI schema, shaped by contexts."""

    @classmethod
    def setUpClass(cls) -> None:
        cls.iatk = aws_iatk.AwsIatk(region=os.environ["AWS_REGION"])

    def test_generate_my_event(self) -> None:
        """The enum's first value, a date-time of now, and aws-iatk's empty array for the items."""
        event = self.iatk.generate_mock_event(
            registry_name=REGISTRY_NAME, schema_name=SCHEMA_NAME, event_ref="MyEvent"
        ).event
        self.assertEqual(event["category"], "A")
        self.assertIsNotNone(datetime.fromisoformat(event["createdAt"].replace("Z", "+00:00")).tzinfo)
        self.assertEqual(event["items"], [])

    def test_generate_my_event_with_context(self) -> None:
        """A context sets the items the test needs."""

        def with_items(event: dict) -> dict:
            event["items"] = [{"sku": "sku-1", "quantity": 2}, {"sku": "sku-2", "quantity": 1}]
            return event

        event = self.iatk.generate_mock_event(
            registry_name=REGISTRY_NAME, schema_name=SCHEMA_NAME, event_ref="MyEvent", contexts=[with_items]
        ).event
        self.assertEqual([item["sku"] for item in event["items"]], ["sku-1", "sku-2"])
        self.assertEqual(event["category"], "A")

    def test_eventbridge_event_context(self) -> None:
        """eventbridge_event_context completes the envelope (aws-iatk's defaults for the empty fields)."""
        event = self.iatk.generate_mock_event(
            registry_name="aws.events",
            schema_name="aws.autoscaling@EC2InstanceLaunchSuccessful",
            schema_version="2",
            event_ref="AWSEvent",
            contexts=[eventbridge_event_context],
        ).event
        self.assertEqual(event["source"], "source")
        self.assertEqual(event["detail-type"], "detail-type")
        self.assertEqual(event["version"], "0")
        for key in ("id", "account", "time", "region"):
            self.assertTrue(event[key], key)
        self.assertEqual(event["resources"], [])
        self.assertIn("EC2InstanceId", event["detail"])
