"""Deploying a test stack: :func:`deploy_stack` (create, wait, roll back) and :func:`deploy_once`.

On AWS the template text is sent as given. On the embedded backend (the session says so:
``AwsContext.embedded``) two steps are the backend's, imported only then: the body moto can create
(:func:`iatk._backend.moto.templates.embedded_template_body`) and the state machines made
executable (:func:`iatk._backend.moto.stepfunctions.make_state_machines_executable`). The backend
never imports this package: it reads a :class:`Stack` through a protocol of its own.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator, Mapping
from datetime import timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

from iatk._aws import AwsContext, aws, error_code, error_message, frameless
from iatk._config import current_settings
from iatk._tags import TAG_OWNER, TAG_RUN_ID, as_tag_list, current_owner, current_run_id, deploy_tags
from iatk._templates import read_template
from iatk.exceptions import ConfigError, DeployError

from ._progress import DeployProgress, progress_reader
from ._stack import Stack, wait_for_stack

if TYPE_CHECKING:
    import boto3


def _remove_half_made(ctx: AwsContext, name: str, err: BaseException) -> str:
    """Best effort: delete the stack a failed CreateStack left behind; a note for the error message.

    moto answers some templates with an HTTP 500 after it has registered the stack, which then stays
    CREATE_IN_PROGRESS forever. Only a stack tagged with this run's id is touched, and never after
    AlreadyExistsException (the stack there is someone else's).
    """
    if error_code(err) == "AlreadyExistsException":
        return ""
    try:
        found = ctx.cloudformation.describe_stacks(StackName=name)["Stacks"]
    except Exception:  # no stack was made (the usual case), or it cannot be read
        return ""
    removed = ""
    for stack in found:
        tags = {t["Key"]: t["Value"] for t in stack.get("Tags") or []}
        if tags.get(TAG_RUN_ID) != current_run_id() or stack.get("StackStatus") == "DELETE_COMPLETE":
            continue
        try:
            ctx.cloudformation.delete_stack(StackName=stack["StackId"])
        except Exception:
            return f" (the half-made stack {stack['StackId']} could not be deleted: delete it yourself)"
        removed = f" (the half-made stack {stack['StackId']} was deleted)"
    return removed


def _failure_events(ctx: AwsContext, stack_id: str) -> list[dict[str, Any]]:
    try:
        events = ctx.cloudformation.describe_stack_events(StackName=stack_id)["StackEvents"]
    except Exception:
        return []
    return [dict(e) for e in events if str(e.get("ResourceStatus", "")).endswith("FAILED")]


def _template_body(ctx: AwsContext, template: str | Path, name: str, parameters: Mapping[str, str] | None) -> str:
    """The TemplateBody to send: the text as given on AWS; on the embedded backend, what moto can create.

    On the embedded backend the resource types moto skips (MOTO_SKIPPED_TYPES: resource policies,
    which moto does not enforce) are left out, of nested templates too, and local nested templates
    are uploaded to the server's S3.
    """
    source = read_template(template)
    declared = source.body.get("Parameters") or {}
    unknown = sorted(set(parameters or {}) - set(declared))
    if unknown:
        raise ConfigError(
            f"unknown template parameter(s) {', '.join(unknown)}; the template declares: "
            f"{', '.join(sorted(declared)) or '(none)'}"
        )
    if not ctx.embedded:
        local = source.local_templates
        if local:
            raise ConfigError(
                f"nested stack(s) {', '.join(local)} use a local TemplateURL; on AWS run "
                "`aws cloudformation package` first (deploy_stack uploads local children only on the embedded backend)"
            )
        from iatk._backend.moto.packaging import local_artifact_paths, packaging_error
        from iatk._backend.moto.sam import is_sam

        if paths := local_artifact_paths(source.body):
            raise packaging_error(f"stack {name!r} ({source.name})", paths, source.name, sam=is_sam(source.body))
        return source.text  # unchanged, byte for byte: what AWS gets is what the user wrote
    from iatk._backend.moto.templates import embedded_template_body

    return embedded_template_body(ctx, source, name, read=read_template, parameters=parameters)


def deploy_stack(
    template: str | Path,
    name: str,
    parameters: Mapping[str, str] | None = None,
    session: boto3.Session | None = None,
    *,
    ttl: float | timedelta | None = None,
    timeout: float = 900.0,
    progress: Callable[[DeployProgress], None] | None = None,
) -> Stack:
    """Deploy a CloudFormation template as a tagged test stack and wait for it.

    Args:
        template: A path to a YAML or JSON template, or the template text.
        name: The stack name.
        parameters: Template parameters.
        session: The boto3 Session (default: the run's session).
        ttl: Expiry tagged on the stack (default: the ``ttl`` setting), for ``iatk cleanup``.
        timeout: Seconds to wait for CREATE_COMPLETE.
        progress: Called after each poll of the stack with a :class:`DeployProgress` (resources
            done of the total, the one under way); one more ListStackResources call per poll.

    Returns:
        The :class:`Stack`. On AWS it is an ephemeral test stack: remove it with ``Stack.delete()``.

    Raises:
        ConfigError: The template cannot be read, a parameter is not declared, or a nested template
            is a local path where it cannot be uploaded.
        DeployError: The create failed; the message and ``.events`` hold the stack's failure events.
            The failed stack is deleted. On the embedded backend also, before any create, when a
            resource or an Output refers (Ref, Fn::GetAtt, Fn::Sub) to a resource left out.

    On AWS the template text is sent as given, byte for byte. On the embedded backend:

    - the resource types moto cannot create are left out first, with any ``DependsOn`` on them,
      and logged at INFO: the resource policies ``AWS::SQS::QueuePolicy``,
      ``AWS::SQS::QueueInlinePolicy``, ``AWS::SNS::TopicPolicy``, ``AWS::SNS::TopicInlinePolicy``,
      ``AWS::Events::EventBusPolicy`` and ``AWS::S3::BucketPolicy`` (moto enforces none of them, and
      would skip each with a warning that ``-W error`` turns into a failed create);
    - nested templates given as local paths are uploaded for you (left out the same way);
    - every state machine of the template is made executable (moto runs executions in a separate
      backend that cannot see state machines created by CloudFormation; MOTO.md §1b).

    IAM permissions: cloudformation:CreateStack, DescribeStacks, DescribeStackEvents, DeleteStack,
    ListStackResources; plus whatever the template creates.
    """
    __tracebackhide__ = True  # pytest shows the test's line, not iatk's
    ctx = aws(session)
    template_body = _template_body(ctx, template, name, parameters)
    settings = current_settings()
    ttl_delta = (
        timedelta(seconds=settings.ttl)
        if ttl is None
        else (ttl if isinstance(ttl, timedelta) else timedelta(seconds=float(ttl)))
    )
    request: dict[str, Any] = {
        "StackName": name,
        "TemplateBody": template_body,
        "Parameters": [{"ParameterKey": k, "ParameterValue": str(v)} for k, v in (parameters or {}).items()],
        "Capabilities": ["CAPABILITY_IAM", "CAPABILITY_NAMED_IAM", "CAPABILITY_AUTO_EXPAND"],
        "Tags": as_tag_list(deploy_tags(current_run_id(), ttl_delta)),
        "OnFailure": "DO_NOTHING",  # keep the events readable; the stack is deleted below
    }
    hint = (
        " On the embedded backend, keep to what moto runs: see the README section 'Embedded backend'."
        if ctx.embedded
        else ""
    )
    try:
        stack_id = ctx.cloudformation.create_stack(**request)["StackId"]
    except Exception as err:
        removed = _remove_half_made(ctx, name, err)
        _remove_uploads(ctx, name)
        message = f"cannot create stack {name!r}: {error_message(err)}{removed}.{hint}"
        raise DeployError(message, code=error_code(err)) from frameless(err)
    try:
        return _created(ctx, stack_id, name, template_body, session, timeout=timeout, progress=progress, hint=hint)
    finally:
        _remove_uploads(ctx, name)


def _remove_uploads(ctx: AwsContext, name: str) -> None:
    """On the embedded backend: the stack's nested templates and code, once CloudFormation has read them."""
    if ctx.embedded:
        from iatk._backend.moto.templates import remove_uploads

        remove_uploads(ctx, name)


def _created(
    ctx: AwsContext,
    stack_id: str,
    name: str,
    template_body: str,
    session: boto3.Session | None,
    *,
    timeout: float,
    progress: Callable[[DeployProgress], None] | None,
    hint: str,
) -> Stack:
    """Wait for the create of ``stack_id``; the Stack, or a DeployError with its failure events."""
    __tracebackhide__ = True
    on_poll = None
    if progress is not None:
        from iatk._templates import parse_template

        on_poll = progress_reader(ctx, len(parse_template(template_body).get("Resources") or {}), progress)
    description = wait_for_stack(ctx, stack_id, timeout=timeout, goal="CREATE", on_poll=on_poll)
    if description.get("StackStatus") != "CREATE_COMPLETE":
        events = _failure_events(ctx, stack_id)
        reasons = "; ".join(
            f"{e.get('LogicalResourceId')} ({e.get('ResourceType')}): {e.get('ResourceStatusReason')}" for e in events
        )
        with contextlib.suppress(Exception):  # the create error is what the user needs
            ctx.cloudformation.delete_stack(StackName=stack_id)
        raise DeployError(
            f"stack {name!r} ended {description.get('StackStatus')}: {reasons or 'no failure events'}.{hint}",
            events=events,
        )
    stack = Stack(stack_id, session=session)
    if ctx.embedded:
        from iatk._backend.moto.stepfunctions import make_state_machines_executable

        make_state_machines_executable(ctx, stack)
    return stack


def deploy_once(
    template: str | Path,
    name: str,
    parameters: Mapping[str, str] | None = None,
    *,
    session: boto3.Session | None = None,
) -> Stack:
    """:func:`deploy_stack`, once per run: the processes of one run (xdist workers) share the stack.

    The first process to ask deploys, under an exclusive file lock keyed by the run id and the stack
    name; the others find the stack (tagged with this run's id and this run's owner, ``iatk:owner``,
    ``CREATE_COMPLETE``) and reuse it. A stack of that name from another run, or from another
    process that set the same ``IATK_RUN_ID``, is not reused: deploying over it fails as
    :func:`deploy_stack` does.

    IAM permissions: those of :func:`deploy_stack`.
    """
    __tracebackhide__ = True
    with _run_lock(f"deploy-{name}"):
        existing = _existing_run_stack(name, aws(session))
        if existing is not None:
            return existing
        return deploy_stack(template, name, parameters, session=session)


def _existing_run_stack(name: str, ctx: AwsContext) -> Stack | None:
    try:
        found = ctx.cloudformation.describe_stacks(StackName=name)["Stacks"]
    except Exception:  # no such stack (or unreadable): deploy it
        return None
    tags = {t["Key"]: t["Value"] for t in found[0].get("Tags", [])} if found else {}
    ours = tags.get(TAG_RUN_ID) == current_run_id() and tags.get(TAG_OWNER) == current_owner()
    if ours and found[0].get("StackStatus") == "CREATE_COMPLETE":
        return Stack(found[0]["StackId"], session=ctx.session)
    return None


@contextlib.contextmanager
def _run_lock(name: str) -> Iterator[None]:
    """An exclusive lock shared by the processes of this run (the xdist FileLock recipe)."""
    import fcntl
    import tempfile

    safe = "".join(c if c.isalnum() or c in "-_." else "_" for c in f"{current_run_id()}-{name}")
    path = Path(tempfile.gettempdir()) / f"iatk-{safe}.lock"
    with path.open("a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)
