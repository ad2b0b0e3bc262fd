"""The video plugin example: deploy the app (embedded backend) or use a deployed stack (AWS), and run
the plugin under test as a worker process for the whole run."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

import iatk

HERE = Path(__file__).parent
SLA = 20  # seconds: the plugin must report within this


@pytest.fixture(scope="session")
def plugin_stack(iatk_deploy, iatk_settings) -> iatk.Stack:
    """The plugin tester stack: deployed by the run on moto, or --iatk-stack on AWS."""
    if iatk_settings.backend == "moto" or not iatk_settings.stack:
        return iatk_deploy(HERE / "template.yaml", "video-plugin-tester", {"Stage": "example"})
    return iatk.Stack(iatk_settings.stack)


@pytest.fixture(scope="session")
def plugin_worker(plugin_stack, iatk_session) -> Iterator[subprocess.Popen[bytes]]:
    """The plugin under test, running as a process against the same backend as the tests."""
    env = {
        **os.environ,
        **iatk.session_env(iatk_session),
        "PLUGIN_INBOX_URL": plugin_stack.output("PluginInboxUrl"),
        "PLUGIN_BUS_NAME": plugin_stack.output("PluginEventBusName"),
        "PYTHONPATH": str(HERE),
    }
    process = subprocess.Popen([sys.executable, "-m", "plugin.worker"], cwd=HERE, env=env)
    time.sleep(0.2)
    if process.poll() is not None:
        pytest.fail(f"the plugin worker exited at start with code {process.returncode}")
    yield process
    process.terminate()
    try:
        process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        process.kill()


@pytest.fixture
def start_workflow(plugin_stack, iatk_session, plugin_worker):
    """Start the plugin tester workflow; returns a matcher for the plugin's answer to *this* run.

    Each run gets a fresh ``correlationId`` that the workflow passes to the plugin and the plugin
    echoes back, so tests running side by side (``pytest -n 4``) on the same bus tell their events
    apart: ``listener.expect_event(run & iatk.match(...))``.
    """
    import json
    import uuid

    sfn = iatk_session.client("stepfunctions")

    def start(workflow_input: dict, **kwargs: str) -> iatk.Matcher:
        correlation = uuid.uuid4().hex
        sfn.start_execution(
            stateMachineArn=plugin_stack.output("PluginLifecycleWorkflow"),
            name=correlation,  # moto needs a name (it would otherwise reuse ":None")
            input=json.dumps({**workflow_input, "correlationId": correlation}),
            **kwargs,
        )
        return iatk.match(detail={"correlationId": correlation})

    return start
