"""Template loading: YAML short tags, JSON, files, and clear errors."""

from __future__ import annotations

import pytest

from iatk._templates import load_template, nested_local_templates, parse_template
from iatk.exceptions import ConfigError


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
