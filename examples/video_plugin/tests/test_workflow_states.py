"""Step Functions state tests on the deployed workflow: routing and data flow, state by state.

The definition is read from the deployed state machine (never copied into the test). Offline, each
state runs on moto's interpreter; on AWS, through the TestState API.
"""

from __future__ import annotations

import pytest


@pytest.fixture
def workflow(plugin_stack):
    """The deployed plugin tester workflow, as (stack, logical id)."""
    return (plugin_stack, "PluginLifecycleWorkflow")


ANNOUNCED = {"FailedEntryCount": 0, "Entries": [{"EventId": "e-1"}]}


@pytest.mark.parametrize(
    ("hook", "branch"),
    [("preValidate", "Pre-validate"), ("postValidate", "Post-validate"), ("postMetadata", "Post-metadata")],
)
def test_choice_routes_each_hook(iatk_states, workflow, hook, branch):
    """'Choose hook' sends each lifecycle hook to its own state."""
    iatk_states.test_state(workflow, "Choose hook", {"eventHook": hook}).expect_next(branch)


def test_unknown_hook_goes_to_failure(iatk_states, workflow):
    """An unknown hook is routed to the 'Unknown hook' Fail state, which fails the run."""
    iatk_states.test_state(workflow, "Choose hook", {"eventHook": "nope"}).expect_next("Unknown hook")
    iatk_states.test_state(workflow, "Unknown hook", {}).expect_error("Plugin.UnknownHook")


def test_defaults_are_merged_under_the_input(iatk_states, workflow):
    """'Load inputs' keeps the caller's values and fills the rest from the defaults."""
    given = {"pluginTitle": "Mine", "defaults": {"eventHook": "postValidate", "pluginTitle": "X", "trace": ""}}
    result = iatk_states.test_state(workflow, "Load inputs", given)
    result.expect_next("Choose hook").expect_output({"eventHook": "postValidate", "pluginTitle": "Mine"})


def test_announcement_is_shaped_for_the_plugin(iatk_states, workflow):
    """With PutEvents mocked, the announcement's detail-type is '<hook>.<plugin>' and the run goes on."""
    state_input = {
        "eventHook": "postValidate",
        "pluginTitle": "P",
        "trace": "",
        "correlationId": "c-1",
        "hook": {"stage": "validate"},
    }
    result = iatk_states.test_state(workflow, "Announce to plugin", state_input, mock={"result": ANNOUNCED})
    result.expect_next("Announced").expect_output({"announced": {"FailedEntryCount": 0}})
    assert result.inspection.after_parameters["Entries"][0]["DetailType"] == "postValidate.P"


@pytest.mark.parametrize(
    ("workflow_input", "branch"),
    [({"eventHook": "postValidate"}, "Post-validate"), ({"eventHook": "preMetadata"}, "Pre-metadata")],
)
def test_walk_the_path(iatk_states, workflow, workflow_input, branch):
    """A walk from the start follows the hook's branch to the announcement, with PutEvents mocked."""
    path = iatk_states.walk_states(workflow, workflow_input, mocks={"Announce to plugin": {"result": ANNOUNCED}})
    path.expect_path(["Define defaults", "Load inputs", "Choose hook", branch, "Announce to plugin", "Announced"])
