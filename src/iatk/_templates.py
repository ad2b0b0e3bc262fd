"""CloudFormation templates: loading (YAML with the short intrinsic tags, JSON, files or text), and
the nested stacks a template names by local path.

What the embedded backend leaves out of a template lives with the backend
(:mod:`iatk._backend.moto.templates`); :data:`MOTO_SKIPPED_TYPES`, :class:`LeftOut` and
:func:`leave_out` are re-exported here for their old callers.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from ._backend.moto.templates import MOTO_SKIPPED_TYPES, LeftOut, leave_out
from ._nesting import MAX_NESTING, nesting_message, too_deep
from .exceptions import ConfigError

#: The README section template errors point to.
_HELP = "Stacks"

__all__ = [
    "MOTO_SKIPPED_TYPES",
    "LeftOut",
    "TemplateSource",
    "leave_out",
    "load_template",
    "nested_local_templates",
    "parse_template",
    "read_template",
]

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


def _yaml_problem(err: yaml.YAMLError) -> str:
    """A YAML error as "<problem> at line L, column C" (1-based), as an editor shows it."""
    if isinstance(err, yaml.MarkedYAMLError) and err.problem_mark is not None:
        mark = err.problem_mark
        context = f" ({err.context})" if err.context else ""
        return f"{err.problem}{context} at line {mark.line + 1}, column {mark.column + 1}"
    return str(err)


def parse_template(text: str, *, source: str = "template") -> dict[str, Any]:
    """Parse template text (JSON or YAML with short tags) into a dict.

    Raises:
        ConfigError: The text does not parse (the message says as what, and where: line and
            column), nests deeper than :data:`~iatk._nesting.MAX_NESTING` levels, or is not a
            template (no ``Resources``).
    """
    as_json = text.lstrip().startswith("{")
    try:
        body = json.loads(text) if as_json else yaml.load(text, Loader=_CfnLoader)  # noqa: S506 - a SafeLoader subclass
    except json.JSONDecodeError as err:
        raise ConfigError(
            f"{source} does not parse as JSON: {err.msg} at line {err.lineno}, column {err.colno}", help_section=_HELP
        ) from None
    except yaml.YAMLError as err:
        raise ConfigError(f"{source} does not parse as YAML: {_yaml_problem(err)}", help_section=_HELP) from None
    except RecursionError:
        raise ConfigError(
            nesting_message(source, "its start" if as_json else "the top", MAX_NESTING), help_section=_HELP
        ) from None
    except ValueError as err:
        raise ConfigError(f"{source} does not parse: {err}", help_section=_HELP) from None
    if not isinstance(body, dict) or "Resources" not in body:
        raise ConfigError(f"{source} is not a CloudFormation template: it has no Resources section", help_section=_HELP)
    where = too_deep(body, MAX_NESTING)
    if where is not None:
        raise ConfigError(nesting_message(source, where), help_section=_HELP)
    return body


def _looks_like_a_path(text: str) -> bool:
    """A one-line string that names a file rather than holding a template."""
    stripped = text.strip()
    if not stripped or stripped[0] in "{[" or ": " in stripped or stripped.endswith(":"):
        return False
    return (
        "/" in stripped
        or "\\" in stripped
        or Path(stripped).suffix.lower() in (".yaml", ".yml", ".json", ".template", ".txt")
        or " " not in stripped
    )


@dataclass(frozen=True, slots=True)
class TemplateSource:
    """A template as given: its exact text, the parsed body, and its folder (None for text)."""

    text: str
    body: dict[str, Any]
    folder: Path | None
    name: str

    @property
    def local_templates(self) -> dict[str, str]:
        """Logical id → TemplateURL of the nested stacks given by local path (see :func:`nested_local_templates`)."""
        return nested_local_templates(self.body)


def read_template(template: str | Path) -> TemplateSource:
    """Read a template from a path or from text, keeping the text exactly as given (line ends too)."""
    if isinstance(template, Path) or ("\n" not in template and not template.lstrip().startswith("{")):
        path = Path(template)
        if not path.is_file():
            if isinstance(template, str) and not _looks_like_a_path(template):
                # One line of text that is no file: read it as a template, so its error says why it does not parse.
                return TemplateSource(template, parse_template(template), None, "template")
            raise ConfigError(
                f"template file {str(path)!r} not found (cwd: {Path.cwd()}); pass a path or template text",
                help_section=_HELP,
            )
        try:
            text = path.read_bytes().decode("utf-8")  # read_text() would turn CRLF into LF
        except UnicodeDecodeError as err:
            raise ConfigError(f"template file {str(path)!r} is not UTF-8 text: {err}", help_section=_HELP) from err
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
