"""test_state and walk_states on the embedded backend, where states run on moto's interpreter."""

from __future__ import annotations

import pytest

from iatk.exceptions import ConfigError, StateTestError
from iatk.states import MaxStepsReached, StateTester, test_state, walk_states

LOADED = {"hook": "postValidate", "pluginId": "p1", "source": "iatk-tests"}
VALID = {"result": {"Payload": {"ok": True, "report": "clean"}, "StatusCode": 200}}


def _temporary_machines(session) -> list[str]:
    machines = session.client("stepfunctions").list_state_machines()["stateMachines"]
    return [m["name"] for m in machines if m["name"].startswith("iatk-state-")]


class TestSingleStates:
    @pytest.mark.parametrize(
        ("hook", "expected"),
        [("postValidate", "Post-validate"), ("preValidate", "Pre-validate"), ("uninstall", "Unknown hook")],
    )
    def test_choice_routes_by_input(self, sfn_session, plugin, hook, expected):
        """A Choice reports the state its rules (or Default) pick, and passes its input through."""
        data = {"inputs": {"hook": hook}}
        result = test_state(plugin, "Choose hook", data, session=sfn_session)
        result.expect_next(expected).expect_output(data)
        assert result.status == "SUCCEEDED"
        assert result.offline

    def test_choice_without_a_match_fails_like_aws(self, sfn_session, make_machine):
        """No rule and no Default: FAILED with States.NoChoiceMatched (moto's States.Runtime renamed)."""
        result = test_state(make_machine("edge_cases.json"), "Pick", {"n": -1}, session=sfn_session)
        assert (result.status, result.next_state, result.output) == ("FAILED", None, None)
        result.expect_error("States.NoChoiceMatched", cause="'Pick'")

    def test_pass_with_parameters_and_result_path_shapes_the_output(self, sfn_session, plugin):
        """Parameters build the result, ResultPath puts it under $.inputs next to the raw input."""
        result = test_state(plugin, "Load inputs", {"hook": "postValidate", "pluginId": "p1"}, session=sfn_session)
        assert result.output == {"hook": "postValidate", "pluginId": "p1", "inputs": LOADED}
        assert result.next_state == "Choose hook"
        assert result.inspection.input == {"hook": "postValidate", "pluginId": "p1"}

    def test_mocked_task_result_flows_on(self, sfn_session, plugin):
        """The mock replaces the call; InputPath, Parameters, ResultSelector and ResultPath still apply."""
        data = {"inputs": LOADED, "trace": "t-1"}
        result = test_state(plugin, "Post-validate", data, mock=VALID, session=sfn_session)
        result.expect_next("Wait for plugin")
        assert result.output == {**data, "validation": {"ok": True, "report": "clean"}}
        stages = result.inspection
        assert stages.input == data
        assert stages.after_input_path == LOADED
        assert stages.after_parameters == {
            "FunctionName": "post-validate",
            "Payload": {"plugin": "p1", "stage": "post"},
        }
        assert stages.result == VALID["result"]
        assert stages.after_result_selector == {"ok": True, "report": "clean"}
        assert stages.after_result_path == result.output
        # ... and the output is the next state's input
        after = test_state(plugin, "Wait for plugin", result.output, session=sfn_session)
        after.expect_next("Publish").expect_output({"validation": {"ok": True}})

    def test_mocked_parallel_is_one_step_with_its_result_selector(self, sfn_session, make_machine):
        """A mocked Parallel takes the mock as its branches' results, then ResultSelector and ResultPath."""
        arn = make_machine("fan_out.json")
        mock = {"result": [{"summary": {"total": 2}}, {"Payload": {"clean": True}}]}
        result = test_state(arn, "Check", {"images": ["a", "b"]}, mock=mock, session=sfn_session)
        result.expect_next("Resize").expect_output({"images": ["a", "b"], "check": {"count": 2, "clean": True}})

    def test_stages_a_state_lacks_pass_the_value_on(self, sfn_session, plugin):
        """Without InputPath, Parameters or ResultSelector, those stages equal the previous one."""
        data = {"inputs": LOADED, "validation": {"ok": True}}
        result = test_state(plugin, "Publish", data, mock={"result": {"Entries": []}}, session=sfn_session)
        stages = result.inspection
        assert stages.after_input_path == data
        assert stages.after_parameters["Entries"][0]["Detail"] == {"pluginId": "p1", "ok": True}
        assert stages.result == stages.after_result_selector == {"Entries": []}
        assert stages.after_result_path == data == result.output  # ResultPath null keeps the input

    def test_unmocked_map_is_refused_as_teststate_refuses_it(self, sfn_session, make_machine):
        """TestState runs a Map or Parallel only with a mock: offline the same refusal, and how to mock it."""
        arn = make_machine("fan_out.json")
        with pytest.raises(StateTestError, match="does not support Map or Parallel states") as caught:
            test_state(arn, "Resize", {"images": ["a", "b"]}, session=sfn_session)
        assert caught.value.code == "InvalidDefinition"
        assert "mock={'result': [" in str(caught.value)
        assert "mocks={'Resize'" in str(caught.value)

    def test_unmocked_task_calls_the_embedded_services(self, sfn_session, plugin):
        """An events:putEvents Task without a mock runs for real on moto; ResultPath null keeps the input."""
        data = {"inputs": LOADED, "validation": {"ok": True}}
        result = test_state(plugin, "Publish", data, session=sfn_session)
        assert result.status == "SUCCEEDED"
        result.expect_next(None).expect_output(data)
        assert result.inspection.after_parameters["Entries"][0]["Detail"] == {"pluginId": "p1", "ok": True}
        assert result.inspection.result["FailedEntryCount"] == 0

    def test_unmocked_task_error_is_reported(self, sfn_session, plugin):
        """A Lambda that does not exist fails the state with the service's error."""
        result = test_state(plugin, "Pre-validate", {"inputs": LOADED}, session=sfn_session)
        assert result.status == "FAILED"
        result.expect_error("Lambda.ResourceNotFoundException", cause="pre-validate")

    def test_wait_does_not_wait_offline(self, sfn_session, plugin):
        """A 30 s Wait passes its input on at once."""
        result = test_state(plugin, "Wait for plugin", {"x": 1}, session=sfn_session)
        result.expect_next("Publish").expect_output({"x": 1})

    def test_fail_state_fails(self, sfn_session, plugin):
        """A Fail state gives FAILED with its error and cause."""
        result = test_state(plugin, "Rejected", {}, session=sfn_session)
        result.expect_error("Plugin.Rejected", cause="validation rejected the plugin")

    def test_assigned_variables_are_inspected(self, sfn_session, make_machine):
        """The variables a state assigns show in inspection.variables."""
        result = test_state(make_machine("edge_cases.json"), "Remember", {"n": 60}, session=sfn_session)
        assert result.inspection.variables == {"count": 60, "label": "fixed"}


class TestMockedErrors:
    def test_mocked_error_without_catch_fails(self, sfn_session, plugin):
        """An error no Catch takes ends the state FAILED with the mock's error and cause."""
        mock = {"error": "Lambda.ServiceException", "cause": "upstream down"}
        result = test_state(plugin, "Post-validate", {"inputs": LOADED}, mock=mock, session=sfn_session)
        assert (result.status, result.next_state, result.output) == ("FAILED", None, None)
        result.expect_error("Lambda.ServiceException", cause="upstream down")

    def test_mocked_error_with_catch_is_caught(self, sfn_session, plugin):
        """A matching Catch gives CAUGHT_ERROR, the catcher's Next, and the error at its ResultPath."""
        data = {"inputs": LOADED}
        mock = {"error": "Validation.Rejected", "cause": "bad manifest"}
        result = test_state(plugin, "Post-validate", data, mock=mock, session=sfn_session)
        assert result.status == "CAUGHT_ERROR"
        result.expect_next("Report rejection").expect_error("Validation.Rejected", cause="bad manifest")
        assert result.output == {**data, "failure": {"Error": "Validation.Rejected", "Cause": "bad manifest"}}
        assert result.inspection.error_details == {"catchIndex": 0}
        assert result.inspection.after_result_path == result.output
        assert (result.inspection.result, result.inspection.after_result_selector) == (None, None)

    def test_mocked_error_with_retry_is_retriable_until_max_attempts(self, sfn_session, plugin):
        """A matching Retry gives RETRIABLE until retrierRetryCount reaches MaxAttempts, then FAILED."""
        mock = {"error": "Lambda.TooManyRequestsException"}
        first = test_state(plugin, "Post-validate", {"inputs": LOADED}, mock=mock, session=sfn_session)
        assert first.status == "RETRIABLE"
        assert first.inspection.error_details == {"retryIndex": 0, "retryBackoffIntervalSeconds": 2}
        second = test_state(
            plugin,
            "Post-validate",
            {"inputs": LOADED},
            mock=mock,
            state_configuration={"retrierRetryCount": 1},
            session=sfn_session,
        )
        assert second.inspection.error_details == {"retryIndex": 0, "retryBackoffIntervalSeconds": 6}
        spent = test_state(
            plugin,
            "Post-validate",
            {"inputs": LOADED},
            mock=mock,
            state_configuration={"retrierRetryCount": 2},
            session=sfn_session,
        )
        assert spent.status == "FAILED"


class TestWalks:
    def test_walk_takes_the_path_the_input_chooses(self, sfn_session, plugin):
        """Two hooks take two paths through the same workflow, each to the end."""
        post = walk_states(
            plugin, {"hook": "postValidate", "pluginId": "p1"}, mocks={"Post-validate": VALID}, session=sfn_session
        )
        post.expect_path(["Load inputs", "Choose hook", "Post-validate", "Wait for plugin", "Publish"])
        assert post.last.status == "SUCCEEDED"
        assert post.last.output["validation"] == {"ok": True, "report": "clean"}

        pre = walk_states(
            plugin,
            {"hook": "preValidate", "pluginId": "p2"},
            mocks={"Pre-validate": {"result": {"Payload": {"ok": False}}}},
            session=sfn_session,
        )
        pre.expect_path(["Load inputs", "Choose hook", "Pre-validate", "Wait for plugin", "Publish"])
        assert pre.last.output["validation"] == {"ok": False}

    def test_walk_ends_at_a_failure(self, sfn_session, plugin):
        """An unknown hook ends at the Fail state, which is the last step."""
        path = walk_states(plugin, {"hook": "uninstall", "pluginId": "p3"}, session=sfn_session)
        path.expect_path(["Load inputs", "Choose hook", "Unknown hook"])
        path.last.expect_error("Plugin.UnknownHook")

    def test_walk_follows_catch_and_retry(self, sfn_session, plugin):
        """A caught error goes on to the catcher's state; the walk ends at the Fail it leads to."""
        mocks = {"Post-validate": {"error": "Validation.Rejected", "cause": "bad"}}
        path = walk_states(plugin, {"hook": "postValidate", "pluginId": "p1"}, mocks=mocks, session=sfn_session)
        path.expect_path(["Load inputs", "Choose hook", "Post-validate", "Report rejection", "Rejected"])
        assert path[3].output == {"pluginId": "p1", "reason": "bad"}

    def test_walk_from_a_chosen_start(self, sfn_session, plugin):
        """start= begins the walk at another state."""
        path = walk_states(
            plugin, {"inputs": LOADED, "validation": {"ok": True}}, start="Wait for plugin", session=sfn_session
        )
        path.expect_path(["Wait for plugin", "Publish"])

    def test_walk_stops_at_max_steps(self, sfn_session, make_machine):
        """A loop hits max_steps: MaxStepsReached (a StateTestError) carries the path so far."""
        arn = make_machine("edge_cases.json")
        with pytest.raises(StateTestError, match="path so far: Pick → Tick → Pick → Tick → 'Pick'") as caught:
            walk_states(arn, {"n": 5}, max_steps=4, session=sfn_session)
        assert isinstance(caught.value, MaxStepsReached)
        assert caught.value.path.names == ["Pick", "Tick", "Pick", "Tick"]
        assert caught.value.path.last.next_state == "Pick"

    def test_tester_binds_the_session(self, sfn_session, plugin):
        """StateTester (the iatk_states fixture's object) runs both calls on its session."""
        tester = StateTester(sfn_session)
        tester.test_state(plugin, "Choose hook", {"inputs": {"hook": "preValidate"}}).expect_next("Pre-validate")
        assert tester.walk_states(plugin, {}, start="Rejected").names == ["Rejected"]


class TestOfflineLimits:
    def test_jsonata_state_runs_offline(self, sfn_session, make_machine):
        """A JSONata state runs offline: its Output is evaluated."""
        result = test_state(make_machine("edge_cases.json"), "Add one", {"n": 1}, session=sfn_session)
        assert (result.status, result.output) == ("SUCCEEDED", 2)

    def test_reading_a_variable_offline(self, sfn_session, make_machine):
        """A state reads the variables given; an undefined one fails as States.Runtime, nothing left behind."""
        arn = make_machine("edge_cases.json")
        result = test_state(arn, "Read variable", {"n": 20}, variables={"count": 7}, session=sfn_session)
        assert result.output == {"seen": 7}
        assert result.inspection.variables == {"count": 7}
        missing = test_state(arn, "Read variable", {"n": 20}, session=sfn_session)
        missing.expect_error("States.Runtime", cause="'count'")
        assert _temporary_machines(sfn_session) == []

    def test_context_needs_a_mock_as_on_aws(self, sfn_session, plugin):
        """TestState takes a Context object only with a mock: the same ValidationException offline."""
        with pytest.raises(StateTestError, match="does not support Context when a mock is not specified") as caught:
            test_state(plugin, "Load inputs", {}, context={"Execution": {"Id": "e"}}, session=sfn_session)
        assert caught.value.code == "ValidationException"

    def test_temporary_state_machines_are_deleted(self, sfn_session, plugin):
        """After passing, failing and caught runs, no temporary state machine remains."""
        test_state(plugin, "Load inputs", {"hook": "x", "pluginId": "y"}, session=sfn_session)
        test_state(plugin, "Rejected", {}, session=sfn_session)
        test_state(
            plugin, "Post-validate", {"inputs": LOADED}, mock={"error": "Validation.Rejected"}, session=sfn_session
        )
        assert _temporary_machines(sfn_session) == []

    def test_unknown_state_lists_the_states(self, sfn_session, plugin):
        """An unknown state name raises StateTestError listing the definition's states."""
        with pytest.raises(StateTestError, match="no state 'Publsh'. Its states: 'Load inputs', 'Choose hook'"):
            test_state(plugin, "Publsh", session=sfn_session)

    def test_missing_state_machine_is_a_state_test_error(self, sfn_session):
        """A state machine that does not exist raises StateTestError with the AWS code."""
        arn = "arn:aws:states:us-east-1:123456789012:stateMachine:nope"
        with pytest.raises(StateTestError, match="cannot read the definition") as caught:
            test_state(arn, "A", session=sfn_session)
        assert caught.value.code == "StateMachineDoesNotExist"

    def test_mock_on_a_pass_is_a_config_error(self, sfn_session, plugin):
        """Mocks are for Task, Map and Parallel states, offline as on AWS."""
        with pytest.raises(ConfigError, match="is a Pass state"):
            test_state(plugin, "Load inputs", {}, mock={"result": {}}, session=sfn_session)


def test_stack_and_logical_id(sfn_session, data_dir):
    """(stack, logical id) finds the state machine CloudFormation made; its states run offline."""
    import uuid

    from iatk.stack import deploy_stack

    stack = deploy_stack(data_dir / "templates" / "app.yaml", f"states-{uuid.uuid4().hex[:8]}", session=sfn_session)
    try:
        result = test_state((stack, "Workflow"), "Shape", {"id": 7, "extra": True}, session=sfn_session)
        result.expect_next("Emit").expect_output({"id": 7})
        assert "extra" not in result.output
        emitted = test_state(
            (stack, "Workflow"), "Emit", {"id": 7}, mock={"result": {"Entries": []}}, session=sfn_session
        )
        emitted.expect_next(None)
        assert emitted.output == {"Entries": []}
    finally:
        stack.delete()


def test_scalar_inputs_and_outputs(sfn_session, make_machine):
    """Inputs and outputs need not be objects: a JSON string output is the next state's input."""
    arn = make_machine("scalars.json")
    assert test_state(arn, "Echo", 3, session=sfn_session).output == 3
    assert test_state(arn, "Echo", '"already JSON text"', session=sfn_session).output == "already JSON text"
    path = walk_states(arn, [1, 2], session=sfn_session)
    assert [(r.inspection.input, r.output) for r in path] == [([1, 2], "hello"), ("hello", "hello")]
