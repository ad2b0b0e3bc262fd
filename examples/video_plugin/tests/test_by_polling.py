"""Polling within the SLA: start the workflow, and the plugin's plugin-complete event must arrive in 20 s."""

from __future__ import annotations

import iatk

SLA = 20  # seconds: the plugin must report within this


def test_plugin_completes_within_sla(plugin_stack, iatk_listener, start_workflow):
    """The plugin answers a postValidate hook with plugin-complete, within the SLA."""
    listener = iatk_listener(
        plugin_stack.output("PluginEventBusName"), rule=plugin_stack.output("PluginSuccessEventRuleName")
    )
    this_run = start_workflow({"eventHook": "postValidate", "pluginTitle": "PythonMinimalPlugin"})

    event = listener.expect_event(this_run, within=SLA)  # the copied rule already filters plugin-complete

    assert event.source == "video.plugin.PythonMinimalPlugin"
    assert event.detail_type == "plugin-complete"
    assert event.detail["hook"] == "postValidate"
    assert event.latency is not None
    assert event.latency < SLA


def test_raw_poll_like_aws_iatk(plugin_stack, iatk_listener, start_workflow):
    """poll() is one long poll: the way aws-iatk's poll_events(wait_time_seconds=20) is used."""
    listener = iatk_listener(
        plugin_stack.output("PluginEventBusName"), rule=plugin_stack.output("PluginSuccessEventRuleName")
    )
    this_run = start_workflow({"eventHook": "preMetadata", "pluginTitle": "PythonMinimalPlugin"})
    mine: list[iatk.Event] = []
    for _ in range(10):  # each poll returns as soon as something arrives, or after `wait` seconds
        mine = [e for e in listener.poll(wait=SLA, max_messages=1) if this_run(e)]
        if mine:
            break
    assert mine[0].json()["detail"]["hook"] == "preMetadata"
