"""The otel_traces example: deployed once per run on the embedded backend, or --iatk-stack on AWS."""

from __future__ import annotations

from pathlib import Path

import pytest

import iatk

HERE = Path(__file__).parent


@pytest.fixture(scope="session")
def orders_stack(iatk_deploy, iatk_settings) -> iatk.Stack:
    """The bus, its rule and the two functions (their ``Code`` folders are packaged on the way)."""
    if iatk_settings.backend != "moto" and iatk_settings.stack:
        return iatk.Stack(iatk_settings.stack)
    return iatk_deploy(HERE / "template.yaml", "otel-traces")
