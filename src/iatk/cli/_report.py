"""``iatk report FILES...``: wait latency percentiles across runs, from ``--iatk-sla-log`` files, and a chart."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from ._common import print_json, print_table


def add_report(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "report",
        help="per wait, latency percentiles across runs (from pytest --iatk-sla-log files); an SVG chart",
        description="Read SLA logs (JSON lines written by pytest --iatk-sla-log FILE, one file per run or one "
        "appended to) and print, per wait, its SLA, runs, latency p50/p90/p99 and worst, the margin left "
        "(SLA - p90) and the breaches, least margin first. Exit 0; 2 when a file is not an SLA log.",
    )
    parser.add_argument("files", nargs="+", metavar="FILE", help="SLA log files")
    parser.add_argument("--svg", metavar="FILE", help="write a chart: each wait's latency per run against its SLA")
    parser.add_argument("--json", action="store_true", help="print the statistics as JSON")
    parser.set_defaults(handler=run_report)


def _seconds(value: float | None) -> str:
    return "-" if value is None else f"{value:.3f}"


def run_report(args: argparse.Namespace) -> int:
    from iatk.reports import latency_chart_svg, latency_stats, read_sla_logs

    stats = latency_stats(read_sla_logs(args.files))
    if args.svg:
        Path(args.svg).write_text(latency_chart_svg(stats), encoding="utf-8")
    if args.json:
        print_json(
            [
                {
                    "test": s.test,
                    "awaited": s.awaited,
                    "sla": s.sla,
                    "runs": s.runs,
                    "samples": s.samples,
                    "p50": s.p50,
                    "p90": s.p90,
                    "p99": s.p99,
                    "worst": s.worst,
                    "margin": s.margin,
                    "breaches": s.breaches,
                }
                for s in stats
            ]
        )
        return 0
    if not stats:
        print("iatk report: the SLA logs hold no waits")
        return 0
    print_table(
        ["TEST", "AWAITED", "SLA S", "RUNS", "P50 S", "P90 S", "P99 S", "WORST S", "MARGIN S", "BREACHES"],
        [
            (
                s.test,
                s.awaited,
                f"{s.sla:g}",
                s.runs,
                _seconds(s.p50),
                _seconds(s.p90),
                _seconds(s.p99),
                _seconds(s.worst),
                _seconds(s.margin),
                s.breaches,
            )
            for s in stats
        ],
    )
    return 0
