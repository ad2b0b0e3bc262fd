"""aws-iatk suites, ported: the serverless-test-samples IATK tests and aws-iatk's four examples.

The test modules are the originals' shape with one change, ``import iatk as aws_iatk``; run them with
``pytest --iatk-backend=moto`` (plain ``boto3.client(...)`` reaches the embedded server by itself).
Where a test had to differ for the example app, its module docstring says how.

The originals expect an app that is already deployed (``sam deploy``) and named in
``PLUGIN_TESTER_STACK_NAME``. This file is that step and nothing else: on the embedded backend it
deploys the video plugin example app (``examples/video_plugin``: the plugin tester stack and the
plugin's stack, both SAM) under that name, one app per xdist worker (the originals poll "the" bus
without correlating, so two workers sharing one app would see each other's events). On AWS, deploy
the app yourself and set ``PLUGIN_TESTER_STACK_NAME``, as the originals' README says.

``examples/conftest.py`` points ``IATK_SCHEMA_DIR`` at this folder's ``schemas/`` for aws-iatk's
example 4, whose registries (``aws.events``, its own schema stack) the app does not define.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

APP = Path(__file__).parents[1] / "video_plugin"
_WORKER = os.environ.get("PYTEST_XDIST_WORKER", "")
_SUFFIX = f"-{_WORKER}" if _WORKER else ""
os.environ.setdefault("PLUGIN_TESTER_STACK_NAME", f"aws-iatk-port{_SUFFIX}")


@pytest.fixture(scope="session", autouse=True)
def deployed_app(iatk_deploy, iatk_settings) -> None:
    """``sam deploy`` of the app, on the embedded backend (on AWS the app is already deployed)."""
    if iatk_settings.backend != "moto":
        return
    name = os.environ["PLUGIN_TESTER_STACK_NAME"]
    tester = iatk_deploy(APP / "plugin_tester" / "template.yaml", name, {"Stage": f"port{_SUFFIX}"})
    iatk_deploy(
        APP / "python_minimal_plugin" / "template.yaml",
        f"{name}-plugin",
        {"PluginEventBusName": tester.output("PluginEventBusName")},
    )
