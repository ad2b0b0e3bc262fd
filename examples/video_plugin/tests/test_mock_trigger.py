"""A mock trigger: the workflow input is generated from the trigger's schema in the app's registry.

The plugin tester stack registers the schema (``AWS::EventSchemas::Schema``); ``mock_event`` reads
it from the Schema Registry on AWS, and from what the stack defined on the embedded backend.
"""

from __future__ import annotations

import iatk

SLA = 20  # seconds: the plugin must report within this


def test_generated_trigger_drives_the_workflow(plugin_stack, iatk_listener, start_workflow, iatk_session):
    """Any valid trigger the schema allows makes the plugin complete for that hook."""
    trigger = iatk.mock_event(
        registry=plugin_stack.output("PluginEventRegistryName"),
        schema=plugin_stack.output("PluginTesterWorkflowTriggerEventSchemaName"),
        overrides={"pluginTitle": "PythonMinimalPlugin"},
        skip_optional=True,
        seed=7,
        session=iatk_session,
    )
    assert trigger["eventHook"] in {"postValidate", "preMetadata", "postMetadata", "preValidate"}
    listener = iatk_listener(
        plugin_stack.output("PluginEventBusName"), rule=plugin_stack.output("PluginSuccessEventRuleName")
    )
    this_run = start_workflow(trigger)
    event = listener.expect_event(this_run & iatk.match(detail={"hook": trigger["eventHook"]}), within=SLA)
    assert event.source == "video.plugin.PythonMinimalPlugin"
