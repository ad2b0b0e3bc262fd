"""The ``iatk`` command line: a thin adapter over the core.

Exit codes: 0 ok, 1 failure (an iatk error, a failed deletion, a timeout), 2 usage (bad arguments or
settings: argparse's errors and every :class:`~iatk.exceptions.ConfigError`). Errors print the typed
error's message, never a traceback.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Callable, Iterable, Sequence
from datetime import date, datetime
from typing import TYPE_CHECKING, Any

from .exceptions import ConfigError, IatkError

if TYPE_CHECKING:
    import boto3

Handler = Callable[[argparse.Namespace], int]

#: The Namespace attribute that carries a session given to :func:`main` (used instead of the options).
_INJECTED = "_iatk_session"


def _aws_options(parser: argparse.ArgumentParser, *, multi_region: bool = False) -> None:
    """--region, --profile and --endpoint-url, as every AWS-facing command takes them."""
    group = parser.add_argument_group("AWS")
    if multi_region:
        group.add_argument("--region", action="append", help="AWS region (repeat for several)")
    else:
        group.add_argument("--region", help="AWS region (default: the boto3 chain)")
    group.add_argument("--profile", help="AWS shared-config profile")
    group.add_argument("--endpoint-url", help="send AWS calls to this endpoint (e.g. a moto server or LocalStack)")
    group.add_argument(
        "--backend",
        choices=("aws", "moto"),
        help="aws (default, or IATK_BACKEND): the AWS APIs, at --endpoint-url when given. moto: the moto server "
        "already running at --endpoint-url, used as iatk's embedded backend is (dummy credentials, no retries, "
        "Step Functions states run on moto's interpreter since moto has no TestState)",
    )


def _session(args: argparse.Namespace, region: str | None = None) -> Any:
    """The command's boto3 Session: the one given to :func:`main`, else one built from its AWS options.

    Options win over ``IATK_*`` env vars (then boto3's own ``AWS_*`` chain). ``--backend moto`` gives
    an embedded-backend session for the server at ``--endpoint-url``: a one-shot command does not
    start a server of its own, since a new server would hold none of the resources it asks about.
    """
    injected = getattr(args, _INJECTED, None)
    if injected is not None:
        return injected
    from ._aws import embedded_boto_session, session_from_settings
    from ._config import resolve_settings

    chosen = region if region is not None else args.region
    if isinstance(chosen, list):
        chosen = chosen[0] if chosen else None
    explicit = {"region": chosen, "profile": args.profile, "endpoint_url": args.endpoint_url, "backend": args.backend}
    settings = resolve_settings(explicit={k: v for k, v in explicit.items() if v is not None})
    if settings.backend == "moto":
        if not settings.endpoint_url:
            raise ConfigError(
                "--backend moto works with a moto server that is already running: give its URL with "
                "--endpoint-url (or IATK_ENDPOINT_URL), e.g. http://127.0.0.1:5000 for `moto_server`, or the "
                "url of an iatk.EmbeddedBackend. iatk does not start one for a single command: it would be empty"
            )
        return embedded_boto_session(settings.endpoint_url, settings.region)
    return session_from_settings(settings)


def _json_default(value: Any) -> Any:
    """JSON for what json cannot encode: datetimes as RFC 3339 (``isoformat``), the rest as text."""
    if isinstance(value, (datetime, date)):
        return value.isoformat()
    return str(value)


def _print_json(value: Any) -> None:
    print(json.dumps(value, indent=2, default=_json_default))


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


# -- iatk list / iatk cleanup ----------------------------------------------------------------------
_KIND_CHOICES = ("queue", "rule", "stack")


def _add_harness_filters(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("filters (combined with AND)")
    group.add_argument("--run-id", help="only resources of this run (tag iatk:run-id; see IATK_RUN_ID)")
    group.add_argument("--older-than", metavar="AGE", help="only resources created at least AGE ago (90s, 30m, 2h, 1d)")
    group.add_argument(
        "--expired", action="store_true", help="only resources past their expiry (aws-iatk's: created + 2h)"
    )
    group.add_argument(
        "--tag", action="append", default=[], metavar="K=V", help="only resources tagged K=V (K alone: has key K)"
    )
    group.add_argument(
        "--type", action="append", dest="types", choices=_KIND_CHOICES, help="only this kind (repeatable)"
    )


def _harness_filters(args: argparse.Namespace) -> dict[str, Any]:
    """The filter arguments of find_harness_resources / cleanup, checked (ConfigError when invalid)."""
    from ._config import parse_duration

    tags: dict[str, str | None] = {}
    for item in args.tag:
        key, sep, value = item.partition("=")
        if not key:
            raise ConfigError(f"--tag expects K=V or K; got {item!r}")
        tags[key] = value if sep else None
    if args.older_than is not None:
        parse_duration(args.older_than, name="--older-than")
    return {"run_id": args.run_id, "older_than": args.older_than, "expired": args.expired, "tags": tags or None}


def _regions(args: argparse.Namespace) -> list[str | None]:
    return list(dict.fromkeys(args.region)) if args.region else [None]


def _find_per_region(args: argparse.Namespace, filters: dict[str, Any]) -> list[tuple[Any, list[Any]]]:
    from .cleanup import find_harness_resources

    found = []
    for region in _regions(args):
        session = _session(args, region)
        found.append((session, find_harness_resources(**filters, session=session, types=args.types)))
    return found


def _resource_rows(resources: Iterable[Any]) -> list[tuple[str, ...]]:
    from ._tags import rfc3339

    rows: list[tuple[str, ...]] = []
    for r in resources:
        expires = rfc3339(r.expires) if r.expires else "-"
        if r.is_expired():
            expires += " (expired)"
        created = rfc3339(r.created) if r.created else "-"
        rows.append((r.region, r.kind, r.id, r.run_id or "- (aws-iatk)", created, expires))
    return rows


_RESOURCE_HEADERS = ("REGION", "KIND", "ID", "RUN ID", "CREATED", "EXPIRES")


def _add_list(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "list", help="list harness resources (listener queues and rules, test stacks) made by iatk or aws-iatk"
    )
    _add_harness_filters(parser)
    parser.add_argument("--json", action="store_true", help="print JSON")
    _aws_options(parser, multi_region=True)
    parser.set_defaults(handler=_run_list)


def _run_list(args: argparse.Namespace) -> int:

    try:
        filters = _harness_filters(args)
    except ConfigError as err:
        print(f"iatk list: {err}", file=sys.stderr)
        return 2
    resources = [r for _, found in _find_per_region(args, filters) for r in found]
    if args.json:
        _print_json([r.to_dict() for r in resources])
    elif resources:
        _print_table(_RESOURCE_HEADERS, _resource_rows(resources))
    else:
        print("no iatk harness resources found")
    return 0


def _add_cleanup(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "cleanup",
        help="delete harness resources by their tags (rules, then queues, then test stacks)",
        description="Delete iatk harness resources (and aws-iatk 0.1.0's). Only resources tagged "
        "iatk:TestHarness:ID (or iatk:deploy for stacks) are ever deleted. Exit 0: all deleted; 1: a deletion "
        "failed (or you declined); 2: usage, or no --yes without a terminal to ask on.",
    )
    _add_harness_filters(parser)
    parser.add_argument(
        "--all", dest="everything", action="store_true", help="no filter: every harness resource in the region(s)"
    )
    parser.add_argument("--dry-run", action="store_true", help="show what would be deleted; delete nothing")
    parser.add_argument("--yes", "-y", action="store_true", help="do not ask (needed when stdin is not a terminal)")
    parser.add_argument("--json", action="store_true", help="print the report as JSON")
    _aws_options(parser, multi_region=True)
    parser.set_defaults(handler=_run_cleanup)


class _ProgressLine:
    """Progress on stderr: one rewritten line on a terminal, else a line per tenth (long runs only)."""

    def __init__(self, total: int) -> None:
        self.total = total
        self.tty = sys.stderr.isatty()
        self.step = max(1, total // 10)
        self.base = 0  # resources done in earlier regions

    def __call__(self, progress: Any) -> None:
        done = self.base + progress.done
        text = f"iatk cleanup: {done}/{self.total} {progress.outcome} {progress.resource.kind} {progress.resource.id}"
        if self.tty:
            sys.stderr.write("\r\033[K" + text)
            sys.stderr.flush()
        elif self.total >= 10 and (done % self.step == 0 or done == self.total):
            print(text, file=sys.stderr)

    def finish(self) -> None:
        if self.tty and self.total:
            sys.stderr.write("\n")


def _confirm(count: int, where: str) -> bool:
    sys.stderr.write(f"Delete these {count} resource(s) in {where}? [y/N] ")
    sys.stderr.flush()
    return sys.stdin.readline().strip().lower() in {"y", "yes"}


def _run_cleanup(args: argparse.Namespace) -> int:
    from .cleanup import CleanupReport, delete_harness_resources

    try:
        filters = _harness_filters(args)
    except ConfigError as err:
        print(f"iatk cleanup: {err}", file=sys.stderr)
        return 2
    if not args.everything and not (args.run_id or args.older_than or args.expired or filters["tags"]):
        print(
            "iatk cleanup: give a filter (--run-id, --older-than, --expired, --tag) or --all; "
            "without one it would also delete the live listeners of runs still going",
            file=sys.stderr,
        )
        return 2
    if not (args.yes or args.dry_run or sys.stdin.isatty()):
        print(
            "iatk cleanup: refusing to delete without --yes: stdin is not a terminal, so I cannot ask. "
            "Add --yes (in CI), or --dry-run to see what would be deleted.",
            file=sys.stderr,
        )
        return 2
    found = _find_per_region(args, filters)
    everything = [r for _, resources in found for r in resources]
    where = ", ".join(str(session.region_name) for session, _ in found)
    if not everything:
        if args.json:
            _print_json(CleanupReport(dry_run=args.dry_run).to_dict())
        else:
            print(f"iatk cleanup: nothing to delete in {where}")
        return 0
    if not args.json:
        _print_table(_RESOURCE_HEADERS, _resource_rows(everything))
    if not (args.yes or args.dry_run) and not _confirm(len(everything), where):
        print("iatk cleanup: nothing deleted", file=sys.stderr)
        return 1
    progress = _ProgressLine(len(everything))
    report = CleanupReport(dry_run=args.dry_run)
    for session, resources in found:
        report += delete_harness_resources(
            resources, session=session, dry_run=args.dry_run, progress=progress, check=False
        )
        progress.base += len(resources)
    progress.finish()
    if args.json:
        _print_json(report.to_dict())
    else:
        for skipped in report.skipped:
            print(f"skipped {skipped.resource.kind} {skipped.resource.arn}: {skipped.reason}")
        for failed in report.failed:
            print(f"FAILED  {failed.resource.kind} {failed.resource.arn}: {failed.error}")
        print(f"iatk cleanup: {report.summary()}" + (" (dry run: nothing deleted)" if args.dry_run else ""))
    return 0 if report.ok else 1


# -- iatk mock-event -------------------------------------------------------------------------------
def _add_mock_event(subparsers: Any) -> None:
    """``iatk mock-event``: print an event generated from an EventBridge schema."""
    parser = subparsers.add_parser(
        "mock-event",
        help="print a mock event generated from an EventBridge schema (registry or file)",
        description="Generate an event that validates against an EventBridge schema and print it as JSON. "
        "Exit 1 when the schema cannot be read or generated from, 2 on bad arguments.",
    )
    source = parser.add_mutually_exclusive_group(required=True)
    source.add_argument("--schema", metavar="NAME", help="schema name in --registry (Schema Registry)")
    source.add_argument("--schema-file", metavar="FILE", help="a local OpenAPI 3 / JSON Schema file (.json, .yaml)")
    parser.add_argument("--registry", metavar="NAME", help="Schema Registry name (with --schema)")
    parser.add_argument("--version", dest="schema_version", metavar="V", help="schema version (default: latest)")
    parser.add_argument("--event-ref", metavar="REF", help="event root: a component name or a '#/...' pointer")
    parser.add_argument("--skip-optional", action="store_true", help="leave out every optional property")
    parser.add_argument(
        "--override",
        action="append",
        default=[],
        metavar="JSON",
        help="JSON object deep-merged onto the event (repeatable)",
    )
    parser.add_argument("--seed", type=int, help="make the event reproducible (with --envelope: its id and time too)")
    parser.add_argument("--envelope", action="store_true", help="wrap a detail in an EventBridge envelope")
    parser.add_argument("--source", help="envelope source (with --envelope; default: the schema's)")
    parser.add_argument("--detail-type", help="envelope detail-type (with --envelope; default: the schema's)")
    parser.add_argument("--put-events-entry", metavar="BUS", help="print a PutEvents entry for BUS instead")
    parser.add_argument(
        "--count", type=int, metavar="N", help="print a JSON list of N distinct events (seeds N, N+1...)"
    )
    parser.add_argument(
        "--boundary", action="store_true", help="with --count: the schema's edges (least, most, every enum value)"
    )
    _aws_options(parser)
    parser.set_defaults(handler=_run_mock_event)


def _run_mock_event(args: argparse.Namespace) -> int:
    from .mock_events import load_schema, merge_overrides, mock_event, seeded_envelope, to_put_events_entry

    overrides: dict[str, Any] = {}
    for text in args.override:
        try:
            value = json.loads(text)
        except json.JSONDecodeError as err:
            raise ConfigError(f"--override {text!r} is not JSON: {err.msg} (column {err.colno})") from err
        if not isinstance(value, dict):
            raise ConfigError(f'--override must be a JSON object like \'{{"detail": {{"id": 1}}}}\'; got {text!r}')
        overrides = merge_overrides(overrides, value)
    if args.schema is not None and not args.registry:
        raise ConfigError("--schema needs --registry (or use --schema-file for a local file)")
    if args.schema_file is not None and (args.registry or args.schema_version):
        raise ConfigError("--registry/--version go with --schema, not --schema-file")
    # A file needs no AWS: a session only for the registry, or for the envelope's --region.
    wanted = args.schema is not None or args.region or getattr(args, _INJECTED, None) is not None
    session = _session(args) if wanted else None
    schema = load_schema(
        args.registry if args.schema else None,
        args.schema,
        args.schema_version,
        schema_file=args.schema_file,
        session=session,
    )
    if args.boundary and args.count is None:
        raise ConfigError("--boundary goes with --count N (the edges are spread over N events)")
    if args.count is not None:
        from .mock_events import mock_events

        events = mock_events(
            args.count,
            schema=schema,
            event_ref=args.event_ref,
            skip_optional=args.skip_optional,
            overrides=overrides or None,
            seed=args.seed,
            boundary=args.boundary,
            session=session,
        )
        if args.envelope or args.put_events_entry:
            events = [
                seeded_envelope(
                    item,
                    args.source,
                    args.detail_type,
                    seed=None if args.seed is None else args.seed + index,
                    schema=schema,
                    session=session,
                )
                for index, item in enumerate(events)
            ]
        _print_json(
            [to_put_events_entry(item, bus=args.put_events_entry) for item in events]
            if args.put_events_entry
            else events
        )
        return 0
    event = mock_event(
        schema=schema,
        event_ref=args.event_ref,
        skip_optional=args.skip_optional,
        overrides=overrides or None,
        seed=args.seed,
        session=session,
    )
    if args.envelope or args.put_events_entry:  # with --seed, the envelope's id and time are seeded too
        event = seeded_envelope(event, args.source, args.detail_type, seed=args.seed, schema=schema, session=session)
    _print_json(to_put_events_entry(event, bus=args.put_events_entry) if args.put_events_entry else event)
    return 0


# -- iatk test-state -----------------------------------------------------------------------------
def _add_test_state(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "test-state",
        help="run one state of a deployed state machine (Step Functions TestState) and print the result",
        description="Run one state of a deployed state machine with an input (and a mock) through Step Functions "
        "TestState, or with --backend moto on moto's interpreter (iatk's offline emulation: moto has no TestState). "
        "Exit 0 when the state SUCCEEDED or its error was CAUGHT, 1 when it FAILED or is RETRIABLE or the test "
        "could not run, 2 on bad arguments.",
    )
    parser.add_argument("--state-machine", required=True, metavar="ARN", help="state machine ARN (or name)")
    parser.add_argument("--state", required=True, metavar="NAME", help="the state to run")
    parser.add_argument("--input", metavar="JSON", default="{}", help="the state's input, as JSON text (default: {})")
    parser.add_argument(
        "--mock",
        metavar="JSON",
        help='a mock for a Task, Map or Parallel: {"result": ...} or {"error": "...", "cause": "..."}',
    )
    parser.add_argument(
        "--inspection-level", default="DEBUG", choices=("INFO", "DEBUG", "TRACE"), help="default: DEBUG"
    )
    parser.add_argument("--json", action="store_true", help="print the result as JSON")
    _aws_options(parser)
    parser.set_defaults(handler=_run_test_state)


def _json_argument(text: str | None, option: str) -> Any:

    if text is None:
        return None
    try:
        return json.loads(text)
    except ValueError as err:
        raise ConfigError(f"{option} must be JSON text ({err}); got {text!r}") from err


def _run_test_state(args: argparse.Namespace) -> int:
    from .states import test_state

    data = _json_argument(args.input, "--input")
    mock = _json_argument(args.mock, "--mock")
    if mock is not None and not isinstance(mock, dict):
        raise ConfigError(f"--mock must be a JSON object like '{{\"result\": {{...}}}}'; got {args.mock!r}")
    session = _session(args)
    result = test_state(
        args.state_machine,
        args.state,
        json.dumps(data),  # JSON text, so a JSON string stays a string
        mock=mock,
        inspection_level=args.inspection_level,
        session=session,
    )
    if args.json:
        _print_json(
            {
                "state": result.state,
                "stateType": result.state_type,
                "status": result.status,
                "nextState": result.next_state,
                "output": result.output,
                "error": result.error,
                "cause": result.cause,
                "inspection": dict(result.inspection.stages()),
                "offline": result.offline,
            }
        )
    else:
        print(result.render())
    return 0 if result.status in ("SUCCEEDED", "CAUGHT_ERROR") else 1


# -- iatk trace ------------------------------------------------------------------------------------
def _add_trace(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "trace",
        help="print an X-Ray trace as a tree (waits until it is complete)",
        description="Fetch a trace "
        "by id or X-Amzn-Trace-Id header and print its tree. Exit 1 when it is still incomplete at the deadline.",
    )
    parser.add_argument("trace", help="a trace id (1-...) or a header (Root=1-...;Sampled=1)")
    parser.add_argument("--within", default="10", help="seconds to wait for a complete trace (default: 10)")
    parser.add_argument("--follow-links", action="store_true", help="also fetch linked (child) traces")
    parser.add_argument("--subsegments", action="store_true", help="show subsegments too")
    _aws_options(parser)
    parser.set_defaults(handler=_run_trace)


def _run_trace(args: argparse.Namespace) -> int:
    from .trace import get_trace_tree

    tree = get_trace_tree(args.trace, within=args.within, follow_links=args.follow_links, session=_session(args))
    print(tree.render(subsegments=args.subsegments))
    return 0


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
COMMANDS: list[Callable[[Any], None]] = [
    _add_stack,
    _add_list,
    _add_cleanup,
    _add_mock_event,
    _add_test_state,
    _add_trace,
]


def main(argv: Sequence[str] | None = None, *, session: boto3.Session | None = None) -> int:
    """Run the CLI; returns the exit code (0 ok, 1 failure, 2 usage).

    Args:
        argv: The arguments (default: ``sys.argv[1:]``).
        session: A boto3 Session for every AWS call, instead of one built from ``--region``,
            ``--profile``, ``--endpoint-url`` and ``--backend`` (for tools that embed the CLI, and tests).

    A closed stdout (``iatk ... | head``) ends the command quietly with exit code 1, as Python's
    docs recommend, instead of a ``BrokenPipeError`` traceback.
    """
    try:
        code = _main(argv, session)
        sys.stdout.flush()  # here, so a closed pipe is seen now rather than at interpreter exit
    except BrokenPipeError:
        _stdout_to_devnull()
        return 1
    return code


def _main(argv: Sequence[str] | None, session: boto3.Session | None) -> int:
    from botocore.exceptions import BotoCoreError, ProfileNotFound

    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exit_:  # argparse exits 2 on usage errors, 0 on --help/--version
        return int(exit_.code or 0)
    handler: Handler | None = getattr(args, "handler", None)
    if handler is None:
        parser.print_help(sys.stderr)
        return 2
    if session is not None:
        setattr(args, _INJECTED, session)
    try:
        return handler(args)
    except ConfigError as err:
        print(f"iatk: error: {err}", file=sys.stderr)
        return 2
    except IatkError as err:
        print(f"iatk: error: {err}", file=sys.stderr)
        return 1
    except ProfileNotFound as err:  # a bad --profile / AWS_PROFILE when the session layer does not wrap it
        print(f"iatk: error: {err}", file=sys.stderr)
        return 2
    except BotoCoreError as err:  # no credentials, no connection...: botocore's message, no traceback
        print(f"iatk: error: {err}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("iatk: interrupted", file=sys.stderr)
        return 130


def _stdout_to_devnull() -> None:
    """Point stdout's file descriptor at /dev/null, so the interpreter's last flush cannot fail again."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError):  # no real descriptor (captured output): nothing left to protect
        pass


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
