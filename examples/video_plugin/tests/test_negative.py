"""A negative assertion: a healthy plugin must never emit plugin-failed."""

from __future__ import annotations

import pytest

import iatk

SLA = 20  # seconds: the plugin must report within this


def test_healthy_plugin_never_fails(plugin_stack, iatk_listener, start_workflow):
    """During the whole window, no plugin-failed event appears (and the plugin does complete)."""
    listener = iatk_listener(
        plugin_stack.output("PluginEventBusName"), pattern={"source": [{"prefix": "video.plugin."}]}
    )
    this_run = start_workflow({"eventHook": "postValidate", "pluginTitle": "PythonMinimalPlugin"})

    listener.expect_event(this_run & iatk.match(detail_type="plugin-complete"), within=SLA)
    listener.expect_no_event(this_run & iatk.match(detail_type="plugin-failed"), during=2)


def test_broken_plugin_is_caught(plugin_stack, iatk_listener, start_workflow):
    """The same assertion catches a plugin that fails: expect_no_event raises with the event shown."""
    listener = iatk_listener(
        plugin_stack.output("PluginEventBusName"), pattern={"source": [{"prefix": "video.plugin."}]}
    )
    this_run = start_workflow({"eventHook": "postValidate", "pluginTitle": "BrokenPlugin"})

    # The window is the SLA, but the wait fails as soon as the plugin-failed event arrives.
    with pytest.raises(iatk.UnexpectedEvent) as err:
        listener.expect_no_event(this_run & iatk.match(detail_type="plugin-failed"), during=SLA)

    [failed] = err.value.events
    assert failed.source == "video.plugin.BrokenPlugin"
    assert failed.detail_type == "plugin-failed"
    shown = str(err.value)
    assert f"id={failed.id}" in shown
    assert "detail-type='plugin-failed'" in shown
    assert failed.detail["correlationId"] in shown  # the detail is shown in full: which run failed
