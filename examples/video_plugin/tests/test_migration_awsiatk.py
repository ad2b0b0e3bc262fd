"""Migrating from aws-iatk: the same checks written with the ``AwsIatk`` drop-in API.

An aws-iatk 0.1.0 suite keeps its calls (``get_stack_outputs``, ``add_listener``,
``wait_until_event_matched``, ``poll_events``, ``get_trace_tree``, ``remove_listeners``); only the
import changes, from ``import aws_iatk`` to ``from iatk import AwsIatk``. What changes underneath:
no Go binary, waits that keep their deadline, a matcher's ``return False`` is "no match", and the
trace read waits for a trace still arriving. ``examples/aws_iatk_port/`` holds aws-iatk's own tests
ported this way.

Each run carries its own ``correlationId`` (the workflow echoes it through the plugin), so these
tests pass side by side under ``pytest -n 2`` on one bus.
"""

from __future__ import annotations

import json
import secrets
import time
import uuid
from collections.abc import Iterator

import pytest

from iatk import AwsIatk

SLA = 20  # seconds: the plugin must report within this


@pytest.fixture
def outputs(plugin_stack, iatk_session) -> dict[str, str]:
    """The stack outputs the aws-iatk way (the stack name is the one --iatk-stack or the run deployed)."""
    awsiatk = AwsIatk(region=iatk_session.region_name)
    return awsiatk.get_stack_outputs(
        stack_name=plugin_stack.name,
        output_names=["PluginLifecycleWorkflow", "PluginSuccessEventRuleName", "PluginEventBusName"],
    ).outputs


@pytest.fixture
def listener_id(outputs, iatk_session) -> Iterator[str]:
    """A listener on the plugin's success rule, removed after the test (aws-iatk's setUp/tearDown)."""
    awsiatk = AwsIatk(region=iatk_session.region_name)
    added = awsiatk.add_listener(
        event_bus_name=outputs["PluginEventBusName"], rule_name=outputs["PluginSuccessEventRuleName"]
    )
    yield added.id
    awsiatk.remove_listeners(ids=[added.id])


def start_workflow(iatk_session, workflow_arn: str, trace_header: str = "") -> str:
    """Start the plugin tester workflow with a fresh correlation id, as a plain boto3 call; returns the id."""
    correlation = uuid.uuid4().hex
    sfn = iatk_session.client("stepfunctions")  # in aws-iatk suites: boto3.client("stepfunctions")
    extra = {"traceHeader": trace_header} if trace_header else {}
    sfn.start_execution(
        stateMachineArn=workflow_arn,
        name=correlation,
        input=json.dumps(
            {
                "eventHook": "postValidate",
                "pluginTitle": "PythonMinimalPlugin",
                "trace": trace_header,
                "correlationId": correlation,
            }
        ),
        **extra,
    )
    return correlation


def test_plugin_complete_by_waiting(outputs, listener_id, iatk_session, plugin_worker):
    """wait_until_event_matched is True once this run's plugin-complete arrives within the SLA."""
    awsiatk = AwsIatk(region=iatk_session.region_name)
    correlation = start_workflow(iatk_session, outputs["PluginLifecycleWorkflow"])

    def is_this_runs_completion(body: str) -> bool:
        event = json.loads(body)
        return (
            event["source"] == "video.plugin.PythonMinimalPlugin"
            and event["detail-type"] == "plugin-complete"
            and event["detail"]["correlationId"] == correlation
        )

    assert awsiatk.wait_until_event_matched(
        listener_id=listener_id, assertion_fn=is_this_runs_completion, timeout_seconds=SLA
    )


def test_plugin_complete_by_polling(outputs, listener_id, iatk_session, plugin_worker):
    """poll_events in a loop, as aws-iatk's samples do, finds this run's completion."""
    awsiatk = AwsIatk(region=iatk_session.region_name)
    correlation = start_workflow(iatk_session, outputs["PluginLifecycleWorkflow"])

    mine: list[dict] = []
    deadline = time.monotonic() + SLA
    while not mine and time.monotonic() < deadline:  # each poll returns as soon as something arrives
        wait = max(1, min(20, round(deadline - time.monotonic())))
        bodies = awsiatk.poll_events(listener_id=listener_id, wait_time_seconds=wait, max_number_of_messages=10).events
        mine = [e for e in map(json.loads, bodies) if e["detail"].get("correlationId") == correlation]
    assert [(e["detail-type"], e["detail"]["hook"]) for e in mine] == [("plugin-complete", "postValidate")]


def test_plugin_trace_tree(outputs, listener_id, iatk_session, plugin_worker):
    """get_trace_tree reads the trace the run's header started: the plugin's segment, no error or fault."""
    awsiatk = AwsIatk(region=iatk_session.region_name)
    trace_id = f"1-{int(time.time()):08x}-{secrets.token_hex(12)}"
    header = f"Root={trace_id};Sampled=1"
    correlation = start_workflow(iatk_session, outputs["PluginLifecycleWorkflow"], trace_header=header)
    assert awsiatk.wait_until_event_matched(
        listener_id=listener_id,
        assertion_fn=lambda body: json.loads(body)["detail"]["correlationId"] == correlation,
        timeout_seconds=SLA,
    )

    tree = awsiatk.get_trace_tree(tracing_header=header).trace_tree

    assert tree.source_trace.id == trace_id
    # Offline only the plugin reports; on AWS, Step Functions' segments share the trace as well.
    [plugin] = {s.id: s for path in tree.paths for s in path if s.name == "PythonMinimalPlugin"}.values()
    assert plugin.origin == "AWS::Lambda::Function"
    assert plugin.error is None
    assert plugin.fault is None
    assert plugin.annotations["hook"] == "postValidate"
