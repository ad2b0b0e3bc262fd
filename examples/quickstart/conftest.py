"""Quickstart: deploy the example template once per run (to the embedded backend with --iatk-backend=moto)."""

from __future__ import annotations

from pathlib import Path

import pytest

HERE = Path(__file__).parent

# moto has no CloudFormation support for AWS::SQS::QueuePolicy: it skips the template's queue policy
# (its rules deliver without one) and says so with a UserWarning in the embedded server's thread, which
# this repository's `filterwarnings = error` would turn into a failed deploy.
MOTO_SKIPS_QUEUE_POLICY = "ignore:Tried to parse AWS..SQS..QueuePolicy but it's not supported by moto:UserWarning"


def pytest_configure(config: pytest.Config) -> None:
    """Let moto skip the template's QueuePolicy quietly (it matters on AWS only)."""
    config.addinivalue_line("filterwarnings", MOTO_SKIPS_QUEUE_POLICY)


@pytest.fixture(scope="session")
def app(iatk_deploy, iatk_settings):
    """The deployed stack: deployed by the run on moto, or the one named by --iatk-stack on AWS."""
    if iatk_settings.backend == "moto" or not iatk_settings.stack:
        return iatk_deploy(HERE / "template.yaml", "iatk-quickstart", {"Stage": "quickstart"})
    from iatk import Stack

    return Stack(iatk_settings.stack)
