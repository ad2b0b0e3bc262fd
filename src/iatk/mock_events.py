"""Mock EventBridge events generated from schemas (Schema Registry, a local file, or a string).

:func:`mock_event` reads an OpenAPI 3 schema (the form of AWS's and the registry's discovered
schemas) or a JSON Schema (draft 4, tolerating later keywords such as ``const``), picks the event
root, and builds an event that validates against that schema.

How a value is chosen, for each schema node:

1. ``$ref`` (local only: ``#/components/schemas/...``, ``#/definitions/...``) is followed.
   Recursion is cut after :data:`RECURSION_LIMIT` visits of one schema on a path: an optional
   property, a nullable value, an array past its ``minItems`` or a later ``oneOf`` branch ends it;
   a required chain that cannot end raises :class:`~iatk.exceptions.SchemaError`.
2. ``allOf`` branches are merged (properties and ``required`` unioned, bounds tightened);
   ``oneOf`` / ``anyOf`` take their first branch that can end.
3. ``example``, then ``examples[0]``, then ``default``, then the first ``enum`` value, then
   ``const`` is used as is.
4. Otherwise by type (the first non-null one of a type list; ``nullable`` values are generated,
   not null). A node without a type is typed by its keywords (``properties`` → object, ``items``
   → array, ``pattern`` → string, ``minimum`` → number...) and is an empty object ``{}`` when
   nothing hints at a type.

   - string: formats date-time, date, time, email, uuid, uri, hostname, ipv4, ipv6, byte; a
     ``pattern`` made of common regex syntax; ``minLength`` / ``maxLength``. Plain strings read
     ``"<property name>-<4 chars>"``.
   - integer / number: inside ``minimum`` / ``maximum`` (draft 4 boolean or draft 6 numeric
     ``exclusive*``) and ``multipleOf``; 0–100 when unbounded.
   - boolean, null.
   - array: ``max(minItems, 1)`` items when ``items`` is given, else ``minItems`` (always capped by
     ``maxItems``); ``items`` as a schema or a tuple, ``prefixItems``, ``uniqueItems``, ``contains``.
   - object: required properties always; optional ones unless ``skip_optional``; a map
     (``additionalProperties`` schema and no ``properties``) gets one ``additionalProp1`` entry;
     ``minProperties`` / ``maxProperties`` and list-form ``dependencies`` are honoured.

Determinism: a given ``seed`` gives the same event every time, dates included (within 2024).
Each event path has its own random stream, so overrides, ``skip_optional`` or a change elsewhere
in the schema leave the other values as they were. With ``seed=None`` the values are those of
seed 0 except that date/time formats are *now* and uuids (and the envelope ``id``) are fresh, so
two events never share an id.

Offline: the embedded moto backend has no Schema Registry. Set ``schema_dir``
(``--iatk-schema-dir``) and ``registry=`` + ``schema=`` read ``<dir>/<registry>/<schema>.json``
(or ``.yaml``, ``.yml``; ``<dir>/<registry>/<schema>/<version>.json`` for one version) instead, so
code written against the registry runs unchanged offline (see :func:`load_schema`).

Unsupported (raise ``SchemaError`` naming the JSON pointer): ``not``, ``if``/``then``/``else``,
schema-form ``dependencies``, ``$dynamicRef`` / ``$recursiveRef``, ``$ref`` to another document or
to an anchor, and patterns using lookaround, backreferences or inline flags. A node with an
``example`` is never looked at further, so adding one (or an override for that path) is the way
around any of them.
"""

from __future__ import annotations

import base64
import copy
import difflib
import functools
import json
import math
import os
import random
import re
import string
import threading
import uuid
import warnings
import weakref
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, replace
from datetime import date, datetime, timedelta, timezone
from fractions import Fraction
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import unquote

import yaml

from ._config import current_settings
from .exceptions import ConfigError, SchemaError

if TYPE_CHECKING:
    import boto3

__all__ = [
    "DEFAULT_ACCOUNT",
    "DEFAULT_DETAIL_TYPE",
    "DEFAULT_SOURCE",
    "RECURSION_LIMIT",
    "EventSchema",
    "clear_schema_cache",
    "eventbridge_envelope",
    "load_schema",
    "mock_event",
    "to_json_schema",
    "to_put_events_entry",
]

#: How many times one schema may appear on a single path from the root before recursion is cut.
RECURSION_LIMIT = 2
#: The account an envelope gets when none is given (the one moto uses too).
DEFAULT_ACCOUNT = "123456789012"
#: Source and detail-type of an envelope when neither the caller nor the schema names them.
DEFAULT_SOURCE = "iatk.mock"
DEFAULT_DETAIL_TYPE = "iatk.mock"

OPENAPI3 = "OpenApi3"
JSON_SCHEMA_DRAFT4 = "JSONSchemaDraft4"
_SCHEMA_TYPES = (OPENAPI3, JSON_SCHEMA_DRAFT4)
_DRAFT4_URI = "http://json-schema.org/draft-04/schema#"
_DRAFT2020_URI = "https://json-schema.org/draft/2020-12/schema"
_SOURCE_EXT = "x-amazon-events-source"
_DETAIL_TYPE_EXT = "x-amazon-events-detail-type"
_ENVELOPE_KEYS = ("version", "id", "detail-type", "source", "account", "time", "region", "resources", "detail")
_SEEDED_EPOCH = datetime(2024, 1, 1, tzinfo=timezone.utc)
_MAX_DEPTH = 200  # nested nodes; only a pathological schema gets near it
_LISTED = 30  # names shown in a "what exists" list
_SUFFIX_CHARS = string.ascii_lowercase + string.digits
_NICE_CHARS = frozenset(string.ascii_letters + string.digits + "-_.")
_UNSUPPORTED = ("not", "if", "$dynamicRef", "$recursiveRef")
_NAME_MAPS = frozenset({"properties", "patternProperties", "definitions", "$defs", "dependentSchemas", "schemas"})
_VALUE_KEYWORDS = frozenset({"enum", "const", "example", "examples", "default"})
_MISSING: Any = object()


# --------------------------------------------------------------------------------------------
# Loading


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
                return pointer, _resolve_pointer(self.document, pointer)
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
            return pointer, _resolve_pointer(self.document, pointer)
        return "#", self.document

    def json_schema(self, event_ref: str | None = None) -> dict[str, Any]:
        """This schema's event root as a standalone JSON Schema; see :func:`to_json_schema`."""
        return to_json_schema(self, event_ref)

    def _components_text(self, near: str | None) -> str:
        names = self.components
        if not names:
            return "it has no named components (components.schemas / definitions)"
        ordered = _closest_first(near.rsplit("/", 1)[-1] if near else "", names)
        return f"components: {_listing(ordered)}"


_registry_cache: weakref.WeakKeyDictionary[Any, dict[tuple[str, str, str | None], EventSchema]] = (
    weakref.WeakKeyDictionary()
)
_cache_lock = threading.Lock()


def clear_schema_cache() -> None:
    """Forget every registry schema read so far (they are cached per session for the process)."""
    with _cache_lock:
        _registry_cache.clear()
        _dir_cache.clear()


def load_schema(
    registry: str | None = None,
    schema: str | EventSchema | None = None,
    version: str | int | None = None,
    *,
    schema_file: str | os.PathLike[str] | None = None,
    schema_text: str | Mapping[str, Any] | None = None,
    session: boto3.Session | None = None,
) -> EventSchema:
    """Read an event schema from exactly one source.

    Registry schemas are cached per session for the life of the process (``clear_schema_cache()``
    forgets them); files and text are read on each call.

    On the embedded moto backend, which has no Schema Registry, registry schemas come from the
    ``schema_dir`` setting's folder (``--iatk-schema-dir``, ini ``iatk_schema_dir``, env
    ``IATK_SCHEMA_DIR``; a relative path is read from the current directory):
    ``<dir>/<registry>/<schema>.json`` (or ``.yaml`` / ``.yml``) serves every version, and
    ``<dir>/<registry>/<schema>/<version>.json`` one version (with no version asked, the highest
    one, when there is no unversioned file). They are cached like registry schemas. On AWS the
    setting is not used: the registry is read.

    Args:
        registry: Schema Registry name (``"discovered-schemas"``, ``"aws.events"``...).
        schema: The schema name in ``registry``; or an :class:`EventSchema` already loaded.
        version: The schema version; None reads the latest.
        schema_file: A local ``.json`` / ``.yaml`` schema file.
        schema_text: The schema itself, as JSON or YAML text (a parsed dict is accepted too).
        session: boto3 session for the registry (default: the run's session).

    Returns:
        The parsed :class:`EventSchema`.

    Raises:
        ConfigError: No source, more than one, or a registry without a schema name (or the reverse);
            a registry schema asked for on the embedded moto backend with no ``schema_dir`` set (or
            one that is not a folder).
        SchemaError: The registry, schema, version or file does not exist (the message lists what
            does, in the registry or in the schema dir), or the document cannot be parsed.
        AwsError: Another AWS failure (permissions, throttling).

    IAM permissions: ``schemas:DescribeSchema``; to explain a not-found error also
    ``schemas:ListSchemaVersions``, ``schemas:ListSchemas`` and ``schemas:ListRegistries``.
    """
    if isinstance(schema, EventSchema):
        extra = _given(registry=registry, version=version, schema_file=schema_file, schema_text=schema_text)
        if extra:
            raise ConfigError(f"schema= is an EventSchema already loaded; do not also pass {', '.join(extra)}")
        return schema
    sources = []
    if registry is not None or schema is not None or version is not None:
        sources.append(" + ".join(_given(registry=registry, schema=schema, version=version)))
    if schema_file is not None:
        sources.append(f"schema_file={str(schema_file)!r}")
    if schema_text is not None:
        sources.append("schema_text=...")
    if len(sources) != 1:
        got = f"got {len(sources)}: {'; '.join(sources)}" if sources else "got none"
        raise ConfigError(
            f"exactly one schema source is needed, {got}. Pass registry= and schema= (Schema "
            "Registry, optional version=), or schema_file= (a JSON or YAML file), or schema_text= (the schema)"
        )
    if schema_file is not None:
        return EventSchema.from_file(schema_file)
    if schema_text is not None:
        if isinstance(schema_text, Mapping):
            return EventSchema.from_document(schema_text, origin="schema_text")
        if not isinstance(schema_text, str):
            raise ConfigError(f"schema_text must be JSON or YAML text; got {type(schema_text).__name__}")
        return EventSchema.from_text(schema_text)
    if not registry or not isinstance(registry, str):
        hint = ""
        if isinstance(schema, str) and (schema.endswith((".json", ".yaml", ".yml")) or os.path.isfile(schema)):
            hint = f"; for a local file use schema_file={schema!r}"
        raise ConfigError(
            f"schema={schema!r} needs registry= (the Schema Registry name, e.g. 'discovered-schemas' "
            f"or 'aws.events'){hint}"
        )
    if not schema or not isinstance(schema, str):
        raise ConfigError(
            f"registry={registry!r} needs schema= (the schema name), e.g. "
            f"mock_event(registry={registry!r}, schema='MyEvent')"
        )
    return _registry_schema(registry, schema, None if version is None else str(version), session)


def _given(**values: Any) -> list[str]:
    return [f"{name}={value!r}" for name, value in values.items() if value is not None]


def _registry_schema(registry: str, name: str, version: str | None, session: boto3.Session | None) -> EventSchema:
    from botocore.exceptions import BotoCoreError, ClientError

    from ._aws import aws, error_code, wrap

    ctx = aws(session)
    if ctx.embedded:
        folder = current_settings().schema_dir
        if folder:
            return _schema_dir_schema(ctx.session, Path(folder), registry, name, version)
        raise ConfigError(
            f"the embedded moto backend has no Schema Registry (moto lacks the schemas service), so "
            f"registry={registry!r} schema={name!r} cannot be read. Save the schema to a file (`aws schemas "
            f"describe-schema --registry-name {registry} --schema-name {name} --query Content --output text "
            f"> schemas/{registry}/{name}.json`) and either point --iatk-schema-dir (ini iatk_schema_dir, env "
            "IATK_SCHEMA_DIR) at the schemas/ folder, which then stands in for the registry, or pass "
            "schema_file= with the file"
        )
    key = (registry, name, version)
    with _cache_lock:
        found = _registry_cache.get(ctx.session, {}).get(key)
    if found is not None:
        return found
    request: dict[str, Any] = {"RegistryName": registry, "SchemaName": name}
    if version is not None:
        request["SchemaVersion"] = version
    try:
        response = ctx.schemas.describe_schema(**request)
    except ClientError as err:
        if error_code(err) != "NotFoundException":
            raise wrap(err, f"schemas:DescribeSchema registry={registry!r} schema={name!r} failed") from err
        raise _explain_not_found(ctx, registry, name, version, err) from err
    except BotoCoreError as err:
        raise wrap(err, f"schemas:DescribeSchema registry={registry!r} schema={name!r} failed") from err
    loaded = EventSchema.from_api(response, registry=registry)
    with _cache_lock:
        per_session = _registry_cache.setdefault(ctx.session, {})
        per_session[key] = loaded
        per_session[(registry, name, loaded.version)] = loaded
    return loaded


_SCHEMA_SUFFIXES = (".json", ".yaml", ".yml")
_dir_cache: weakref.WeakKeyDictionary[Any, dict[tuple[str, str, str, str | None], EventSchema]] = (
    weakref.WeakKeyDictionary()
)


def _schema_files(folder: Path) -> dict[str, Path]:
    """The schema files directly in ``folder``, by name without the suffix (.json before .yaml, .yml)."""
    found: dict[str, Path] = {}
    for suffix in _SCHEMA_SUFFIXES:
        for path in sorted(folder.iterdir()):
            if path.suffix.lower() == suffix and path.is_file():
                found.setdefault(path.stem, path)
    return found


def _version_order(version: str) -> tuple[int, str]:
    return (len(version), version)  # numeric versions ("2" < "10") without failing on others


def _schema_dir_schema(session: Any, folder: Path, registry: str, name: str, version: str | None) -> EventSchema:
    """A registry schema read from the schema dir (the embedded backend's stand-in for the registry).

    Layout: ``<dir>/<registry>/<schema>.json`` (or ``.yaml`` / ``.yml``) serves every version;
    ``<dir>/<registry>/<schema>/<version>.json`` serves one version, and with no version asked the
    highest one is read when there is no unversioned file. Read once per session, as registry
    schemas are.
    """
    asked = f"schema {name!r}" + (f" version {version!r}" if version else "") + f" in registry {registry!r}"
    for what, part in (("registry", registry), ("schema", name), ("version", version)):
        if part is not None and (part in {".", ".."} or "/" in part or "\\" in part or "\0" in part):
            raise SchemaError(f"{what} name {part!r} cannot name a file in the schema dir ({asked})")
    root = folder.resolve()
    key = (str(root), registry, name, version)
    with _cache_lock:
        found = _dir_cache.get(session, {}).get(key)
    if found is not None:
        return found
    where = (
        f"schema dir {str(folder)!r} (the embedded backend's stand-in for the Schema Registry, set by "
        "--iatk-schema-dir, ini iatk_schema_dir or IATK_SCHEMA_DIR"
        + (f"; relative to {os.getcwd()!r})" if not folder.is_absolute() else ")")
    )
    if not root.is_dir():
        raise ConfigError(f"{where} is not a folder, so {asked} cannot be read")
    registry_dir = root / registry
    if not registry_dir.is_dir():
        registries = [p.name for p in root.iterdir() if p.is_dir()]
        raise SchemaError(
            f"{asked} not found: no folder {registry!r} in the {where}; registries (folders): "
            f"{_listing(_closest_first(registry, registries))}",
            code="NotFoundException",
        )
    flat = _schema_files(registry_dir).get(name)
    versions_dir = registry_dir / name
    versions = _schema_files(versions_dir) if versions_dir.is_dir() else {}
    chosen: str | None = None
    path: Path | None
    if version is not None and version in versions:
        path, chosen = versions[version], version
    elif flat is not None:
        path = flat
    elif version is None and versions:
        chosen = max(versions, key=_version_order)
        path = versions[chosen]
    else:
        path = None
    if path is None:
        if versions:
            listed = _listing(sorted(versions, key=_version_order))
            raise SchemaError(
                f"{asked} not found in the {where}; versions (files in {str(versions_dir)!r}): {listed}. "
                "Pass one of them, or version=None for the highest",
                code="NotFoundException",
            )
        schemas = set(_schema_files(registry_dir)) | {p.name for p in registry_dir.iterdir() if p.is_dir()}
        raise SchemaError(
            f"{asked} not found in the {where}: no file {name}.json, .yaml or .yml in {str(registry_dir)!r}; "
            f"schemas there: {_listing(_closest_first(name, schemas))}",
            code="NotFoundException",
        )
    loaded = EventSchema.from_file(path)
    loaded = replace(
        loaded,
        origin=f"registry {registry!r} schema {name!r} version {chosen!r} (file {str(path)!r} in the schema dir)",
        registry=registry,
        name=name,
        version=chosen,
    )
    with _cache_lock:
        _dir_cache.setdefault(session, {})[key] = loaded
    return loaded


def _explain_not_found(ctx: Any, registry: str, name: str, version: str | None, cause: Exception) -> SchemaError:
    """Find which of registry, schema or version is missing, and list what exists at that level."""
    from botocore.exceptions import BotoCoreError, ClientError

    from ._aws import error_message

    asked = f"schema {name!r}" + (f" version {version!r}" if version else "") + f" in registry {registry!r}"
    client = ctx.schemas
    try:
        if version is not None:
            try:
                versions = [
                    str(item["SchemaVersion"])
                    for page in client.get_paginator("list_schema_versions").paginate(
                        RegistryName=registry, SchemaName=name
                    )
                    for item in page.get("SchemaVersions", [])
                ]
            except ClientError as err:
                if err.response.get("Error", {}).get("Code") != "NotFoundException":
                    raise
            else:
                ordered = sorted(versions, key=lambda v: (len(v), v))
                return SchemaError(
                    f"{asked} not found; versions: {_listing(ordered)}. "
                    "Pass one of them, or version=None for the latest",
                    code="NotFoundException",
                )
        schemas: list[str] | None
        try:
            schemas = [
                str(item["SchemaName"])
                for page in client.get_paginator("list_schemas").paginate(RegistryName=registry)
                for item in page.get("Schemas", [])
            ]
        except ClientError as err:
            if err.response.get("Error", {}).get("Code") != "NotFoundException":
                raise
            schemas = None
        if not schemas:
            registries = [
                str(item["RegistryName"])
                for page in client.get_paginator("list_registries").paginate()
                for item in page.get("Registries", [])
            ]
            if registry not in registries:
                return SchemaError(
                    f"{asked} not found: there is no registry {registry!r} in {ctx.region}; registries: "
                    f"{_listing(_closest_first(registry, registries))}",
                    code="NotFoundException",
                )
            schemas = schemas or []
        return SchemaError(
            f"{asked} not found; schemas in {registry!r}: {_listing(_closest_first(name, schemas))}",
            code="NotFoundException",
        )
    except (ClientError, BotoCoreError) as err:
        return SchemaError(
            f"{asked} not found ({error_message(cause)}); listing what exists failed too: {error_message(err)}",
            code="NotFoundException",
        )


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
    else:
        try:
            document = yaml.load(text, Loader=_JsonishLoader)  # noqa: S506 - a SafeLoader subclass
        except yaml.YAMLError as err:
            raise SchemaError(f"{origin} is not valid YAML: {err}") from err
    if not isinstance(document, dict):
        raise SchemaError(f"{origin} must hold a JSON object (a schema document); got {type(document).__name__}")
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


def _resolve_pointer(document: Any, pointer: str) -> Any:
    """The node at a local ref (``#`` or ``#/a/b``); KeyError when absent, ValueError when not local."""
    if pointer in ("#", ""):
        return document
    if not pointer.startswith("#/"):
        raise ValueError(pointer)
    node = document
    for raw in pointer[2:].split("/"):
        part = unquote(raw).replace("~1", "/").replace("~0", "~")
        if isinstance(node, Mapping) and part in node:
            node = node[part]
        elif isinstance(node, list) and part.isdigit() and int(part) < len(node):
            node = node[int(part)]
        else:
            raise KeyError(part)
    return node


def _closest_first(name: str, names: Iterable[str]) -> list[str]:
    every = sorted(set(names))
    close = difflib.get_close_matches(name, every, n=5, cutoff=0.5) if name else []
    return close + [n for n in every if n not in close]


def _listing(names: list[str]) -> str:
    if not names:
        return "(none)"
    shown = ", ".join(names[:_LISTED])
    return shown if len(names) <= _LISTED else f"{shown} ... ({len(names)} in all)"


# --------------------------------------------------------------------------------------------
# Generation


class _Recursion(Exception):
    """A recursive ``$ref`` hit the limit; whoever can leave the value out catches it."""

    def __init__(self, ref: str, pointer: str, path: str) -> None:
        super().__init__(ref)
        self.ref = ref
        self.pointer = pointer
        self.path = path


class _Generator:
    """One event's generation: the rng, the refs being expanded, and where merged nodes came from."""

    def __init__(self, schema: EventSchema, *, seed: int | None, skip_optional: bool) -> None:
        self.schema = schema
        self.document = schema.document
        self.seed = 0 if seed is None else seed
        self.rng = random.Random(f"{self.seed}|$")
        self.fresh = seed is None
        self.skip_optional = skip_optional
        self.now = datetime.now(timezone.utc).replace(microsecond=0)
        self.active: list[str] = []
        self.where: dict[int, str] = {}
        self.depth = 0

    # -- errors and lookups

    def error(self, pointer: str, path: str, message: str) -> SchemaError:
        return SchemaError(f"{self.schema.origin}: {message} (schema {pointer}, event path {path})")

    def unsupported(self, pointer: str, path: str, what: str) -> SchemaError:
        return self.error(
            pointer,
            path,
            f"{what} is not supported by the mock event generator; add an `example` to that schema node, "
            "or pass overrides= with a value for that event path",
        )

    def locate(self, node: Any, fallback: str) -> str:
        return self.where.get(id(node), fallback)

    def deref(self, ref: Any, pointer: str, path: str) -> tuple[str, Any]:
        if not isinstance(ref, str):
            raise self.error(pointer, path, f"$ref must be a string, found {ref!r}")
        if not (ref == "#" or ref.startswith("#/")):
            raise self.unsupported(f"{pointer}/$ref", path, f"$ref {ref!r} (another document or an anchor)")
        try:
            return ref, _resolve_pointer(self.document, ref)
        except KeyError:
            raise self.error(
                pointer, path, f"$ref {ref!r} points nowhere; {self.schema._components_text(ref)}"
            ) from None

    @contextmanager
    def stream(self, key: str) -> Iterator[None]:
        """A random stream of its own for each event path: values elsewhere do not depend on this one."""
        saved = self.rng
        self.rng = random.Random(f"{self.seed}|{key}")
        try:
            yield
        finally:
            self.rng = saved

    # -- the walk

    def generate(self, node: Any, pointer: str, path: str, name: str | None, override: Any) -> Any:
        self.depth += 1
        try:
            if self.depth > _MAX_DEPTH:
                raise self.error(pointer, path, f"the schema nests deeper than {_MAX_DEPTH} levels")
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
            return self._generate_merged(merged, pointer, path, name, override)
        finally:
            self._leave(refs)

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
        kind = node.get("type")
        nullable = node.get("nullable") is True
        if isinstance(kind, list):
            nullable = nullable or "null" in kind
            others = [k for k in kind if k != "null"]
            kind = others[0] if others else "null"
        if kind is None:
            kind = _infer_type(node)
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
                raise self.unsupported(f"{pointer}/{key}", path, f"two `{key}` lists under one allOf")
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
        last: _Recursion | None = None
        for index, branch in enumerate(branches):
            branch_pointer = self.locate(branch, f"{pointer}/{key}/{index}")
            combined = {"allOf": [rest, branch]} if rest else branch
            try:
                value = self.generate(combined, branch_pointer if not rest else pointer, path, name, override)
            except _Recursion as err:
                last = err
                continue
            return self._discriminate(node, branch, value)
        assert last is not None  # the loop ran at least once and every branch recursed
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
        if "example" in node:
            return True, copy.deepcopy(node["example"])
        examples = node.get("examples")
        if isinstance(examples, list) and examples:
            return True, copy.deepcopy(examples[0])
        if "default" in node:
            return True, copy.deepcopy(node["default"])
        if "enum" in node:
            enum = node["enum"]
            if not isinstance(enum, list) or not enum:
                raise self.error(f"{pointer}/enum", path, "enum must be a non-empty list")
            return True, copy.deepcopy(enum[0])
        if "const" in node:
            return True, copy.deepcopy(node["const"])
        return False, None

    # -- objects

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
            if not needed and self.skip_optional and prop not in overrides:
                skipped.append(prop)
                continue
            add(prop, sub, self.locate(sub, f"{pointer}/properties/{_escape(prop)}"), needed)
        for prop in required:
            if prop not in props:
                add(prop, *schema_for(prop), True)
        if not props and not patterns and isinstance(extra, Mapping) and not required and not self.skip_optional:
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
            if extra is False:
                raise self.error(pointer, path, f"minProperties {least} cannot be met: additionalProperties is false")
            before = len(out)
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
        count = max(least, len(prefix)) if prefix else max(least, 1) if rest is not None else least
        if most is not None:
            count = min(count, most)
        if count < least:
            raise self.error(pointer, path, f"minItems {least} is more than maxItems {most}")
        contains = node.get("contains")
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
            for attempt in range(12 if unique else 1):
                try:
                    with self.stream(f"{path}[{index}]" + (f"~{attempt}" if attempt else "")):
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

    # -- scalars

    def string(self, node: Mapping[str, Any], pointer: str, path: str, name: str | None) -> str:
        least = int(node.get("minLength", 0))
        most = None if node.get("maxLength") is None else int(node["maxLength"])
        if most is not None and most < least:
            raise self.error(pointer, path, f"minLength {least} is more than maxLength {most}")
        fmt, pattern = node.get("format"), node.get("pattern")
        if fmt in _FORMATS:
            # A format value that also meets the length and the pattern satisfies every keyword; only
            # when none does is the pattern (or the plain length rule below) left to win.
            checker = _pattern_checker(pattern) if isinstance(pattern, str) else None
            for value in self._format_candidates(fmt, name, least, most, tries=1 if pattern is None else 8):
                if pattern is None or (checker is not None and checker.search(value)):
                    return value
        if pattern is not None:
            return self._pattern(pattern, least, most, pointer, path)
        value = self._formatted(fmt, name)
        if len(value) < least:
            value += "".join(self.rng.choice(_SUFFIX_CHARS) for _ in range(least - len(value)))
        if most is not None and len(value) > most:
            value = value[:most]
        return value

    def _format_candidates(self, fmt: str, name: str | None, least: int, most: int | None, tries: int) -> Iterator[str]:
        """Values of format ``fmt`` within the length bounds; later tries draw other times, ids, hosts."""
        for attempt in range(tries):
            value = self._formatted(fmt, name, fresh=self.fresh and attempt == 0)
            if least <= len(value) and (most is None or len(value) <= most):
                yield value
            else:
                yield from self._resized(fmt, value, least, most)

    def _resized(self, fmt: str, value: str, least: int, most: int | None) -> Iterator[str]:
        """``value`` made longer or shorter by its free part (an email's local part, a URI's path...)."""
        if fmt == "byte":  # base64 comes in blocks of 4 characters for 3 bytes
            size = max(4, -(-least // 4) * 4)
            if most is None or size <= most:
                text = base64.b64decode(value).decode() * (size // 3 + 1)
                yield base64.b64encode(text[: size // 4 * 3].encode()).decode()
            return
        shapes = _RESIZABLE.get(fmt, ())
        if not shapes:
            return
        head, tail = shapes[0]
        free = value[len(head) : len(value) - len(tail)]
        cap = 63 if fmt in ("hostname", "idn-hostname") else None  # a DNS label
        for head, tail in shapes:
            low = max(1, least - len(head) - len(tail))
            high = None if most is None else most - len(head) - len(tail)
            if cap is not None:
                high = cap if high is None else min(high, cap)
            if high is not None and high < low:
                continue
            text = free if high is None else free[:high].rstrip("-./")
            while len(text) < low:
                text += self.rng.choice(_SUFFIX_CHARS)
            yield f"{head}{text}{tail}"

    def _formatted(self, fmt: Any, name: str | None, *, fresh: bool | None = None) -> str:
        rng = self.rng
        moment = _SEEDED_EPOCH + timedelta(seconds=rng.randrange(366 * 86400))
        fresh = self.fresh if fresh is None else fresh
        if fresh:
            moment = self.now
        word = re.sub(r"[^A-Za-z0-9]+", "-", name or "").strip("-") or "string"
        suffix = "".join(rng.choice(_SUFFIX_CHARS) for _ in range(4))
        if fmt == "date-time":
            return moment.strftime("%Y-%m-%dT%H:%M:%SZ")
        if fmt == "date":
            return moment.strftime("%Y-%m-%d")
        if fmt == "time":
            return moment.strftime("%H:%M:%SZ")
        if fmt == "uuid":
            bits = rng.getrandbits(128)
            return str(uuid.uuid4() if fresh else uuid.UUID(int=bits, version=4))
        if fmt in ("email", "idn-email"):
            return f"{word.lower()}.{suffix}@example.com"
        if fmt in ("uri", "url", "iri", "uri-reference", "iri-reference"):
            return f"https://example.com/{word.lower()}/{suffix}"
        if fmt in ("hostname", "idn-hostname"):
            return f"{word.lower()}-{suffix}.example.com"
        if fmt == "ipv4":
            return f"192.0.2.{rng.randint(1, 254)}"  # TEST-NET-1, reserved for documentation
        if fmt == "ipv6":
            return f"2001:db8::{rng.randint(1, 0xFFFF):x}"
        if fmt == "byte":
            return base64.b64encode(f"{word}-{suffix}".encode()).decode()
        if fmt == "duration":
            return f"PT{rng.randint(1, 59)}M"
        return f"{word}-{suffix}"

    def _pattern(self, pattern: Any, least: int, most: int | None, pointer: str, path: str) -> str:
        if not isinstance(pattern, str):
            raise self.error(f"{pointer}/pattern", path, f"pattern must be a string, found {pattern!r}")
        try:
            tree, compiled = _read_pattern(pattern)
        except (re.error, _RegexUnsupported) as err:
            raise self.unsupported(f"{pointer}/pattern", path, f"pattern {pattern!r} ({err})") from None
        shortest, longest = _span(tree)
        low = max(shortest, min(least, longest))
        high = min(longest, most if most is not None else low + 8)
        for _attempt in range(20):
            value = _emit(tree, self.rng, self.rng.randint(int(low), int(max(low, high))))
            if len(value) < least and not _has_anchor_end(pattern):
                value += "".join(self.rng.choice(_SUFFIX_CHARS) for _ in range(least - len(value)))
            if least <= len(value) <= (most if most is not None else len(value)) and compiled.search(value):
                return value
        raise self.error(
            f"{pointer}/pattern",
            path,
            f"could not build a string matching {pattern!r} with length {least}..{most}; "
            "add an `example` there or pass overrides= for that event path",
        )

    def number(self, node: Mapping[str, Any], pointer: str, path: str, *, integer: bool) -> int | float:
        low, low_open = _bound(self, node, "minimum", "exclusiveMinimum", pointer=pointer, path=path)
        high, high_open = _bound(self, node, "maximum", "exclusiveMaximum", pointer=pointer, path=path)
        step_raw = node.get("multipleOf")
        if step_raw is not None and (
            isinstance(step_raw, bool) or not isinstance(step_raw, int | float) or step_raw <= 0
        ):
            raise self.error(f"{pointer}/multipleOf", path, f"multipleOf must be a positive number, found {step_raw!r}")
        step = Fraction(str(step_raw)) if step_raw is not None else None
        span = Fraction(100) * (step if step is not None and step > 1 else 1)
        lo = low if low is not None else high - span if high is not None else Fraction(0)
        hi = high if high is not None else lo + span
        if integer or step is not None:
            # candidates are k * unit for integers k; unit = the step (an integer step for integers)
            unit = step if step is not None else Fraction(1)
            if integer and unit.denominator != 1:
                unit = Fraction(unit.numerator)
            first = math.ceil(lo / unit)
            last = math.floor(hi / unit)
            if low_open and first * unit == lo:
                first += 1
            if high_open and last * unit == hi:
                last -= 1
            if first > last:
                raise self.error(pointer, path, f"no {'integer' if integer else 'multiple'} fits the bounds")
            start = self.rng.randint(first, last)
            for k in [start, *range(first, min(last, first + 200) + 1)]:
                value = k * unit
                result: int | float = int(value) if value.denominator == 1 and integer else float(value)
                if step_raw is None or _multiple_ok(result, step_raw):
                    return result
            raise self.error(f"{pointer}/multipleOf", path, f"no number in range passes multipleOf {step_raw}")
        if lo > hi or (lo == hi and (low_open or high_open)):
            raise self.error(pointer, path, "minimum is above maximum")
        value_float = round(self.rng.uniform(float(lo), float(hi)), 2)
        if (
            value_float < lo
            or value_float > hi
            or (low_open and value_float == lo)
            or (high_open and value_float == hi)
        ):
            value_float = float((lo + hi) / 2)
        return value_float


def _bound(
    gen: _Generator, node: Mapping[str, Any], key: str, exclusive_key: str, *, pointer: str, path: str
) -> tuple[Fraction | None, bool]:
    """A bound as an exact fraction, and whether it is exclusive (draft 4 boolean or draft 6 number)."""
    value = node.get(key)
    exclusive = node.get(exclusive_key)
    for keyword, raw in ((key, value), (exclusive_key, exclusive)):
        if raw is not None and not isinstance(raw, bool) and not isinstance(raw, int | float):
            raise gen.error(f"{pointer}/{keyword}", path, f"{keyword} must be a number, found {raw!r}")
    bound = Fraction(str(value)) if value is not None and not isinstance(value, bool) else None
    if isinstance(exclusive, bool):
        return bound, exclusive and bound is not None
    if exclusive is not None:
        other = Fraction(str(exclusive))
        tighter = bound is None or (other >= bound if key == "minimum" else other <= bound)
        if tighter:
            return other, True
    return bound, False


def _multiple_ok(value: int | float, step: int | float) -> bool:
    # the check jsonschema makes, so a float step like 0.01 never yields 0.07 (7.000000000000001 steps)
    if isinstance(step, float):
        quotient = value / step
        return int(quotient) == quotient
    return value % step == 0


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


def _json_key(value: Any) -> str:
    return json.dumps(value, sort_keys=True, default=str)


# --------------------------------------------------------------------------------------------
# A small regex → string generator for JSON Schema `pattern`


class _RegexUnsupported(Exception):
    pass


_CLASS_ESCAPES = {
    "d": string.digits,
    "w": string.ascii_letters + string.digits + "_",
    "s": " ",
    "D": string.ascii_letters,
    "W": "-",
    "S": string.ascii_letters + string.digits,
}
_CHAR_ESCAPES = {"n": "\n", "t": "\t", "r": "\r", "f": "\f", "v": "\v", "0": "\0"}
_DOT = string.ascii_letters + string.digits
_NEGATED_POOL = string.ascii_letters + string.digits + "-_.:/ @"

_Node = tuple[Any, ...]  # ("set", chars) | ("seq", [nodes]) | ("alt", [nodes]) | ("rep", node, lo, hi)


class _RegexParser:
    """Parses the common subset of ECMA-262 regex used in schemas into a tree to emit strings from."""

    def __init__(self, pattern: str) -> None:
        self.text = pattern
        self.at = 0

    def peek(self) -> str:
        return self.text[self.at] if self.at < len(self.text) else ""

    def parse(self) -> _Node:
        node = self.alternation()
        if self.at != len(self.text):
            raise _RegexUnsupported(f"unexpected {self.peek()!r} at {self.at}")
        return node

    def alternation(self) -> _Node:
        branches = [self.sequence()]
        while self.peek() == "|":
            self.at += 1
            branches.append(self.sequence())
        return ("alt", branches) if len(branches) > 1 else branches[0]

    def sequence(self) -> _Node:
        items: list[_Node] = []
        while self.at < len(self.text) and self.peek() not in "|)":
            items.append(self.quantified(self.atom()))
        return ("seq", items)

    def atom(self) -> _Node:
        char = self.text[self.at]
        self.at += 1
        if char == "(":
            if self.text.startswith("?:", self.at):
                self.at += 2
            elif self.text.startswith(("?<", "?P<"), self.at) and not self.text.startswith(("?<=", "?<!"), self.at):
                self.at = self.text.index(">", self.at) + 1
            elif self.peek() == "?":
                raise _RegexUnsupported("lookaround and inline flags")
            inner = self.alternation()
            if self.peek() != ")":
                raise _RegexUnsupported("unbalanced parenthesis")
            self.at += 1
            return inner
        if char == "[":
            return ("set", self.char_class())
        if char == ".":
            return ("set", _DOT)
        if char in "^$":
            return ("seq", [])
        if char == "\\":
            return self.escape(in_class=False)
        if char in "*+?":
            raise _RegexUnsupported(f"nothing to repeat before {char!r}")
        return ("set", char)

    def quantified(self, atom: _Node) -> _Node:
        char = self.peek()
        if char in ("*", "+", "?") and char:
            self.at += 1
            low, high = {"*": (0, None), "+": (1, None), "?": (0, 1)}[char]
        elif char == "{" and (found := re.match(r"\{(\d+)(?:(,)(\d*))?\}", self.text[self.at :])):
            self.at += found.end()
            low = int(found.group(1))
            high = low if not found.group(2) else int(found.group(3)) if found.group(3) else None
        else:
            return atom
        if self.peek() in ("?", "+") and self.peek():
            self.at += 1  # lazy or possessive: same strings
        return ("rep", atom, low, high)

    def escape(self, *, in_class: bool) -> _Node:
        if self.at >= len(self.text):
            raise _RegexUnsupported("trailing backslash")
        char = self.text[self.at]
        self.at += 1
        if char in _CLASS_ESCAPES:
            return ("set", _CLASS_ESCAPES[char])
        if char in _CHAR_ESCAPES:
            return ("set", _CHAR_ESCAPES[char])
        if char in "xu":
            size = 2 if char == "x" else 4
            digits = self.text[self.at : self.at + size]
            if len(digits) != size or not all(c in string.hexdigits for c in digits):
                raise _RegexUnsupported(f"bad \\{char} escape")
            self.at += size
            return ("set", chr(int(digits, 16)))
        if char in "bB" and not in_class:
            return ("seq", [])  # word boundary: zero width
        if char == "b":
            return ("set", "\b")
        if char in "AZz":
            return ("seq", [])
        if char.isdigit() or char in "kpP":
            raise _RegexUnsupported(f"\\{char} (backreferences and unicode classes)")
        return ("set", char)

    def char_class(self) -> str:
        negate = self.peek() == "^"
        if negate:
            self.at += 1
        chars: list[str] = []
        first = True
        while True:
            if self.at >= len(self.text):
                raise _RegexUnsupported("unterminated character class")
            char = self.text[self.at]
            if char == "]" and not first:
                self.at += 1
                break
            first = False
            if char == "\\":
                self.at += 1
                item = self.escape(in_class=True)[1]
            elif self.text.startswith("[:", self.at):
                raise _RegexUnsupported("POSIX classes")
            else:
                self.at += 1
                item = char
            if len(item) == 1 and self.peek() == "-" and self.text[self.at + 1 : self.at + 2] not in ("]", ""):
                self.at += 1
                end_char = self.text[self.at]
                self.at += 1
                if end_char == "\\":
                    end = self.escape(in_class=True)[1]
                    if len(end) != 1:
                        raise _RegexUnsupported("a class escape cannot end a range")
                else:
                    end = end_char
                if ord(end) < ord(item):
                    raise _RegexUnsupported(f"bad range {item}-{end}")
                span = range(ord(item), ord(end) + 1)
                chars.extend(chr(c) for c in span if len(span) <= 512 or chr(c) in _NICE_CHARS)
            else:
                chars.extend(item)
        if negate:
            excluded = set(chars)
            chars = [c for c in _NEGATED_POOL if c not in excluded]
        if not chars:
            raise _RegexUnsupported("an empty character class")
        return "".join(dict.fromkeys(chars))


#: The formats :meth:`_Generator._formatted` writes real values for.
_FORMATS = frozenset(
    {
        "date-time", "date", "time", "uuid", "email", "idn-email", "uri", "url", "iri", "uri-reference",
        "iri-reference", "hostname", "idn-hostname", "ipv4", "ipv6", "byte", "duration",
    }
)  # fmt: skip
_EMAIL_SHAPES = (("", "@example.com"), ("", "@x.io"))
_URI_SHAPES = (("https://example.com/", ""), ("https://x.io/", ""))
#: How a format's value can grow or shrink: (fixed head, fixed tail) around a free middle, roomiest first.
_RESIZABLE: dict[str, tuple[tuple[str, str], ...]] = {
    "email": _EMAIL_SHAPES,
    "idn-email": _EMAIL_SHAPES,
    "uri": _URI_SHAPES,
    "url": _URI_SHAPES,
    "iri": _URI_SHAPES,
    "uri-reference": _URI_SHAPES,
    "iri-reference": _URI_SHAPES,
    "hostname": (("", ".example.com"), ("", "")),
    "idn-hostname": (("", ".example.com"), ("", "")),
}


@functools.lru_cache(maxsize=512)
def _pattern_checker(pattern: str) -> re.Pattern[str] | None:
    """Python's compiled form of a schema pattern, to check a value; None when Python cannot read it."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return re.compile(re.sub(r"\(\?<(?![=!])", "(?P<", pattern))  # ECMA named groups
    except re.error:
        return None


@functools.lru_cache(maxsize=512)
def _read_pattern(pattern: str) -> tuple[_Node, re.Pattern[str]]:
    """The pattern's tree to emit strings from, and Python's compiled form to check them."""
    tree = _RegexParser(pattern).parse()
    compiled = _pattern_checker(pattern)
    if compiled is None:
        raise re.error(f"Python's re cannot compile {pattern!r}")
    return tree, compiled


def _span(node: _Node) -> tuple[int, float]:
    """The shortest and longest strings a regex node matches (the longest may be infinite)."""
    kind = node[0]
    if kind == "set":
        return 1, 1
    if kind in ("seq", "alt"):
        spans = [_span(part) for part in node[1]]
        if not spans:
            return 0, 0
        if kind == "seq":
            return sum(lo for lo, _ in spans), sum(hi for _, hi in spans)
        return min(lo for lo, _ in spans), max(hi for _, hi in spans)
    child_lo, child_hi = _span(node[1])
    low, high = node[2], node[3]
    if high is None:
        return low * child_lo, math.inf if child_hi > 0 else 0
    return low * child_lo, high * child_hi


def _split(total: int, parts: list[tuple[int, float]], rng: random.Random) -> list[int]:
    """Share ``total`` characters among parts, each within its span, in random order."""
    shares = [lo for lo, _ in parts]
    left = total - sum(shares)
    order = list(range(len(parts)))
    rng.shuffle(order)
    for index in order:  # a random share each, then whatever is left to whoever has room
        give = int(min(parts[index][1] - shares[index], left))
        if give > 0:
            give = rng.randint(1, give)
            shares[index] += give
            left -= give
    for index in order:
        give = int(min(parts[index][1] - shares[index], left))
        if give > 0:
            shares[index] += give
            left -= give
    return shares


def _emit(node: _Node, rng: random.Random, target: int) -> str:
    """A string matching ``node``, as close to ``target`` characters as the node allows."""
    kind = node[0]
    if kind == "set":
        chars: str = node[1]
        nice = [c for c in chars if c in _NICE_CHARS]
        return rng.choice(nice or chars)
    if kind == "seq":
        parts = node[1]
        shares = _split(target, [_span(part) for part in parts], rng)
        return "".join(_emit(part, rng, share) for part, share in zip(parts, shares, strict=True))
    if kind == "alt":
        spans = [(branch, _span(branch)) for branch in node[1]]
        fitting = [(b, s) for b, s in spans if s[0] <= target <= s[1]]
        branch, (lo, hi) = rng.choice(fitting or spans)
        return _emit(branch, rng, int(min(max(target, lo), hi)))
    child = node[1]
    child_lo, child_hi = _span(child)
    low = node[2]
    high = math.inf if node[3] is None else node[3]
    if child_hi == 0:
        return "".join(_emit(child, rng, 0) for _ in range(low))
    fewest = max(low, math.ceil(target / child_hi))
    most = min(high, target // child_lo if child_lo else fewest + 3)
    count = int(min(max(low, fewest), high)) if fewest > most else rng.randint(fewest, int(min(most, fewest + 3)))
    shares = _split(target, [(child_lo, child_hi)] * count, rng) if count else []
    return "".join(_emit(child, rng, int(min(max(share, child_lo), child_hi))) for share in shares)


def _has_anchor_end(pattern: str) -> bool:
    return pattern.endswith("$") and not pattern.endswith("\\$")


# --------------------------------------------------------------------------------------------
# The public entry points


def mock_event(
    registry: str | None = None,
    schema: str | EventSchema | None = None,
    version: str | int | None = None,
    *,
    schema_file: str | os.PathLike[str] | None = None,
    schema_text: str | Mapping[str, Any] | None = None,
    event_ref: str | None = None,
    skip_optional: bool = False,
    overrides: Mapping[str, Any] | None = None,
    contexts: Iterable[Callable[[dict[str, Any]], dict[str, Any]]] | Callable[[dict[str, Any]], dict[str, Any]] = (),
    seed: int | None = None,
    session: boto3.Session | None = None,
) -> dict[str, Any]:
    """Generate an event that validates against an EventBridge schema.

    Give exactly one source: ``registry`` + ``schema`` (+ ``version``), ``schema_file`` or
    ``schema_text``. The value rules are in this module's docstring.

    When the root is an EventBridge envelope (``AWSEvent``: ``detail`` plus envelope properties),
    plain envelope fields get real-looking values: ``source`` and ``detail-type`` from the schema's
    ``x-amazon-events-source`` / ``x-amazon-events-detail-type``, ``id`` a uuid, ``account``
    :data:`DEFAULT_ACCOUNT`, ``region`` the session's, ``version`` ``"0"`` and ``resources`` ``[]``.

    Args:
        registry: Schema Registry name (on the embedded backend: a folder of the ``schema_dir``
            setting, see :func:`load_schema`).
        schema: Schema name in ``registry``, or an :class:`EventSchema` from :func:`load_schema`.
        version: Schema version (None: the latest).
        schema_file: A JSON or YAML schema file.
        schema_text: The schema as JSON or YAML text (or a parsed dict).
        event_ref: The event root: a component name or a ``#/...`` pointer. Default: ``AWSEvent``,
            else the only OpenAPI component, else the JSON Schema root.
        skip_optional: Leave out every property that is not required.
        overrides: Deep-merged onto the event: mappings merge key by key, any other value replaces.
            A non-mapping override also stands in for its schema node, which is then not generated,
            and a mapping override brings in an optional property even with ``skip_optional``.
        contexts: Functions ``event -> event`` applied in order after the overrides (aws-iatk's
            ``contexts``); a list, tuple, any iterable, or a single function.
        seed: Makes the event reproducible; None: as seed 0, but times are now and uuids fresh.
        session: boto3 session for the registry (default: the run's session).

    Returns:
        The event, a new ``dict`` each call.

    Raises:
        ConfigError: Bad or missing source arguments, overrides that are not a mapping.
        SchemaError: Schema, version or registry not found (the message lists what exists), an
            unknown ``event_ref`` (lists components), or a construct that cannot be generated (names
            its JSON pointer).
        TypeError: A context is not callable, returns something other than a dict (``None``
            included), or returns an event that is not JSON-serializable.
        AwsError: Another AWS failure reading the registry.

    IAM permissions: ``schemas:DescribeSchema`` for registry schemas (plus ``schemas:ListSchemaVersions``,
    ``schemas:ListSchemas``, ``schemas:ListRegistries`` to explain a not-found error).
    """
    if overrides is not None and not isinstance(overrides, Mapping):
        raise ConfigError(
            f"overrides must be a mapping (dict) deep-merged onto the event; got {type(overrides).__name__}"
        )
    appliers = _context_list(contexts)
    loaded = load_schema(registry, schema, version, schema_file=schema_file, schema_text=schema_text, session=session)
    pointer, root = loaded.root(event_ref)
    generator = _Generator(loaded, seed=seed, skip_optional=skip_optional)
    generator.active.append(pointer)
    generated: Any
    try:
        generated = generator.generate(root, pointer, "$", None, overrides if overrides is not None else _MISSING)
    except _Recursion as err:
        raise SchemaError(
            f"{loaded.origin}: the recursion through {err.ref} cannot end: every path back to it is required "
            f"(schema {err.pointer}, event path {err.path}). Make one link optional or nullable, or pass "
            "overrides= with a value for that path"
        ) from None
    if not isinstance(generated, dict):
        raise SchemaError(
            f"{loaded.origin}: the event root {pointer} gives a {type(generated).__name__}, not an object; "
            "pass event_ref= naming the event's schema"
        )
    event: dict[str, Any] = generated
    _fill_envelope(event, generator, root, pointer, session)
    if overrides:
        event = _deep_merge(event, overrides)
        try:
            json.dumps(event)
        except (TypeError, ValueError) as err:
            raise ConfigError(f"overrides make the event non-JSON-serializable: {err}") from err
    for apply in appliers:
        label = getattr(apply, "__qualname__", None) or repr(apply)
        result = apply(event)
        if result is None:
            raise TypeError(
                f"context {label} returned None: a context must return the event (end it with `return event`)"
            )
        if not isinstance(result, Mapping):
            raise TypeError(f"context {label} returned a {type(result).__name__}; a context must return the event dict")
        try:
            json.dumps(result)
        except (TypeError, ValueError) as err:
            raise TypeError(f"context {label} returned an event that is not JSON-serializable: {err}") from err
        event = dict(result)
    return event


def _context_list(contexts: Any) -> list[Callable[[dict[str, Any]], Any]]:
    if contexts is None:
        return []
    if callable(contexts):
        return [contexts]
    if isinstance(contexts, str | bytes | Mapping) or not isinstance(contexts, Iterable):
        raise TypeError(f"contexts must be an iterable of functions event -> event; got {type(contexts).__name__}")
    found = list(contexts)
    for item in found:
        if not callable(item):
            raise TypeError(f"contexts must hold functions event -> event; {item!r} is not callable")
    return found


def _deep_merge(base: dict[str, Any], override: Mapping[str, Any]) -> dict[str, Any]:
    out = dict(base)
    for key, value in override.items():
        current = out.get(key)
        if isinstance(value, Mapping) and isinstance(current, dict):
            out[key] = _deep_merge(current, value)
        else:
            out[key] = _plain(value)
    return out


def _plain(value: Any) -> Any:
    """A JSON-shaped deep copy: mappings become dicts and tuples lists."""
    if isinstance(value, Mapping):
        return {key: _plain(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(item) for item in value]
    return copy.deepcopy(value)


def _plain_node(generator: _Generator, node: Any) -> Mapping[str, Any] | None:
    """The schema of an envelope field if it leaves the value free (no example, enum, const, pattern)."""
    seen = 0
    while isinstance(node, Mapping) and "$ref" in node and seen < 10:
        try:
            node = _resolve_pointer(generator.document, str(node["$ref"]))
        except (KeyError, ValueError):
            return None
        seen += 1
    if not isinstance(node, Mapping):
        return None
    if any(
        k in node for k in ("example", "examples", "default", "enum", "const", "pattern", "allOf", "oneOf", "anyOf")
    ):
        return None
    return node


def _fill_envelope(
    event: dict[str, Any], generator: _Generator, root: Any, pointer: str, session: boto3.Session | None
) -> None:
    """Give an AWSEvent-shaped event real envelope values where its schema leaves them free."""
    if not isinstance(root, Mapping):
        return
    try:
        merged, _ = generator.merge(root, pointer, "$", ())
    except SchemaError:
        return
    props = merged.get("properties")
    if not isinstance(props, Mapping) or "detail" not in props:
        return
    if sum(key in props for key in _ENVELOPE_KEYS) < 3:
        return
    extension_root = merged if (_SOURCE_EXT in merged or _DETAIL_TYPE_EXT in merged) else None
    source = (extension_root or {}).get(_SOURCE_EXT) or generator.schema.source
    detail_type = (extension_root or {}).get(_DETAIL_TYPE_EXT) or generator.schema.detail_type
    bits = generator.rng.getrandbits(128)
    values: dict[str, Any] = {
        "version": "0",
        "id": str(uuid.uuid4() if generator.fresh else uuid.UUID(int=bits, version=4)),
        "account": DEFAULT_ACCOUNT,
        "region": _default_region(session),
    }
    if isinstance(source, str):
        values["source"] = source
    if isinstance(detail_type, str):
        values["detail-type"] = detail_type
    for key, value in values.items():
        field = _plain_node(generator, props.get(key))
        if key in event and field is not None and _free_string(field, value):
            event[key] = value
    resources = _plain_node(generator, props.get("resources"))
    if "resources" in event and resources is not None and not resources.get("minItems"):
        event["resources"] = []
    ordered = {key: event.pop(key) for key in _ENVELOPE_KEYS if key in event}  # EventBridge's order
    ordered.update(event)
    event.clear()
    event.update(ordered)


def _free_string(field: Mapping[str, Any], value: str) -> bool:
    if field.get("type", "string") != "string" or field.get("format"):
        return False
    return int(field.get("minLength", 0)) <= len(value) <= int(field.get("maxLength", len(value)))


def _default_region(session: boto3.Session | None = None) -> str:
    if session is not None and session.region_name:
        return str(session.region_name)
    from ._config import current_settings

    return (
        current_settings().region or os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION") or "us-east-1"
    )


def _now_text() -> str:
    return datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def _time_text(value: datetime | date | str) -> str:
    if isinstance(value, datetime):
        moment = value if value.tzinfo else value.replace(tzinfo=timezone.utc)
        return moment.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
    if isinstance(value, date):
        return f"{value.isoformat()}T00:00:00Z"
    return str(value)


def _is_envelope(value: Mapping[str, Any]) -> bool:
    return "detail" in value and all(key in _ENVELOPE_KEYS or key == "replay-name" for key in value)


def eventbridge_envelope(
    detail_or_event: Mapping[str, Any],
    source: str | None = None,
    detail_type: str | None = None,
    *,
    schema: EventSchema | Mapping[str, Any] | None = None,
    account: str | None = None,
    region: str | None = None,
    time: datetime | str | None = None,
    resources: Iterable[str] | None = None,
    event_id: str | None = None,
    session: boto3.Session | None = None,
) -> dict[str, Any]:
    """Wrap a detail in an EventBridge event, or complete an event's envelope. No AWS call.

    A mapping is taken as an event when it has ``detail`` and only envelope keys (``version``,
    ``id``, ``detail-type``, ``source``, ``account``, ``time``, ``region``, ``resources``,
    ``detail``); anything else is a detail. For each field the first of these wins: the argument,
    the event's own non-empty value, the schema's ``x-amazon-events-*`` (source and detail-type),
    then the default: ``DEFAULT_SOURCE`` / ``DEFAULT_DETAIL_TYPE``, a uuid4 ``id``, ``time`` now
    (RFC 3339, UTC), ``account`` :data:`DEFAULT_ACCOUNT`, ``region`` the session's (else the
    configured one, else ``us-east-1``), ``version`` ``"0"``, ``resources`` ``[]``.

    A detail-only schema gets its source and detail-type from the arguments, or from
    ``schema=`` when that schema carries the ``x-amazon-events-*`` extensions::

        trigger = iatk.load_schema(schema_file="schemas/plugin_trigger.json")
        event = iatk.eventbridge_envelope(iatk.mock_event(schema=trigger), "video.plugin", "PluginTriggered")

    Args:
        detail_or_event: The detail, or an event to complete (not modified).
        source: The event's source.
        detail_type: The event's detail-type.
        schema: An :class:`EventSchema` or schema document to read ``x-amazon-events-*`` from.
        account: The account id.
        region: The region.
        time: A datetime (naive is taken as UTC) or an RFC 3339 text.
        resources: Resource ARNs.
        event_id: The event id.
        session: Only its region is read.

    Returns:
        A new event dict, keys in EventBridge's order.
    """
    if not isinstance(detail_or_event, Mapping):
        raise ConfigError(f"eventbridge_envelope takes a detail or event dict; got {type(detail_or_event).__name__}")
    base = _plain(detail_or_event) if _is_envelope(detail_or_event) else {"detail": _plain(detail_or_event)}
    loaded = EventSchema.from_document(schema) if isinstance(schema, Mapping) else schema
    schema_source = loaded.source if loaded is not None else None
    schema_detail_type = loaded.detail_type if loaded is not None else None
    event: dict[str, Any] = {
        "version": base.get("version") or "0",
        "id": event_id or base.get("id") or str(uuid.uuid4()),
        "detail-type": detail_type or base.get("detail-type") or schema_detail_type or DEFAULT_DETAIL_TYPE,
        "source": source or base.get("source") or schema_source or DEFAULT_SOURCE,
        "account": account or base.get("account") or DEFAULT_ACCOUNT,
        "time": _time_text(time) if time else base.get("time") or _now_text(),
        "region": region or base.get("region") or _default_region(session),
        "resources": list(resources) if resources is not None else base.get("resources") or [],
        "detail": base.get("detail") if base.get("detail") is not None else {},
    }
    event.update({k: v for k, v in base.items() if k not in event})
    return event


def _parse_time(value: Any) -> datetime:
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=timezone.utc)
    text = str(value).strip()
    found = re.match(r"^(\d{4}-\d{2}-\d{2})[Tt ](\d{2}:\d{2}:\d{2})(\.\d+)?([Zz]|[+-]\d{2}:?\d{2})?$", text)
    if not found:
        raise ConfigError(f"event time {value!r} is not RFC 3339 (like 2024-05-01T12:00:00Z)")
    fraction = (found.group(3) or "")[:7].ljust(7, "0") if found.group(3) else ""
    zone = found.group(4) or "Z"
    zone = "+00:00" if zone in ("Z", "z") else zone if ":" in zone else f"{zone[:3]}:{zone[3:]}"
    return datetime.fromisoformat(f"{found.group(1)}T{found.group(2)}{fraction}{zone}")


def to_put_events_entry(
    event: Mapping[str, Any], bus: str = "default", *, trace_header: str | None = None
) -> dict[str, Any]:
    """Turn an EventBridge event (envelope) into a ``PutEvents`` entry (aws-iatk #115).

    Args:
        event: An event with ``source``, ``detail-type`` and a ``detail`` object, as returned by
            :func:`mock_event` for an ``AWSEvent`` schema or by :func:`eventbridge_envelope`.
        bus: ``EventBusName``: a bus name or ARN.
        trace_header: Optional X-Ray ``TraceHeader``.

    Returns:
        ``{"Source", "DetailType", "Detail" (JSON text), "Resources", "EventBusName"}``, plus
        ``"Time"`` (an aware datetime) when the event has a time, and ``"TraceHeader"`` when given.

    Raises:
        ConfigError: The event lacks source, detail-type or an object detail; its detail is not
            JSON-serializable, or its time is not RFC 3339.
    """
    given: Any = event  # checked at run time: callers pass JSON they built
    if not isinstance(given, Mapping) or not isinstance(given.get("detail"), Mapping):
        raise ConfigError(
            "to_put_events_entry needs an EventBridge event with a 'detail' object; wrap a detail first with "
            "iatk.eventbridge_envelope(detail, source=..., detail_type=...)"
        )
    missing = [key for key in ("source", "detail-type") if not isinstance(event.get(key), str) or not event.get(key)]
    if missing:
        raise ConfigError(
            f"to_put_events_entry: the event has no {' or '.join(missing)}; complete it with "
            "iatk.eventbridge_envelope(event, source=..., detail_type=...)"
        )
    try:
        detail = json.dumps(event["detail"], separators=(",", ":"))
    except (TypeError, ValueError) as err:
        raise ConfigError(f"to_put_events_entry: the detail is not JSON-serializable: {err}") from err
    entry: dict[str, Any] = {
        "Source": event["source"],
        "DetailType": event["detail-type"],
        "Detail": detail,
        "Resources": [str(r) for r in event.get("resources") or []],
        "EventBusName": bus,
    }
    if event.get("time"):
        entry["Time"] = _parse_time(event["time"])
    if trace_header:
        entry["TraceHeader"] = trace_header
    return entry


# --------------------------------------------------------------------------------------------
# JSON Schema view, for validating events


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
