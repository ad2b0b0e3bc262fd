"""The ``iatk`` command line: a thin adapter over the core.

Exit codes: 0 ok, 1 failure (an iatk error, a failed deletion, a timeout), 2 usage.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable, Iterable, Sequence
from typing import Any

from .exceptions import IatkError

Handler = Callable[[argparse.Namespace], int]


def _aws_options(parser: argparse.ArgumentParser, *, multi_region: bool = False) -> None:
    """--region, --profile and --endpoint-url, as every AWS-facing command takes them."""
    group = parser.add_argument_group("AWS")
    if multi_region:
        group.add_argument("--region", action="append", help="AWS region (repeat for several)")
    else:
        group.add_argument("--region", help="AWS region (default: the boto3 chain)")
    group.add_argument("--profile", help="AWS shared-config profile")
    group.add_argument("--endpoint-url", help="send AWS calls to this endpoint (e.g. a moto server or LocalStack)")


def _session(args: argparse.Namespace, region: str | None = None) -> Any:
    """A boto3 Session built from the command's AWS options (explicit > IATK_* / AWS_* env)."""
    from ._aws import session_from_settings
    from ._config import resolve_settings

    chosen = region if region is not None else args.region
    if isinstance(chosen, list):
        chosen = chosen[0] if chosen else None
    explicit = {"region": chosen, "profile": args.profile, "endpoint_url": args.endpoint_url, "backend": "aws"}
    return session_from_settings(resolve_settings(explicit={k: v for k, v in explicit.items() if v is not None}))


def _print_json(value: Any) -> None:
    print(json.dumps(value, indent=2, default=str))


def _print_table(headers: Sequence[str], rows: Iterable[Sequence[Any]]) -> None:
    rows = [[str(cell) for cell in row] for row in rows]
    widths = [max([len(h)] + [len(r[i]) for r in rows]) for i, h in enumerate(headers)]
    print("  ".join(h.ljust(w) for h, w in zip(headers, widths, strict=True)).rstrip())
    for row in rows:
        print("  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)).rstrip())


# -- iatk stack ----------------------------------------------------------------------------------
def _add_stack(subparsers: Any) -> None:
    stack = subparsers.add_parser("stack", help="read a CloudFormation stack")
    actions = stack.add_subparsers(dest="stack_command", required=True, metavar="{outputs,resources}")
    outputs = actions.add_parser("outputs", help="print the stack's outputs")
    resources = actions.add_parser("resources", help="print the stack's resources (logical → physical ids)")
    for sub in (outputs, resources):
        sub.add_argument("name", help="stack name, id or ARN")
        sub.add_argument("--json", action="store_true", help="print JSON")
        _aws_options(sub)
    outputs.set_defaults(handler=_run_stack_outputs)
    resources.set_defaults(handler=_run_stack_resources)


def _run_stack_outputs(args: argparse.Namespace) -> int:
    from .stack import Stack

    outputs = dict(Stack(args.name, session=_session(args)).outputs)
    if args.json:
        _print_json(outputs)
    else:
        _print_table(["OUTPUT", "VALUE"], sorted(outputs.items()))
    return 0


def _run_stack_resources(args: argparse.Namespace) -> int:
    from .stack import Stack

    resources = Stack(args.name, session=_session(args)).resources
    if args.json:
        _print_json(
            [
                {"logical_id": r.logical_id, "physical_id": r.physical_id, "type": r.type, "status": r.status}
                for r in resources
            ]
        )
    else:
        _print_table(
            ["LOGICAL ID", "TYPE", "STATUS", "PHYSICAL ID"],
            [(r.logical_id, r.type, r.status, r.physical_id or "-") for r in resources],
        )
    return 0


# <<iatk:cli-commands>>


def build_parser() -> argparse.ArgumentParser:
    """The ``iatk`` argument parser with every subcommand."""
    from ._aws import VERSION

    parser = argparse.ArgumentParser(
        prog="iatk", description="Integration test kit for deployed serverless AWS applications."
    )
    parser.add_argument("--version", action="version", version=f"iatk {VERSION}")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
    for add in COMMANDS:
        add(subparsers)
    return parser


#: Each adds one subcommand (with ``handler`` set as its default).
COMMANDS: list[Callable[[Any], None]] = [_add_stack]


def main(argv: Sequence[str] | None = None) -> int:
    """Run the CLI; returns the exit code (0 ok, 1 failure, 2 usage)."""
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exit_:  # argparse exits 2 on usage errors, 0 on --help/--version
        return int(exit_.code or 0)
    handler: Handler | None = getattr(args, "handler", None)
    if handler is None:
        parser.print_help(sys.stderr)
        return 2
    try:
        return handler(args)
    except IatkError as err:
        print(f"iatk: error: {err}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("iatk: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
