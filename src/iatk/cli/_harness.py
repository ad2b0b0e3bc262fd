"""``iatk list`` and ``iatk cleanup``: harness resources (listener queues and rules, test stacks)."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Iterable
from typing import Any

from iatk.exceptions import ConfigError

from ._common import ProgressLine, aws_options, print_json, print_table, session

_KIND_CHOICES = ("queue", "rule", "stack")
_RESOURCE_HEADERS = ("REGION", "KIND", "ID", "RUN ID", "CREATED", "EXPIRES")


def _add_filters(parser: argparse.ArgumentParser) -> None:
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


def _filters(args: argparse.Namespace) -> dict[str, Any]:
    """The filter arguments of find_harness_resources / cleanup, checked (ConfigError when invalid)."""
    from iatk._config import parse_duration

    tags: dict[str, str | None] = {}
    for item in args.tag:
        key, sep, value = item.partition("=")
        if not key:
            raise ConfigError(f"--tag expects K=V or K; got {item!r}")
        tags[key] = value if sep else None
    if args.older_than is not None:
        parse_duration(args.older_than, name="--older-than")
    return {"run_id": args.run_id, "older_than": args.older_than, "expired": args.expired, "tags": tags or None}


def _filtered(args: argparse.Namespace, filters: dict[str, Any]) -> bool:
    return bool(filters["run_id"] or filters["older_than"] or filters["expired"] or filters["tags"])


def _regions(args: argparse.Namespace) -> list[str | None]:
    return list(dict.fromkeys(args.region)) if args.region else [None]


def _find_per_region(args: argparse.Namespace, filters: dict[str, Any]) -> list[tuple[Any, list[Any]]]:
    from iatk.cleanup import find_harness_resources

    found = []
    for region in _regions(args):
        chosen = session(args, region)
        found.append((chosen, find_harness_resources(**filters, session=chosen, types=args.types)))
    return found


def _resource_rows(resources: Iterable[Any]) -> list[tuple[str, ...]]:
    from iatk._tags import rfc3339

    rows: list[tuple[str, ...]] = []
    for r in resources:
        expires = rfc3339(r.expires) if r.expires else "-"
        if r.is_expired():
            expires += " (expired)"
        created = rfc3339(r.created) if r.created else "-"
        rows.append((r.region, r.kind, r.id, r.run_id or "- (aws-iatk)", created, expires))
    return rows


def add_list(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "list", help="list harness resources (listener queues and rules, test stacks) made by iatk or aws-iatk"
    )
    _add_filters(parser)
    parser.add_argument("--json", action="store_true", help="print JSON")
    aws_options(parser, multi_region=True)
    parser.set_defaults(handler=run_list)


def run_list(args: argparse.Namespace) -> int:
    try:
        filters = _filters(args)
    except ConfigError as err:
        print(f"iatk list: {err}", file=sys.stderr)
        return 2
    resources = [r for _, found in _find_per_region(args, filters) for r in found]
    if args.json:
        print_json([r.to_dict() for r in resources])
    elif resources:
        print_table(_RESOURCE_HEADERS, _resource_rows(resources))
    else:
        print("no iatk harness resources found")
    return 0


def add_cleanup(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "cleanup",
        help="delete harness resources by their tags (rules, then queues, then test stacks)",
        description="Delete iatk harness resources (and aws-iatk 0.1.0's). Only resources tagged "
        "iatk:TestHarness:ID (or iatk:deploy for stacks) are ever deleted. A real cleanup needs a filter or --all; "
        "--dry-run needs neither and lists what would go. Exit 0: all deleted; 1: a deletion failed (or you "
        "declined); 2: usage, or no --yes without a terminal to ask on.",
    )
    _add_filters(parser)
    parser.add_argument(
        "--all", dest="everything", action="store_true", help="no filter: every harness resource in the region(s)"
    )
    parser.add_argument(
        "--dry-run", action="store_true", help="show what would be deleted (with no filter: everything); delete nothing"
    )
    parser.add_argument("--yes", "-y", action="store_true", help="do not ask (needed when stdin is not a terminal)")
    parser.add_argument("--json", action="store_true", help="print the report as JSON")
    aws_options(parser, multi_region=True)
    parser.set_defaults(handler=run_cleanup)


def _confirm(count: int, where: str) -> bool:
    sys.stderr.write(f"Delete these {count} resource(s) in {where}? [y/N] ")
    sys.stderr.flush()
    return sys.stdin.readline().strip().lower() in {"y", "yes"}


def run_cleanup(args: argparse.Namespace) -> int:
    from iatk.cleanup import CleanupProgress, CleanupReport, delete_harness_resources

    try:
        filters = _filters(args)
    except ConfigError as err:
        print(f"iatk cleanup: {err}", file=sys.stderr)
        return 2
    if not (args.everything or args.dry_run or _filtered(args, filters)):
        print(
            "iatk cleanup: give a filter (--run-id, --older-than, --expired, --tag) or --all; "
            "without one it would also delete the live listeners of runs still going "
            "(--dry-run with no filter lists them all)",
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
    where = ", ".join(str(chosen.region_name) for chosen, _ in found)
    if not everything:
        if args.json:
            print_json(CleanupReport(dry_run=args.dry_run).to_dict())
        else:
            print(f"iatk cleanup: nothing to delete in {where}")
        return 0
    if not args.json:
        print_table(_RESOURCE_HEADERS, _resource_rows(everything))
    if not (args.yes or args.dry_run) and not _confirm(len(everything), where):
        print("iatk cleanup: nothing deleted", file=sys.stderr)
        return 1
    line = ProgressLine("iatk cleanup", enabled=not args.json)
    base = 0  # resources done in earlier regions

    def show(progress: CleanupProgress) -> None:
        line.show(
            base + progress.done, len(everything), f"{progress.outcome} {progress.resource.kind} {progress.resource.id}"
        )

    report = CleanupReport(dry_run=args.dry_run)
    try:
        for chosen, resources in found:
            report += delete_harness_resources(
                resources, session=chosen, dry_run=args.dry_run, progress=show, check=False
            )
            base += len(resources)
    finally:
        line.finish()
    if args.json:
        print_json(report.to_dict())
        return 0 if report.ok else 1
    for skipped in report.skipped:
        print(f"skipped {skipped.resource.kind} {skipped.resource.arn}: {skipped.reason}")
    for failed in report.failed:
        print(f"FAILED  {failed.resource.kind} {failed.resource.arn}: {failed.error}")
    note = ""
    if args.dry_run:
        note = " (dry run: nothing deleted"
        note += ")" if args.everything or _filtered(args, filters) else "; a real cleanup needs a filter or --all)"
    print(f"iatk cleanup: {report.summary()}{note}")
    return 0 if report.ok else 1
