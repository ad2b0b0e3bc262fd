"""A mock trigger: the workflow input is generated from the example's schema file."""

from __future__ import annotations

from pathlib import Path

import iatk

SLA = 20  # seconds: the plugin must report within this

SCHEMA = Path(__file__).parents[1] / "schemas" / "plugin_trigger.json"


def test_generated_trigger_drives_the_workflow(plugin_stack, iatk_listener, start_workflow):
    """Any valid trigger the schema allows makes the plugin complete for that hook."""
    trigger = iatk.mock_event(
        schema_file=SCHEMA, overrides={"pluginTitle": "PythonMinimalPlugin"}, skip_optional=True, seed=7
    )
    assert trigger["eventHook"] in {"postValidate", "preMetadata", "postMetadata", "preValidate"}
    listener = iatk_listener(
        plugin_stack.output("PluginEventBusName"), rule=plugin_stack.output("PluginSuccessEventRuleName")
    )
    this_run = start_workflow(trigger)
    event = listener.expect_event(this_run & iatk.match(detail={"hook": trigger["eventHook"]}), within=SLA)
    assert event.source == "video.plugin.PythonMinimalPlugin"
