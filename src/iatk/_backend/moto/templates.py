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
import re
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from iatk.exceptions import ConfigError, DeployError

from .packaging import ARTIFACT_BUCKET, Artifact, package_local_artifacts
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

_SUB_NAME = re.compile(r"\$\{([^}]*)\}")


@dataclass(frozen=True, slots=True)
class LeftOut:
    """A resource left out of a template: its logical id and type."""

    logical_id: str
    type: str

    def __str__(self) -> str:
        return f"{self.logical_id} ({self.type})"


def _references(node: Any) -> Iterator[tuple[str, str]]:
    """(logical id, intrinsic) for every Ref, Fn::GetAtt and Fn::Sub name inside ``node``."""
    if isinstance(node, list):
        for item in node:
            yield from _references(item)
        return
    if not isinstance(node, dict):
        return
    for key, value in node.items():
        if key == "Ref" and isinstance(value, str):
            yield value, "Ref"
        elif key == "Fn::GetAtt" and isinstance(value, (str, list)) and value:
            target = value.split(".", 1)[0] if isinstance(value, str) else value[0]
            if isinstance(target, str):
                yield target, "Fn::GetAtt"
            yield from _references(value if isinstance(value, list) else [])
        elif key == "Fn::Sub":
            text, variables = (value[0], value[1]) if isinstance(value, list) and len(value) == 2 else (value, {})
            names = frozenset(variables) if isinstance(variables, dict) else frozenset()
            if isinstance(text, str):
                for found in _SUB_NAME.finditer(text):
                    name = found.group(1).split(".", 1)[0].strip()
                    if name and not name.startswith("!") and name not in names:
                        yield name, "Fn::Sub"
            yield from _references(variables)
        else:
            yield from _references(value)


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
            for name, how in _references({k: v for k, v in resource.items() if k != "DependsOn"})
            if name in gone
        ]
    for key, output in (kept.get("Outputs") or {}).items():
        problems += [
            f"Output {key!r} refers to {name!r} with {how}" for name, how in _references(output) if name in gone
        ]
    if problems:
        raise DeployError(
            f"{source}: the embedded backend leaves out {', '.join(map(str, removed))}, because moto cannot "
            f"create {'it' if len(removed) == 1 else 'them'}; but {'; '.join(dict.fromkeys(problems))}. "
            "Remove the reference (a policy's id is rarely needed by a test), or run this template on AWS"
        )
    return kept, removed


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
    body, packaged = package_local_artifacts(template.body, template.folder, source=source)
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


def upload_templates(ctx: AwsContext, uploads: list[tuple[str, str]]) -> None:
    """Put each (S3 key, JSON text) in :data:`TEMPLATE_BUCKET` on the embedded server (made if missing)."""
    from iatk._aws import calling  # here: importing this module (and iatk._templates) loads no boto3

    if not uploads:
        return
    with calling("cannot create the template bucket on the embedded backend", DeployError):
        try:
            ctx.s3.head_bucket(Bucket=TEMPLATE_BUCKET)
        except Exception:
            ctx.s3.create_bucket(Bucket=TEMPLATE_BUCKET)
    for key, text in uploads:
        with calling(f"cannot upload nested template {key!r}", DeployError):
            ctx.s3.put_object(Bucket=TEMPLATE_BUCKET, Key=key, Body=text.encode())


def upload_artifacts(ctx: AwsContext, artifacts: list[Artifact]) -> None:
    """Put each packaged artifact in :data:`ARTIFACT_BUCKET` on the embedded server (made if missing)."""
    from iatk._aws import calling

    if not artifacts:
        return
    with calling("cannot create the artifact bucket on the embedded backend", DeployError):
        try:
            ctx.s3.head_bucket(Bucket=ARTIFACT_BUCKET)
        except Exception:
            ctx.s3.create_bucket(Bucket=ARTIFACT_BUCKET)
    for artifact in artifacts:
        with calling(f"cannot upload packaged code {artifact.key!r}", DeployError):
            ctx.s3.put_object(Bucket=ARTIFACT_BUCKET, Key=artifact.key, Body=artifact.data)


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
    and a SAM template expanded offline. The resource
    types moto skips (:data:`MOTO_SKIPPED_TYPES`: resource policies, which moto does not enforce)
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
