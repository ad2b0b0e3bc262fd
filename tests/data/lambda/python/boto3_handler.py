"""A handler that imports boto3 and builds a client (the benchmark's 'boto3' case)."""

from __future__ import annotations

import boto3

client = boto3.client("sqs", region_name="us-east-1")


def handler(event, context):
    return {"service": client.meta.service_model.service_name}
