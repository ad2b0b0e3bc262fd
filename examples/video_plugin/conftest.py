"""The video plugin example: its two SAM stacks, deployed by the run on the embedded backend.

``plugin_tester/`` is the platform's side (the workflow, the bus, the rules, the trigger's schema);
``python_minimal_plugin/`` the plugin under test, a Lambda function on the tester's bus. With
``--iatk-backend=moto`` the run deploys both, as they are; on AWS, deploy them with
``sam build && sam deploy`` and pass the tester stack with ``--iatk-stack`` (the plugin stack
subscribes itself to its bus).
"""

from __future__ import annotations

import json
import uuid
from pathlib import Path

import pytest

import iatk

HERE = Path(__file__).parent
TESTER = HERE / "plugin_tester" / "template.yaml"
PLUGIN = HERE / "python_minimal_plugin" / "template.yaml"


@pytest.fixture(scope="session")
def plugin_stack(iatk_deploy, iatk_settings) -> iatk.Stack:
    """The plugin tester stack, with the plugin deployed on its bus (on moto), or --iatk-stack on AWS."""
    if iatk_settings.backend != "moto" and iatk_settings.stack:
        return iatk.Stack(iatk_settings.stack)
    tester = iatk_deploy(TESTER, "video-plugin-tester", {"Stage": "example"})
    iatk_deploy(PLUGIN, "video-plugin-python-minimal", {"PluginEventBusName": tester.output("PluginEventBusName")})
    return tester


@pytest.fixture
def start_workflow(plugin_stack, iatk_session):
    """Start the plugin tester workflow; returns a matcher for the plugin's answer to *this* run.

    Each run gets a fresh ``correlationId`` that the workflow passes to the plugin and the plugin
    echoes back, so tests running side by side (``pytest -n 4``) on the same bus tell their events
    apart: ``listener.expect_event(run & iatk.match(...))``. Executions are started without a name,
    as the AWS example does.
    """
    sfn = iatk_session.client("stepfunctions")

    def start(workflow_input: dict, **kwargs: str) -> iatk.Matcher:
        correlation = uuid.uuid4().hex
        sfn.start_execution(
            stateMachineArn=plugin_stack.output("PluginLifecycleWorkflow"),
            input=json.dumps({**workflow_input, "correlationId": correlation}),
            **kwargs,
        )
        return iatk.match(detail={"correlationId": correlation})

    return start
