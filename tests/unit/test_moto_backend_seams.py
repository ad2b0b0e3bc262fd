"""The seams between the core and the embedded backend: the backend reads a stack through a protocol
and template files through the reader the deploy hands it, so it never imports iatk.stack."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from iatk._backend.moto.stepfunctions import make_state_machines_executable, state_machine_arns
from iatk._backend.moto.templates import LeftOut, embedded_template
from iatk._templates import TemplateSource, parse_template
from iatk.exceptions import ConfigError


@dataclass(frozen=True)
class FakeResource:
    logical_id: str
    physical_id: str | None
    type: str


@dataclass
class FakeStack:
    """Implements the backend's StackLike protocol: resources and nested(), nothing of iatk.Stack."""

    resources: tuple[FakeResource, ...]
    children: dict[str, FakeStack] = field(default_factory=dict)

    def nested(self, logical_id: str) -> FakeStack:
        return self.children[logical_id]


def _tree() -> FakeStack:
    child = FakeStack((FakeResource("Inner", "arn:sm:inner", "AWS::StepFunctions::StateMachine"),))
    return FakeStack(
        (
            FakeResource("Outer", "arn:sm:outer", "AWS::StepFunctions::StateMachine"),
            FakeResource("Queue", "https://q", "AWS::SQS::Queue"),
            FakeResource("Child", "child-stack", "AWS::CloudFormation::Stack"),
            FakeResource("NotYet", None, "AWS::StepFunctions::StateMachine"),
        ),
        {"Child": child},
    )


def test_state_machines_are_collected_through_nested_stacks():
    """Every state machine with a physical id, nested stacks' too, in CloudFormation's order."""
    assert state_machine_arns(_tree()) == ["arn:sm:outer", "arn:sm:inner"]


def test_state_machines_already_copied_by_the_server_need_no_call():
    """On iatk's own server the copies exist: only DescribeStateMachine, execution mode untouched."""

    class Sfn:
        class exceptions:
            StateMachineDoesNotExist = KeyError

        def __init__(self) -> None:
            self.described: list[str] = []

        def describe_state_machine(self, stateMachineArn: str) -> dict[str, Any]:
            self.described.append(stateMachineArn)
            return {}

    class Ctx:
        endpoint_url = "http://127.0.0.1:1"  # never called: nothing listens there
        stepfunctions = Sfn()

    ctx: Any = Ctx()
    assert make_state_machines_executable(ctx, _tree()) == ["arn:sm:outer", "arn:sm:inner"]
    assert ctx.stepfunctions.described == ["arn:sm:outer", "arn:sm:inner"]


def _source(text: str, folder: Path | None, name: str = "template") -> TemplateSource:
    return TemplateSource(text, parse_template(text), folder, name)


PARENT = """
Resources:
  Queue: {Type: AWS::SQS::Queue}
  Policy: {Type: AWS::SQS::QueuePolicy, Properties: {Queues: [x]}}
  Child:
    Type: AWS::CloudFormation::Stack
    Properties: {TemplateURL: child.yaml}
"""
CHILD = """
Resources:
  Topic: {Type: AWS::SNS::Topic}
  TopicPolicy: {Type: AWS::SNS::TopicPolicy, Properties: {Topics: [x]}}
"""


def test_nested_templates_are_read_with_the_deploys_reader(tmp_path: Path):
    """The backend reads children only through ``read``; leave-outs and uploads cover them too."""
    asked: list[Path] = []

    def read(path: Path) -> TemplateSource:
        asked.append(path)
        return _source(CHILD, path.parent, str(path))

    uploads: list[tuple[str, str]] = []
    left_out: list[LeftOut] = []
    body = embedded_template(
        _source(PARENT, tmp_path), stack="app", source="stack 'app'", read=read, uploads=uploads, left_out=left_out
    )
    assert asked == [(tmp_path / "child.yaml").resolve()]
    assert sorted(body["Resources"]) == ["Child", "Queue"]
    key = "app/Child/child.yaml.json"
    assert body["Resources"]["Child"]["Properties"]["TemplateURL"] == f"https://iatk-templates.s3.amazonaws.com/{key}"
    assert [k for k, _ in uploads] == [key]
    assert sorted(json.loads(uploads[0][1])["Resources"]) == ["Topic"]
    assert [str(r) for r in left_out] == ["Policy (AWS::SQS::QueuePolicy)", "Child/TopicPolicy (AWS::SNS::TopicPolicy)"]


def test_a_local_child_of_template_text_is_refused_before_any_read():
    """Template text has no folder: a local TemplateURL cannot be resolved, and nothing is read."""

    def read(path: Path) -> TemplateSource:
        raise AssertionError(f"read {path}")

    with pytest.raises(ConfigError, match="given as text"):
        embedded_template(_source(PARENT, None), stack="app", source="s", read=read, uploads=[], left_out=[])
