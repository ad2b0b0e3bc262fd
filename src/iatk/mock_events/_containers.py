"""Objects and arrays: properties, required, maps, dependencies; items, tuples, uniqueness (a part of the generator)."""

from __future__ import annotations

import copy
import json
import re
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from ._schema import _escape
from ._state import _MISSING, _GeneratorBase, _Recursion

_EDGE_ITEMS = 50  # boundary mode's longest array: maxItems, or this when maxItems is larger


class _Containers(_GeneratorBase):
    """The generator's objects and arrays; each property and item is drawn on its own random stream."""

    if TYPE_CHECKING:  # the walk (_Generator) and the strings (_Scalars) come with the whole generator

        def generate(self, node: Any, pointer: str, path: str, name: str | None, override: Any) -> Any: ...

        def string(self, node: Mapping[str, Any], pointer: str, path: str, name: str | None) -> str: ...

    def object(self, node: Mapping[str, Any], pointer: str, path: str, override: Any) -> dict[str, Any]:
        props = node.get("properties") or {}
        required = node.get("required") or []
        if not isinstance(props, Mapping) or not isinstance(required, list):
            raise self.error(pointer, path, "properties must be an object and required a list")
        extra = node.get("additionalProperties", True)
        patterns = node.get("patternProperties") or {}
        overrides = override if isinstance(override, Mapping) else {}
        out: dict[str, Any] = {}

        def add(prop: str, sub: Any, sub_pointer: str, needed: bool) -> None:
            wanted = overrides.get(prop, _MISSING)
            if wanted is not _MISSING and not isinstance(wanted, Mapping):
                out[prop] = copy.deepcopy(wanted)  # overridden anyway: do not generate (it may not end)
                return
            try:
                with self.stream(f"{path}.{prop}"):
                    out[prop] = self.generate(sub, sub_pointer, f"{path}.{prop}", prop, wanted)
            except _Recursion:
                if needed:
                    raise

        def schema_for(prop: str) -> tuple[Any, str]:
            if prop in props:
                return props[prop], self.locate(props[prop], f"{pointer}/properties/{_escape(prop)}")
            for regex, sub in patterns.items():
                if re.search(regex, prop):
                    return sub, f"{pointer}/patternProperties/{_escape(regex)}"
            if extra is False:
                raise self.error(
                    pointer,
                    path,
                    f"property {prop!r} is required but not in properties, and additionalProperties is false",
                )
            return (extra if isinstance(extra, Mapping) else True), f"{pointer}/additionalProperties"

        skipped: list[str] = []
        for prop, sub in props.items():
            needed = prop in required
            if sub is False:
                if needed:
                    raise self.error(
                        f"{pointer}/properties/{_escape(prop)}", path, f"required property {prop!r} is `false`"
                    )
                continue
            if not needed and prop not in overrides and (self.skip_optional or not self._keep_optional(path, prop)):
                skipped.append(prop)
                continue
            add(prop, sub, self.locate(sub, f"{pointer}/properties/{_escape(prop)}"), needed)
        for prop in required:
            if prop not in props:
                add(prop, *schema_for(prop), True)
        if not props and not patterns and isinstance(extra, Mapping) and not required and not self.skip_optional:
            entries = 1
            if self.edge is not None:
                entries = 0 if self.edge % 2 == 0 else 3
            elif self.drawn:
                entries = self.rng.randint(0, 3)
            for _entry in range(entries):
                add(self._extra_name(node, pointer, path, out), extra, f"{pointer}/additionalProperties", False)

        dependencies = {**(node.get("dependencies") or {}), **(node.get("dependentRequired") or {})}
        for prop in list(out):
            wanted_too = dependencies.get(prop)
            if isinstance(wanted_too, list):
                for other in wanted_too:
                    if other not in out:
                        add(other, *schema_for(other), True)
            elif wanted_too is not None:
                raise self.unsupported(f"{pointer}/dependencies/{_escape(prop)}", path, "a schema-form dependency")

        least = node.get("minProperties", 0)
        for prop in skipped:
            if len(out) >= least:
                break
            add(prop, props[prop], self.locate(props[prop], f"{pointer}/properties/{_escape(prop)}"), False)
        while len(out) < least:
            before = len(out)
            if patterns and isinstance(patterns, Mapping):
                # a name from one of patternProperties' patterns, and a value from its schema
                regex = list(patterns)[len(out) % len(patterns)]
                key = self._pattern_name(regex, node, pointer, path, out)
                add(key, patterns[regex], f"{pointer}/patternProperties/{_escape(regex)}", False)
            elif extra is False:
                raise self.error(pointer, path, f"minProperties {least} cannot be met: additionalProperties is false")
            else:
                add(self._extra_name(node, pointer, path, out), *schema_for("\0extra"), False)
            if len(out) == before:
                raise self.error(pointer, path, f"minProperties {least} cannot be met")
        most = node.get("maxProperties")
        if most is not None:
            for prop in reversed(list(out)):
                if len(out) <= most:
                    break
                if prop not in required:
                    del out[prop]
            if len(out) > most:
                raise self.error(pointer, path, f"more required properties than maxProperties {most}")
        return out

    def _keep_optional(self, path: str, prop: str) -> bool:
        """Whether an optional property is in the event: always without a seed; drawn with one; in boundary
        mode none on even events and all on odd ones."""
        if self.edge is not None:
            return self.edge % 2 == 1
        if not self.drawn:
            return True
        with self.stream(f"{path}.{prop}?"):
            return self.rng.random() < 0.6

    def _pattern_name(
        self, regex: str, node: Mapping[str, Any], pointer: str, path: str, taken: Mapping[str, Any]
    ) -> str:
        names = node.get("propertyNames")
        shape: dict[str, Any] = {"type": "string", "pattern": regex}
        if isinstance(names, Mapping):
            shape = {"allOf": [names, shape]}
        for attempt in range(30):
            with self.salted(attempt, f"{path}{{{len(taken)}}}"), self.stream(f"{path}{{{len(taken)}}}"):
                name = self.generate(shape, f"{pointer}/patternProperties/{_escape(regex)}", path, "key", _MISSING)
            if isinstance(name, str) and name not in taken:
                return name
        raise self.error(f"{pointer}/patternProperties/{_escape(regex)}", path, "cannot find a new property name")

    def _extra_name(self, node: Mapping[str, Any], pointer: str, path: str, taken: Mapping[str, Any]) -> str:
        names = node.get("propertyNames")
        for index in range(1, 100):
            if isinstance(names, Mapping):
                name = self.string({**names, "type": "string"}, f"{pointer}/propertyNames", path, "key")
            else:
                name = f"additionalProp{index}"
            if name not in taken:
                return name
        raise self.error(pointer, path, "cannot find a new property name")

    # -- arrays

    def array(self, node: Mapping[str, Any], pointer: str, path: str, name: str | None) -> list[Any]:
        items = node.get("items")
        prefix: list[Any] = []
        prefix_pointer = f"{pointer}/items"
        rest: Any = items
        rest_pointer = f"{pointer}/items"
        if isinstance(items, list):
            prefix, rest, rest_pointer = items, node.get("additionalItems", True), f"{pointer}/additionalItems"
        elif isinstance(node.get("prefixItems"), list):
            prefix, prefix_pointer = node["prefixItems"], f"{pointer}/prefixItems"
            rest = True if items is None else items
        least = node.get("minItems", 0)
        most = node.get("maxItems")
        if most is not None and most < least:
            raise self.error(pointer, path, f"minItems {least} is more than maxItems {most}")
        count = max(least, len(prefix)) if prefix else max(least, 1) if rest is not None else least
        if rest is False:
            if least > len(prefix):
                raise self.error(pointer, path, f"minItems {least} needs more items than items/additionalItems allow")
            most = len(prefix) if most is None else min(most, len(prefix))
        if self.edge is not None:
            # the edges: as few items as allowed, then as many (an unbounded array gets a few more)
            count = least if self.edge % 2 == 0 else (min(most, _EDGE_ITEMS) if most is not None else least + 4)
        elif self.drawn and (rest is not None or prefix):
            with self.stream(f"{path}#"):
                high = most if most is not None else max(least, len(prefix)) + 4
                count = self.rng.randint(least, max(least, min(high, least + 5)))
        if most is not None:
            count = min(count, most)
        contains = node.get("contains")
        if contains is not None and count < 1 and (most is None or most >= 1):
            count = 1
        unique = node.get("uniqueItems") is True
        out: list[Any] = []
        seen: set[str] = set()
        for index in range(count):
            if index < len(prefix):
                sub: Any = prefix[index]
                sub_pointer = f"{prefix_pointer}/{index}"
            elif rest is False:
                raise self.error(pointer, path, f"minItems {least} needs more items than items/additionalItems allow")
            else:
                sub, sub_pointer = (True if rest is None else rest), self.locate(rest, rest_pointer)
            if index == 0 and contains is not None:
                sub, sub_pointer = {"allOf": [sub, contains]}, f"{pointer}/contains"
            value: Any = _MISSING
            for attempt in range(24 if unique else 1):
                try:
                    with self.salted(attempt, f"{path}[{index}]"), self.stream(f"{path}[{index}]"):
                        candidate = self.generate(sub, sub_pointer, f"{path}[{index}]", name, _MISSING)
                except _Recursion:
                    if index >= least:
                        return out
                    raise
                if not unique or _json_key(candidate) not in seen:
                    value = candidate
                    break
            if value is _MISSING:
                if index >= least:
                    return out
                raise self.error(pointer, path, f"cannot make {least} unique items")
            seen.add(_json_key(value))
            out.append(value)
        return out


def _json_key(value: Any) -> str:
    return json.dumps(value, sort_keys=True, default=str)
