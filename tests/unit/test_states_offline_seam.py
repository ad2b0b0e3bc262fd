"""The seam between test_state and the offline emulator (iatk._backend.moto.states), without a server.

On an embedded session test_state checks its arguments, asks the emulator's ``check_support``, then
``run_state`` with an ``OfflineRequest``, and builds the StateResult from the ``Outcome``. The
emulator runs for real; the only AWS answer is the definition read, given by botocore's Stubber.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import datetime, timezone

import botocore.session
import pytest
from botocore.stub import Stubber

from iatk._aws import IatkSession, aws
from iatk._backend.moto import states as emulator
from iatk.exceptions import ConfigError, StateTestError
from iatk.states import StateInspection, test_state

ARN = "arn:aws:states:us-east-1:123456789012:stateMachine:seam"
ROLE = "arn:aws:iam::123456789012:role/seam"
DEFINITION = {
    "StartAt": "Call",
    "States": {
        "Call": {
            "Type": "Task",
            "Resource": "arn:aws:states:::lambda:invoke",
            "Retry": [{"ErrorEquals": ["Boom"], "MaxAttempts": 2, "IntervalSeconds": 3}],
            "Next": "Shape",
        },
        "Shape": {"Type": "Pass", "QueryLanguage": "JSONata", "End": True},
    },
}

_CORE = botocore.session.get_session()


@pytest.fixture
def session() -> IatkSession:
    return IatkSession(
        aws_access_key_id="x",
        aws_secret_access_key="x",
        region_name="us-east-1",
        endpoint_url="http://127.0.0.1:1",
        embedded=True,
        botocore_session=_CORE,
    )


@pytest.fixture
def stub(session: IatkSession) -> Iterator[Stubber]:
    """DescribeStateMachine only: any other call to the server fails the test."""
    with Stubber(aws(session).stepfunctions) as stubber:
        stubber.add_response(
            "describe_state_machine",
            {
                "stateMachineArn": ARN,
                "name": "seam",
                "definition": json.dumps(DEFINITION),
                "roleArn": ROLE,
                "type": "STANDARD",
                "creationDate": datetime(2026, 1, 1, tzinfo=timezone.utc),
            },
            {"stateMachineArn": ARN},
        )
        yield stubber


def test_an_embedded_session_runs_the_state_on_the_emulator(session, stub):
    """A mocked Task runs on the real emulator with no server call (the Stubber holds only the definition
    read); the result reads as AWS's answer does, marked offline."""
    result = test_state(
        ARN, "Call", {"a": 1}, mock={"result": {"x": 1}}, state_configuration={"retrierRetryCount": 1}, session=session
    )
    stub.assert_no_pending_responses()
    assert result.offline is True
    assert result.state == "Call"
    assert result.state_type == "Task"
    assert (result.status, result.next_state, result.output) == ("SUCCEEDED", "Shape", {"x": 1})
    assert result.inspection.input == {"a": 1}
    assert result.inspection.after_result_path == {"x": 1}


def test_a_refusal_reads_as_on_aws_and_nothing_runs(session, stub):
    """The emulator's Refused becomes the StateTestError the AWS path gives for TestState's refusal."""
    with pytest.raises(StateTestError, match="ValidationException: Invalid Context object provided") as caught:
        test_state(ARN, "Call", {}, mock={"result": {}}, context={"Pokedex": {}}, session=session)
    assert caught.value.code == "ValidationException"
    assert f"TestState failed for state 'Call' of {ARN}" in str(caught.value)
    with pytest.raises(emulator.Refused, match="Mocked result must be valid JSON"):
        emulator.run_state(aws(session), emulator.OfflineRequest(name="Call", state={}, mock={"result": "{bad"}))


def test_a_bad_input_is_a_config_error_and_nothing_runs(session, stub):
    """Checked before the emulator: no call but the definition read (a server call would fail: port 1)."""
    with pytest.raises(ConfigError, match="not JSON text"):
        test_state(ARN, "Call", "not json", session=session)


def test_a_mocked_error_a_retry_takes_is_decided_without_the_server(session):
    """The emulator answers RETRIABLE itself (no AWS call: the Stubber has no responses)."""
    with Stubber(aws(session).stepfunctions):
        outcome = emulator.run_state(
            aws(session),
            emulator.OfflineRequest(
                name="Call",
                state=DEFINITION["States"]["Call"],
                input_text='{"a": 1}',
                mock={"errorOutput": {"error": "Boom", "cause": "why"}},
                retry_count=1,
            ),
        )
    response = outcome.response
    assert (response["status"], response["error"], response["cause"]) == ("RETRIABLE", "Boom", "why")
    inspection = StateInspection.from_api(response["inspectionData"])  # read as AWS's inspection data
    assert inspection.input == {"a": 1}
    assert inspection.error_details == {"retryIndex": 0, "retryBackoffIntervalSeconds": 6}
