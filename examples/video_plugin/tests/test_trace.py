"""The trace of the plugin's work: its X-Ray path and durations.

The test is a traced client: it opens a ``plugin-tester`` segment and hands the header (with its
subsegment as parent) to the workflow, which passes it to the plugin in the event. The plugin's
segment continues that trace, so the tree reads ``plugin-tester → PythonMinimalPlugin``. The plugin
is a Lambda function: it records its segment in the trace its event names (``detail.trace``); the
invocation's own ``AWS::Lambda`` segments are in the invocation's trace. On AWS, X-Ray may add a node
for the plugin's PutEvents call after it, so the path is left open at the end. (Step Functions
traces its run in a trace of its own here: the test does not pass ``traceHeader`` to StartExecution.)
"""

from __future__ import annotations

from aws_xray_sdk.core import xray_recorder

import iatk

SLA = 20


def test_plugin_trace_path_and_duration(plugin_stack, iatk_listener, start_workflow, iatk_trace):
    """The plugin's segment hangs under the tester's, took < 1 s, and recorded its hook."""
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
                {
                    "eventHook": "postValidate",
                    "pluginTitle": "PythonMinimalPlugin",
                    "trace": str(iatk.TraceHeader(header.root, True, parent=start.id)),
                }
            )
    finally:
        xray_recorder.end_segment()
    listener.expect_event(this_run, within=SLA)

    tree = iatk_trace.get_tree(header, until=lambda t: len(t.segments) >= 2, within=SLA)

    tree.assert_path(["plugin-tester", "PythonMinimalPlugin", ...])
    tree.assert_duration(max=SLA)
    tree.assert_duration(max=1, segment="PythonMinimalPlugin")
    [plugin] = tree.find(name="PythonMinimalPlugin")
    assert plugin.annotations["hook"] == "postValidate"
    assert not plugin.error
    assert not plugin.fault
    assert {tuple(s.name for s in path[:2]) for path in tree.paths} == {("plugin-tester", "PythonMinimalPlugin")}
