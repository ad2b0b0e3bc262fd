"""The schema document: :class:`EventSchema`, parsed from JSON or YAML; its root, components and ``x-amazon-events-*``.

Also what the rest of the package needs to address a document and to say what exists in it: local
JSON pointers (``#/components/schemas/X``) and the "closest names first" listings of messages.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from iatk._json import resolve_pointer
from iatk._nesting import MAX_NESTING, too_deep
from iatk._text import closest
from iatk.exceptions import ConfigError, SchemaError

OPENAPI3 = "OpenApi3"
JSON_SCHEMA_DRAFT4 = "JSONSchemaDraft4"
_SCHEMA_TYPES = (OPENAPI3, JSON_SCHEMA_DRAFT4)
_SOURCE_EXT = "x-amazon-events-source"
_DETAIL_TYPE_EXT = "x-amazon-events-detail-type"
_LISTED = 30  # names shown in a "what exists" list
#: Schema values nest at most this many levels (the generator's bound on schema nodes).
MAX_SCHEMA_NODES = MAX_NESTING
#: A schema document nests at most this many levels of objects and arrays: each schema node is
#: two or three of them (``{"properties": {"a": {...}}}``), so this is the room for that many nodes.
MAX_SCHEMA_DOCUMENT_DEPTH = 3 * MAX_NESTING


def check_schema_depth(document: Any, origin: str) -> None:
    """Raise SchemaError when ``document`` nests past :data:`MAX_SCHEMA_DOCUMENT_DEPTH` (measured without recursion)."""
    where = too_deep(document, MAX_SCHEMA_DOCUMENT_DEPTH, root="#")
    if where is not None:
        raise SchemaError(
            f"{origin} nests deeper than {MAX_SCHEMA_DOCUMENT_DEPTH} levels of objects and arrays (at {where}); "
            f"iatk reads schemas up to {MAX_SCHEMA_DOCUMENT_DEPTH} levels deep and generates values nested up "
            f"to {MAX_SCHEMA_NODES} schema nodes: flatten the schema, or give the deep part with overrides="
        )


@dataclass(frozen=True, slots=True)
class EventSchema:
    """A parsed event schema and where it came from.

    Attributes:
        document: The parsed schema document (do not mutate: registry schemas are cached).
        type: ``"OpenApi3"`` or ``"JSONSchemaDraft4"`` (any local JSON Schema document).
        origin: Where it was read, for messages (``registry 'r' schema 's' version '3'``, a path...).
        registry: The registry name, for registry schemas.
        name: The schema name, for registry schemas.
        version: The schema version, for registry schemas.
        arn: The schema ARN, for registry schemas.
    """

    document: dict[str, Any]
    type: str
    origin: str
    registry: str | None = None
    name: str | None = None
    version: str | None = None
    arn: str | None = None

    @classmethod
    def from_api(cls, response: Mapping[str, Any], *, registry: str) -> EventSchema:
        """Build from a ``schemas:DescribeSchema`` response (``Content`` is the schema as JSON text).

        Raises:
            SchemaError: The type is neither OpenApi3 nor JSONSchemaDraft4, or the content is not JSON.
        """
        name = str(response.get("SchemaName", ""))
        version = str(response.get("SchemaVersion", "")) or None
        origin = f"registry {registry!r} schema {name!r} version {version!r}"
        kind = str(response.get("Type", ""))
        if kind not in _SCHEMA_TYPES:
            raise SchemaError(f"{origin} has type {kind!r}; iatk reads {' and '.join(_SCHEMA_TYPES)} schemas")
        document = _parse_text(str(response.get("Content", "")), origin, "json")
        return cls(document, kind, origin, registry, name or None, version, response.get("SchemaArn"))

    @classmethod
    def from_document(cls, document: Mapping[str, Any], *, origin: str = "schema document") -> EventSchema:
        """Wrap an already parsed document; its type is OpenApi3 when it has an ``openapi`` key."""
        if not isinstance(document, Mapping):
            raise SchemaError(f"{origin} must be a JSON object (a schema document); got {type(document).__name__}")
        check_schema_depth(document, origin)
        kind = OPENAPI3 if "openapi" in document else JSON_SCHEMA_DRAFT4
        return cls(dict(document), kind, origin)

    @classmethod
    def from_text(cls, text: str, *, origin: str = "schema_text", syntax: str | None = None) -> EventSchema:
        """Parse JSON or YAML text (``syntax`` "json" or "yaml"; None sniffs it)."""
        return cls.from_document(_parse_text(text, origin, syntax), origin=origin)

    @classmethod
    def from_file(cls, path: str | os.PathLike[str]) -> EventSchema:
        """Read a ``.json``, ``.yaml`` or ``.yml`` file (other names: the content decides).

        Raises:
            SchemaError: The file is missing (the message lists schema files next to it) or unreadable.
        """
        file = Path(path)
        if not file.is_file():
            raise SchemaError(f"schema file {str(file)!r} not found{_nearby_files(file)}")
        suffix = file.suffix.lower()
        syntax = "json" if suffix == ".json" else "yaml" if suffix in {".yaml", ".yml"} else None
        try:
            text = file.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as err:
            raise SchemaError(f"cannot read schema file {str(file)!r}: {err}") from err
        return cls.from_text(text, origin=f"schema file {str(file)!r}", syntax=syntax)

    @property
    def is_openapi(self) -> bool:
        """True for an OpenAPI 3 document."""
        return self.type == OPENAPI3

    @property
    def components(self) -> list[str]:
        """The named schemas: ``components.schemas`` (OpenAPI) or ``definitions`` / ``$defs``."""
        if self.is_openapi:
            found = self.document.get("components", {})
            named = found.get("schemas", {}) if isinstance(found, Mapping) else {}
            return list(named) if isinstance(named, Mapping) else []
        names: list[str] = []
        for key in ("definitions", "$defs"):
            block = self.document.get(key)
            if isinstance(block, Mapping):
                names.extend(block)
        return names

    @property
    def source(self) -> str | None:
        """``x-amazon-events-source`` (on the ``AWSEvent`` component, or the document root)."""
        return _extension(self, _SOURCE_EXT)

    @property
    def detail_type(self) -> str | None:
        """``x-amazon-events-detail-type`` (on the ``AWSEvent`` component, or the document root)."""
        return _extension(self, _DETAIL_TYPE_EXT)

    def root(self, event_ref: str | None = None) -> tuple[str, Any]:
        """The event root as ``(JSON pointer, schema node)``.

        Args:
            event_ref: A component name (``"AWSEvent"``, a ``definitions`` name) or a JSON pointer
                (``"#/components/schemas/MyEvent"``). None: ``AWSEvent``, else the only component of
                an OpenAPI document, else the document root (JSON Schema).

        Raises:
            SchemaError: The ref is not in the document, or an OpenAPI document has several
                components and no ``AWSEvent``; the message lists the components.
        """
        if event_ref is not None and not isinstance(event_ref, str):
            raise ConfigError(f"event_ref must be a string (a component name or '#/...' pointer); got {event_ref!r}")
        if event_ref:
            if event_ref.startswith("#"):
                pointer = event_ref
            elif self.is_openapi:
                pointer = f"#/components/schemas/{_escape(event_ref)}"
            else:
                key = "$defs" if event_ref in self.document.get("$defs", {}) else "definitions"
                pointer = f"#/{key}/{_escape(event_ref)}"
            try:
                return pointer, resolve_pointer(self.document, pointer)
            except (KeyError, ValueError):
                raise SchemaError(
                    f"event_ref {event_ref!r} not found in {self.origin}; {self._components_text(event_ref)}"
                ) from None
        if self.is_openapi:
            names = self.components
            pick = "AWSEvent" if "AWSEvent" in names else names[0] if len(names) == 1 else None
            if pick is None:
                raise SchemaError(
                    f"{self.origin} has no 'AWSEvent' component; pass event_ref= to pick the event root. "
                    f"{self._components_text(None)}"
                )
            pointer = f"#/components/schemas/{_escape(pick)}"
            return pointer, resolve_pointer(self.document, pointer)
        return "#", self.document

    def json_schema(self, event_ref: str | None = None) -> dict[str, Any]:
        """This schema's event root as a standalone JSON Schema; see :func:`to_json_schema`."""
        from ._jsonschema import to_json_schema  # it builds on EventSchema: imported when used

        return to_json_schema(self, event_ref)

    def _components_text(self, near: str | None) -> str:
        names = self.components
        if not names:
            return "it has no named components (components.schemas / definitions)"
        ordered = _closest_first(near.rsplit("/", 1)[-1] if near else "", names)
        return f"components: {_listing(ordered)}"


_BaseLoader: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)  # libyaml when present: ~10x faster


class _JsonishLoader(_BaseLoader):  # type: ignore[misc]
    """safe_load without YAML timestamps: ``2024-01-01`` stays a string, as it would in JSON."""


_JsonishLoader.yaml_implicit_resolvers = {
    first: [(tag, regexp) for tag, regexp in resolvers if tag != "tag:yaml.org,2002:timestamp"]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}


def _parse_text(text: str, origin: str, syntax: str | None) -> dict[str, Any]:
    if syntax is None:
        syntax = "json" if text.lstrip().startswith("{") else "yaml"
    document: Any
    if syntax == "json":
        try:
            document = json.loads(text)
        except json.JSONDecodeError as err:
            raise SchemaError(f"{origin} is not valid JSON: {err.msg} at line {err.lineno} column {err.colno}") from err
        except RecursionError:
            document = None  # deeper than Python's JSON decoder goes: measured below on the text
    else:
        try:
            document = yaml.load(text, Loader=_JsonishLoader)  # noqa: S506 - a SafeLoader subclass
        except yaml.YAMLError as err:
            if "maximum nesting depth" in str(err):  # libyaml's own bound (1,000 levels)
                document = None
            else:
                raise SchemaError(f"{origin} is not valid YAML: {err}") from err
        except RecursionError:
            document = None
    if document is None and text.strip() not in ("", "null", "~"):
        raise SchemaError(
            f"{origin} nests too deep for Python's parser to read; iatk reads schemas up to "
            f"{MAX_SCHEMA_DOCUMENT_DEPTH} levels of objects and arrays deep: flatten the schema"
        )
    if not isinstance(document, dict):
        raise SchemaError(f"{origin} must hold a JSON object (a schema document); got {type(document).__name__}")
    check_schema_depth(document, origin)
    return document


def _nearby_files(file: Path) -> str:
    folder = file.parent
    if not folder.is_dir():
        return f" (folder {str(folder)!r} does not exist; paths are relative to {os.getcwd()!r})"
    names = sorted(p.name for p in folder.iterdir() if p.suffix.lower() in {".json", ".yaml", ".yml"})
    if not names:
        return f"; {str(folder)!r} has no .json/.yaml files"
    return f"; schema files in {str(folder)!r}: {_listing(_closest_first(file.name, names))}"


def _extension(schema: EventSchema, key: str) -> str | None:
    places: list[Any] = []
    if schema.is_openapi:
        with_ref = schema.document.get("components", {})
        named = with_ref.get("schemas", {}) if isinstance(with_ref, Mapping) else {}
        if isinstance(named, Mapping):
            places.append(named.get("AWSEvent"))
    places.append(schema.document)
    for place in places:
        if isinstance(place, Mapping) and isinstance(place.get(key), str):
            return str(place[key])
    return None


# --------------------------------------------------------------------------------------------
# Pointers and listings


def _escape(name: str) -> str:
    return name.replace("~", "~0").replace("/", "~1")


def _closest_first(name: str, names: Iterable[str]) -> list[str]:
    every = sorted(set(names))
    close = closest(name, every, n=5, cutoff=0.5) if name else []
    return close + [n for n in every if n not in close]


def _listing(names: list[str]) -> str:
    if not names:
        return "(none)"
    shown = ", ".join(names[:_LISTED])
    return shown if len(names) <= _LISTED else f"{shown} ... ({len(names)} in all)"
