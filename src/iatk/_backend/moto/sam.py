"""SAM templates on the embedded backend: local artifacts packaged, the transform expanded offline.

moto does not expand ``Transform: AWS::Serverless-2016-10-31`` (it skips it, or answers HTTP 500).
On the embedded backend ``deploy_stack`` expands it first with ``aws-sam-translator`` (AWS's own
translator, in the ``moto`` extra): no credentials, the embedded region, managed-policy ARNs from
:data:`MANAGED_POLICY_PATHS` rather than an IAM call. Before that, what ``sam package`` would
upload is packaged (:func:`package_local_artifacts`): a local ``CodeUri`` (functions, ``Globals``)
or ``ContentUri`` (layers) is zipped for the server's S3 (bucket :data:`ARTIFACT_BUCKET`), a local
``DefinitionUri`` is read into ``Definition`` (state machines) or ``DefinitionBody`` (APIs).

On AWS the template goes as it is (CloudFormation expands it), and a local path is an error that
says how to package (:func:`local_artifact_paths` finds them for that message).

Only :func:`expand` imports the translator (about 0.9 s the first time); the rest is plain Python.
"""

from __future__ import annotations

import copy
import hashlib
import io
import json
import logging
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from iatk.exceptions import ConfigError, DeployError

log = logging.getLogger("iatk.stack")

SAM_TRANSFORM = "AWS::Serverless-2016-10-31"

#: The translator's boto3 Session needs keys to exist; it reads only the region and makes no call.
DUMMY = "iatk-embedded"

#: The bucket on the embedded server's S3 that packaged code and layers are uploaded to.
ARTIFACT_BUCKET = "iatk-artifacts"

#: AWS managed policies that live under a path (``arn:aws:iam::aws:policy/<path><name>``); any other
#: name a SAM ``Policies`` list gives is taken as ``arn:aws:iam::aws:policy/<name>``. moto enforces
#: no IAM policy, so the table only keeps the ARNs right.
MANAGED_POLICY_PATHS = {
    "AWSLambdaBasicExecutionRole": "service-role/",
    "AWSLambdaVPCAccessExecutionRole": "service-role/",
    "AWSLambdaSQSQueueExecutionRole": "service-role/",
    "AWSLambdaDynamoDBExecutionRole": "service-role/",
    "AWSLambdaKinesisExecutionRole": "service-role/",
    "AWSLambdaMSKExecutionRole": "service-role/",
    "AWSLambdaRole": "service-role/",
    "AWSXrayWriteOnlyAccess": "",
    "AWSStepFunctionsFullAccess": "",
    "CloudWatchLogsFullAccess": "",
    "AmazonEventBridgeFullAccess": "",
    "AmazonSQSFullAccess": "",
    "AmazonSNSFullAccess": "",
    "AmazonS3FullAccess": "",
    "AmazonS3ReadOnlyAccess": "",
    "AmazonDynamoDBFullAccess": "",
    "AmazonDynamoDBReadOnlyAccess": "",
    "AWSLambda_FullAccess": "",
    "AWSLambdaExecute": "",
}

#: (resource type, property, kind) of every local path SAM packaging handles; ``kind`` says what it becomes.
_ARTIFACTS = (
    ("AWS::Serverless::Function", "CodeUri", "zip"),
    ("AWS::Serverless::LayerVersion", "ContentUri", "zip"),
    ("AWS::Serverless::StateMachine", "DefinitionUri", "Definition"),
    ("AWS::Serverless::Api", "DefinitionUri", "DefinitionBody"),
    ("AWS::Serverless::HttpApi", "DefinitionUri", "DefinitionBody"),
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
    """A property of a resource that names a local path (what ``sam package`` would upload)."""

    logical_id: str
    type: str
    property: str
    path: str

    def __str__(self) -> str:
        return f"{self.logical_id} ({self.type}) {self.property}: {self.path!r}"


def is_sam(body: dict[str, Any]) -> bool:
    """True when the template's ``Transform`` names the SAM transform."""
    transform = body.get("Transform")
    names = transform if isinstance(transform, list) else [transform]
    return SAM_TRANSFORM in names


def _is_local(value: Any) -> bool:
    return isinstance(value, str) and bool(value) and not value.startswith(("s3://", "https://", "http://"))


def local_artifact_paths(body: dict[str, Any]) -> list[LocalPath]:
    """The local paths of a SAM template that need packaging, ``Globals`` included."""
    found: list[LocalPath] = []
    globals_ = body.get("Globals") or {}
    for logical_id, resource in (body.get("Resources") or {}).items():
        if not isinstance(resource, dict):
            continue
        props = resource.get("Properties") or {}
        kind = resource.get("Type")
        for resource_type, prop, _ in _ARTIFACTS:
            if kind != resource_type:
                continue
            value = props.get(prop)
            inline = props.get("InlineCode") or props.get("PackageType") == "Image"
            if value is None and kind in _GLOBALS_SECTION and prop == "CodeUri" and not inline:
                value = (globals_.get(_GLOBALS_SECTION[kind]) or {}).get(prop)
            if _is_local(value):
                found.append(LocalPath(logical_id, kind, prop, str(value)))
    return found


def _zip(path: Path) -> bytes:
    """A zip of a folder's files (relative names, sorted, fixed dates: the same bytes for the same code)."""
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
    """A copy of a SAM template with its local paths packaged, and the artifacts to upload.

    Relative paths are read from the template's folder (the working directory for template text).
    Each artifact's key is ``<prefix><sha256>.zip``: ``deploy_stack`` gives the stack's name (and a
    slash), so the stack's uploads are removed together once its create has read them.

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
        kind = next(k for t, p, k in _ARTIFACTS if t == item.type and p == item.property)
        if kind == "zip":
            data = _zip(path)
            key = f"{prefix}{hashlib.sha256(data).hexdigest()}.zip"
            artifacts[key] = Artifact(key, data)
            props[item.property] = {"Bucket": ARTIFACT_BUCKET, "Key": key}
        else:
            props.pop(item.property, None)
            props[kind] = _read_document(path, f"{source}: {item.logical_id} {item.property}")
    log.info(
        "embedded backend: packaged %d local path%s of %s: %s",
        len(paths),
        "" if len(paths) == 1 else "s",
        source,
        ", ".join(str(p) for p in paths),
    )
    return packaged, list(artifacts.values())


def _policy_names(body: dict[str, Any]) -> Iterator[str]:
    globals_policies = ((body.get("Globals") or {}).get("Function") or {}).get("Policies")
    for resource in [*(body.get("Resources") or {}).values(), {"Properties": {"Policies": globals_policies}}]:
        if not isinstance(resource, dict):
            continue
        policies = (resource.get("Properties") or {}).get("Policies")
        for policy in policies if isinstance(policies, list) else [policies]:
            if isinstance(policy, str) and not policy.startswith("arn:"):
                yield policy


def managed_policy_map(body: dict[str, Any], partition: str = "aws") -> dict[str, str]:
    """Managed-policy name → ARN for each policy name the template's ``Policies`` give (no IAM call)."""
    return {
        name: f"arn:{partition}:iam::aws:policy/{MANAGED_POLICY_PATHS.get(name, '')}{name}"
        for name in _policy_names(body)
    }


def expand(body: dict[str, Any], *, region: str, parameters: dict[str, str], source: str) -> dict[str, Any]:
    """The CloudFormation template a SAM template expands to, offline (aws-sam-translator).

    Raises:
        ConfigError: aws-sam-translator is not installed.
        DeployError: The translator rejects the template; its messages, one a line.
    """
    try:
        import boto3
        from samtranslator.model.exceptions import InvalidDocumentException
        from samtranslator.parser.parser import Parser
        from samtranslator.translator.translator import Translator
    except ImportError as err:  # pragma: no cover - depends on the install
        raise ConfigError(
            f"{source} uses the SAM transform; expanding it on the embedded backend needs aws-sam-translator: "
            "pip install 'iatk[moto]'"
        ) from err
    policies = managed_policy_map(body)
    session = boto3.Session(aws_access_key_id=DUMMY, aws_secret_access_key=DUMMY, region_name=region)
    translator = Translator(policies, Parser(), boto_session=session)
    try:
        expanded: dict[str, Any] = translator.translate(
            copy.deepcopy(body), parameter_values=dict(parameters), get_managed_policy_map=lambda: policies
        )
    except InvalidDocumentException as err:
        causes = "; ".join(getattr(cause, "message", str(cause)) for cause in err.causes) or str(err)
        raise DeployError(f"{source}: the SAM transform rejects the template: {causes}") from None
    except Exception as err:  # the translator's own errors carry a message of their own
        message = getattr(err, "message", None) or str(err)
        raise DeployError(f"{source}: the SAM transform failed: {type(err).__name__}: {message}") from None
    plain: dict[str, Any] = json.loads(json.dumps(expanded))  # plain dicts and lists, as parse_template gives
    return plain


def packaging_error(source: str, paths: list[LocalPath], template_name: str) -> DeployError:
    """The DeployError for a SAM template with local paths, on AWS: which ones, and how to package."""
    shown = "; ".join(str(p) for p in paths[:5]) + ("; ..." if len(paths) > 5 else "")
    target = template_name if template_name != "template" else "template.yaml"
    return DeployError(
        f"{source} has local paths CloudFormation cannot read: {shown}. Package it first: "
        f"`sam package --template-file {target} --s3-bucket <bucket> --output-template-file packaged.yaml` "
        "(or `aws cloudformation package`), then deploy packaged.yaml; the embedded backend "
        "(--iatk-backend=moto) packages local paths itself"
    )
