"""``iatk trace ID``: fetch an X-Ray trace (waiting until it is complete) and print its tree or timeline."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from iatk.exceptions import ConfigError, TraceError

from ._common import add_setting, aws_options, resolved, session


def add_trace(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "trace",
        help="print an X-Ray trace as a tree (waits until it is complete)",
        description="Fetch a trace by id or X-Amzn-Trace-Id header and print its tree. Exit 1 when it is still "
        "incomplete at the deadline, 2 on bad arguments (a malformed trace id included).",
    )
    parser.add_argument("trace", help="a trace id (1-...) or a header (Root=1-...;Sampled=1)")
    add_setting(parser, "trace_timeout", metavar="SECONDS")
    parser.add_argument("--follow-links", action="store_true", help="also fetch linked (child) traces")
    parser.add_argument("--subsegments", action="store_true", help="show subsegments too")
    parser.add_argument(
        "--svg", metavar="FILE", help="also write the trace's timeline (segments on a time axis) as an SVG file"
    )
    aws_options(parser)
    parser.set_defaults(handler=run_trace)


def run_trace(args: argparse.Namespace) -> int:
    from iatk.trace import TraceHeader, get_trace_tree

    try:
        TraceHeader.parse(args.trace)
    except TraceError as err:  # a bad argument, found before any AWS call
        raise ConfigError(str(err)) from err
    within = resolved(args, "trace_timeout")
    tree = get_trace_tree(args.trace, within=within, follow_links=args.follow_links, session=session(args))
    print(tree.render(subsegments=args.subsegments))
    if args.svg:
        from iatk.reports import timeline_svg

        Path(args.svg).write_text(timeline_svg(tree), encoding="utf-8")
    return 0
