"""``iatk stack outputs|resources NAME``, ``iatk deploy TEMPLATE NAME`` and ``iatk delete NAME``."""

from __future__ import annotations

import argparse
from typing import Any

from iatk.exceptions import StackError

from ._common import ProgressLine, add_setting, aws_options, key_values, print_json, print_table, session


def add_stack(subparsers: Any) -> None:
    stack = subparsers.add_parser("stack", help="read a CloudFormation stack")
    actions = stack.add_subparsers(dest="stack_command", required=True, metavar="{outputs,resources}")
    outputs = actions.add_parser("outputs", help="print the stack's outputs")
    resources = actions.add_parser("resources", help="print the stack's resources (logical → physical ids)")
    for sub in (outputs, resources):
        sub.add_argument("name", help="stack name, id or ARN")
        sub.add_argument("--json", action="store_true", help="print JSON")
        aws_options(sub)
    outputs.set_defaults(handler=run_stack_outputs)
    resources.set_defaults(handler=run_stack_resources)


def _print_outputs(outputs: dict[str, str], as_json: bool) -> None:
    if as_json:
        print_json(outputs)
    else:
        print_table(["OUTPUT", "VALUE"], sorted(outputs.items()))


def run_stack_outputs(args: argparse.Namespace) -> int:
    from iatk.stack import Stack

    _print_outputs(dict(Stack(args.name, session=session(args)).outputs), args.json)
    return 0


def run_stack_resources(args: argparse.Namespace) -> int:
    from iatk.stack import Stack

    resources = Stack(args.name, session=session(args)).resources
    if args.json:
        print_json(
            [
                {"logical_id": r.logical_id, "physical_id": r.physical_id, "type": r.type, "status": r.status}
                for r in resources
            ]
        )
    else:
        print_table(
            ["LOGICAL ID", "TYPE", "STATUS", "PHYSICAL ID"],
            [(r.logical_id, r.type, r.status, r.physical_id or "-") for r in resources],
        )
    return 0


# -- iatk deploy / iatk delete ------------------------------------------------------------------
def add_deploy(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "deploy",
        help="deploy a CloudFormation template as a tagged test stack and print its outputs",
        description="Create the stack NAME from TEMPLATE with iatk.deploy_stack (tagged iatk:deploy, the run id and "
        "an expiry, so `iatk cleanup` finds it) and wait for CREATE_COMPLETE; a failed create is rolled back and "
        "its failure events printed. Exit 0: created; 1: the create failed; 2: bad arguments.",
    )
    parser.add_argument("template", help="a YAML or JSON template file")
    parser.add_argument("name", help="the stack name")
    parser.add_argument("--param", action="append", default=[], metavar="K=V", help="a template parameter (repeatable)")
    parser.add_argument("--timeout", type=float, default=900.0, help="seconds to wait for the create (default: 900)")
    add_setting(parser, "ttl", extra_help=" (tagged iatk:expires-at: `iatk cleanup --expired` removes it after)")
    parser.add_argument("--json", action="store_true", help="print the stack (name, arn, outputs) as JSON")
    aws_options(parser)
    parser.set_defaults(handler=run_deploy)


def run_deploy(args: argparse.Namespace) -> int:
    from iatk._config import parse_duration
    from iatk.stack import DeployProgress, deploy_stack

    parameters = key_values(args.param, "--param")
    ttl = None if args.ttl is None else parse_duration(args.ttl, name="--ttl")
    line = ProgressLine("iatk deploy", enabled=not args.json)

    def show(progress: DeployProgress) -> None:
        line.show(progress.done, progress.total, f"{progress.status} {progress.resource or ''}".rstrip())

    try:
        stack = deploy_stack(
            args.template,
            args.name,
            parameters or None,
            session=session(args),
            ttl=ttl,
            timeout=args.timeout,
            progress=show,
        )
    finally:
        line.finish()
    outputs = dict(stack.outputs)
    if args.json:
        print_json({"name": stack.name, "arn": stack.arn, "status": stack.status, "outputs": outputs})
    else:
        print(f"iatk deploy: {stack.name} {stack.status} ({stack.arn})")
        if outputs:
            _print_outputs(outputs, as_json=False)
    return 0


def add_delete(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "delete",
        help="delete a test stack made by `iatk deploy` (or deploy_stack) and wait until it is gone",
        description="Delete the stack NAME and wait. Only a stack tagged iatk:deploy=true (made by iatk deploy or "
        "iatk.deploy_stack) is deleted unless --force. Exit 0: deleted; 1: not found, not a test stack, or the "
        "delete failed; 2: bad arguments.",
    )
    parser.add_argument("name", help="stack name, id or ARN")
    parser.add_argument("--force", action="store_true", help="delete it even without the iatk:deploy tag")
    parser.add_argument("--timeout", type=float, default=900.0, help="seconds to wait for the delete (default: 900)")
    aws_options(parser)
    parser.set_defaults(handler=run_delete)


def run_delete(args: argparse.Namespace) -> int:
    from iatk._aws import aws, calling
    from iatk._tags import TAG_DEPLOY
    from iatk.stack import Stack

    chosen = session(args)
    stack = Stack(args.name, session=chosen)
    arn = stack.arn  # StackNotFound (exit 1) names the stacks there are
    with calling(f"cannot read the tags of stack {args.name!r}", StackError):
        found = aws(chosen).cloudformation.describe_stacks(StackName=arn)["Stacks"]
    tags = {t["Key"]: t["Value"] for t in (found[0].get("Tags") or [])} if found else {}
    if tags.get(TAG_DEPLOY) != "true" and not args.force:
        raise StackError(
            f"stack {args.name!r} is not a test stack (no {TAG_DEPLOY}=true tag: iatk deploy and deploy_stack tag "
            "theirs), so it is left alone; pass --force to delete it anyway"
        )
    name = stack.name
    stack.delete(timeout=args.timeout)
    print(f"iatk delete: {name} deleted ({arn})")
    return 0
