"""The generator: a value per schema node. The rules it follows are :mod:`iatk.mock_events`' docstring.

:class:`_Generator` is the walk: ``$ref`` and recursion, ``allOf`` merged, ``oneOf`` / ``anyOf``'s
first branch that can end, the example/default/enum/const hints, then a value by type, from
:class:`~._containers._Containers` (objects, arrays) and :class:`~._scalars._Scalars` (strings, numbers).
"""

from __future__ import annotations

import copy
import math
from collections.abc import Mapping
from fractions import Fraction
from typing import Any

from iatk.exceptions import SchemaError

from ._containers import _Containers
from ._scalars import _Scalars
from ._schema import MAX_SCHEMA_NODES, _escape
from ._state import _MISSING, _Recursion

#: How many times one schema may appear on a single path from the root before recursion is cut.
RECURSION_LIMIT = 2
_MAX_DEPTH = MAX_SCHEMA_NODES  # nested nodes (a few frames each); only a pathological schema gets near it
_UNSUPPORTED = ("$dynamicRef", "$recursiveRef")
#: Keywords whose value the generator builds towards but cannot always meet by construction: a node
#: with one of them is checked once built, and drawn again (new random streams) when it fails.
_CHECKED = frozenset(
    {
        "allOf",
        "oneOf",
        "anyOf",
        "not",
        "if",
        "uniqueItems",
        "contains",
        "dependencies",
        "dependentSchemas",
        "propertyNames",
        "patternProperties",
        "minProperties",
        "maxProperties",
    }
)
_ATTEMPTS = 32


class _Generator(_Containers, _Scalars):
    """One event's generation: walks the schema from the event root, a value per node."""

    # -- the walk

    def generate(self, node: Any, pointer: str, path: str, name: str | None, override: Any) -> Any:
        self.depth += 1
        try:
            if self.depth > _MAX_DEPTH:
                raise self.error(
                    pointer,
                    path,
                    f"the value nests deeper than {_MAX_DEPTH} schema nodes ($ref recursion included); iatk "
                    f"generates values up to {_MAX_DEPTH} nodes deep: end the recursion with an optional "
                    "property, or give the deep part with overrides=",
                )
            return self._generate(node, pointer, path, name, override)
        finally:
            self.depth -= 1

    def _enter(self, refs: list[str], pointer: str, path: str) -> None:
        for ref in refs:  # check every ref before pushing any, so a refusal leaves the stack as it was
            if self.active.count(ref) + refs.count(ref) > RECURSION_LIMIT:
                raise _Recursion(ref, pointer, path)
        self.active.extend(refs)

    def _leave(self, refs: list[str]) -> None:
        if refs:
            del self.active[-len(refs) :]

    def _generate(self, node: Any, pointer: str, path: str, name: str | None, override: Any) -> Any:
        if isinstance(node, bool):
            if node:
                return {}
            raise self.error(pointer, path, "the schema is `false`: no value satisfies it")
        if not isinstance(node, Mapping):
            raise self.error(pointer, path, f"expected a schema object, found {type(node).__name__}")
        if "$ref" in node and self.modern and any(k != "$ref" and not k.startswith("x-") for k in node):
            # 2019-09 and later (and OpenAPI 3.1) apply a $ref's siblings too: both hold
            siblings = {k: v for k, v in node.items() if k != "$ref"}
            self.remember(siblings, pointer)
            node = {"allOf": [{"$ref": node["$ref"]}, siblings]}
        if "$ref" in node:  # draft 4 and OpenAPI 3.0 ignore a $ref's siblings
            ref, target = self.deref(node["$ref"], pointer, path)
            self._enter([ref], pointer, path)
            try:
                return self.generate(target, ref, path, name, override)
            finally:
                self._leave([ref])
        merged, refs = self.merge(node, pointer, path, ())
        try:
            self._enter(refs, pointer, path)
        except _Recursion:
            kind = merged.get("type")
            if merged.get("nullable") is True or (isinstance(kind, list) and "null" in kind):
                return None
            raise
        try:
            if override is not _MISSING or not (_CHECKED.intersection(node) or _CHECKED.intersection(merged)):
                return self._generate_merged(merged, pointer, path, name, override)
            return self._checked(node, merged, pointer, path, name)
        finally:
            self._leave(refs)

    def _checked(
        self, node: Mapping[str, Any], merged: dict[str, Any], pointer: str, path: str, name: str | None
    ) -> Any:
        """Build a value for a node whose keywords may not all be met by construction; check it, and draw again."""
        problem: tuple[str, str] | None = None
        failure: SchemaError | None = None
        for attempt in range(_ATTEMPTS):
            with self.salted(attempt, path):
                try:
                    value = self._generate_merged(merged, pointer, path, name, _MISSING)
                except SchemaError as err:
                    if attempt == 0 and "not supported" in str(err):
                        raise
                    failure = err
                    continue
            problem = self.checker.first_error(value, node, pointer)
            if problem is None:
                return value
        if problem is None and failure is not None:
            raise failure
        assert problem is not None
        where, what = problem
        keyword = where.rsplit("/", 1)[-1]
        raise self.error(
            where,
            path,
            f"cannot build a value that meets `{keyword}` here ({what}, after {_ATTEMPTS} tries); "
            "add an `example` to that schema node, or pass overrides= with a value for that event path",
        )

    def _generate_merged(self, node: dict[str, Any], pointer: str, path: str, name: str | None, override: Any) -> Any:
        found, value = self.hint(node, pointer, path)
        if found:
            return value
        for key in ("oneOf", "anyOf"):
            if key in node:
                return self.choose(node, key, pointer, path, name=name, override=override)
        for keyword in _UNSUPPORTED:
            if keyword in node:
                raise self.unsupported(f"{pointer}/{keyword}", path, f"`{keyword}`")
        if "if" in node:
            return self._conditional(node, pointer, path, name, override)
        kind = node.get("type")
        nullable = node.get("nullable") is True
        if isinstance(kind, list):
            nullable = nullable or "null" in kind
            others = [k for k in kind if k != "null"]
            if path == "$" and "object" in others:
                kind = "object"  # an event is an object
            elif others and (self.drawn or self.edge is not None):
                kind = others[self.edge % len(others)] if self.edge is not None else self.rng.choice(others)
            else:
                kind = others[0] if others else "null"
        if kind is None:
            kind = _infer_type(node)
        if nullable and path != "$" and self.vary and self.edge is None and self.rng.random() < 0.1:
            return None  # real traffic has nulls where the schema allows them
        try:
            if kind == "object":
                return self.object(node, pointer, path, override)
            if kind == "array":
                return self.array(node, pointer, path, name)
            if kind == "string":
                return self.string(node, pointer, path, name)
            if kind in ("integer", "number"):
                return self.number(node, pointer, path, integer=kind == "integer")
            if kind == "boolean":
                return self.rng.random() < 0.5
            if kind == "null":
                return None
            if kind == "any":
                return {}
        except _Recursion:
            if nullable:
                return None
            raise
        raise self.error(
            pointer,
            path,
            f"unknown type {kind!r}; JSON Schema types are string, number, integer, boolean, array, object, null",
        )

    def _conditional(self, node: dict[str, Any], pointer: str, path: str, name: str | None, override: Any) -> Any:
        """``if`` / ``then`` / ``else``: build for one side (if + then, or else); the check says if it held."""
        rest = {k: v for k, v in node.items() if k not in ("if", "then", "else")}
        sides = [[rest, node["if"], node.get("then", True)], [rest, node.get("else", True)]]
        if self.drawn and self.rng.random() < 0.5:
            sides.reverse()
        last: SchemaError | None = None
        for side in sides:
            try:
                return self.generate({"allOf": side}, pointer, path, name, override)
            except SchemaError as err:
                last = err
        assert last is not None
        raise last

    def merge(
        self, node: Mapping[str, Any], pointer: str, path: str, merging: tuple[str, ...]
    ) -> tuple[dict[str, Any], list[str]]:
        """``node`` with its ``allOf`` branches folded in, and the refs followed to get them."""
        if "allOf" not in node:
            return dict(node), []
        branches = node["allOf"]
        if not isinstance(branches, list) or not branches:
            raise self.error(pointer, path, "allOf must be a non-empty list of schemas")
        merged = {k: v for k, v in node.items() if k != "allOf"}
        refs: list[str] = []
        for index, listed in enumerate(branches):
            branch, branch_pointer = listed, f"{pointer}/allOf/{index}"
            while isinstance(branch, Mapping) and "$ref" in branch:
                ref, branch = self.deref(branch["$ref"], branch_pointer, path)
                if ref in merging or refs.count(ref) > RECURSION_LIMIT:
                    raise self.error(branch_pointer, path, f"allOf includes itself through {ref!r}")
                refs.append(ref)
                branch_pointer = ref
            if isinstance(branch, bool):
                if branch:
                    continue
                raise self.error(branch_pointer, path, "an allOf branch is `false`: no value satisfies it")
            if not isinstance(branch, Mapping):
                raise self.error(branch_pointer, path, f"expected a schema object, found {type(branch).__name__}")
            inner, more = self.merge(branch, branch_pointer, path, (*merging, *refs))
            refs.extend(more)
            merged = self.combine(merged, inner, branch_pointer, path)
        return merged, refs

    def combine(self, into: dict[str, Any], other: Mapping[str, Any], pointer: str, path: str) -> dict[str, Any]:
        """Fold one allOf branch into the merged schema; the earlier value wins where they cannot combine."""
        out = dict(into)
        self.remember(other, pointer)
        for key, value in other.items():
            if key == "properties" and isinstance(value, Mapping):
                props = dict(out.get("properties") or {})
                for prop, sub in value.items():
                    props[prop] = {"allOf": [props[prop], sub]} if prop in props else sub
                out["properties"] = props
            elif key not in out:
                out[key] = value
            elif key == "required":
                out[key] = list(dict.fromkeys([*out[key], *value]))
            elif key == "pattern" and value != out[key]:
                # both must match: the string is built for one and checked against the other
                out["x-iatk-patterns"] = [*out.get("x-iatk-patterns", []), value]
            elif key == "multipleOf" and _positive(value) and _positive(out[key]):
                out[key] = _lcm(out[key], value)
            elif key in ("exclusiveMinimum", "exclusiveMaximum") and _numeric(value) and _numeric(out[key]):
                out[key] = max(out[key], value) if key == "exclusiveMinimum" else min(out[key], value)
            elif key == "uniqueItems":
                out[key] = bool(out[key]) or bool(value)
            elif key == "not":
                out[key] = {"anyOf": [out[key], value]}
            elif key in ("patternProperties", "dependencies", "dependentRequired", "dependentSchemas"):
                out[key] = _merge_maps(out[key], value)
            elif key == "propertyNames" or (key == "contains" and value != out[key]):
                out[key] = {"allOf": [out[key], value]}
            elif key == "const" and value != out[key]:
                raise self.error(pointer, path, "allOf branches have different `const` values")
            elif key == "type":
                out[key] = self._intersect_types(out[key], value, pointer, path)
            elif key in ("minimum", "minLength", "minItems", "minProperties"):
                out[key] = max(out[key], value)
            elif key in ("maximum", "maxLength", "maxItems", "maxProperties"):
                out[key] = min(out[key], value)
            elif key == "enum":
                kept = [v for v in out[key] if v in value]
                if not kept:
                    raise self.error(pointer, path, "allOf branches share no enum value")
                out[key] = kept
            elif key == "additionalProperties":
                if value is False or out[key] is False:
                    out[key] = False
                elif isinstance(value, Mapping) and isinstance(out[key], Mapping):
                    out[key] = {"allOf": [out[key], value]}
                elif out[key] is True:
                    out[key] = value
            elif key == "items" and isinstance(value, Mapping) and isinstance(out[key], Mapping):
                out[key] = {"allOf": [out[key], value]}
            elif key in ("oneOf", "anyOf") and value != out[key]:
                # two lists: each branch of the first goes with the second list (the check keeps oneOf exact)
                out[key] = [{"allOf": [branch, {key: value}]} for branch in out[key]]
        return out

    def remember(self, node: Mapping[str, Any], pointer: str) -> None:
        """Note where a node's children live, before merging moves them into a synthetic schema."""
        for key, value in node.items():
            if isinstance(value, Mapping | list):
                self.where.setdefault(id(value), f"{pointer}/{_escape(key)}")
            if key == "properties" and isinstance(value, Mapping):
                for prop, sub in value.items():
                    self.where.setdefault(id(sub), f"{pointer}/properties/{_escape(prop)}")

    def _intersect_types(self, first: Any, second: Any, pointer: str, path: str) -> Any:
        a = first if isinstance(first, list) else [first]
        b = second if isinstance(second, list) else [second]
        both = [t for t in a if t in b]
        both += [
            t for t in ("integer",) if t not in both and (("number" in a and t in b) or ("number" in b and t in a))
        ]
        if not both:
            raise self.error(pointer, path, f"allOf branches have no type in common ({first!r} and {second!r})")
        return both[0] if len(both) == 1 else both

    def choose(
        self, node: dict[str, Any], key: str, pointer: str, path: str, *, name: str | None, override: Any
    ) -> Any:
        """oneOf / anyOf: the first branch whose value can be built (recursion may rule one out)."""
        branches = node[key]
        if not isinstance(branches, list) or not branches:
            raise self.error(pointer, path, f"{key} must be a non-empty list of schemas")
        rest = {k: v for k, v in node.items() if k != key}
        self.remember(rest, pointer)
        order = list(range(len(branches)))
        if self.edge is not None and not self.salt:
            shift = self.edge % len(order)
            order = order[shift:] + order[:shift]  # every branch in turn across the events
        elif self.drawn:
            self.rng.shuffle(order)
        last: _Recursion | SchemaError | None = None
        for index in order:
            branch = branches[index]
            branch_pointer = self.locate(branch, f"{pointer}/{key}/{index}")
            combined = {"allOf": [rest, branch]} if rest else branch
            try:
                value = self.generate(combined, branch_pointer if not rest else pointer, path, name, override)
            except _Recursion as err:
                if not isinstance(last, SchemaError):
                    last = err
                continue
            except SchemaError as err:
                last = err  # another branch may do
                continue
            return self._discriminate(node, branch, value)
        assert last is not None  # the loop ran at least once and every branch failed
        raise last

    def _discriminate(self, node: Mapping[str, Any], branch: Any, value: Any) -> Any:
        """OpenAPI ``discriminator``: name the chosen branch in its property (mapping key or schema name)."""
        found = node.get("discriminator")
        if not (isinstance(found, Mapping) and isinstance(value, dict) and isinstance(branch, Mapping)):
            return value
        prop, ref = found.get("propertyName"), branch.get("$ref")
        if not isinstance(prop, str) or not isinstance(ref, str):
            return value
        mapping = found.get("mapping") or {}
        label = next((k for k, v in mapping.items() if v == ref), ref.rsplit("/", 1)[-1])
        value[prop] = label
        return value

    def hint(self, node: Mapping[str, Any], pointer: str, path: str) -> tuple[bool, Any]:
        """A value the schema gives (example, examples, default, enum, const) that meets the node's keywords.

        An example or default the node refuses is passed over (the value is built instead); enum
        values the rest refuses (``null`` on a non-nullable string) are never picked. With a seed the
        enum value is drawn; in boundary mode each event takes the next one.
        """
        if "enum" in node:
            enum = node["enum"]
            if not isinstance(enum, list) or not enum:
                raise self.error(f"{pointer}/enum", path, "enum must be a non-empty list")
        for key in ("example", "examples", "default"):
            if key not in node:
                continue
            given = node[key]
            candidates = (
                given if key == "examples" and isinstance(given, list) else [given] if key != "examples" else []
            )
            for candidate in candidates:
                if self.checker.valid(candidate, _without_hints(node, keep_values=True), pointer):
                    return True, copy.deepcopy(candidate)
        if "enum" in node:
            rest = _without_hints(node)
            fitting = [value for value in node["enum"] if self.checker.valid(value, rest, pointer)]
            if not fitting:
                raise self.error(
                    f"{pointer}/enum", path, "no enum value meets the node's other keywords (type, pattern, bounds...)"
                )
            if self.edge is not None and not self.salt:  # drawing again (a unique item...): any value
                return True, copy.deepcopy(fitting[self.edge % len(fitting)])
            return True, copy.deepcopy(self.rng.choice(fitting) if self.drawn else fitting[0])
        if "const" in node:
            return True, copy.deepcopy(node["const"])
        return False, None


def _merge_maps(first: Any, second: Any) -> Any:
    """Two maps of schemas (or of property lists) under one allOf: a key in both must meet both."""
    if not isinstance(first, Mapping) or not isinstance(second, Mapping):
        return first
    out = dict(first)
    for key, value in second.items():
        if key not in out:
            out[key] = value
        elif isinstance(value, list) and isinstance(out[key], list):
            out[key] = list(dict.fromkeys([*out[key], *value]))
        elif not isinstance(value, list) and not isinstance(out[key], list):
            out[key] = {"allOf": [out[key], value]}
    return out


def _without_hints(node: Mapping[str, Any], *, keep_values: bool = False) -> dict[str, Any]:
    """The node without its value hints (and without ``enum``, unless ``keep_values``: an example must be in it)."""
    dropped = ("example", "examples", "default") if keep_values else ("example", "examples", "default", "enum")
    return {k: v for k, v in node.items() if k not in dropped}


def _positive(value: Any) -> bool:
    return _numeric(value) and value > 0


def _numeric(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _lcm(first: float, second: float) -> float:
    """The least common multiple of two steps (exact for decimal fractions: 0.5 and 0.3 give 1.5)."""
    a, b = Fraction(str(first)), Fraction(str(second))
    value = Fraction(math.lcm(a.numerator, b.numerator), math.gcd(a.denominator, b.denominator))
    return int(value) if value.denominator == 1 else float(value)


def _infer_type(node: Mapping[str, Any]) -> str:
    if any(k in node for k in ("properties", "required", "additionalProperties", "patternProperties", "minProperties")):
        return "object"
    if any(k in node for k in ("items", "prefixItems", "minItems", "maxItems", "uniqueItems", "contains")):
        return "array"
    if any(k in node for k in ("pattern", "minLength", "maxLength", "format")):
        return "string"
    if any(k in node for k in ("minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum", "multipleOf")):
        return "number"
    return "any"
