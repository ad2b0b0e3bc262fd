"""test_state and walk_states against botocore's Stubber: the exact TestState requests, and parsing."""

from __future__ import annotations

import gzip
import json
from collections.abc import Iterator
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import boto3
import botocore
import botocore.session
import pytest
from botocore.stub import Stubber

from iatk._aws import IatkSession, aws
from iatk.exceptions import ConfigError, StateTestError
from iatk.states import MaxStepsReached, StatePath, StateResult, test_state, walk_states

DATA = Path(__file__).parents[1] / "data" / "states"
ARN = "arn:aws:states:us-east-1:123456789012:stateMachine:plugin-lifecycle"
ROLE = "arn:aws:iam::123456789012:role/plugin-lifecycle"
DEFINITION = (DATA / "plugin_lifecycle.json").read_text()


_CORE = botocore.session.get_session()  # shared, so the service models load once for the module


def _session(**kwargs: Any) -> boto3.Session:
    kwargs.setdefault("botocore_session", _CORE)
    return boto3.Session(aws_access_key_id="x", aws_secret_access_key="x", region_name="us-east-1", **kwargs)


@pytest.fixture
def session() -> boto3.Session:
    """A fresh session, so the definition cache starts empty."""
    return _session()


@pytest.fixture
def stub(session: boto3.Session) -> Iterator[Stubber]:
    """A Stubber on the session's cached Step Functions client; every stub must be used."""
    with Stubber(aws(session).stepfunctions) as stubber:
        yield stubber
        stubber.assert_no_pending_responses()


def _describe(stub: Stubber, definition: str = DEFINITION, arn: str = ARN) -> None:
    stub.add_response(
        "describe_state_machine",
        {
            "stateMachineArn": arn,
            "name": arn.rsplit(":", 1)[-1],
            "definition": definition,
            "roleArn": ROLE,
            "type": "STANDARD",
            "creationDate": datetime(2026, 1, 1, tzinfo=timezone.utc),
        },
        {"stateMachineArn": arn},
    )


def _request(state: str, data: Any = None, **extra: Any) -> dict[str, Any]:
    request = {"definition": DEFINITION, "stateName": state, "roleArn": ROLE, "inspectionLevel": "DEBUG"}
    if data is not None:
        request["input"] = json.dumps(data)
    request.update(extra)
    return request


class TestRequests:
    def test_plain_state_sends_the_whole_definition_and_the_state_name(self, session, stub):
        """A state without a mock: the deployed definition, stateName, the machine's role, input, DEBUG."""
        _describe(stub)
        stub.add_response(
            "test_state",
            {"status": "SUCCEEDED", "nextState": "Post-validate", "output": '{"inputs": {"hook": "postValidate"}}'},
            _request("Choose hook", {"inputs": {"hook": "postValidate"}}),
        )
        result = test_state(ARN, "Choose hook", {"inputs": {"hook": "postValidate"}}, session=session)
        assert result.next_state == "Post-validate"
        assert result.state_type == "Choice"

    def test_mocked_task_sends_the_result_as_json_text(self, session, stub):
        """A result mock goes as mock.result, serialised; field_validation_mode as fieldValidationMode."""
        _describe(stub)
        payload = {"Payload": {"ok": True, "report": "clean"}}
        stub.add_response(
            "test_state",
            {"status": "SUCCEEDED", "nextState": "Wait for plugin", "output": "{}"},
            _request(
                "Post-validate",
                {"inputs": {"pluginId": "p1"}},
                mock={"result": json.dumps(payload), "fieldValidationMode": "NONE"},
            ),
        )
        test_state(
            ARN,
            "Post-validate",
            {"inputs": {"pluginId": "p1"}},
            mock={"result": payload, "field_validation_mode": "none"},
            session=session,
        )

    def test_mocked_error_sends_error_output(self, session, stub):
        """An error mock goes as mock.errorOutput with error and cause."""
        _describe(stub)
        stub.add_response(
            "test_state",
            {"status": "CAUGHT_ERROR", "nextState": "Report rejection", "error": "Validation.Rejected", "cause": "bad"},
            _request("Post-validate", mock={"errorOutput": {"error": "Validation.Rejected", "cause": "bad"}}),
        )
        result = test_state(
            ARN, "Post-validate", mock={"error": "Validation.Rejected", "cause": "bad"}, session=session
        )
        assert (result.status, result.error, result.cause) == ("CAUGHT_ERROR", "Validation.Rejected", "bad")

    def test_every_optional_field_is_passed_through(self, session, stub):
        """Role, level, context, variables, stateConfiguration and revealSecrets reach the request."""
        _describe(stub)
        request = {
            "definition": DEFINITION,
            "stateName": "Post-validate",
            "roleArn": "arn:aws:iam::123456789012:role/tester",
            "inspectionLevel": "TRACE",
            "input": '"just text"',
            "mock": {"result": "{}"},
            "context": '{"Execution": {"Id": "e-1"}}',
            "variables": '{"attempt": 2}',
            "stateConfiguration": {"retrierRetryCount": 1},
            "revealSecrets": True,
        }
        stub.add_response("test_state", {"status": "SUCCEEDED", "nextState": "Wait for plugin"}, request)
        test_state(
            ARN,
            "Post-validate",
            '"just text"',
            mock={"result": "{}"},
            inspection_level="trace",
            context={"Execution": {"Id": "e-1"}},
            variables={"attempt": 2},
            role_arn="arn:aws:iam::123456789012:role/tester",
            state_configuration={"retrierRetryCount": 1},
            reveal_secrets=True,
            session=session,
        )

    def test_definition_is_read_once_per_session(self, session, stub):
        """Two tests of the same machine make one DescribeStateMachine call."""
        _describe(stub)
        for state in ("Load inputs", "Choose hook"):
            stub.add_response("test_state", {"status": "SUCCEEDED", "nextState": "x"}, _request(state))
        test_state(ARN, "Load inputs", session=session)
        test_state(ARN, "Choose hook", session=session)

    def test_a_name_becomes_an_arn_in_the_callers_account(self, session, stub):
        """A bare state machine name is turned into the ARN of this account and region."""
        sts = Stubber(aws(session).sts)
        sts.add_response(
            "get_caller_identity",
            {"Account": "123456789012", "Arn": "arn:aws:iam::123456789012:user/tester", "UserId": "AIDAEXAMPLE"},
        )
        with sts:
            _describe(stub)
            stub.add_response("test_state", {"status": "SUCCEEDED"}, _request("Publish"))
            assert test_state("plugin-lifecycle", "Publish", session=session).next_state is None


class TestParsing:
    def test_response_and_inspection_data_are_parsed(self, session, stub):
        """Output and each inspectionData JSON string become Python values; structures stay dicts."""
        _describe(stub)
        inspection = {
            "input": '{"inputs": {"pluginId": "p1"}}',
            "afterInputPath": '{"pluginId": "p1"}',
            "afterParameters": '{"FunctionName": "post-validate", "Payload": {"plugin": "p1", "stage": "post"}}',
            "result": '{"Payload": {"ok": true, "report": "clean"}}',
            "afterResultSelector": '{"ok": true, "report": "clean"}',
            "afterResultPath": '{"inputs": {"pluginId": "p1"}, "validation": {"ok": true, "report": "clean"}}',
            "variables": '{"attempt": 1}',
            "errorDetails": {"retryIndex": 0, "retryBackoffIntervalSeconds": 2},
        }
        stub.add_response(
            "test_state",
            {
                "status": "SUCCEEDED",
                "nextState": "Wait for plugin",
                "output": '{"inputs": {"pluginId": "p1"}, "validation": {"ok": true, "report": "clean"}}',
                "inspectionData": inspection,
            },
            _request("Post-validate", {"inputs": {"pluginId": "p1"}}, mock={"result": "{}"}),
        )
        result = test_state(ARN, "Post-validate", {"inputs": {"pluginId": "p1"}}, mock={"result": {}}, session=session)
        assert result == StateResult(
            state="Post-validate",
            status="SUCCEEDED",
            next_state="Wait for plugin",
            output={"inputs": {"pluginId": "p1"}, "validation": {"ok": True, "report": "clean"}},
            inspection=result.inspection,
            state_type="Task",
        )
        stages = dict(result.inspection.stages())
        assert stages == {
            "input": {"inputs": {"pluginId": "p1"}},
            "after_input_path": {"pluginId": "p1"},
            "after_parameters": {"FunctionName": "post-validate", "Payload": {"plugin": "p1", "stage": "post"}},
            "result": {"Payload": {"ok": True, "report": "clean"}},
            "after_result_selector": {"ok": True, "report": "clean"},
            "after_result_path": {"inputs": {"pluginId": "p1"}, "validation": {"ok": True, "report": "clean"}},
            "variables": {"attempt": 1},
            "error_details": {"retryIndex": 0, "retryBackoffIntervalSeconds": 2},
        }
        assert result.inspection.raw["afterInputPath"] == '{"pluginId": "p1"}'
        assert not result.offline

    def test_failed_state_has_error_and_no_output(self, session, stub):
        """A FAILED response: error and cause set, output and next state None."""
        _describe(stub)
        stub.add_response(
            "test_state",
            {"status": "FAILED", "error": "Plugin.UnknownHook", "cause": "no validator for this hook"},
            _request("Unknown hook"),
        )
        result = test_state(ARN, "Unknown hook", session=session)
        assert (result.status, result.output, result.next_state) == ("FAILED", None, None)
        result.expect_error("Plugin.UnknownHook", cause="no validator")


class TestWalk:
    def test_walk_follows_next_state_with_mocks_retries_and_catches(self, session, stub):
        """Each step's output is the next input; RETRIABLE repeats with a higher retry count; it ends at FAILED."""
        _describe(stub)
        first = {"hook": "postValidate", "pluginId": "p1"}
        loaded = {**first, "inputs": {"hook": "postValidate", "pluginId": "p1", "source": "iatk-tests"}}
        rejected = {**loaded, "failure": {"Error": "Validation.Rejected", "Cause": "bad"}}
        throttle = {"errorOutput": {"error": "Lambda.TooManyRequestsException"}}
        steps = [
            ("Load inputs", first, None, {"status": "SUCCEEDED", "nextState": "Choose hook"}, loaded),
            ("Choose hook", loaded, None, {"status": "SUCCEEDED", "nextState": "Post-validate"}, loaded),
            ("Post-validate", loaded, None, {"status": "RETRIABLE", "error": "Lambda.TooManyRequestsException"}, None),
            ("Post-validate", loaded, 1, {"status": "CAUGHT_ERROR", "nextState": "Report rejection"}, rejected),
            ("Report rejection", rejected, None, {"status": "SUCCEEDED", "nextState": "Rejected"}, {"pluginId": "p1"}),
            ("Rejected", {"pluginId": "p1"}, None, {"status": "FAILED", "error": "Plugin.Rejected"}, None),
        ]
        for state, data, retries, response, output in steps:
            extra: dict[str, Any] = {}
            if state == "Post-validate":
                extra["mock"] = throttle
            if retries:
                extra["stateConfiguration"] = {"retrierRetryCount": retries}
            if output is not None:
                response = {**response, "output": json.dumps(output)}
            stub.add_response("test_state", response, _request(state, data, **extra))
        path = walk_states(
            ARN, first, mocks={"Post-validate": {"error": "Lambda.TooManyRequestsException"}}, session=session
        )
        assert isinstance(path, StatePath)
        path.expect_path(
            ["Load inputs", "Choose hook", "Post-validate", "Post-validate", "Report rejection", "Rejected"]
        )
        assert [r.status for r in path][-3:] == ["CAUGHT_ERROR", "SUCCEEDED", "FAILED"]
        assert path.last.error == "Plugin.Rejected"

    def test_walk_passes_reported_variables_on(self, session, stub):
        """The variables TestState reports after a state are sent with the next one."""
        _describe(stub)
        stub.add_response(
            "test_state",
            {
                "status": "SUCCEEDED",
                "nextState": "Choose hook",
                "output": "{}",
                "inspectionData": {"variables": '{"n": 1}'},
            },
            _request("Load inputs", {}, variables='{"n": 0}'),
        )
        stub.add_response("test_state", {"status": "SUCCEEDED"}, _request("Choose hook", {}, variables='{"n": 1}'))
        assert walk_states(ARN, {}, variables={"n": 0}, session=session).names == ["Load inputs", "Choose hook"]

    def test_walk_stops_at_max_steps_and_shows_the_path(self, session, stub):
        """Reaching max_steps raises MaxStepsReached (a StateTestError) with the path in .path and the message."""
        _describe(stub)
        stub.add_response(
            "test_state", {"status": "SUCCEEDED", "nextState": "Choose hook", "output": "{}"}, _request("Load inputs")
        )
        with pytest.raises(StateTestError, match=r"max_steps=1; path so far: Load inputs → 'Choose hook'") as caught:
            walk_states(ARN, max_steps=1, session=session)
        assert isinstance(caught.value, MaxStepsReached)
        assert caught.value.path.names == ["Load inputs"]
        assert (caught.value.next_state, caught.value.max_steps) == ("Choose hook", 1)
        assert "state 'Load inputs' (Pass) → SUCCEEDED, next 'Choose hook'" in str(caught.value)

    def test_walk_rejects_a_mock_for_an_unknown_state(self, session, stub):
        """A misspelt state name in mocks fails before any TestState call."""
        _describe(stub)
        with pytest.raises(StateTestError, match="no state 'Post validate'"):
            walk_states(ARN, mocks={"Post validate": {"result": {}}}, session=session)


class TestErrors:
    def test_unknown_state_lists_the_states(self, session, stub):
        """An unknown state name raises StateTestError listing every state of the definition."""
        _describe(stub)
        with pytest.raises(StateTestError) as caught:
            test_state(ARN, "Choose Hook", session=session)
        assert "has no state 'Choose Hook'" in str(caught.value)
        assert "'Load inputs', 'Choose hook', 'Pre-validate'" in str(caught.value)

    def test_nested_states_are_listed_separately(self, session, stub):
        """States inside a Parallel or Map are named apart from the top-level ones."""
        _describe(stub, definition=(DATA / "fan_out.json").read_text())
        with pytest.raises(
            StateTestError, match=r"Its states: 'Check', 'Resize'; inside Parallel/Map: 'Count', 'Scan'"
        ):
            test_state(ARN, "Nope", session=session)

    def test_describe_failure_is_a_state_test_error_with_the_code(self, session, stub):
        """A missing state machine raises StateTestError keeping AWS's code and message."""
        stub.add_client_error("describe_state_machine", "StateMachineDoesNotExist", "State Machine Does Not Exist: 'x'")
        with pytest.raises(StateTestError, match="State Machine Does Not Exist") as caught:
            test_state(ARN, "Publish", session=session)
        assert caught.value.code == "StateMachineDoesNotExist"

    @pytest.mark.parametrize("definition", ["{not json", '{"StartAt": "A"}', "[]"])
    def test_unreadable_definition_is_a_state_test_error(self, session, stub, definition):
        """Invalid JSON or a definition without States raises StateTestError."""
        _describe(stub, definition=definition)
        with pytest.raises(StateTestError, match="definition of state machine"):
            test_state(ARN, "A", session=session)

    def test_validation_exception_keeps_its_message(self, session, stub):
        """TestState's ValidationException becomes StateTestError with the AWS message and code."""
        _describe(stub)
        stub.add_client_error(
            "test_state", "ValidationException", "Mock result does not match the API response shape", 400
        )
        with pytest.raises(StateTestError, match="Mock result does not match the API response shape") as caught:
            test_state(ARN, "Post-validate", mock={"result": {"x": 1}}, session=session)
        assert caught.value.code == "ValidationException"
        assert "'Post-validate'" in str(caught.value)

    @pytest.mark.parametrize(
        ("code", "status", "message"),
        [
            ("500", 500, "<!doctype html><title>500 Internal Server Error</title>"),  # moto's server
            ("UnknownOperationException", 400, "Operation not found"),
            ("404", 404, "Not Found"),
        ],
    )
    def test_missing_test_state_at_an_emulator_points_to_the_emulation(self, code, status, message):
        """An emulator without TestState gives a StateTestError that names --backend moto, not its HTML."""
        session = IatkSession(
            aws_access_key_id="x",
            aws_secret_access_key="x",
            region_name="us-east-1",
            endpoint_url="http://127.0.0.1:5000",
            botocore_session=_CORE,
        )
        with Stubber(aws(session).stepfunctions) as stub:
            _describe(stub)
            stub.add_client_error("test_state", code, message, status)
            with pytest.raises(StateTestError, match="TestState is not available at http://127.0.0.1:5000") as caught:
                test_state(ARN, "Publish", session=session)
        text = str(caught.value)
        assert "--backend moto --endpoint-url http://127.0.0.1:5000" in text
        assert "--iatk-backend=moto" in text
        assert "<!doctype" not in text

    def test_a_server_error_from_aws_is_not_called_missing(self, session, stub):
        """On AWS's own endpoint a 500 stays AWS's error (no emulator hint)."""
        _describe(stub)
        stub.add_client_error("test_state", "InternalFailure", "Something broke", 500)
        with pytest.raises(StateTestError, match="Something broke") as caught:
            test_state(ARN, "Publish", session=session)
        assert "not available" not in str(caught.value)
        assert caught.value.code == "InternalFailure"

    @pytest.mark.parametrize(
        ("mock", "message"),
        [
            ({"result": 1, "error": "E"}, "exactly one of 'result' or 'error'"),
            ({}, "exactly one of 'result' or 'error'"),
            ({"result": 1, "outcome": 2}, "unknown key"),
            ({"result": "not json"}, "not JSON text"),
            ({"cause": "why"}, "exactly one of"),
        ],
    )
    def test_bad_mock_is_a_config_error(self, session, stub, mock, message):
        """A malformed mock raises ConfigError before TestState is called."""
        _describe(stub)
        with pytest.raises(ConfigError, match=message):
            test_state(ARN, "Post-validate", mock=mock, session=session)

    def test_mock_on_a_choice_is_a_config_error(self, session, stub):
        """TestState mocks only Task, Map and Parallel states."""
        _describe(stub)
        with pytest.raises(ConfigError, match="'Choose hook' is a Choice state"):
            test_state(ARN, "Choose hook", mock={"result": {}}, session=session)

    def test_bad_inspection_level_is_a_config_error(self, session, stub):
        """Only INFO, DEBUG and TRACE are accepted."""
        with pytest.raises(ConfigError, match="INFO, DEBUG, TRACE"):
            test_state(ARN, "Publish", inspection_level="VERBOSE", session=session)

    def test_a_stack_without_logical_id_is_a_config_error(self, session):
        """Passing a Stack alone explains the (stack, logical id) form."""
        from iatk.stack import Stack

        stack = Stack("arn:aws:cloudformation:us-east-1:123456789012:stack/app/1", session=session)
        cfn = Stubber(aws(session).cloudformation)
        cfn.add_response(
            "describe_stacks",
            {"Stacks": [{"StackName": "app", "CreationTime": datetime(2026, 1, 1), "StackStatus": "CREATE_COMPLETE"}]},
        )
        with cfn, pytest.raises(ConfigError, match=r"pass \(stack, 'WorkflowLogicalId'\)"):
            test_state(stack, "Publish", session=session)  # type: ignore[arg-type]


def _old_botocore_session(tmp_path: Path) -> boto3.Session:
    """A session whose Step Functions model predates TestState's stateName and mock."""
    source = next((Path(botocore.__file__).parent / "data" / "stepfunctions" / "2016-11-23").glob("service-2.json*"))
    raw = source.read_bytes()
    model = json.loads(gzip.decompress(raw) if source.suffix == ".gz" else raw)
    for member in ("stateName", "mock", "context", "stateConfiguration", "variables"):
        model["shapes"]["TestStateInput"]["members"].pop(member, None)
    target = tmp_path / "stepfunctions" / "2016-11-23"
    target.mkdir(parents=True)
    (target / "service-2.json").write_text(json.dumps(model))
    core = botocore.session.get_session()
    core.set_config_variable("data_path", str(tmp_path))
    return _session(botocore_session=core)


class TestOlderBotocore:
    def test_without_state_name_the_state_is_sent_alone(self, tmp_path):
        """With a botocore lacking stateName, the request carries just the state's own definition."""
        session = _old_botocore_session(tmp_path)
        with Stubber(aws(session).stepfunctions) as stub:
            _describe(stub)
            state = json.loads(DEFINITION)["States"]["Choose hook"]
            expected = {
                "definition": json.dumps(state),
                "roleArn": ROLE,
                "inspectionLevel": "DEBUG",
                "input": '{"inputs": {"hook": "x"}}',
            }
            stub.add_response("test_state", {"status": "SUCCEEDED", "nextState": "Unknown hook"}, expected)
            assert (
                test_state(ARN, "Choose hook", {"inputs": {"hook": "x"}}, session=session).next_state == "Unknown hook"
            )
            stub.assert_no_pending_responses()

    def test_without_mock_support_a_mock_is_refused(self, tmp_path):
        """A mock cannot be sent by an older botocore: StateTestError says to upgrade."""
        session = _old_botocore_session(tmp_path)
        with Stubber(aws(session).stepfunctions) as stub:
            _describe(stub)
            with pytest.raises(StateTestError, match="upgrade boto3/botocore"):
                test_state(ARN, "Post-validate", mock={"result": {}}, session=session)
