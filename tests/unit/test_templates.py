"""Template loading (YAML short tags, JSON, files, clear errors) and leaving out what moto skips."""

from __future__ import annotations

import json

import pytest

from iatk._templates import LeftOut, leave_out, load_template, nested_local_templates, parse_template, read_template
from iatk.exceptions import ConfigError, DeployError


def test_short_tags_become_intrinsics():
    """!Ref, !GetAtt A.B and !Sub become their long forms."""
    body = parse_template(
        "Resources:\n  Q:\n    Type: AWS::SQS::Queue\n    Properties:\n"
        "      A: !Ref X\n      B: !GetAtt Bus.Arn\n      C: !Sub '${AWS::Region}-x'\n      D: !Join [',', [a, b]]\n"
    )
    props = body["Resources"]["Q"]["Properties"]
    assert props == {
        "A": {"Ref": "X"},
        "B": {"Fn::GetAtt": ["Bus", "Arn"]},
        "C": {"Fn::Sub": "${AWS::Region}-x"},
        "D": {"Fn::Join": [",", ["a", "b"]]},
    }


def test_json_text_is_accepted():
    """JSON template text parses too."""
    assert (
        parse_template('{"Resources": {"Q": {"Type": "AWS::SQS::Queue"}}}')["Resources"]["Q"]["Type"]
        == "AWS::SQS::Queue"
    )


def test_not_a_template():
    """A document without Resources is rejected with a reason."""
    with pytest.raises(ConfigError, match="no Resources section"):
        parse_template("a: 1\n")


def test_missing_file_is_named(tmp_path):
    """A path that does not exist is reported with the working directory."""
    with pytest.raises(ConfigError, match="template file .*nope.yaml.* not found"):
        load_template(str(tmp_path / "nope.yaml"))


def test_nested_local_templates_are_found(data_dir):
    """Nested stacks with a local TemplateURL are listed; URLs are not."""
    body, folder = load_template(data_dir / "templates" / "app.yaml")
    assert nested_local_templates(body) == {"Child": "child.yaml"}
    assert folder == data_dir / "templates"


def test_read_template_keeps_the_text_byte_for_byte(tmp_path):
    """A template file is read as written, CRLF line ends and comments included."""
    text = "# a comment\r\nResources:\r\n  Q:\r\n    Type: AWS::SQS::Queue # queue\r\n"
    path = tmp_path / "t.yaml"
    path.write_bytes(text.encode())
    source = read_template(path)
    assert source.text == text
    assert source.body == {"Resources": {"Q": {"Type": "AWS::SQS::Queue"}}}
    assert (source.folder, source.name) == (tmp_path, str(path))


def _app(**extra_resources):
    """A queue, a rule and a queue policy, plus ``extra_resources``."""
    return {
        "Resources": {
            "Queue": {"Type": "AWS::SQS::Queue"},
            "Policy": {
                "Type": "AWS::SQS::QueuePolicy",
                "Properties": {"Queues": [{"Ref": "Queue"}], "PolicyDocument": {"Statement": []}},
            },
            "Rule": {"Type": "AWS::Events::Rule", "DependsOn": "Policy", "Properties": {"Targets": []}},
            **extra_resources,
        },
        "Outputs": {"QueueUrl": {"Value": {"Ref": "Queue"}}},
    }


def test_leave_out_drops_the_types_moto_skips():
    """Every resource policy type moto skips is left out; everything else stays, in order."""
    body = _app(
        TopicPolicy={"Type": "AWS::SNS::TopicPolicy", "Properties": {}},
        BusPolicy={"Type": "AWS::Events::EventBusPolicy", "Properties": {}},
        Inline={"Type": "AWS::SQS::QueueInlinePolicy", "Properties": {}},
        Permission={"Type": "AWS::Lambda::Permission", "Properties": {}},
    )
    kept, removed = leave_out(body)
    assert list(kept["Resources"]) == ["Queue", "Rule", "Permission"]
    assert [str(r) for r in removed] == [
        "Policy (AWS::SQS::QueuePolicy)",
        "TopicPolicy (AWS::SNS::TopicPolicy)",
        "BusPolicy (AWS::Events::EventBusPolicy)",
        "Inline (AWS::SQS::QueueInlinePolicy)",
    ]
    assert removed[0] == LeftOut("Policy", "AWS::SQS::QueuePolicy")
    assert kept["Outputs"] == body["Outputs"]


def test_leave_out_does_not_change_its_argument():
    """The template given is left as it was; the result is a copy."""
    body = _app()
    before = json.dumps(body, sort_keys=True)
    kept, _ = leave_out(body)
    kept["Resources"]["Queue"]["Properties"] = {"QueueName": "x"}
    assert json.dumps(body, sort_keys=True) == before


@pytest.mark.parametrize(
    ("depends_on", "expected"),
    [
        ("Policy", None),
        (["Policy"], None),
        (["Queue", "Policy"], ["Queue"]),
        ("Queue", "Queue"),
        (["Queue"], ["Queue"]),
    ],
)
def test_leave_out_drops_depends_on_the_left_out(depends_on, expected):
    """DependsOn (a string or a list) loses the left-out names, and goes when nothing is left."""
    body = _app()
    body["Resources"]["Rule"]["DependsOn"] = depends_on
    kept, _ = leave_out(body)
    assert kept["Resources"]["Rule"].get("DependsOn") == expected


def test_a_template_without_skipped_types_comes_back_equal():
    """Nothing to leave out: an equal copy and an empty list."""
    body = {"Resources": {"Q": {"Type": "AWS::SQS::Queue"}}, "Outputs": {"U": {"Value": {"Ref": "Q"}}}}
    kept, removed = leave_out(body)
    assert (kept, removed) == (body, ())
    assert kept is not body


@pytest.mark.parametrize(
    ("where", "value", "how"),
    [
        ("Outputs", {"Ref": "Policy"}, "Ref"),
        ("Outputs", {"Fn::GetAtt": ["Policy", "Id"]}, "Fn::GetAtt"),
        ("Outputs", {"Fn::GetAtt": "Policy.Id"}, "Fn::GetAtt"),
        ("Outputs", {"Fn::Sub": "policy ${Policy}"}, "Fn::Sub"),
        ("Outputs", {"Fn::Sub": ["${Policy.Id}-x", {"Other": "y"}]}, "Fn::Sub"),
        ("Outputs", {"Fn::Join": ["", ["a", {"Ref": "Policy"}]]}, "Ref"),
        ("Outputs", {"Fn::Sub": ["${X}", {"X": {"Ref": "Policy"}}]}, "Ref"),
        ("Resources", {"Ref": "Policy"}, "Ref"),
    ],
)
def test_a_reference_to_a_left_out_resource_is_an_error(where, value, how):
    """A Ref, Fn::GetAtt or Fn::Sub naming a left-out resource, from an Output or a resource, raises DeployError naming both."""
    body = _app()
    if where == "Outputs":
        body["Outputs"]["PolicyId"] = {"Value": value}
        who = "Output 'PolicyId'"
    else:
        body["Resources"]["Rule"]["Properties"]["Description"] = value
        who = "resource 'Rule'"
    with pytest.raises(DeployError) as info:
        leave_out(body, source="stack 's' (app.yaml)")
    message = str(info.value)
    assert message.startswith(
        "stack 's' (app.yaml): the embedded backend leaves out Policy (AWS::SQS::QueuePolicy), because moto cannot create it"
    )
    assert f"{who} refers to 'Policy' with {how}" in message
    assert "Remove the reference" in message


@pytest.mark.parametrize(
    "value",
    [
        {"Fn::Sub": "${!Policy} is literal text"},
        {"Fn::Sub": ["${Policy}", {"Policy": "a local variable"}]},
        {"Fn::Sub": "${AWS::StackName}-${Queue.Arn}"},
        "Policy",
    ],
)
def test_what_is_not_a_reference_is_kept(value):
    """An escaped ${!Name}, a Sub variable of the same name, other resources and plain strings are not references."""
    body = _app()
    body["Outputs"]["Text"] = {"Value": value}
    kept, removed = leave_out(body)
    assert kept["Outputs"]["Text"] == {"Value": value}
    assert [r.logical_id for r in removed] == ["Policy"]


def test_every_reference_is_listed():
    """All references to left-out resources are named in one error, each once."""
    body = _app(Topic={"Type": "AWS::SNS::TopicPolicy"})
    body["Outputs"]["A"] = {"Value": {"Ref": "Policy"}}
    body["Outputs"]["B"] = {"Value": {"Fn::Join": [",", [{"Ref": "Topic"}, {"Ref": "Topic"}]]}}
    with pytest.raises(DeployError) as info:
        leave_out(body)
    message = str(info.value)
    assert (
        "leaves out Policy (AWS::SQS::QueuePolicy), Topic (AWS::SNS::TopicPolicy), because moto cannot create them"
        in message
    )
    assert "Output 'A' refers to 'Policy' with Ref; Output 'B' refers to 'Topic' with Ref." in message


def test_leave_out_takes_other_types():
    """The types to leave out can be given."""
    kept, removed = leave_out(_app(), frozenset({"AWS::Events::Rule"}))
    assert list(kept["Resources"]) == ["Queue", "Policy"]
    assert [r.logical_id for r in removed] == ["Rule"]
