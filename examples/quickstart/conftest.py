"""Quickstart: deploy the example template once per run (to the embedded backend with --iatk-backend=moto)."""

from __future__ import annotations

from pathlib import Path

import pytest

HERE = Path(__file__).parent


@pytest.fixture(scope="session")
def app(iatk_deploy, iatk_settings):
    """The deployed stack: deployed by the run on moto, or the one named by --iatk-stack on AWS."""
    if iatk_settings.backend == "moto" or not iatk_settings.stack:
        return iatk_deploy(HERE / "template.yaml", "iatk-quickstart", {"Stage": "quickstart"})
    from iatk import Stack

    return Stack(iatk_settings.stack)
