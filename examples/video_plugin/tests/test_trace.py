"""The trace of the plugin's work: its X-Ray path and durations.

The test is a traced client: it opens a ``plugin-tester`` segment and starts the workflow with a
``traceHeader`` whose parent is its ``StartExecution`` subsegment. Everything after joins that trace,
as X-Ray shows it on AWS: the state machine's segment, the bus's ``Events`` node (the workflow's
PutEvents task), the plugin function's two segments (``AWS::Lambda``, the invocation, and
``AWS::Lambda::Function``, the code), then the ``Events`` node of the plugin's own PutEvents call
(a subsegment of the function, recorded by aws-xray-sdk's patched boto3). The plugin makes no
segment of its own: in Lambda aws-xray-sdk records subsegments under the function segment, so the
``hook`` annotation is on the plugin's ``run_plugin`` subsegment there.
"""

from __future__ import annotations

from aws_xray_sdk.core import xray_recorder

import iatk

SLA = 20
PATH = [
    "plugin-tester",
    "AWS::StepFunctions::StateMachine",
    "AWS::Events",
    "AWS::Lambda",
    "AWS::Lambda::Function",
    "AWS::Events",
]


def test_plugin_trace_path_and_duration(plugin_stack, iatk_listener, start_workflow, iatk_trace):
    """One path: tester, workflow, bus, plugin function, bus; the plugin's work took < 1 s and recorded its hook."""
    listener = iatk_listener(
        plugin_stack.output("PluginEventBusName"), rule=plugin_stack.output("PluginSuccessEventRuleName")
    )
    header = iatk_trace.new_header()
    # aws-xray-sdk reads AWS_XRAY_DAEMON_ADDRESS (the embedded relay) only when configure() is given an address.
    xray_recorder.configure(sampling=False, context_missing="LOG_ERROR", daemon_address="127.0.0.1:2000")
    xray_recorder.begin_segment("plugin-tester", traceid=header.root, sampling=1)
    try:
        with xray_recorder.in_subsegment("StartExecution") as start:
            this_run = start_workflow(
                {"eventHook": "postValidate", "pluginTitle": "PythonMinimalPlugin"},
                traceHeader=str(iatk.TraceHeader(header.root, True, parent=start.id)),
            )
    finally:
        xray_recorder.end_segment()
    listener.expect_event(this_run, within=SLA)

    tree = iatk_trace.get_tree(header, until=lambda t: len(t.segments) >= len(PATH), within=SLA)

    path = tree.assert_path(PATH)
    assert [[s.origin or s.name for s in p] for p in tree.paths] == [PATH]
    tree.assert_duration(max=SLA)
    service, function = path[3], path[4]
    assert function.parent_id == service.id
    assert service.name == function.name  # both named after the function
    [(holder, work)] = tree.find_subsegments("run_plugin")
    assert holder == function
    assert work.annotations["hook"] == "postValidate"
    assert work.duration is not None
    assert work.duration < 1
    assert not any(s.error or s.fault for s in tree.segments)
