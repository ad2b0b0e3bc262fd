"""A JSON Schema check of generated values, so the generator never returns an event its schema refuses.

:class:`_Checker` validates a value against a schema node of the event's document and says where the
first failure is (a JSON pointer and the keyword). It reads draft 4 to 2020-12 and OpenAPI 3.0
(``nullable``; boolean ``exclusiveMinimum``); formats are annotations, as in JSON Schema's default,
and ``unevaluated*`` are not checked. The generator builds a value keyword by keyword, and some
combinations cannot be built directly (two ``pattern`` s merged through ``allOf``, ``oneOf``
branches that overlap, ``not``): it checks what it built and draws again, or says which keyword at
which pointer it cannot meet.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from typing import Any, TypeGuard

from iatk._json import resolve_pointer
from iatk._nesting import MAX_NESTING

from ._regex import _pattern_checker
from ._schema import _escape

_MODERN_DIALECTS = ("2019-09", "2020-12")
_MAX_DEPTH = 2 * MAX_NESTING  # schema nodes checked on one path (a value from outside may be deeper)


def _is_modern(document: Mapping[str, Any]) -> bool:
    """Whether ``$ref`` siblings apply (2019-09 and later, OpenAPI 3.1); draft 4-7 and OpenAPI 3.0 ignore them."""
    if "openapi" in document:
        return str(document.get("openapi", "")).startswith("3.1")
    dialect = str(document.get("$schema", ""))
    return any(name in dialect for name in _MODERN_DIALECTS)


def json_equal(left: Any, right: Any) -> bool:
    """Equality as JSON Schema has it: 1 equals 1.0, true is not 1, objects and arrays compare deeply."""
    if isinstance(left, bool) or isinstance(right, bool):
        return isinstance(left, bool) and isinstance(right, bool) and left == right
    if isinstance(left, int | float) and isinstance(right, int | float):
        return left == right
    if isinstance(left, list) and isinstance(right, list):
        return len(left) == len(right) and all(json_equal(a, b) for a, b in zip(left, right, strict=True))
    if isinstance(left, Mapping) and isinstance(right, Mapping):
        return left.keys() == right.keys() and all(json_equal(left[key], right[key]) for key in left)
    return type(left) is type(right) and left == right


def _type_ok(value: Any, kind: Any) -> bool:
    if kind == "null":
        return value is None
    if kind == "boolean":
        return isinstance(value, bool)
    if kind == "string":
        return isinstance(value, str)
    if kind == "object":
        return isinstance(value, Mapping)
    if kind == "array":
        return isinstance(value, list)
    if isinstance(value, bool):
        return False
    if kind == "integer":
        return isinstance(value, int) or (isinstance(value, float) and value.is_integer())
    if kind == "number":
        return isinstance(value, int | float)
    return bool(kind == "any")  # OpenAPI-era "any"; unknown names fail


def _multiple_ok(value: int | float, step: int | float) -> bool:
    # the arithmetic the common validators use, so a float step agrees with them
    if isinstance(step, float) or isinstance(value, float):
        quotient = value / step
        if math.isinf(quotient):
            return False
        return int(quotient) == quotient
    return value % step == 0


class _Checker:
    """Validates values against nodes of one schema document; answers the first failure's place."""

    def __init__(self, document: Mapping[str, Any], *, openapi: bool) -> None:
        self.document = document
        self.openapi = openapi
        self.modern = _is_modern(document)

    def valid(self, value: Any, node: Any, pointer: str = "#") -> bool:
        return self.first_error(value, node, pointer) is None

    def first_error(self, value: Any, node: Any, pointer: str = "#") -> tuple[str, str] | None:
        """``(schema pointer of the failing keyword, what fails)``, or None when ``value`` is valid."""
        return self._check(value, node, pointer, 0)

    def _check(self, value: Any, node: Any, pointer: str, depth: int) -> tuple[str, str] | None:
        if depth > _MAX_DEPTH:
            return pointer, "the schema nests too deep to check"
        if node is True or node is None:
            return None
        if node is False:
            return pointer, "the schema is `false`"
        if not isinstance(node, Mapping):
            return None
        if value is None and self.openapi and node.get("nullable") is True and "type" not in node:
            return None  # OpenAPI 3.0's nullable `allOf: [{$ref}]`
        if "$ref" in node and isinstance(node["$ref"], str):
            try:
                target = resolve_pointer(self.document, node["$ref"])
            except (KeyError, ValueError):
                return f"{pointer}/$ref", f"$ref {node['$ref']!r} cannot be resolved"
            found = self._check(value, target, node["$ref"], depth + 1)
            if found is not None or not self.modern:
                return found
        for keys, check in _KEYWORDS:
            if any(key in node for key in keys):
                found = check(self, value, node, pointer, depth)
                if found is not None:
                    return found
        return None

    # -- keyword checks (each returns the failure or None)

    def _type(self, value: Any, node: Mapping[str, Any], pointer: str, depth: int) -> tuple[str, str] | None:
        kind = node["type"]
        kinds = kind if isinstance(kind, list) else [kind]
        if value is None and self.openapi and node.get("nullable") is True:
            return None
        if any(_type_ok(value, k) for k in kinds):
            return None
        return f"{pointer}/type", f"{_show(value)} is not of type {kind!r}"

    def _enum(self, value: Any, node: Mapping[str, Any], pointer: str, depth: int) -> tuple[str, str] | None:
        options = node["enum"]
        if not isinstance(options, list):
            return None
        if value is None and self.openapi and node.get("nullable") is True:
            return None
        if any(json_equal(value, option) for option in options):
            return None
        return f"{pointer}/enum", f"{_show(value)} is not one of the enum values"

    def _const(self, value: Any, node: Mapping[str, Any], pointer: str, depth: int) -> tuple[str, str] | None:
        if json_equal(value, node["const"]):
            return None
        return f"{pointer}/const", f"{_show(value)} is not the const value"

    def _string(self, value: Any, node: Mapping[str, Any], pointer: str, depth: int) -> tuple[str, str] | None:
        if not isinstance(value, str):
            return None
        least, most, pattern = node.get("minLength"), node.get("maxLength"), node.get("pattern")
        if isinstance(least, int | float) and len(value) < least:
            return f"{pointer}/minLength", f"{_show(value)} is shorter than {least}"
        if isinstance(most, int | float) and len(value) > most:
            return f"{pointer}/maxLength", f"{_show(value)} is longer than {most}"
        if isinstance(pattern, str):
            compiled = _pattern_checker(pattern)
            if compiled is not None and not compiled.search(value):
                return f"{pointer}/pattern", f"{_show(value)} does not match {pattern!r}"
        return None

    def _number(self, value: Any, node: Mapping[str, Any], pointer: str, depth: int) -> tuple[str, str] | None:
        if isinstance(value, bool) or not isinstance(value, int | float):
            return None
        low, high = node.get("minimum"), node.get("maximum")
        low_x, high_x = node.get("exclusiveMinimum"), node.get("exclusiveMaximum")
        if _number(low) and (value < low or (low_x is True and value == low)):
            return f"{pointer}/minimum", f"{value} is below the minimum {low}"
        if _number(high) and (value > high or (high_x is True and value == high)):
            return f"{pointer}/maximum", f"{value} is above the maximum {high}"
        if _number(low_x) and value <= low_x:
            return f"{pointer}/exclusiveMinimum", f"{value} is not above {low_x}"
        if _number(high_x) and value >= high_x:
            return f"{pointer}/exclusiveMaximum", f"{value} is not below {high_x}"
        step = node.get("multipleOf")
        if _number(step) and step > 0 and not _multiple_ok(value, step):
            return f"{pointer}/multipleOf", f"{value} is not a multiple of {step}"
        return None

    def _array(self, value: Any, node: Mapping[str, Any], pointer: str, depth: int) -> tuple[str, str] | None:
        if not isinstance(value, list):
            return None
        least, most = node.get("minItems"), node.get("maxItems")
        if _number(least) and len(value) < least:
            return f"{pointer}/minItems", f"{len(value)} items, fewer than {least}"
        if _number(most) and len(value) > most:
            return f"{pointer}/maxItems", f"{len(value)} items, more than {most}"
        if node.get("uniqueItems") is True:
            for index, item in enumerate(value):
                if any(json_equal(item, other) for other in value[:index]):
                    return f"{pointer}/uniqueItems", f"item {index} repeats an earlier one"
        items, prefix = node.get("items"), node.get("prefixItems")
        rest: Any = None
        rest_pointer = f"{pointer}/items"
        if isinstance(items, list):  # draft 4-2019-09 tuple form
            tuple_items, tuple_pointer = items, f"{pointer}/items"
            rest, rest_pointer = node.get("additionalItems"), f"{pointer}/additionalItems"
        elif isinstance(prefix, list):
            tuple_items, tuple_pointer = prefix, f"{pointer}/prefixItems"
            rest = items
        else:
            tuple_items, tuple_pointer = [], pointer
            rest = items
        for index, item in enumerate(value):
            if index < len(tuple_items):
                found = self._check(item, tuple_items[index], f"{tuple_pointer}/{index}", depth + 1)
            elif rest is not None:
                found = self._check(item, rest, rest_pointer, depth + 1)
            else:
                found = None
            if found is not None:
                return found
        if "contains" in node:
            hits = sum(
                1 for item in value if self._check(item, node["contains"], f"{pointer}/contains", depth + 1) is None
            )
            fewest = node.get("minContains", 1)
            fewest = fewest if _number(fewest) else 1
            if hits < fewest:
                return f"{pointer}/contains", f"{hits} items match contains, fewer than {fewest}"
            most_hits = node.get("maxContains")
            if _number(most_hits) and hits > most_hits:
                return f"{pointer}/maxContains", f"{hits} items match contains, more than {most_hits}"
        return None

    def _object(self, value: Any, node: Mapping[str, Any], pointer: str, depth: int) -> tuple[str, str] | None:
        if not isinstance(value, Mapping):
            return None
        required = node.get("required")
        if isinstance(required, list):
            for prop in required:
                if prop not in value:
                    return f"{pointer}/required", f"required property {prop!r} is missing"
        least, most = node.get("minProperties"), node.get("maxProperties")
        if _number(least) and len(value) < least:
            return f"{pointer}/minProperties", f"{len(value)} properties, fewer than {least}"
        if _number(most) and len(value) > most:
            return f"{pointer}/maxProperties", f"{len(value)} properties, more than {most}"
        found_props, found_patterns = node.get("properties"), node.get("patternProperties")
        props: Mapping[str, Any] = found_props if isinstance(found_props, Mapping) else {}
        patterns: Mapping[str, Any] = found_patterns if isinstance(found_patterns, Mapping) else {}
        extra = node.get("additionalProperties", True)
        names = node.get("propertyNames")
        for prop, item in value.items():
            if names is not None:
                found = self._check(prop, names, f"{pointer}/propertyNames", depth + 1)
                if found is not None:
                    return found
            matched = False
            if prop in props:
                matched = True
                found = self._check(item, props[prop], f"{pointer}/properties/{_escape(prop)}", depth + 1)
                if found is not None:
                    return found
            for regex, sub in patterns.items():
                compiled = _pattern_checker(regex)
                if compiled is not None and compiled.search(prop):
                    matched = True
                    found = self._check(item, sub, f"{pointer}/patternProperties/{_escape(regex)}", depth + 1)
                    if found is not None:
                        return found
            if not matched and extra is not True:
                found = self._check(item, extra, f"{pointer}/additionalProperties", depth + 1)
                if found is not None:
                    reason = "is not allowed (additionalProperties is false)" if extra is False else found[1]
                    return found[0], f"property {prop!r}: {reason}"
        for key in ("dependencies", "dependentRequired", "dependentSchemas"):
            block = node.get(key)
            if not isinstance(block, Mapping):
                continue
            for prop, needs in block.items():
                if prop not in value:
                    continue
                where = f"{pointer}/{key}/{_escape(prop)}"
                if isinstance(needs, list):
                    missing = [other for other in needs if other not in value]
                    if missing:
                        return where, f"{prop!r} needs {missing[0]!r} too"
                else:
                    found = self._check(value, needs, where, depth + 1)
                    if found is not None:
                        return found
        return None

    def _all_of(self, value: Any, node: Mapping[str, Any], pointer: str, depth: int) -> tuple[str, str] | None:
        for index, branch in enumerate(_branches(node["allOf"])):
            found = self._check(value, branch, f"{pointer}/allOf/{index}", depth + 1)
            if found is not None:
                return found
        return None

    def _any_of(self, value: Any, node: Mapping[str, Any], pointer: str, depth: int) -> tuple[str, str] | None:
        branches = _branches(node["anyOf"])
        if not branches or any(self._check(value, branch, pointer, depth + 1) is None for branch in branches):
            return None
        return f"{pointer}/anyOf", "no anyOf branch accepts the value"

    def _one_of(self, value: Any, node: Mapping[str, Any], pointer: str, depth: int) -> tuple[str, str] | None:
        branches = _branches(node["oneOf"])
        if not branches:
            return None
        hits = [
            index for index, branch in enumerate(branches) if self._check(value, branch, pointer, depth + 1) is None
        ]
        if len(hits) == 1:
            return None
        if not hits:
            return f"{pointer}/oneOf", "no oneOf branch accepts the value"
        return f"{pointer}/oneOf", f"oneOf branches {hits} all accept the value (exactly one may)"

    def _not(self, value: Any, node: Mapping[str, Any], pointer: str, depth: int) -> tuple[str, str] | None:
        if self._check(value, node["not"], f"{pointer}/not", depth + 1) is None:
            return f"{pointer}/not", f"{_show(value)} is valid under `not`"
        return None

    def _if(self, value: Any, node: Mapping[str, Any], pointer: str, depth: int) -> tuple[str, str] | None:
        if self._check(value, node["if"], f"{pointer}/if", depth + 1) is None:
            return self._check(value, node["then"], f"{pointer}/then", depth + 1) if "then" in node else None
        return self._check(value, node["else"], f"{pointer}/else", depth + 1) if "else" in node else None


def _number(value: Any) -> TypeGuard[int | float]:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _branches(value: Any) -> list[Any]:
    return value if isinstance(value, list) else []


def _show(value: Any) -> str:
    text = json.dumps(value, default=str)
    return text if len(text) <= 60 else text[:57] + "..."


_KEYWORDS = (
    (("type",), _Checker._type),
    (("enum",), _Checker._enum),
    (("const",), _Checker._const),
    (("minLength", "maxLength", "pattern"), _Checker._string),
    (("minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum", "multipleOf"), _Checker._number),
    (("minItems", "maxItems", "uniqueItems", "items", "prefixItems", "contains"), _Checker._array),
    (
        (
            "required", "minProperties", "maxProperties", "properties", "patternProperties", "additionalProperties",
            "propertyNames", "dependencies", "dependentRequired", "dependentSchemas",
        ),
        _Checker._object,
    ),
    (("allOf",), _Checker._all_of),
    (("anyOf",), _Checker._any_of),
    (("oneOf",), _Checker._one_of),
    (("not",), _Checker._not),
    (("if",), _Checker._if),
)  # fmt: skip
