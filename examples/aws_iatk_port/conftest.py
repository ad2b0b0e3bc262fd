"""aws-iatk suites, ported: the serverless-test-samples IATK tests and aws-iatk's four examples.

The originals expect an app that is already deployed (``sam deploy``) and plain boto3 clients that reach
it. This conftest plays that part, so the test modules keep the originals' shape, use only aws-iatk
0.1.0's API and boto3, and import ``iatk as aws_iatk``; where a test had to differ for the example app
or for moto, its module docstring says how:

* it deploys the video plugin example app (``examples/video_plugin/template.yaml``) once per run (once
  per xdist worker), on the embedded backend with ``--iatk-backend=moto`` (or uses ``--iatk-stack`` on
  AWS);
* it runs the plugin under test as a worker process, as ``examples/video_plugin``'s conftest does;
* for each module it exports the run's backend to the environment (``iatk.session_env()``: region,
  credentials, and on the embedded backend its endpoint), plus ``PLUGIN_TESTER_STACK_NAME`` and
  ``AWS_REGION``, which the samples read. ``boto3.client(...)`` then reaches the same backend as iatk;
* moto has no Schema Registry: ``examples/conftest.py`` makes this folder's ``schemas/``
  (``<registry>/<schema>[/<version>].json``) stand in for it (``IATK_SCHEMA_DIR``), so
  ``generate_mock_event(registry_name=..., schema_name=...)`` works offline unchanged.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

import iatk

APP = Path(__file__).parents[1] / "video_plugin"
STACK_NAME = "aws-iatk-port"


@pytest.fixture(scope="session")
def plugin_tester_stack(iatk_deploy, iatk_settings) -> iatk.Stack:
    """The video plugin app: deployed by the run on moto (its own stage), or --iatk-stack on AWS."""
    if iatk_settings.backend == "moto" or not iatk_settings.stack:
        # One app per xdist worker: the originals read "the" bus and poll without correlating, so two
        # workers sharing one app would see each other's events.
        worker = os.environ.get("PYTEST_XDIST_WORKER", "")
        suffix = f"-{worker}" if worker else ""
        return iatk_deploy(APP / "template.yaml", STACK_NAME + suffix, {"Stage": "port" + suffix})
    return iatk.Stack(iatk_settings.stack)


@pytest.fixture(scope="session")
def plugin_worker(plugin_tester_stack, iatk_session) -> Iterator[subprocess.Popen[bytes]]:
    """The plugin under test, running as a process against the same backend as the tests."""
    env = {
        **os.environ,
        **iatk.session_env(iatk_session),
        "PLUGIN_INBOX_URL": plugin_tester_stack.output("PluginInboxUrl"),
        "PLUGIN_BUS_NAME": plugin_tester_stack.output("PluginEventBusName"),
        "PYTHONPATH": str(APP),
    }
    process = subprocess.Popen([sys.executable, "-m", "plugin.worker"], cwd=APP, env=env)
    time.sleep(0.2)
    if process.poll() is not None:
        pytest.fail(f"the plugin worker exited at start with code {process.returncode}")
    yield process
    process.terminate()
    try:
        process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        process.kill()


@pytest.fixture(scope="module", autouse=True)
def deployed_app_environment(plugin_tester_stack, plugin_worker, iatk_session) -> Iterator[None]:
    """What the originals' CI set up: the stack name, the region and credentials, for this module only."""
    wanted = {
        **iatk.session_env(iatk_session),
        "PLUGIN_TESTER_STACK_NAME": plugin_tester_stack.name,
    }
    saved = {key: os.environ.get(key) for key in wanted}
    os.environ.update(wanted)
    try:
        yield
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
