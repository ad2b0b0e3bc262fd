"""The order flow example: deploy the app once per run (embedded backend) or use --iatk-stack (AWS)."""

from __future__ import annotations

from pathlib import Path

import pytest

import iatk

HERE = Path(__file__).parent


@pytest.fixture(scope="session")
def orders_stack(iatk_deploy, iatk_settings) -> iatk.Stack:
    """The order flow stack."""
    if iatk_settings.backend == "moto" or not iatk_settings.stack:
        return iatk_deploy(HERE / "template.yaml", "order-flow", {"Stage": "example"})
    return iatk.Stack(iatk_settings.stack)


@pytest.fixture
def fulfilment_view(orders_stack, iatk_listener):
    """A listener that copies OrderPlacedRule and its Fulfilment target's InputTransformer."""
    return iatk_listener(
        orders_stack.output("OrdersBusName"), rule=orders_stack.output("OrderPlacedRuleName"), target="Fulfilment"
    )
