"""The seam between test_state and the offline emulator (iatk._backend.moto.states), without a server.

On an embedded session test_state checks its arguments, asks the emulator's ``check_support``, then
``run_state`` with an ``OfflineRequest``, and builds the StateResult from the ``Outcome``.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import datetime, timezone
from typing import Any

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


@pytest.fixture
def runs(monkeypatch: pytest.MonkeyPatch) -> list[emulator.OfflineRequest]:
    """A fake run_state: records the requests and answers an Outcome with every stage."""
    seen: list[emulator.OfflineRequest] = []

    def fake(ctx: Any, request: emulator.OfflineRequest) -> emulator.Outcome:
        seen.append(request)
        stages = {name: f"<{name}>" for name in StateInspection.__dataclass_fields__ if name != "raw"}
        return emulator.Outcome(status="SUCCEEDED", next_state="Shape", output={"ok": 1}, stages=stages, raw={"r": 1})

    monkeypatch.setattr(emulator, "run_state", fake)
    return seen


def test_an_embedded_session_runs_the_state_on_the_emulator(session, stub, runs):
    """The request carries the checked pieces; the result is the Outcome plus the state, its type, offline."""
    result = test_state(
        ARN, "Call", {"a": 1}, mock={"result": {"x": 1}}, state_configuration={"retrierRetryCount": 1}, session=session
    )
    (request,) = runs
    assert request.name == "Call"
    assert request.state == DEFINITION["States"]["Call"]
    assert request.input_text == '{"a": 1}'
    assert request.mock == {"result": '{"x": 1}'}
    assert request.role_arn == ROLE  # the state machine's, as none was given
    assert request.retry_count == 1
    assert result.offline is True
    assert result.state == "Call"
    assert result.state_type == "Task"
    assert (result.status, result.next_state, result.output) == ("SUCCEEDED", "Shape", {"ok": 1})
    assert result.inspection.after_result_path == "<after_result_path>"
    assert dict(result.raw) == {"r": 1}


def test_what_the_emulator_cannot_run_is_refused_before_the_input_is_read(session, stub, runs):
    """check_support comes first: a JSONata state with a bad input is the JSONata error, and nothing runs."""
    with pytest.raises(StateTestError, match="uses JSONata"):
        test_state(ARN, "Shape", "not json", session=session)
    assert runs == []


def test_a_bad_input_is_a_config_error_and_nothing_runs(session, stub, runs):
    with pytest.raises(ConfigError, match="not JSON text"):
        test_state(ARN, "Call", "not json", session=session)
    assert runs == []


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
    assert (outcome.status, outcome.error, outcome.cause) == ("RETRIABLE", "Boom", "why")
    inspection = StateInspection(**outcome.stages)  # the stages are StateInspection's fields
    assert inspection.input == {"a": 1}
    assert inspection.error_details == {"retryIndex": 0, "retryBackoffIntervalSeconds": 6}
