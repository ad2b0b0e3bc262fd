"""The JSON Schema view of an event schema, for validating events: OpenAPI 3.0 → draft 4, 3.1 → 2020-12."""

from __future__ import annotations

import copy
from collections.abc import Mapping
from typing import Any

from ._schema import EventSchema

_DRAFT4_URI = "http://json-schema.org/draft-04/schema#"
_DRAFT2020_URI = "https://json-schema.org/draft/2020-12/schema"
_NAME_MAPS = frozenset({"properties", "patternProperties", "definitions", "$defs", "dependentSchemas", "schemas"})
_VALUE_KEYWORDS = frozenset({"enum", "const", "example", "examples", "default"})


def to_json_schema(schema: EventSchema | Mapping[str, Any], event_ref: str | None = None) -> dict[str, Any]:
    """A standalone JSON Schema for the event root, to validate events with ``jsonschema``.

    OpenAPI 3.0 becomes draft 4 (``nullable: true`` adds ``"null"`` to the type and enum, and
    makes a node without a type, such as ``allOf: [{$ref: ...}]``, accept null too) and
    OpenAPI 3.1 becomes 2020-12; local ``$ref`` s keep resolving. A JSON Schema root comes back as
    a copy; another root is reached through ``allOf``.

    Example::

        import jsonschema
        checker = jsonschema.validators.validator_for(json_schema := iatk.to_json_schema(s))(json_schema)
        checker.validate(event)

    Args:
        schema: An :class:`EventSchema` or a parsed schema document.
        event_ref: As for :func:`mock_event`.

    Returns:
        A new JSON Schema document.
    """
    loaded = schema if isinstance(schema, EventSchema) else EventSchema.from_document(schema)
    pointer, _ = loaded.root(event_ref)
    if loaded.is_openapi:
        version = str(loaded.document.get("openapi", "3.0"))
        dialect = _DRAFT2020_URI if version.startswith("3.1") else _DRAFT4_URI
    else:
        dialect = str(loaded.document.get("$schema") or _DRAFT4_URI)
    if not loaded.is_openapi and pointer == "#":
        copied: dict[str, Any] = _convert(loaded.document, openapi=False, prefix=None, names=False)
        return copied
    holder = "x-iatk-document"
    body = {k: v for k, v in loaded.document.items() if k not in ("$schema", "id", "$id")}
    return {
        "$schema": dialect,
        "allOf": [{"$ref": f"#/{holder}{pointer[1:]}"}],
        holder: _convert(body, openapi=loaded.is_openapi, prefix=holder, names=False),
    }


def _convert(node: Any, *, openapi: bool, prefix: str | None, names: bool) -> Any:
    if isinstance(node, list):
        return [_convert(item, openapi=openapi, prefix=prefix, names=False) for item in node]
    if not isinstance(node, Mapping):
        return node
    out: dict[str, Any] = {}
    for key, value in node.items():
        if names:
            out[key] = _convert(value, openapi=openapi, prefix=prefix, names=False)
        elif key in _VALUE_KEYWORDS:
            out[key] = copy.deepcopy(value)
        elif key == "$ref" and isinstance(value, str) and value.startswith("#") and prefix is not None:
            out[key] = f"#/{prefix}{value[1:]}"
        else:
            out[key] = _convert(value, openapi=openapi, prefix=prefix, names=key in _NAME_MAPS)
    if openapi and not names and out.get("nullable") is True:
        kind = out.get("type")
        if isinstance(kind, str):
            out["type"] = [kind, "null"]
        elif kind is None:
            # `allOf: [{$ref}]` + `nullable: true` is how OpenAPI 3.0 users write a nullable ref
            return {"anyOf": [{"type": "null"}, {k: v for k, v in out.items() if k != "nullable"}]}
        if isinstance(out.get("enum"), list) and None not in out["enum"]:
            out["enum"] = [*out["enum"], None]
    return out
