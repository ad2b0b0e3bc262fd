"""Exactly one: one workflow run gives one plugin-complete, not two."""

from __future__ import annotations

SLA = 20  # seconds: the plugin must report within this


def test_one_run_one_completion(plugin_stack, iatk_listener, start_workflow):
    """expect_events(1) waits the whole window and fails if a second completion arrives."""
    listener = iatk_listener(
        plugin_stack.output("PluginEventBusName"), rule=plugin_stack.output("PluginSuccessEventRuleName")
    )
    this_run = start_workflow({"eventHook": "preValidate", "pluginTitle": "PythonMinimalPlugin"})

    [event] = listener.expect_events(1, this_run, within=3)
    assert event.detail["hook"] == "preValidate"
    assert event.latency is not None
    assert event.latency < SLA
