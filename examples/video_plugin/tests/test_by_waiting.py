"""Waiting with matchers: wait for the one event that matters, whatever else the bus carries."""

from __future__ import annotations

import iatk

SLA = 20  # seconds: the plugin must report within this


def test_wait_for_the_matching_hook(plugin_stack, iatk_listener, start_workflow):
    """A pattern listener sees every plugin event; the matcher picks the postMetadata completion."""
    listener = iatk_listener(
        plugin_stack.output("PluginEventBusName"), pattern={"source": [{"prefix": "video.plugin."}]}
    )
    first = start_workflow({"eventHook": "preValidate", "pluginTitle": "PythonMinimalPlugin"})
    second = start_workflow({"eventHook": "postMetadata", "pluginTitle": "PythonMinimalPlugin"})

    event = listener.expect_event(
        (first | second)
        & iatk.match(
            source=iatk.prefix("video.plugin"), detail_type="plugin-complete", detail={"hook": "postMetadata"}
        ),
        within=SLA,
    )
    assert event.detail["videoId"] == "video-0001"


def test_assert_style_matcher(plugin_stack, iatk_listener, start_workflow):
    """A plain function with asserts works as a matcher; its assertion message is the miss reason."""
    listener = iatk_listener(
        plugin_stack.output("PluginEventBusName"), rule=plugin_stack.output("PluginSuccessEventRuleName")
    )
    this_run = start_workflow({"eventHook": "postValidate", "pluginTitle": "PythonMinimalPlugin"})

    def is_post_validate(event: iatk.Event) -> None:
        assert event.detail["hook"] == "postValidate", f"hook was {event.detail['hook']}"

    assert (
        listener.expect_event(this_run & iatk.as_matcher(is_post_validate), within=SLA).detail_type == "plugin-complete"
    )
