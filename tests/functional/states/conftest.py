"""Fixtures for the state tests on the embedded backend: a session, and state machines from tests/data/states.

The session is the process-wide embedded server of ``tests/conftest.py`` (fixture ``moto_session``),
not a second ``embedded_session()``: moto's interpreter finds its server through the process-global
``MOTO_PORT``, so two servers in one process would send each other's service calls astray.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

STATES = Path(__file__).parents[2] / "data" / "states"
ROLE = "arn:aws:iam::123456789012:role/x"


@pytest.fixture(scope="session")
def sfn_session(moto_session):
    """The boto3 Session of the shared embedded backend (Step Functions execution mode on)."""
    return moto_session


@pytest.fixture
def make_machine(sfn_session) -> Iterator[Callable[[str], str]]:
    """Factory: create a state machine from tests/data/states/<file> under a unique name; returns its ARN."""
    sfn = sfn_session.client("stepfunctions")
    created: list[str] = []

    def make(file: str) -> str:
        name = f"{Path(file).stem}-{uuid.uuid4().hex[:8]}"
        definition = (STATES / file).read_text()
        arn = sfn.create_state_machine(name=name, definition=definition, roleArn=ROLE)["stateMachineArn"]
        created.append(arn)
        return arn

    yield make
    for arn in created:
        sfn.delete_state_machine(stateMachineArn=arn)


@pytest.fixture
def plugin(make_machine) -> str:
    """The plugin-lifecycle workflow (plugin_lifecycle.json)."""
    return make_machine("plugin_lifecycle.json")
