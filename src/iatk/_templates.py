"""CloudFormation template loading: YAML with the short intrinsic tags, JSON, files or text."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import yaml

from .exceptions import ConfigError

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


def load_template(template: str | Path) -> tuple[dict[str, Any], Path | None]:
    """Load a template from a path or from text; returns the parsed body and its folder (None for text)."""
    if isinstance(template, Path) or ("\n" not in template and not template.lstrip().startswith("{")):
        path = Path(template)
        if not path.is_file():
            raise ConfigError(
                f"template file {str(path)!r} not found (cwd: {Path.cwd()}); pass a path or template text"
            )
        return parse_template(path.read_text(encoding="utf-8"), source=str(path)), path.parent
    return parse_template(template), None


def nested_local_templates(body: dict[str, Any]) -> dict[str, str]:
    """Logical id → TemplateURL of nested stacks whose TemplateURL is a local path, not a URL."""
    found: dict[str, str] = {}
    for logical_id, resource in (body.get("Resources") or {}).items():
        if isinstance(resource, dict) and resource.get("Type") == "AWS::CloudFormation::Stack":
            url = (resource.get("Properties") or {}).get("TemplateURL")
            if isinstance(url, str) and not url.startswith(("https://", "http://", "s3://")):
                found[logical_id] = url
    return found
