"""`iatk test-state`: on a moto server (--backend moto, the offline emulation) and on AWS's TestState (Stubber)."""

from __future__ import annotations

import json
import socket
from collections.abc import Iterator
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.stub import Stubber

from iatk._aws import IatkSession, aws
from iatk.cli import main
from iatk.embedded import set_stepfunctions_execution

DEFINITION = (Path(__file__).parents[1] / "data" / "states" / "plugin_lifecycle.json").read_text()
ROLE = "arn:aws:iam::123456789012:role/plugin-lifecycle"
LOADED = {"hook": "postValidate", "pluginId": "p1", "source": "iatk-tests"}
VALID = {"result": {"Payload": {"ok": True, "report": "clean"}, "StatusCode": 200}}


@pytest.fixture(autouse=True)
def clean_env(monkeypatch, tmp_path):
    """No backend, endpoint or profile from the machine: each test says what it uses."""
    for key in ("IATK_BACKEND", "IATK_ENDPOINT_URL", "AWS_ENDPOINT_URL", "AWS_PROFILE", "AWS_DEFAULT_PROFILE"):
        monkeypatch.delenv(key, raising=False)
    empty = tmp_path / "aws-config"
    empty.write_text("")
    monkeypatch.setenv("AWS_CONFIG_FILE", str(empty))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(empty))


@pytest.fixture(scope="module")
def workflow(moto_session) -> Iterator[str]:
    """The plugin-lifecycle state machine on the shared embedded server; yields its ARN."""
    sfn = moto_session.client("stepfunctions")
    arn = sfn.create_state_machine(name="cli-plugin-lifecycle", definition=DEFINITION, roleArn=ROLE)["stateMachineArn"]
    yield arn
    sfn.delete_state_machine(stateMachineArn=arn)


@pytest.fixture
def moto(embedded) -> list[str]:
    """The CLI options that reach the shared embedded server as a moto backend."""
    return ["--backend", "moto", "--endpoint-url", embedded.url]


def run(capsys, *argv: str, session: Any = None) -> tuple[int, str, str]:
    """main(argv) in process: (exit code, stdout, stderr)."""
    code = main(list(argv), session=session)
    out, err = capsys.readouterr()
    return code, out, err


# -- the moto backend: the offline emulation --------------------------------------------------
class TestMotoBackend:
    def test_text_output(self, capsys, workflow, moto):
        """The result prints as text: state, type, status, next state, output and inspection stages."""
        data = json.dumps({"inputs": {"hook": "postValidate"}})
        code, out, err = run(
            capsys, "test-state", "--state-machine", workflow, "--state", "Choose hook", "--input", data, *moto
        )
        assert (code, err) == (0, "")
        lines = out.splitlines()
        assert lines[0] == "state 'Choose hook' (Choice) → SUCCEEDED, next 'Post-validate' [offline: embedded backend]"
        assert '  output: {"inputs": {"hook": "postValidate"}}' in lines

    def test_json_output(self, capsys, workflow, moto):
        """--json prints the result as one JSON object."""
        data = json.dumps({"hook": "preValidate", "pluginId": "p9"})
        code, out, _ = run(
            capsys,
            "test-state",
            "--state-machine",
            workflow,
            "--state",
            "Load inputs",
            "--input",
            data,
            "--json",
            *moto,
        )
        assert code == 0
        result = json.loads(out)
        assert result["state"] == "Load inputs"
        assert result["stateType"] == "Pass"
        assert (result["status"], result["nextState"], result["offline"]) == ("SUCCEEDED", "Choose hook", True)
        assert result["output"]["inputs"] == {"hook": "preValidate", "pluginId": "p9", "source": "iatk-tests"}
        assert result["inspection"]["input"] == {"hook": "preValidate", "pluginId": "p9"}
        assert (result["error"], result["cause"]) == (None, None)

    def test_mocked_task_result_flows_on(self, capsys, workflow, moto):
        """--mock replaces the Task's call; its result goes through ResultSelector and ResultPath."""
        data = json.dumps({"inputs": LOADED})
        code, out, _ = run(
            capsys,
            "test-state",
            "--state-machine",
            workflow,
            "--state",
            "Post-validate",
            "--input",
            data,
            "--mock",
            json.dumps(VALID),
            "--json",
            *moto,
        )
        assert code == 0
        result = json.loads(out)
        assert result["nextState"] == "Wait for plugin"
        assert result["output"] == {"inputs": LOADED, "validation": {"ok": True, "report": "clean"}}
        assert result["inspection"]["after_parameters"] == {
            "FunctionName": "post-validate",
            "Payload": {"plugin": "p1", "stage": "post"},
        }

    def test_mocked_error_that_fails_exits_1_and_one_that_is_caught_exits_0(self, capsys, workflow, moto):
        """FAILED exits 1 (with the result printed); CAUGHT_ERROR exits 0 and names the catcher's state."""
        base = [
            "test-state",
            "--state-machine",
            workflow,
            "--state",
            "Post-validate",
            "--input",
            json.dumps({"inputs": LOADED}),
        ]
        code, out, _ = run(capsys, *base, "--mock", '{"error": "Lambda.Unknown", "cause": "boom"}', *moto)
        assert code == 1
        assert out.splitlines()[0].startswith("state 'Post-validate' (Task) → FAILED")
        assert "  error: Lambda.Unknown — cause: boom" in out.splitlines()

        code, out, _ = run(capsys, *base, "--mock", '{"error": "Validation.Rejected"}', "--json", *moto)
        assert code == 0
        result = json.loads(out)
        assert (result["status"], result["nextState"], result["error"]) == (
            "CAUGHT_ERROR",
            "Report rejection",
            "Validation.Rejected",
        )

    def test_no_input_means_an_empty_object(self, capsys, workflow, moto):
        """Without --input the state gets {} (as the help says), on the emulation as on AWS."""
        code, out, _ = run(
            capsys, "test-state", "--state-machine", workflow, "--state", "Wait for plugin", "--json", *moto
        )
        assert code == 0
        result = json.loads(out)
        assert (result["output"], result["inspection"]["input"], result["nextState"]) == ({}, {}, "Publish")

    def test_a_state_machine_name_is_enough(self, capsys, workflow, moto):
        """--state-machine takes a name in the session's account and region too."""
        code, out, _ = run(
            capsys, "test-state", "--state-machine", "cli-plugin-lifecycle", "--state", "Unknown hook", *moto
        )
        assert code == 1
        assert out.splitlines()[0].startswith("state 'Unknown hook' (Fail) → FAILED")

    def test_unknown_state_exits_1_listing_the_states(self, capsys, workflow, moto):
        """A misspelt state: exit 1, the message lists the definition's states, no traceback."""
        code, out, err = run(capsys, "test-state", "--state-machine", workflow, "--state", "Choose Hook", *moto)
        assert (code, out) == (1, "")
        assert err.startswith("iatk: error: ")
        assert "has no state 'Choose Hook'" in err
        assert "'Load inputs', 'Choose hook', 'Pre-validate'" in err
        assert "Traceback" not in err

    def test_without_an_endpoint_it_is_a_usage_error(self, capsys, workflow):
        """--backend moto needs the URL of a running server: exit 2 saying so (no server is started)."""
        code, _, err = run(capsys, "test-state", "--state-machine", workflow, "--state", "Publish", "--backend", "moto")
        assert code == 2
        assert "--backend moto needs a running embedded backend: start one with `iatk serve`" in err
        assert "--endpoint-url" in err

    def test_a_dead_endpoint_is_reported(self, capsys, workflow):
        """An endpoint where nothing listens: exit 1 with the URL, no traceback."""
        with socket.socket() as probe:  # a port that was free a moment ago: nothing listens there
            probe.bind(("127.0.0.1", 0))
            url = f"http://127.0.0.1:{probe.getsockname()[1]}"
        argv = ["test-state", "--state-machine", workflow, "--state", "Publish", "--backend", "moto"]
        code, _, err = run(capsys, *argv, "--endpoint-url", url)
        assert code == 1
        assert f"cannot read the definition of state machine {workflow}" in err
        assert f'Could not connect to the endpoint URL: "{url}/"' in err
        assert "Traceback" not in err

    def test_a_server_that_does_not_execute_state_machines_is_refused(self, capsys, moto_session, moto, embedded):
        """moto with its execution mode off only pretends to run executions: exit 1 and how to turn it on.

        Only a Task's service call runs on moto (the other states are evaluated by iatk), so the
        state tested is the unmocked Task that publishes.
        """
        sfn = moto_session.client("stepfunctions")
        set_stepfunctions_execution(embedded.url, enabled=False)
        try:  # made while execution is off: only then does this moto backend see it
            arn = sfn.create_state_machine(name="cli-stub-mode", definition=DEFINITION, roleArn=ROLE)["stateMachineArn"]
            try:
                data = json.dumps({"inputs": LOADED, "validation": {"ok": True}})
                code, out, err = run(
                    capsys, "test-state", "--state-machine", arn, "--state", "Publish", "--input", data, *moto
                )
            finally:
                sfn.delete_state_machine(stateMachineArn=arn)
        finally:
            set_stepfunctions_execution(embedded.url, enabled=True)
        assert (code, out) == (1, "")
        assert f"the server at {embedded.url} accepts executions but does not run them" in err
        assert "states 'A State'" in err
        assert '"execute_state_machine": true' in err


# -- arguments ---------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("option", "value", "message"),
    [
        ("--input", "{hook: 1}", "--input must be JSON text"),
        ("--mock", "{'result': 1}", "--mock must be JSON text"),
        ("--mock", "[1, 2]", "--mock must be a JSON object"),
    ],
)
def test_bad_json_arguments_are_usage_errors(capsys, option, value, message):
    """--input / --mock that are not JSON (or a mock that is not an object): exit 2 before any AWS call."""
    argv = ["test-state", "--state-machine", "arn:aws:states:us-east-1:1:stateMachine:x", "--state", "A"]
    code, out, err = run(capsys, *argv, option, value, "--endpoint-url", "http://127.0.0.1:9")
    assert (code, out) == (2, "")
    assert message in err
    assert repr(value) in err


def test_missing_required_options_are_usage_errors(capsys):
    """No --state: argparse's usage error, exit 2."""
    code, _, err = run(capsys, "test-state", "--state-machine", "x")
    assert code == 2
    assert "--state" in err


def test_unknown_profile_is_a_clear_error_without_traceback(capsys):
    """--profile nope: exit 2 with botocore's complaint about the profile, no traceback."""
    code, out, err = run(capsys, "test-state", "--state-machine", "x", "--state", "A", "--profile", "nope")
    assert (code, out) == (2, "")
    assert err.startswith("iatk: error: ")
    assert "nope" in err
    assert "Traceback" not in err


# -- AWS: TestState through botocore's Stubber ---------------------------------------------------
ARN = "arn:aws:states:us-east-1:123456789012:stateMachine:plugin-lifecycle"


def _describe(stub: Stubber) -> None:
    stub.add_response(
        "describe_state_machine",
        {
            "stateMachineArn": ARN,
            "name": "plugin-lifecycle",
            "definition": DEFINITION,
            "roleArn": ROLE,
            "type": "STANDARD",
            "creationDate": datetime(2026, 1, 1, tzinfo=timezone.utc),
        },
        {"stateMachineArn": ARN},
    )


@pytest.fixture
def aws_session() -> boto3.Session:
    """A plain session with dummy keys: every call it makes goes to the Stubber."""
    return boto3.Session(aws_access_key_id="x", aws_secret_access_key="x", region_name="us-east-1")


@pytest.fixture
def stub(aws_session) -> Iterator[Stubber]:
    """A Stubber on the Step Functions client iatk caches for the session; every response must be used."""
    with Stubber(aws(aws_session).stepfunctions) as stubber:
        yield stubber
        stubber.assert_no_pending_responses()


def test_aws_path_sends_the_deployed_definition_and_an_empty_input(capsys, aws_session, stub):
    """On AWS the CLI sends TestState the deployed definition, the state, the role, DEBUG and input {}."""
    _describe(stub)
    stub.add_response(
        "test_state",
        {"status": "SUCCEEDED", "nextState": "Publish", "output": "{}", "inspectionData": {"input": "{}"}},
        {
            "definition": DEFINITION,
            "stateName": "Wait for plugin",
            "roleArn": ROLE,
            "inspectionLevel": "DEBUG",
            "input": "{}",
        },
    )
    code, out, _ = run(capsys, "test-state", "--state-machine", ARN, "--state", "Wait for plugin", session=aws_session)
    assert code == 0
    assert out.splitlines() == [
        "state 'Wait for plugin' (Wait) → SUCCEEDED, next 'Publish'",
        "  output: {}",
        "  input: {}",
    ]


def test_aws_path_sends_the_mock_and_parses_the_response(capsys, aws_session, stub):
    """--mock goes to TestState as JSON text; --json prints the parsed response and inspection data."""
    data = {"inputs": LOADED}
    _describe(stub)
    stub.add_response(
        "test_state",
        {
            "status": "SUCCEEDED",
            "nextState": "Wait for plugin",
            "output": json.dumps({"inputs": LOADED, "validation": {"ok": True, "report": "clean"}}),
            "inspectionData": {
                "input": json.dumps(data),
                "afterInputPath": json.dumps(LOADED),
                "result": json.dumps(VALID["result"]),
            },
        },
        {
            "definition": DEFINITION,
            "stateName": "Post-validate",
            "roleArn": ROLE,
            "inspectionLevel": "INFO",
            "input": json.dumps(data),
            "mock": {"result": json.dumps(VALID["result"])},
        },
    )
    argv = ["test-state", "--state-machine", ARN, "--state", "Post-validate", "--input", json.dumps(data)]
    code, out, _ = run(
        capsys, *argv, "--mock", json.dumps(VALID), "--inspection-level", "INFO", "--json", session=aws_session
    )
    assert code == 0
    result = json.loads(out)
    assert (result["status"], result["nextState"], result["offline"]) == ("SUCCEEDED", "Wait for plugin", False)
    assert result["output"]["validation"] == {"ok": True, "report": "clean"}
    assert result["inspection"] == {"input": data, "after_input_path": LOADED, "result": VALID["result"]}


def test_an_endpoint_without_test_state_points_to_backend_moto(capsys):
    """`--backend aws` at an emulator that answers TestState with moto's HTML 500: exit 1, use --backend moto."""
    session = IatkSession(
        aws_access_key_id="x", aws_secret_access_key="x", region_name="us-east-1", endpoint_url="http://127.0.0.1:5000"
    )
    with Stubber(aws(session).stepfunctions) as stub:
        _describe(stub)
        stub.add_client_error("test_state", "500", "<!doctype html><title>500 Internal Server Error</title>", 500)
        code, out, err = run(capsys, "test-state", "--state-machine", ARN, "--state", "Publish", session=session)
    assert (code, out) == (1, "")
    assert "TestState is not available at http://127.0.0.1:5000" in err
    assert "iatk test-state --backend moto --endpoint-url http://127.0.0.1:5000" in err
    assert "<!doctype" not in err
