"""Where a schema comes from: :func:`load_schema` reads the Schema Registry, the schema dir, a file or text.

Registry and schema dir schemas are cached per session (:func:`clear_schema_cache`); a registry
not-found error says which of registry, schema or version is missing and lists what exists there.
"""

from __future__ import annotations

import os
import threading
import weakref
from collections.abc import Mapping
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from iatk._config import current_settings
from iatk.exceptions import ConfigError, SchemaError

from ._schema import EventSchema, _closest_first, _listing

if TYPE_CHECKING:
    import boto3

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
            f"schema={_shown(schema)} needs registry= (the Schema Registry name, e.g. 'discovered-schemas' "
            f"or 'aws.events'){hint}"
        )
    if not schema or not isinstance(schema, str):
        raise ConfigError(
            f"registry={registry!r} needs schema= (the schema name), e.g. "
            f"mock_event(registry={registry!r}, schema='MyEvent')"
        )
    return _registry_schema(registry, schema, None if version is None else str(version), session)


def _deployed_schema(ctx: Any, registry: str, name: str) -> EventSchema | None:
    """On the embedded backend, a schema a deployed stack defined (``AWS::EventSchemas::Schema``), or None.

    The embedded server stores each one's content in its S3 (:mod:`iatk._backend.moto.cfn_models`).
    """
    import json

    from iatk._backend.moto.cfn_models import SCHEMA_BUCKET

    try:
        stored = json.loads(ctx.s3.get_object(Bucket=SCHEMA_BUCKET, Key=f"{registry}/{name}.json")["Body"].read())
    except Exception:  # no such schema (or bucket): the schema dir may have it
        return None
    content = stored.get("Content")
    response = {
        "SchemaName": name,
        "SchemaVersion": "1",
        "Type": stored.get("Type", "OpenApi3"),
        "Content": content if isinstance(content, str) else json.dumps(content),
    }
    return EventSchema.from_api(response, registry=registry)


def _given(**values: Any) -> list[str]:
    return [f"{name}={_shown(value)}" for name, value in values.items() if value is not None]


def _shown(value: Any) -> str:
    """``repr(value)``, cut to 80 characters; a value too deep for repr() says so."""
    try:
        text = repr(value)
    except RecursionError:
        return f"<a {type(value).__name__} nested too deep to show>"
    return text if len(text) <= 80 else f"{text[:77]}..."


def _registry_schema(registry: str, name: str, version: str | None, session: boto3.Session | None) -> EventSchema:
    from iatk._aws import BOTO_ERRORS, aws, frameless, is_gone, wrap

    ctx = aws(session)
    if ctx.embedded:
        deployed = _deployed_schema(ctx, registry, name)
        if deployed is not None:
            return deployed
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
    except BOTO_ERRORS as err:
        if is_gone(err):  # the schemas service's NotFoundException
            raise _explain_not_found(ctx, registry, name, version, err) from frameless(err)
        raise wrap(err, f"schemas:DescribeSchema registry={registry!r} schema={name!r} failed") from err
    loaded = EventSchema.from_api(response, registry=registry)
    with _cache_lock:
        per_session = _registry_cache.setdefault(ctx.session, {})
        per_session[key] = loaded
        per_session[(registry, name, loaded.version)] = loaded
    return loaded


_dir_cache: weakref.WeakKeyDictionary[Any, dict[tuple[str, str, str, str | None], EventSchema]] = (
    weakref.WeakKeyDictionary()
)


def _schema_dir_schema(session: Any, folder: Path, registry: str, name: str, version: str | None) -> EventSchema:
    """A registry schema read from the schema dir (the embedded backend's stand-in for the registry).

    Layout: ``<dir>/<registry>/<schema>.json`` (or ``.yaml`` / ``.yml``) serves every version;
    ``<dir>/<registry>/<schema>/<version>.json`` serves one version, and with no version asked the
    highest one is read when there is no unversioned file (:class:`~iatk._backend.moto.schemas.SchemaFolder`
    knows the layout; this reads the file and words the errors). Read once per session, as registry
    schemas are.
    """
    from iatk._backend.moto.schemas import SchemaFolder

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
    schemas = SchemaFolder(root)
    if not schemas.registry_dir(registry).is_dir():
        raise SchemaError(
            f"{asked} not found: no folder {registry!r} in the {where}; registries (folders): "
            f"{_listing(_closest_first(registry, schemas.registries()))}",
            code="NotFoundException",
        )
    path, chosen = schemas.find(registry, name, version)
    if path is None:
        versions = schemas.versions(registry, name)
        if versions:
            listed = _listing(list(versions))
            raise SchemaError(
                f"{asked} not found in the {where}; versions (files in "
                f"{str(schemas.versions_dir(registry, name))!r}): {listed}. "
                "Pass one of them, or version=None for the highest",
                code="NotFoundException",
            )
        raise SchemaError(
            f"{asked} not found in the {where}: no file {name}.json, .yaml or .yml in "
            f"{str(schemas.registry_dir(registry))!r}; schemas there: "
            f"{_listing(_closest_first(name, schemas.schemas(registry)))}",
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
    from iatk._aws import BOTO_ERRORS, error_message, is_gone

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
            except BOTO_ERRORS as err:
                if not is_gone(err):
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
        except BOTO_ERRORS as err:
            if not is_gone(err):
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
    except BOTO_ERRORS as err:
        return SchemaError(
            f"{asked} not found ({error_message(cause)}); listing what exists failed too: {error_message(err)}",
            code="NotFoundException",
        )
