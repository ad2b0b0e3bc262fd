"""``iatk mock-event``: print an event generated from an EventBridge schema (registry, folder or file)."""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

from iatk.exceptions import ConfigError

from ._common import INJECTED, add_setting, aws_options, print_json, session

#: An endpoint nothing listens on: with --schema-dir and no backend the schema folder is the registry,
#: and no call is made; should one be, it fails at once instead of reaching AWS.
_NOWHERE = "http://127.0.0.1:9"


def add_mock_event(subparsers: Any) -> None:
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
    add_setting(
        parser,
        "schema_dir",
        extra_help="; with --registry/--schema, read <dir>/<registry>/<schema>.json instead of the registry "
        "(no AWS call)",
    )
    aws_options(parser)
    parser.set_defaults(handler=run_mock_event)


def run_mock_event(args: argparse.Namespace) -> int:
    from iatk.mock_events import load_schema, merge_overrides, mock_event, seeded_envelope, to_put_events_entry

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
    chosen = _session_for(args)
    schema = load_schema(
        args.registry if args.schema else None,
        args.schema,
        args.schema_version,
        schema_file=args.schema_file,
        session=chosen,
    )
    if args.boundary and args.count is None:
        raise ConfigError("--boundary goes with --count N (the edges are spread over N events)")
    if args.count is not None:
        return _print_many(args, schema, overrides, chosen)
    event = mock_event(
        schema=schema,
        event_ref=args.event_ref,
        skip_optional=args.skip_optional,
        overrides=overrides or None,
        seed=args.seed,
        session=chosen,
    )
    if args.envelope or args.put_events_entry:  # with --seed, the envelope's id and time are seeded too
        event = seeded_envelope(event, args.source, args.detail_type, seed=args.seed, schema=schema, session=chosen)
        _note_defaults(event, args)
    print_json(to_put_events_entry(event, bus=args.put_events_entry) if args.put_events_entry else event)
    return 0


def _session_for(args: argparse.Namespace) -> Any:
    """The session: for the registry, a schema folder standing in for it, or the envelope's --region.

    A file needs no AWS; a schema folder (``--schema-dir``) neither, unless ``--backend moto`` names
    a server to use with it.
    """
    from iatk._aws import embedded_boto_session

    from ._common import resolved

    injected = getattr(args, INJECTED, None) is not None
    if args.schema is not None and not injected and resolved(args, "schema_dir"):
        if args.backend == "aws":
            raise ConfigError(
                "--schema-dir stands in for the Schema Registry offline; with --backend aws the registry is read: "
                "leave out one of the two"
            )
        return embedded_boto_session(_NOWHERE, resolved(args, "region"))
    wanted = args.schema is not None or args.region or injected
    return session(args) if wanted else None


def _note_defaults(event: dict[str, Any], args: argparse.Namespace) -> None:
    """Say on stderr when the envelope's source or detail-type is iatk's placeholder, not the schema's."""
    from iatk.mock_events import DEFAULT_DETAIL_TYPE, DEFAULT_SOURCE

    missing = [
        f"{field} {default!r} (pass {option})"
        for field, default, option, given in (
            ("detail-type", DEFAULT_DETAIL_TYPE, "--detail-type", args.detail_type),
            ("source", DEFAULT_SOURCE, "--source", args.source),
        )
        if not given and event.get(field) == default
    ]
    if missing:
        print(
            "iatk mock-event: the schema names no "
            + " and no ".join(m.split(" ", 1)[0] for m in missing)
            + " (x-amazon-events-* extensions), so the envelope has the placeholder "
            + "; ".join(missing),
            file=sys.stderr,
        )


def _print_many(args: argparse.Namespace, schema: Any, overrides: dict[str, Any], chosen: Any) -> int:
    """``--count N``: a JSON list of N distinct events (``--boundary``: the schema's edges)."""
    from iatk.mock_events import mock_events, seeded_envelope, to_put_events_entry

    events = mock_events(
        args.count,
        schema=schema,
        event_ref=args.event_ref,
        skip_optional=args.skip_optional,
        overrides=overrides or None,
        seed=args.seed,
        boundary=args.boundary,
        session=chosen,
    )
    if args.envelope or args.put_events_entry:
        events = [
            seeded_envelope(
                item,
                args.source,
                args.detail_type,
                seed=None if args.seed is None else args.seed + index,
                schema=schema,
                session=chosen,
            )
            for index, item in enumerate(events)
        ]
    print_json(
        [to_put_events_entry(item, bus=args.put_events_entry) for item in events] if args.put_events_entry else events
    )
    return 0
