"""CloudFormation templates: loading (YAML with the short intrinsic tags, JSON, files or text), and
leaving out what the embedded backend cannot create.
"""

from __future__ import annotations

import copy
import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from .exceptions import ConfigError, DeployError

_SHORT_TAGS = (
    "Ref", "Condition", "Base64", "Cidr", "FindInMap", "GetAZs", "ImportValue", "Join", "Select",
    "Split", "Sub", "Transform", "And", "Equals", "If", "Not", "Or", "GetAtt", "ToJsonString", "Length",
)  # fmt: skip


class _CfnLoader(yaml.SafeLoader):
    """SafeLoader that turns ``!Ref X`` into ``{"Ref": "X"}`` and ``!GetAtt A.B`` into ``Fn::GetAtt``."""


def _construct(tag: str) -> Any:
    key = tag if tag in ("Ref", "Condition") else f"Fn::{tag}"

    def build(loader: yaml.SafeLoader, node: yaml.Node) -> dict[str, Any]:
        value: Any
        if isinstance(node, yaml.ScalarNode):
            value = loader.construct_scalar(node)
            if tag == "GetAtt" and isinstance(value, str):
                value = value.split(".", 1)
        elif isinstance(node, yaml.SequenceNode):
            value = loader.construct_sequence(node, deep=True)
        else:
            value = loader.construct_mapping(node, deep=True)  # type: ignore[arg-type]
        return {key: value}

    return build


for _tag in _SHORT_TAGS:
    _CfnLoader.add_constructor(f"!{_tag}", _construct(_tag))


def parse_template(text: str, *, source: str = "template") -> dict[str, Any]:
    """Parse template text (JSON or YAML with short tags) into a dict."""
    try:
        body = json.loads(text) if text.lstrip().startswith("{") else yaml.load(text, Loader=_CfnLoader)  # noqa: S506 - a SafeLoader subclass
    except (ValueError, yaml.YAMLError) as err:
        raise ConfigError(f"{source} is neither valid JSON nor valid YAML: {err}") from err
    if not isinstance(body, dict) or "Resources" not in body:
        raise ConfigError(f"{source} is not a CloudFormation template: it has no Resources section")
    return body


@dataclass(frozen=True, slots=True)
class TemplateSource:
    """A template as given: its exact text, the parsed body, and its folder (None for text)."""

    text: str
    body: dict[str, Any]
    folder: Path | None
    name: str


def read_template(template: str | Path) -> TemplateSource:
    """Read a template from a path or from text, keeping the text exactly as given (line ends too)."""
    if isinstance(template, Path) or ("\n" not in template and not template.lstrip().startswith("{")):
        path = Path(template)
        if not path.is_file():
            raise ConfigError(
                f"template file {str(path)!r} not found (cwd: {Path.cwd()}); pass a path or template text"
            )
        try:
            text = path.read_bytes().decode("utf-8")  # read_text() would turn CRLF into LF
        except UnicodeDecodeError as err:
            raise ConfigError(f"template file {str(path)!r} is not UTF-8 text: {err}") from err
        return TemplateSource(text, parse_template(text, source=str(path)), path.parent, str(path))
    return TemplateSource(template, parse_template(template), None, "template")


def load_template(template: str | Path) -> tuple[dict[str, Any], Path | None]:
    """Load a template from a path or from text; returns the parsed body and its folder (None for text)."""
    source = read_template(template)
    return source.body, source.folder


def nested_local_templates(body: dict[str, Any]) -> dict[str, str]:
    """Logical id → TemplateURL of nested stacks whose TemplateURL is a local path, not a URL."""
    found: dict[str, str] = {}
    for logical_id, resource in (body.get("Resources") or {}).items():
        if isinstance(resource, dict) and resource.get("Type") == "AWS::CloudFormation::Stack":
            url = (resource.get("Properties") or {}).get("TemplateURL")
            if isinstance(url, str) and not url.startswith(("https://", "http://", "s3://")):
                found[logical_id] = url
    return found


#: Resource types the embedded backend leaves out of a template before CreateStack. Each one is a
#: resource policy that moto 5.2.5's CloudFormation has no model for: moto skips it with a
#: ``UserWarning`` ("Tried to parse ... not supported"), which ``-W error`` turns into an HTTP 500,
#: and then lists it with no logical id. moto enforces no resource policies (EventBridge delivers to a
#: queue without one), so leaving them out changes nothing that moto creates. Checked against moto by
#: tests/functional/test_stack.py; AWS::Lambda::Permission is not here, because moto creates it.
MOTO_SKIPPED_TYPES = frozenset(
    {
        "AWS::Events::EventBusPolicy",
        "AWS::S3::BucketPolicy",
        "AWS::SNS::TopicInlinePolicy",
        "AWS::SNS::TopicPolicy",
        "AWS::SQS::QueueInlinePolicy",
        "AWS::SQS::QueuePolicy",
    }
)

_SUB_NAME = re.compile(r"\$\{([^}]*)\}")


@dataclass(frozen=True, slots=True)
class LeftOut:
    """A resource left out of a template: its logical id and type."""

    logical_id: str
    type: str

    def __str__(self) -> str:
        return f"{self.logical_id} ({self.type})"


def _references(node: Any) -> Iterator[tuple[str, str]]:
    """(logical id, intrinsic) for every Ref, Fn::GetAtt and Fn::Sub name inside ``node``."""
    if isinstance(node, list):
        for item in node:
            yield from _references(item)
        return
    if not isinstance(node, dict):
        return
    for key, value in node.items():
        if key == "Ref" and isinstance(value, str):
            yield value, "Ref"
        elif key == "Fn::GetAtt" and isinstance(value, (str, list)) and value:
            target = value.split(".", 1)[0] if isinstance(value, str) else value[0]
            if isinstance(target, str):
                yield target, "Fn::GetAtt"
            yield from _references(value if isinstance(value, list) else [])
        elif key == "Fn::Sub":
            text, variables = (value[0], value[1]) if isinstance(value, list) and len(value) == 2 else (value, {})
            names = frozenset(variables) if isinstance(variables, dict) else frozenset()
            if isinstance(text, str):
                for found in _SUB_NAME.finditer(text):
                    name = found.group(1).split(".", 1)[0].strip()
                    if name and not name.startswith("!") and name not in names:
                        yield name, "Fn::Sub"
            yield from _references(variables)
        else:
            yield from _references(value)


def leave_out(
    body: dict[str, Any], types: frozenset[str] = MOTO_SKIPPED_TYPES, *, source: str = "template"
) -> tuple[dict[str, Any], tuple[LeftOut, ...]]:
    """A copy of ``body`` without the resources of ``types``, and what was left out.

    ``DependsOn`` entries naming a left-out resource are dropped with it. A Ref, Fn::GetAtt or
    Fn::Sub that names one, from a resource or an Output, is an error: the value does not exist
    without the resource, and quietly dropping the Output (or the property) would only move the
    failure to a confusing place later. ``body`` itself is not changed.

    Raises:
        DeployError: A kept resource or an Output refers to a left-out resource; lists each one.
    """
    resources = body.get("Resources") or {}
    removed = tuple(
        LeftOut(logical_id, resource["Type"])
        for logical_id, resource in resources.items()
        if isinstance(resource, dict) and resource.get("Type") in types
    )
    if not removed:
        return copy.deepcopy(body), ()
    gone = {r.logical_id: r for r in removed}
    kept = copy.deepcopy(body)
    kept["Resources"] = {k: v for k, v in kept["Resources"].items() if k not in gone}
    problems: list[str] = []
    for logical_id, resource in kept["Resources"].items():
        if not isinstance(resource, dict):
            continue
        depends = resource.get("DependsOn")
        if isinstance(depends, str) and depends in gone:
            del resource["DependsOn"]
        elif isinstance(depends, list) and any(d in gone for d in depends):
            remaining = [d for d in depends if d not in gone]
            if remaining:
                resource["DependsOn"] = remaining
            else:
                del resource["DependsOn"]
        problems += [
            f"resource {logical_id!r} refers to {name!r} with {how}"
            for name, how in _references({k: v for k, v in resource.items() if k != "DependsOn"})
            if name in gone
        ]
    for key, output in (kept.get("Outputs") or {}).items():
        problems += [
            f"Output {key!r} refers to {name!r} with {how}" for name, how in _references(output) if name in gone
        ]
    if problems:
        raise DeployError(
            f"{source}: the embedded backend leaves out {', '.join(map(str, removed))}, because moto cannot "
            f"create {'it' if len(removed) == 1 else 'them'}; but {'; '.join(dict.fromkeys(problems))}. "
            "Remove the reference (a policy's id is rarely needed by a test), or run this template on AWS"
        )
    return kept, removed
