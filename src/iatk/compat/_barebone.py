"""aws-iatk's barebone mock events: the zero values ``generate_mock_event`` gives, as aws-iatk 0.1.0 made them.

aws-iatk's generator (``mock.generate_barebone_event``, read in its Go sources and tests) fills each
property with a placeholder, not a realistic value, and suites assert on those placeholders (an
empty ``orderItems`` makes an order total of 0). So ``AwsIatk.generate_mock_event`` uses this
generator; iatk's own :func:`iatk.mock_event` keeps its realistic values.

The rules, per property of an object (keys come out sorted, as Go's JSON encoder wrote them):

* skipped with ``skip_optional`` when the object has a ``required`` list that does not name it (an
  object with no ``required`` list keeps every property, at any depth);
* the first ``enum`` value; a ``date-time`` string is now (RFC 3339, local offset, as Go wrote
  ``time.Now()``); any other string ``""``; a number or integer ``0``; a boolean ``false``; an array
  ``[]`` (its ``items`` are not looked at); ``null`` None; an object its own properties, 20 levels
  deep (then None);
* OpenAPI: local ``$ref`` are followed. JSON Schema (draft 4): a property that is only a ``$ref``
  becomes the referenced schema's properties (``{}`` for a scalar, None past the depth), and a
  property with neither a type nor a ``$ref`` is left out.

Where aws-iatk failed, this gives a value instead (no suite can depend on those failures): a JSON
Schema ``boolean`` (aws-iatk matched ``"bool"``) is ``false``; a property with several types takes
its first non-null one; an untyped OpenAPI property (aws-iatk #116) merges its ``allOf``, takes the
first ``oneOf``/``anyOf`` branch, is an object when it has ``properties``, ``[]`` with ``items``, and
``{}`` otherwise; ``event_ref`` may name a JSON Schema definition or be a ``#/...`` pointer.
Errors keep aws-iatk's messages (``error generating mock event: ...``), with iatk's explanation as
a note.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import TYPE_CHECKING, Any, Final

from iatk._json import resolve_pointer

from ._errors import IatkException, explained

if TYPE_CHECKING:
    from iatk.mock_events import EventSchema

#: aws-iatk's recursion limit: an object this deep is None.
MAX_DEPTH: Final = 20

_PREFIX = "error generating mock event: error generating mock event: "


class _Failure(Exception):
    """A generation error, with aws-iatk's text (before the common prefix) and iatk's explanation."""

    def __init__(self, text: str, explanation: str | None = None) -> None:
        super().__init__(text)
        self.text = text
        self.explanation = explanation


def go_now() -> str:
    """Now as Go's JSON encoder writes ``time.Now()``: RFC 3339, trimmed fraction, the local offset."""
    now = datetime.now().astimezone()
    text = now.strftime("%Y-%m-%dT%H:%M:%S")
    fraction = f"{now.microsecond:06d}".rstrip("0")
    if fraction:
        text += "." + fraction
    offset = now.utcoffset()
    minutes = int(offset.total_seconds() // 60) if offset is not None else 0
    if minutes == 0:
        return text + "Z"
    sign = "+" if minutes > 0 else "-"
    hours, rest = divmod(abs(minutes), 60)
    return f"{text}{sign}{hours:02d}:{rest:02d}"


def _mapping(value: Any) -> Mapping[str, Any]:
    return value if isinstance(value, Mapping) else {}


def _sorted(event: dict[str, Any]) -> dict[str, Any]:
    return {key: event[key] for key in sorted(event)}


def _skipped(schema: Mapping[str, Any], name: str, skip_optional: bool) -> bool:
    required = schema.get("required")
    return skip_optional and isinstance(required, list) and name not in required


def _first_type(types: list[Any]) -> Any:
    real = [t for t in types if t != "null"]
    return real[0] if real else "null"


class _OpenApi:
    """aws-iatk's OpenAPI 3 walk (kin-openapi with local refs resolved)."""

    def __init__(self, document: Mapping[str, Any], skip_optional: bool) -> None:
        self.document = document
        self.skip_optional = skip_optional

    def resolve(self, node: Any, seen: int = 0) -> Mapping[str, Any]:
        found: Mapping[str, Any] = _mapping(node)
        while isinstance(found.get("$ref"), str) and seen < MAX_DEPTH:
            ref = str(found["$ref"])
            try:
                found = _mapping(resolve_pointer(self.document, ref))
            except (KeyError, ValueError):
                raise _Failure(
                    f"failed while loading schema due to error: bad $ref {ref!r}",
                    "only local refs (#/components/schemas/...) are read",
                ) from None
            seen += 1
        return found

    def flattened(self, node: Mapping[str, Any]) -> Mapping[str, Any]:
        """An untyped node's shape (iatk's fix of #116): allOf merged, the first oneOf/anyOf branch."""
        if node.get("type") or not any(key in node for key in ("allOf", "oneOf", "anyOf")):
            return node
        merged: dict[str, Any] = {k: v for k, v in node.items() if k not in ("allOf", "oneOf", "anyOf")}
        properties: dict[str, Any] = dict(_mapping(node.get("properties")))
        required: list[Any] = list(node.get("required") or [])
        branches = [self.resolve(b) for b in node.get("allOf") or [] if isinstance(b, Mapping)]
        for key in ("oneOf", "anyOf"):
            options = [b for b in node.get(key) or [] if isinstance(b, Mapping)]
            if options:
                branches.append(self.resolve(options[0]))
        for each in branches:
            branch = self.flattened(each)
            properties.update(_mapping(branch.get("properties")))
            required.extend(branch.get("required") or [])
            for key, value in branch.items():
                if key not in ("properties", "required"):
                    merged.setdefault(key, value)
        if properties:
            merged["properties"] = properties
        if required or "required" in node:
            merged["required"] = required
        return merged

    def object(self, schema: Mapping[str, Any], depth: int) -> dict[str, Any]:
        event: dict[str, Any] = {}
        for name, raw in _mapping(schema.get("properties")).items():
            if _skipped(schema, name, self.skip_optional):
                continue
            prop = self.flattened(self.resolve(raw))
            enum = prop.get("enum")
            if isinstance(enum, list) and enum:
                event[name] = enum[0]
                continue
            kind = prop.get("type")
            if isinstance(kind, list):  # OpenAPI 3.1 style; 3.0 has one type
                kind = _first_type(kind)
            if not kind:  # aws-iatk failed here (#116): type it by its keywords
                kind = "object" if "properties" in prop else "array" if "items" in prop else ""
            if kind == "string":
                event[name] = go_now() if prop.get("format") == "date-time" else ""
            elif kind in ("number", "integer"):
                event[name] = 0
            elif kind == "boolean":
                event[name] = False
            elif kind == "array":
                event[name] = []
            elif kind == "object":
                event[name] = None if depth == 0 else self.object(prop, depth - 1)
            elif kind == "":
                event[name] = {}
            elif kind == "null":
                event[name] = None
            else:
                raise _Failure(
                    "failed to generate a mock event for the provided schema due to error: invalid or "
                    f"unsupported property type {kind!r} found for property {name!r}".replace("'", '"'),
                    "OpenAPI types are string, number, integer, boolean, array and object",
                )
        return _sorted(event)

    def event(self, event_ref: str | None) -> dict[str, Any]:
        components = self.document.get("components")
        schemas = _mapping(components).get("schemas") if isinstance(components, Mapping) else None
        names = sorted(_mapping(schemas))
        listing = f"components: {', '.join(names)}" if names else "the schema has no components.schemas"
        if not event_ref:
            raise _Failure(
                "no eventRef specified to generate a mock event",
                f"pass event_ref= naming the event's component ({listing}); iatk.mock_event picks AWSEvent itself",
            )
        if event_ref.startswith("#"):
            try:
                root = resolve_pointer(self.document, event_ref)
            except (KeyError, ValueError):
                raise _Failure(
                    f"provided eventRef {event_ref!r} not found in the schema".replace("'", '"'), listing
                ) from None
        else:
            if not isinstance(components, Mapping):
                raise _Failure("failed to generate a mock event, no components found in schema")
            if not isinstance(schemas, Mapping):
                raise _Failure("failed to generate a mock event, no schemas found under components in schema")
            if event_ref not in schemas:
                raise _Failure(f'provided eventRef "{event_ref}" not found in the schema', listing)
            root = schemas[event_ref]
        return self.object(self.flattened(self.resolve(root)), MAX_DEPTH)


class _JsonSchema:
    """aws-iatk's JSON Schema draft 4 walk (santhosh-tekuri/jsonschema's compiled schema)."""

    _TYPES: Final = frozenset({"string", "number", "integer", "boolean", "null", "object", "array"})

    def __init__(self, document: Mapping[str, Any], skip_optional: bool) -> None:
        self.document = document
        self.skip_optional = skip_optional

    def target(self, ref: str) -> Mapping[str, Any] | None:
        try:
            return _mapping(resolve_pointer(self.document, ref))
        except (KeyError, ValueError):
            return None

    def object(self, schema: Mapping[str, Any], depth: int) -> dict[str, Any]:
        event: dict[str, Any] = {}
        for name, raw in _mapping(schema.get("properties")).items():
            if _skipped(schema, name, self.skip_optional):
                continue
            prop = _mapping(raw)
            ref = prop.get("$ref")
            if isinstance(ref, str):  # draft 4: $ref stands for the whole property
                target = self.target(ref)
                # aws-iatk built the referenced schema's properties (so {} for a scalar) and dropped
                # errors inside it; past the depth, None.
                if depth == 0 or target is None:
                    event[name] = None
                else:
                    try:
                        event[name] = self.object(target, depth - 1)
                    except _Failure:
                        event[name] = None
                continue
            kind = prop.get("type")
            types = [kind] if isinstance(kind, str) else list(kind) if isinstance(kind, list) else []
            if not types:
                continue  # neither a type nor a $ref: aws-iatk left it out
            for each in types:
                if each not in self._TYPES:
                    raise _Failure(
                        f'error compiling schema: invalid or unsupported property type "{each}" found for '
                        f'property "{name}"',
                        "JSON Schema types are string, number, integer, boolean, null, object and array",
                    )
            enum = prop.get("enum")
            if len(types) == 1 and isinstance(enum, list) and enum:
                event[name] = enum[0]
                continue
            chosen = _first_type(types)  # aws-iatk failed on several types
            if chosen == "string":
                event[name] = go_now() if prop.get("format") == "date-time" else ""
            elif chosen in ("number", "integer"):
                event[name] = 0
            elif chosen == "boolean":  # aws-iatk matched "bool", so this failed there
                event[name] = False
            elif chosen == "array":
                event[name] = []
            elif chosen == "object":
                event[name] = None if depth == 0 else self.object(prop, depth - 1)
            else:
                event[name] = None
        return _sorted(event)

    def event(self, event_ref: str | None) -> dict[str, Any]:
        root: Mapping[str, Any] = self.document
        if event_ref:  # aws-iatk refused any event_ref on a JSON Schema
            ref = event_ref if event_ref.startswith("#") else None
            if ref is None:
                key = "$defs" if event_ref in _mapping(self.document.get("$defs")) else "definitions"
                ref = f"#/{key}/{event_ref}"
            found = self.target(ref)
            if found is None:
                names = sorted([*_mapping(self.document.get("definitions")), *_mapping(self.document.get("$defs"))])
                raise _Failure(
                    f'provided eventRef "{event_ref}" not found in the schema',
                    f"definitions: {', '.join(names) or '(none)'}; without event_ref the document's root is the event",
                )
            root = found
        return self.object(root, MAX_DEPTH)


def barebone_event(schema: EventSchema, event_ref: str | None, skip_optional: bool) -> dict[str, Any]:
    """aws-iatk's barebone event for ``schema`` (see the module docstring).

    Raises:
        IatkException: 400, with aws-iatk's message (``error generating mock event: ...``) and iatk's
            explanation as a note.
    """
    walker: _OpenApi | _JsonSchema
    walker = (
        _OpenApi(schema.document, skip_optional) if schema.is_openapi else _JsonSchema(schema.document, skip_optional)
    )
    try:
        return walker.event(event_ref or None)
    except _Failure as failure:
        err = IatkException(_PREFIX + failure.text, 400)
        raise explained(
            err, f"{failure.explanation} ({schema.origin})" if failure.explanation else schema.origin
        ) from None
