"""What a template loses or gains on the embedded backend: the types moto skips, local nested templates.

On AWS, ``deploy_stack`` sends the template text as given. On moto it sends
:func:`embedded_template_body`: the resource types moto cannot create (:data:`MOTO_SKIPPED_TYPES`)
are left out, of nested templates too, local code is packaged (:mod:`.packaging`), and nested
templates given as local paths are uploaded to the server's S3 (:data:`TEMPLATE_BUCKET`).

This module reads no file itself: ``deploy_stack`` passes its template reader (``read``), so the
core's template loading (:mod:`iatk._templates`) is not imported from here.
"""

from __future__ import annotations

import copy
import json
import logging
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from iatk.exceptions import ConfigError, DeployError

from .packaging import ARTIFACT_BUCKET, Artifact, package_local_artifacts
from .references import references_in, unresolved
from .sam import expand, is_sam

if TYPE_CHECKING:
    from iatk._aws import AwsContext
    from iatk._templates import TemplateSource

#: Reads a template file (``iatk._templates.read_template``).
TemplateReader = Callable[[Path], "TemplateSource"]

# The deploy's logger: what a deploy leaves out is logged with the deploy (users filter on it).
log = logging.getLogger("iatk.stack")

#: Resource types the embedded backend leaves out of a template before CreateStack. Each one is a
#: resource policy that moto 5.2.5's CloudFormation has no model for: moto skips it with a
#: ``UserWarning`` ("Tried to parse ... not supported"), which ``-W error`` turns into an HTTP 500,
#: and then lists it with no logical id. moto enforces no resource policies (EventBridge delivers to a
#: queue without one), so leaving them out changes nothing that moto creates. Checked against moto by
#: tests/functional/test_stack.py; AWS::Lambda::Permission is not here, because moto creates it.
MOTO_SKIPPED_TYPES = frozenset(
    {
        "AWS::Events::EventBusPolicy",
        "AWS::S3::BucketPolicy",
        "AWS::SNS::TopicInlinePolicy",
        "AWS::SNS::TopicPolicy",
        "AWS::SQS::QueueInlinePolicy",
        "AWS::SQS::QueuePolicy",
    }
)

#: The bucket on the embedded server's S3 that local nested templates are uploaded to.
TEMPLATE_BUCKET = "iatk-templates"


@dataclass(frozen=True, slots=True)
class LeftOut:
    """A resource left out of a template: its logical id and type."""

    logical_id: str
    type: str

    def __str__(self) -> str:
        return f"{self.logical_id} ({self.type})"


def leave_out(
    body: dict[str, Any], types: frozenset[str] = MOTO_SKIPPED_TYPES, *, source: str = "template"
) -> tuple[dict[str, Any], tuple[LeftOut, ...]]:
    """A copy of ``body`` without the resources of ``types``, and what was left out.

    ``DependsOn`` entries naming a left-out resource are dropped with it. A Ref, Fn::GetAtt or
    Fn::Sub that names one, from a resource or an Output, is an error: the value does not exist
    without the resource, and quietly dropping the Output (or the property) would only move the
    failure to a confusing place later. ``body`` itself is not changed.

    Raises:
        DeployError: A kept resource or an Output refers to a left-out resource; lists each one.
    """
    resources = body.get("Resources") or {}
    removed = tuple(
        LeftOut(logical_id, resource["Type"])
        for logical_id, resource in resources.items()
        if isinstance(resource, dict) and resource.get("Type") in types
    )
    if not removed:
        return copy.deepcopy(body), ()
    gone = {r.logical_id: r for r in removed}
    kept = copy.deepcopy(body)
    kept["Resources"] = {k: v for k, v in kept["Resources"].items() if k not in gone}
    problems: list[str] = []
    for logical_id, resource in kept["Resources"].items():
        if not isinstance(resource, dict):
            continue
        depends = resource.get("DependsOn")
        if isinstance(depends, str) and depends in gone:
            del resource["DependsOn"]
        elif isinstance(depends, list) and any(d in gone for d in depends):
            remaining = [d for d in depends if d not in gone]
            if remaining:
                resource["DependsOn"] = remaining
            else:
                del resource["DependsOn"]
        problems += [
            f"resource {logical_id!r} refers to {name!r} with {how}"
            for name, how in references_in({k: v for k, v in resource.items() if k != "DependsOn"})
            if name in gone
        ]
    for key, output in (kept.get("Outputs") or {}).items():
        problems += [
            f"Output {key!r} refers to {name!r} with {how}" for name, how in references_in(output) if name in gone
        ]
    if problems:
        raise DeployError(
            f"{source}: the embedded backend leaves out {', '.join(map(str, removed))}, because moto cannot "
            f"create {'it' if len(removed) == 1 else 'them'}; but {'; '.join(dict.fromkeys(problems))}. "
            "Remove the reference (a policy's id is rarely needed by a test), or run this template on AWS"
        )
    return kept, removed


def check_references(body: Mapping[str, Any], *, source: str = "template") -> None:
    """Every Ref, Fn::GetAtt, Fn::Sub, DependsOn, condition and mapping ``body`` uses is defined in it.

    Raises:
        DeployError: Names each reference to what the template does not define (and what is
            closest to it), or says how deep the template nests when it is past the bound.
    """
    try:
        found = unresolved(body)
    except ValueError as err:
        raise DeployError(f"{source}: {err}") from None
    if found:
        raise DeployError(
            f"{source} refers to {'something' if len(found) == 1 else f'{len(found)} things'} it does not "
            f"define, so CloudFormation would refuse it: {'; '.join(map(str, found))}. Nothing was created"
        )


def embedded_template(
    template: TemplateSource,
    *,
    stack: str,
    source: str,
    read: TemplateReader,
    path: str = "",
    uploads: list[tuple[str, str]],
    left_out: list[LeftOut],
    artifacts: list[Artifact] | None = None,
    region: str = "us-east-1",
    parameters: Mapping[str, str] | None = None,
) -> dict[str, Any]:
    """The body to create on moto: local code packaged, SAM expanded, skipped types left out, children queued.

    Local code and definitions (a plain ``AWS::Lambda::Function`` ``Code`` or a SAM ``CodeUri``:
    :mod:`.packaging`) are packaged first (queued in ``artifacts``), then a SAM template's
    transform is expanded (:mod:`.sam`). Recurses into nested templates given as local paths; each child
    is read (with ``read``), transformed the same way and queued in ``uploads`` as (S3 key, JSON
    text). Nothing is uploaded here, so a template that cannot be deployed fails before any call.
    ``path`` is the nested-stack path ("Child/").
    """
    body, packaged = package_local_artifacts(template.body, template.folder, source=source, prefix=f"{stack}/")
    if artifacts is not None:
        artifacts += packaged
    if is_sam(body):
        started = time.perf_counter()
        body = expand(body, region=region, parameters=dict(parameters or {}), source=source)
        log.info(
            "embedded backend: expanded the SAM transform of %s in %.0f ms",
            source,
            (time.perf_counter() - started) * 1000,
        )
    kept, removed = leave_out(body, source=source)
    check_references(kept, source=source)
    left_out += [LeftOut(f"{path}{r.logical_id}", r.type) for r in removed]
    # Read from the template as given: no nested stack is of a type left out, so kept has them all.
    local = template.local_templates
    folder = template.folder
    if local and folder is None:
        raise ConfigError(
            f"nested stack(s) {', '.join(local)} use a local TemplateURL, but the template was given as text; "
            "pass the template as a file path"
        )
    for logical_id, relative in local.items():
        child_path = (folder / relative).resolve() if folder else Path(relative)
        child_body = embedded_template(
            read(child_path),
            stack=stack,
            source=f"nested template {relative!r} ({path}{logical_id})",
            read=read,
            path=f"{path}{logical_id}/",
            uploads=uploads,
            left_out=left_out,
            artifacts=artifacts,
            region=region,
        )
        key = f"{stack}/{path}{logical_id}/{child_path.name}.json"
        uploads.append((key, json.dumps(child_body)))
        kept["Resources"][logical_id]["Properties"]["TemplateURL"] = f"https://{TEMPLATE_BUCKET}.s3.amazonaws.com/{key}"
    return kept


#: The tag every bucket the embedded backend makes for a deploy carries (and its value).
BUCKET_TAG = ("iatk:embedded", "deploy-uploads")


def _ensure_bucket(ctx: AwsContext, bucket: str) -> None:
    """Make ``bucket`` on the embedded server (tagged :data:`BUCKET_TAG`) unless it is there."""
    from iatk._aws import BOTO_ERRORS, error_code

    try:
        ctx.s3.head_bucket(Bucket=bucket)
        return
    except BOTO_ERRORS:
        pass
    try:
        ctx.s3.create_bucket(Bucket=bucket)
    except BOTO_ERRORS as err:
        if error_code(err) not in ("BucketAlreadyOwnedByYou", "BucketAlreadyExists"):
            raise
    key, value = BUCKET_TAG
    ctx.s3.put_bucket_tagging(Bucket=bucket, Tagging={"TagSet": [{"Key": key, "Value": value}]})


def _put(ctx: AwsContext, bucket: str, key: str, data: bytes, what: str) -> None:
    """Put one upload; made again if another deploy removed the (empty) bucket meanwhile."""
    from iatk._aws import BOTO_ERRORS, calling, error_code

    with calling(what, DeployError):
        try:
            ctx.s3.put_object(Bucket=bucket, Key=key, Body=data)
        except BOTO_ERRORS as err:
            if error_code(err) != "NoSuchBucket":
                raise
            _ensure_bucket(ctx, bucket)
            ctx.s3.put_object(Bucket=bucket, Key=key, Body=data)


def upload_templates(ctx: AwsContext, uploads: list[tuple[str, str]]) -> None:
    """Put each (S3 key, JSON text) in :data:`TEMPLATE_BUCKET` on the embedded server (made if missing)."""
    from iatk._aws import calling  # here: importing this module (and iatk._templates) loads no boto3

    if not uploads:
        return
    with calling("cannot create the template bucket on the embedded backend", DeployError):
        _ensure_bucket(ctx, TEMPLATE_BUCKET)
    for key, text in uploads:
        _put(ctx, TEMPLATE_BUCKET, key, text.encode(), f"cannot upload nested template {key!r}")


def upload_artifacts(ctx: AwsContext, artifacts: list[Artifact]) -> None:
    """Put each packaged artifact in :data:`ARTIFACT_BUCKET` on the embedded server (made if missing)."""
    from iatk._aws import calling

    if not artifacts:
        return
    with calling("cannot create the artifact bucket on the embedded backend", DeployError):
        _ensure_bucket(ctx, ARTIFACT_BUCKET)
    for artifact in artifacts:
        _put(ctx, ARTIFACT_BUCKET, artifact.key, artifact.data, f"cannot upload packaged code {artifact.key!r}")


def remove_uploads(ctx: AwsContext, stack: str) -> list[str]:
    """Delete what the deploy of ``stack`` uploaded, and each upload bucket left empty; what is left.

    A stack's nested templates and packaged code are read while CloudFormation creates it (moto
    copies a function's code when it creates the function), so ``deploy_stack`` calls this once the
    create has ended, done or failed. Everything under ``<stack>/`` in :data:`TEMPLATE_BUCKET` and
    :data:`ARTIFACT_BUCKET` goes; a bucket with nothing else in it goes too (another deploy's
    uploads keep it). Never raises: returns a line per object or bucket that could not be removed.
    """
    from iatk._aws import BOTO_ERRORS, error_code

    left: list[str] = []
    for bucket in (TEMPLATE_BUCKET, ARTIFACT_BUCKET):
        try:
            listed = ctx.s3.list_objects_v2(Bucket=bucket, Prefix=f"{stack}/").get("Contents") or []
        except BOTO_ERRORS as err:
            if error_code(err) != "NoSuchBucket":
                left.append(f"s3://{bucket}/{stack}/ (cannot list it: {err})")
            continue
        keys = [item["Key"] for item in listed]
        for start in range(0, len(keys), 1000):
            chunk = keys[start : start + 1000]
            try:
                answer = ctx.s3.delete_objects(Bucket=bucket, Delete={"Objects": [{"Key": k} for k in chunk]})
                left += [f"s3://{bucket}/{e.get('Key')} ({e.get('Code')})" for e in answer.get("Errors") or []]
            except BOTO_ERRORS as err:
                left += [f"s3://{bucket}/{k} ({err})" for k in chunk]
        try:
            if not ctx.s3.list_objects_v2(Bucket=bucket, MaxKeys=1).get("KeyCount"):
                ctx.s3.delete_bucket(Bucket=bucket)
        except BOTO_ERRORS as err:
            if error_code(err) not in ("NoSuchBucket", "BucketNotEmpty"):  # gone, or another deploy's meanwhile
                left.append(f"s3://{bucket} ({err})")
    if left:
        log.warning("embedded backend: uploads of stack %r not removed: %s", stack, "; ".join(left))
    return left


def embedded_template_body(
    ctx: AwsContext,
    source: TemplateSource,
    name: str,
    *,
    read: TemplateReader,
    parameters: Mapping[str, str] | None = None,
) -> str:
    """The TemplateBody to send to moto for stack ``name``: what moto can create, children uploaded.

    Local code (``Code``, ``Content``, ``CodeUri``, ``ContentUri``) is packaged to the server's S3
    (under ``<name>/``, removed with :func:`remove_uploads` once the create ends) and a SAM template
    expanded offline. The resource types moto skips (:data:`MOTO_SKIPPED_TYPES`: resource policies,
    which moto does not enforce)
    are left out, of nested templates too, and logged at INFO; local nested templates are uploaded
    to the server's S3.
    """
    uploads: list[tuple[str, str]] = []
    left_out: list[LeftOut] = []
    artifacts: list[Artifact] = []
    body = embedded_template(
        source,
        stack=name,
        source=f"stack {name!r} ({source.name})",
        read=read,
        uploads=uploads,
        left_out=left_out,
        artifacts=artifacts,
        region=ctx.region,
        parameters=parameters,
    )
    if left_out:
        log.info(
            "embedded backend: left out %d resource%s moto cannot create from stack %r: %s",
            len(left_out),
            "" if len(left_out) == 1 else "s",
            name,
            ", ".join(map(str, left_out)),
        )
    upload_artifacts(ctx, artifacts)
    upload_templates(ctx, uploads)
    return json.dumps(body)
