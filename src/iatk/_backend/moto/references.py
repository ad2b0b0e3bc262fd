"""What a template names without defining: Ref, Fn::GetAtt, Fn::Sub, DependsOn, conditions and mappings.

CloudFormation refuses such a template at CreateStack ("Unresolved resource dependencies [X] in
the Resources block of the template"). moto does not: a ``Ref`` to a missing resource in an Output
registers the stack and then fails every ``DescribeStacks`` of the server (HTTP 500, "invalid XML"
for botocore) for the rest of the run, and inside a resource it fails with a ``KeyError``.
:func:`unresolved` finds each such reference in a parsed body; ``deploy_stack`` raises a
``DeployError`` that names every one before any call (:mod:`.templates`), and the embedded server
answers a plain ``CreateStack`` with CloudFormation's ``ValidationError``
(:func:`refuse_unresolved_references`).

A body that still has a ``Transform`` (one the embedded backend does not expand) is not checked:
the transform may define what the template names.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from iatk._nesting import MAX_NESTING, nesting_message, too_deep
from iatk._text import closest

log = logging.getLogger("iatk.embedded")

#: The names ``Ref`` and ``Fn::Sub`` take without a resource or parameter of that name.
PSEUDO_PARAMETERS = frozenset(
    {
        "AWS::AccountId",
        "AWS::NotificationARNs",
        "AWS::NoValue",
        "AWS::Partition",
        "AWS::Region",
        "AWS::StackId",
        "AWS::StackName",
        "AWS::URLSuffix",
    }
)

_SUB_NAME = re.compile(r"\$\{([^}]*)\}")


def references_in(node: Any) -> Iterator[tuple[str, str]]:
    """(name, intrinsic) for every Ref, Fn::GetAtt and Fn::Sub name inside ``node``.

    A ``${Name.Attribute}`` of Fn::Sub is reported as ``Name`` with ``Fn::Sub.`` (a GetAtt: it
    takes a resource only). Recursive: callers bound ``node``'s depth first (:func:`unresolved`
    does).
    """
    if isinstance(node, list):
        for item in node:
            yield from references_in(item)
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
            yield from references_in(value[1:] if isinstance(value, list) else [])
        elif key == "Fn::Sub":
            text, variables = (value[0], value[1]) if isinstance(value, list) and len(value) == 2 else (value, {})
            names = frozenset(variables) if isinstance(variables, dict) else frozenset()
            if isinstance(text, str):
                for found in _SUB_NAME.finditer(text):
                    inner = found.group(1).strip()
                    if not inner or inner.startswith("!"):
                        continue
                    name, dot, _ = inner.partition(".")
                    if inner not in names and name not in names:
                        yield name, "Fn::Sub." if dot and not inner.startswith("AWS::") else "Fn::Sub"
            yield from references_in(variables)
        else:
            yield from references_in(value)


def _conditions_in(node: Any, *, in_condition: bool = False) -> Iterator[str]:
    """Condition names used by Fn::If (its first item) inside ``node``; inside a condition's own
    body (``in_condition``), also ``{"Condition": name}``. (A resource's or an Output's own
    ``Condition`` key is read by the caller: a property may be called Condition too.)"""
    if isinstance(node, list):
        for item in node:
            yield from _conditions_in(item, in_condition=in_condition)
        return
    if not isinstance(node, dict):
        return
    for key, value in node.items():
        if key == "Fn::If" and isinstance(value, list) and value and isinstance(value[0], str):
            yield value[0]
            yield from _conditions_in(value[1:], in_condition=in_condition)
        elif key == "Condition" and in_condition and isinstance(value, str):
            yield value
        else:
            yield from _conditions_in(value, in_condition=in_condition)


def _mappings_in(node: Any) -> Iterator[str]:
    if isinstance(node, list):
        for item in node:
            yield from _mappings_in(item)
        return
    if not isinstance(node, dict):
        return
    for key, value in node.items():
        if key == "Fn::FindInMap" and isinstance(value, list) and value and isinstance(value[0], str):
            yield value[0]
            yield from _mappings_in(value[1:])
        else:
            yield from _mappings_in(value)


@dataclass(frozen=True, slots=True)
class Unresolved:
    """One name a template uses without defining it."""

    #: ``Resources`` or ``Outputs`` (or ``Conditions``): the block it is in.
    block: str
    #: The resource, output or condition that uses it.
    owner: str
    name: str
    #: ``Ref``, ``Fn::GetAtt``, ``Fn::Sub``, ``DependsOn``, ``Condition``, ``Fn::FindInMap``.
    how: str
    #: What exists that is closest to ``name``.
    closest: tuple[str, ...] = ()

    def __str__(self) -> str:
        kind = {"Resources": "resource", "Outputs": "Output", "Conditions": "condition"}[self.block]
        wanted = {
            "Ref": "resource, parameter or pseudo parameter",
            "Fn::Sub": "resource, parameter or pseudo parameter",
            "Fn::GetAtt": "resource",
            "DependsOn": "resource",
            "Condition": "condition",
            "Fn::FindInMap": "mapping",
        }[self.how]
        near = f"; did you mean {' or '.join(map(repr, self.closest))}?" if self.closest else ""
        return (
            f"{kind} {self.owner!r} refers to {self.name!r} with {self.how}: "
            f"the template has no {wanted} of that name{near}"
        )


def unresolved(body: Mapping[str, Any]) -> list[Unresolved]:
    """Every name ``body``'s resources, outputs and conditions use without the template defining it.

    Raises:
        ValueError: ``body`` nests deeper than :data:`~iatk._nesting.MAX_NESTING` levels (the message
            says where).
    """
    where = too_deep(body, MAX_NESTING)
    if where is not None:
        raise ValueError(nesting_message("the template", where))
    if body.get("Transform"):
        return []
    resources = body.get("Resources") or {}
    if not isinstance(resources, Mapping):
        return []
    resource_names = set(resources)
    value_names = resource_names | set(body.get("Parameters") or {}) | PSEUDO_PARAMETERS
    conditions = set(body.get("Conditions") or {})
    mappings = set(body.get("Mappings") or {})
    found: list[Unresolved] = []

    def note(block: str, owner: str, name: str, how: str, names: set[str]) -> None:
        if name in names:
            return
        near = tuple(closest(name, sorted(names - PSEUDO_PARAMETERS), n=2)) if names else ()
        found.append(Unresolved(block, owner, name, how.rstrip("."), near))

    def check(block: str, owner: str, node: Any) -> None:
        for name, how in references_in(node):
            note(block, owner, name, how, resource_names if how in ("Fn::GetAtt", "Fn::Sub.") else value_names)
        if block != "Conditions" and isinstance(node, Mapping) and isinstance(node.get("Condition"), str):
            note(block, owner, node["Condition"], "Condition", conditions)
        for name in _conditions_in(node, in_condition=block == "Conditions"):
            note(block, owner, name, "Condition", conditions)
        for name in _mappings_in(node):
            note(block, owner, name, "Fn::FindInMap", mappings)

    for logical_id, resource in resources.items():
        if not isinstance(resource, Mapping):
            continue
        depends = resource.get("DependsOn")
        for name in [depends] if isinstance(depends, str) else depends if isinstance(depends, list) else []:
            if isinstance(name, str):
                note("Resources", str(logical_id), name, "DependsOn", resource_names)
        check("Resources", str(logical_id), {k: v for k, v in resource.items() if k != "DependsOn"})
    for key, output in (body.get("Outputs") or {}).items():
        check("Outputs", str(key), output)
    for key, condition in (body.get("Conditions") or {}).items():
        check("Conditions", str(key), condition)
    return list(dict.fromkeys(found))


def cloudformation_message(found: list[Unresolved]) -> str:
    """CloudFormation's ValidationError text for the first block with unresolved names."""
    first = found[0]
    if first.how == "Fn::GetAtt":
        return f"Template error: instance of Fn::GetAtt references undefined resource {first.name}"
    same = sorted({item.name for item in found if item.block == first.block and item.how == first.how})
    kind = "condition" if first.how == "Condition" else "mapping" if first.how == "Fn::FindInMap" else "resource"
    return (
        f"Template format error: Unresolved {kind} dependencies [{', '.join(same)}] in the {first.block} "
        "block of the template"
    )


def refuse_unresolved_references() -> None:
    """The embedded server checks a template at CreateStack / UpdateStack / CreateChangeSet (idempotent).

    A template that does not parse, nests too deep, or names what it does not define gets
    CloudFormation's ``ValidationError`` before moto registers anything; and an Output that cannot
    be evaluated (a stack created before this check, or by a fault this check does not see) is
    left out of ``DescribeStacks``, logged, where moto failed the whole answer with HTTP 500.
    """
    from moto.cloudformation import parsing
    from moto.cloudformation.exceptions import ValidationError
    from moto.cloudformation.models import CloudFormationBackend, Stack

    if getattr(CloudFormationBackend, "_iatk_references_checked", False):
        return

    def check_template(template: Any) -> None:
        if not isinstance(template, str) or not template.strip():
            return
        try:
            body = Stack.parse_template(template)
        except RecursionError:
            raise ValidationError(message=f"Template format error: it nests deeper than {MAX_NESTING} levels") from None
        except ValueError as err:  # json.JSONDecodeError, after YAML could not read it either
            raise ValidationError(message=f"Template format error: JSON not well-formed. ({err})") from err
        except Exception as err:  # a YAML error moto does not catch
            raise ValidationError(message=f"Template format error: YAML not well-formed. ({err})") from err
        if not isinstance(body, Mapping):
            raise ValidationError(message="Template format error: the template is not a JSON or YAML object")
        try:
            found = unresolved(body)
        except ValueError as err:
            raise ValidationError(message=f"Template format error: {err}") from err
        if found:
            raise ValidationError(message=cloudformation_message(found))

    def checked(method: Any, template_position: int, keyword: str) -> Any:
        def call(self: Any, *args: Any, **kwargs: Any) -> Any:
            template = kwargs.get(keyword, args[template_position] if len(args) > template_position else None)
            check_template(template)
            return method(self, *args, **kwargs)

        call.__wrapped__ = method  # type: ignore[attr-defined]
        return call

    CloudFormationBackend.create_stack = checked(CloudFormationBackend.create_stack, 1, "template")  # type: ignore[method-assign]
    CloudFormationBackend.update_stack = checked(CloudFormationBackend.update_stack, 1, "template")  # type: ignore[method-assign]
    CloudFormationBackend.create_change_set = checked(  # type: ignore[method-assign]
        CloudFormationBackend.create_change_set, 2, "template"
    )

    original_output = parsing.OutputMap.__getitem__

    def output(self: Any, key: str) -> Any:
        try:
            return original_output(self, key)
        except Exception as err:  # one bad Output never makes the stack (and the stack list) unreadable
            log.warning(
                "embedded backend: stack output %s cannot be evaluated, left out: %s: %s", key, type(err).__name__, err
            )
            return None

    parsing.OutputMap.__getitem__ = output  # type: ignore[method-assign]
    CloudFormationBackend._iatk_references_checked = True  # type: ignore[attr-defined]
