"""Local artifacts of a template: what ``aws cloudformation package`` / ``sam package`` would upload.

A template may name code or documents on the local disk instead of in S3:

- plain CloudFormation: ``AWS::Lambda::Function`` ``Code`` and ``AWS::Lambda::LayerVersion``
  ``Content`` given as a path (CloudFormation itself reads only S3 there);
- SAM: ``AWS::Serverless::Function`` ``CodeUri`` (also from ``Globals``),
  ``AWS::Serverless::LayerVersion`` ``ContentUri``, and the ``DefinitionUri`` of state machines and
  APIs.

On the embedded backend ``deploy_stack`` packages them itself (:func:`package_local_artifacts`): a
folder (or a single file) is zipped, with fixed dates so the same code gives the same bytes, for
the server's S3 (bucket :data:`ARTIFACT_BUCKET`, key: the zip's SHA-256), and the property becomes
that S3 location; a ``DefinitionUri`` is read into ``Definition`` (state machines) or
``DefinitionBody`` (APIs), as ``sam package`` inlines it. On AWS a local path is an error that says
how to package (:func:`packaging_error`; :func:`local_artifact_paths` finds them).

Plain Python: no boto3, no moto.
"""

from __future__ import annotations

import copy
import hashlib
import io
import json
import logging
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from iatk.exceptions import ConfigError, DeployError

__all__ = [
    "ARTIFACT_BUCKET",
    "Artifact",
    "LocalPath",
    "local_artifact_paths",
    "package_local_artifacts",
    "packaging_error",
]

log = logging.getLogger("iatk.stack")

#: The bucket on the embedded server's S3 that packaged code and layers are uploaded to.
ARTIFACT_BUCKET = "iatk-artifacts"


@dataclass(frozen=True, slots=True)
class _Kind:
    """What a local path of one (type, property) becomes once packaged."""

    type: str
    property: str
    #: ``"zip"``: an S3 location (``bucket_key`` / ``key_key`` name its fields); otherwise the
    #: property the document read from the file goes into.
    becomes: str
    bucket_key: str = ""
    key_key: str = ""


_KINDS = (
    _Kind("AWS::Lambda::Function", "Code", "zip", "S3Bucket", "S3Key"),
    _Kind("AWS::Lambda::LayerVersion", "Content", "zip", "S3Bucket", "S3Key"),
    _Kind("AWS::Serverless::Function", "CodeUri", "zip", "Bucket", "Key"),
    _Kind("AWS::Serverless::LayerVersion", "ContentUri", "zip", "Bucket", "Key"),
    _Kind("AWS::Serverless::StateMachine", "DefinitionUri", "Definition"),
    _Kind("AWS::Serverless::Api", "DefinitionUri", "DefinitionBody"),
    _Kind("AWS::Serverless::HttpApi", "DefinitionUri", "DefinitionBody"),
)
_GLOBALS_SECTION = {
    "AWS::Serverless::Function": "Function",
    "AWS::Serverless::Api": "Api",
    "AWS::Serverless::HttpApi": "HttpApi",
}


@dataclass(frozen=True, slots=True)
class Artifact:
    """A packaged artifact to upload: its key in :data:`ARTIFACT_BUCKET` and its bytes."""

    key: str
    data: bytes


@dataclass(frozen=True, slots=True)
class LocalPath:
    """A property of a resource that names a local path (what packaging would upload)."""

    logical_id: str
    type: str
    property: str
    path: str

    def __str__(self) -> str:
        return f"{self.logical_id} ({self.type}) {self.property}: {self.path!r}"


def _is_local(value: Any) -> bool:
    return isinstance(value, str) and bool(value) and not value.startswith(("s3://", "https://", "http://"))


def _kind(resource_type: str, prop: str) -> _Kind:
    return next(k for k in _KINDS if k.type == resource_type and k.property == prop)


def local_artifact_paths(body: dict[str, Any]) -> list[LocalPath]:
    """The local paths of a template (plain CloudFormation or SAM, ``Globals`` included) that need packaging."""
    found: list[LocalPath] = []
    globals_ = body.get("Globals") or {}
    for logical_id, resource in (body.get("Resources") or {}).items():
        if not isinstance(resource, dict):
            continue
        props = resource.get("Properties") or {}
        if not isinstance(props, dict):
            continue
        kind = resource.get("Type")
        for item in _KINDS:
            if kind != item.type:
                continue
            value = props.get(item.property)
            inline = props.get("InlineCode") or props.get("PackageType") == "Image"
            if value is None and kind in _GLOBALS_SECTION and item.property == "CodeUri" and not inline:
                section = globals_.get(_GLOBALS_SECTION[kind]) if isinstance(globals_, dict) else None
                value = section.get(item.property) if isinstance(section, dict) else None
            if _is_local(value):
                found.append(LocalPath(logical_id, str(kind), item.property, str(value)))
    return found


def _zip(path: Path) -> bytes:
    """A zip of a folder's files (relative names, sorted, fixed dates: the same bytes for the same code).

    A ``.zip`` or ``.jar`` file is taken as it is; any other single file is zipped alone.
    """
    if path.is_file() and path.suffix.lower() in (".zip", ".jar"):
        return path.read_bytes()
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        files = [path] if path.is_file() else sorted(p for p in path.rglob("*") if p.is_file())
        for file in files:
            if "__pycache__" in file.parts:
                continue
            name = file.name if path.is_file() else file.relative_to(path).as_posix()
            info = zipfile.ZipInfo(name, date_time=(1980, 1, 1, 0, 0, 0))
            info.external_attr = (file.stat().st_mode & 0o777) << 16
            info.compress_type = zipfile.ZIP_DEFLATED
            archive.writestr(info, file.read_bytes())
    return buffer.getvalue()


def _read_document(path: Path, source: str) -> Any:
    """A definition file (JSON or YAML), as ``sam package`` reads it to inline."""
    import yaml

    try:
        text = path.read_text(encoding="utf-8")
        return json.loads(text) if text.lstrip().startswith(("{", "[")) else yaml.safe_load(text)
    except (OSError, ValueError, yaml.YAMLError) as err:
        raise ConfigError(f"{source}: cannot read {str(path)!r}: {err}") from err


def package_local_artifacts(
    body: dict[str, Any], folder: Path | None, *, source: str, prefix: str = ""
) -> tuple[dict[str, Any], list[Artifact]]:
    """A copy of a template with its local paths packaged, and the artifacts to upload.

    Relative paths are read from the template's folder (the working directory for template text).
    ``body`` itself is returned when it has no local path. Each artifact's key is
    ``<prefix><sha256>.zip``: ``deploy_stack`` gives the stack's name (and a slash), so the stack's
    uploads are removed together once its create has read them.

    Raises:
        ConfigError: A local path does not exist.
    """
    paths = local_artifact_paths(body)
    if not paths:
        return body, []
    packaged = copy.deepcopy(body)
    base = folder or Path.cwd()
    artifacts: dict[str, Artifact] = {}
    for item in paths:
        path = (base / item.path).resolve()
        if not path.exists():
            raise ConfigError(f"{source}: {item} does not exist (looked for {str(path)!r})")
        props = packaged["Resources"][item.logical_id].setdefault("Properties", {})
        kind = _kind(item.type, item.property)
        if kind.becomes == "zip":
            data = _zip(path)
            key = f"{prefix}{hashlib.sha256(data).hexdigest()}.zip"
            artifacts[key] = Artifact(key, data)
            props[item.property] = {kind.bucket_key: ARTIFACT_BUCKET, kind.key_key: key}
        else:
            props.pop(item.property, None)
            props[kind.becomes] = _read_document(path, f"{source}: {item.logical_id} {item.property}")
    log.info(
        "embedded backend: packaged %d local path%s of %s: %s",
        len(paths),
        "" if len(paths) == 1 else "s",
        source,
        ", ".join(str(p) for p in paths),
    )
    return packaged, list(artifacts.values())


def packaging_error(source: str, paths: list[LocalPath], template_name: str, *, sam: bool) -> DeployError:
    """The DeployError for a template with local paths, on AWS: which ones, and how to package."""
    shown = "; ".join(str(p) for p in paths[:5]) + ("; ..." if len(paths) > 5 else "")
    target = template_name if template_name != "template" else "template.yaml"
    package = f"--template-file {target} --s3-bucket <bucket> --output-template-file packaged.yaml"
    how = (
        f"`sam package {package}` (or `aws cloudformation package {package}`; `sam deploy` does both)"
        if sam
        else f"`aws cloudformation package {package}`"
    )
    return DeployError(
        f"{source} has local paths CloudFormation cannot read: {shown}. Package it first: {how}, then "
        "deploy packaged.yaml; the embedded backend (--iatk-backend=moto) packages local paths itself"
    )
