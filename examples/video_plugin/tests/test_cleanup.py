"""Cleanup leaves nothing: a listener's queue and rule are gone once it is closed."""

from __future__ import annotations

import iatk


def test_closed_listener_leaves_nothing(plugin_stack, iatk_session, iatk_run_id):
    """After `with Listener(...)` ends, iatk finds none of its resources; the app's own are untouched."""
    bus = plugin_stack.output("PluginEventBusName")
    with iatk.Listener(bus, rule=plugin_stack.output("PluginSuccessEventRuleName"), session=iatk_session) as listener:
        mine = {r.id for r in iatk.find_harness_resources(run_id=iatk_run_id, session=iatk_session)}
        assert listener.id in mine
    left = [r for r in iatk.find_harness_resources(run_id=iatk_run_id, session=iatk_session) if r.id == listener.id]
    assert left == []
    rules = iatk_session.client("events").list_rules(EventBusName=bus)["Rules"]
    assert {r["Name"] for r in rules} >= {plugin_stack.physical_id("PluginSuccessRule").split("|")[-1]}
