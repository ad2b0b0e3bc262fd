"""Latency over time: the SLA log (one JSON line per wait, per run), its percentiles and a chart.

``pytest --iatk-sla-log FILE`` appends a line per listener wait; ``iatk report FILES...`` reads any
number of such files (one per CI run, or one appended to) and prints, per wait, the latency
percentiles across runs, and draws each wait's latency per run against its SLA.
"""

from __future__ import annotations

import json
import math
import os
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from iatk.exceptions import ConfigError

from ._svg import FONT, nice_step, num, seconds_label, text

#: The keys of one SLA log line, in order.
SLA_LOG_KEYS = ("test", "awaited", "sla", "latency", "elapsed", "outcome", "run_id", "backend", "commit", "time")


def ci_commit(environ: Mapping[str, str] | None = None) -> str | None:
    """The commit under test in CI: ``GITHUB_SHA`` (GitHub Actions) or ``CI_COMMIT_SHA`` (GitLab)."""
    env = os.environ if environ is None else environ
    return env.get("GITHUB_SHA") or env.get("CI_COMMIT_SHA") or None


def sla_log_line(
    test: str, wait: Mapping[str, Any], *, run_id: str, backend: str, commit: str | None = None
) -> dict[str, Any]:
    """One SLA log record: a wait (an ``iatk_wait`` row) with the run it belongs to."""
    return {
        "test": test,
        "awaited": wait.get("awaited"),
        "sla": wait.get("sla"),
        "latency": wait.get("latency"),
        "elapsed": wait.get("elapsed"),
        "outcome": wait.get("outcome"),
        "run_id": run_id,
        "backend": backend,
        "commit": commit,
        "time": wait.get("started_at"),
    }


def read_sla_logs(paths: Iterable[str | Path]) -> list[dict[str, Any]]:
    """Every record of the SLA log files, in file order.

    Raises:
        ConfigError: A file cannot be read, or a line is not an SLA log record (file and line named).
    """
    records: list[dict[str, Any]] = []
    for path in paths:
        try:
            lines = Path(path).read_text(encoding="utf-8").splitlines()
        except OSError as err:
            raise ConfigError(f"cannot read SLA log {str(path)!r}: {err.strerror or err}") from err
        for number, line in enumerate(lines, 1):
            if not line.strip():
                continue
            try:
                record = json.loads(line)
            except ValueError as err:
                raise ConfigError(f"{path}:{number}: not JSON ({err}); an SLA log has one JSON object a line") from err
            if not isinstance(record, dict) or not {"test", "awaited", "sla", "outcome"} <= set(record):
                raise ConfigError(
                    f"{path}:{number}: not an SLA log record (expected the keys {', '.join(SLA_LOG_KEYS)}); "
                    "write one with pytest --iatk-sla-log FILE"
                )
            records.append(record)
    return records


def percentile(values: Sequence[float], q: float) -> float:
    """The ``q``-th percentile (0-100) with linear interpolation between closest ranks."""
    if not values:
        raise ValueError("percentile of no values")
    ordered = sorted(values)
    rank = (len(ordered) - 1) * q / 100
    low, high = math.floor(rank), math.ceil(rank)
    return ordered[low] + (ordered[high] - ordered[low]) * (rank - low)


@dataclass(frozen=True, slots=True)
class WaitStats:
    """One wait (test and what it awaited) across the runs of the SLA logs.

    Attributes:
        test: The test (node id without the file).
        awaited: What was awaited.
        sla: The SLA (the latest run's), seconds.
        runs: Runs that made this wait.
        samples: Waits with a latency (successful ``expect_event(s)``).
        breaches: Waits that timed out, or whose latency passed the SLA.
        p50, p90, p99, worst: Latency percentiles (seconds), None without samples.
        per_run: ``(run id, that run's worst latency or None, its SLA, whether it breached)``, oldest first.
    """

    test: str
    awaited: str
    sla: float
    runs: int
    samples: int
    breaches: int
    p50: float | None
    p90: float | None
    p99: float | None
    worst: float | None
    per_run: tuple[tuple[str, float | None, float, bool], ...]

    @property
    def margin(self) -> float | None:
        """SLA minus p90: how much room is left (negative: the p90 wait is past its SLA)."""
        return None if self.p90 is None else self.sla - self.p90


def _breached(record: Mapping[str, Any]) -> bool:
    latency = record.get("latency")
    if record.get("outcome") in ("timeout", "surplus", "unexpected"):
        return True
    return isinstance(latency, (int, float)) and latency > float(record.get("sla") or 0)


def latency_stats(records: Iterable[Mapping[str, Any]]) -> list[WaitStats]:
    """Per wait, its latency percentiles across runs; the least margin (then breaches) first."""
    groups: dict[tuple[str, str], list[Mapping[str, Any]]] = {}
    run_order: dict[str, str] = {}
    for index, record in enumerate(records):
        groups.setdefault((str(record["test"]), str(record["awaited"])), []).append(record)
        run = str(record.get("run_id") or "?")
        stamp = str(record.get("time") or f"~{index:09d}")
        run_order[run] = min(run_order.get(run, stamp), stamp)
    found: list[WaitStats] = []
    for (test, awaited), items in groups.items():
        latencies = [float(r["latency"]) for r in items if isinstance(r.get("latency"), (int, float))]
        by_run: dict[str, list[Mapping[str, Any]]] = {}
        for r in items:
            by_run.setdefault(str(r.get("run_id") or "?"), []).append(r)
        per_run = []
        for run in sorted(by_run, key=lambda name: run_order[name]):
            waits = by_run[run]
            run_latencies = [float(r["latency"]) for r in waits if isinstance(r.get("latency"), (int, float))]
            per_run.append(
                (
                    run,
                    max(run_latencies) if run_latencies else None,
                    float(waits[-1].get("sla") or 0),
                    any(_breached(r) for r in waits),
                )
            )
        found.append(
            WaitStats(
                test=test,
                awaited=awaited,
                sla=float(items[-1].get("sla") or 0),
                runs=len(by_run),
                samples=len(latencies),
                breaches=sum(1 for r in items if _breached(r)),
                p50=percentile(latencies, 50) if latencies else None,
                p90=percentile(latencies, 90) if latencies else None,
                p99=percentile(latencies, 99) if latencies else None,
                worst=max(latencies) if latencies else None,
                per_run=tuple(per_run),
            )
        )
    found.sort(key=lambda s: (-s.breaches, s.margin if s.margin is not None else -math.inf, s.test))
    return found


def latency_chart_svg(stats: Sequence[WaitStats], *, limit: int = 12) -> str:
    """One panel per wait (the ``limit`` with least margin): its worst latency per run against its SLA."""
    shown = list(stats[:limit])
    panel_h, plot_w, left, gap = 150, 620, 70, 46
    width = left + plot_w + 30
    height = 30 + len(shown) * (panel_h + gap)
    out = [
        (
            f"<svg xmlns='http://www.w3.org/2000/svg' class='iatk-latency' role='img' width='{width}' "
            f"height='{height}' "
            f"viewBox='0 0 {width} {height}' {FONT} font-size='11'>"
        ),
        "<title>iatk: wait latency per run against the SLA</title>",
        "<rect width='100%' height='100%' fill='#ffffff'/>",
        "<text x='8' y='18' font-size='13' font-weight='bold'>Wait latency per run (worst of the run) vs SLA</text>",
    ]
    for index, wait in enumerate(shown):
        top = 30 + index * (panel_h + gap) + 24
        values = [v for _, v, _, _ in wait.per_run if v is not None]
        ceiling = max([wait.sla, *values, *[s for _, _, s, _ in wait.per_run]]) * 1.1 or 1.0
        step = nice_step(ceiling, 4)
        ceiling = step * max(1, -(-ceiling // step))
        label = f"{wait.test}: {wait.awaited}"
        out.append(f"<text x='8' y='{top - 8}' font-weight='bold'>{text(label[:110])}</text>")
        out.append(f"<rect x='{left}' y='{top}' width='{plot_w}' height='{panel_h}' fill='#fafbfc' stroke='#d0d4d9'/>")

        def y_of(value: float, top: int = top, ceiling: float = ceiling) -> float:
            return top + panel_h - value / ceiling * panel_h

        tick = 0.0
        while tick <= ceiling + 1e-9:
            y = y_of(tick)
            out.append(
                f"<line x1='{left}' y1='{num(y)}' x2='{left + plot_w}' y2='{num(y)}' stroke='#eceef1'/>"
                f"<text x='{left - 6}' y='{num(y + 4)}' text-anchor='end' fill='#555'>"
                f"{text(seconds_label(tick))}</text>"
            )
            tick += step
        runs = len(wait.per_run)

        def x_of(i: int, runs: int = runs) -> float:
            return left + (plot_w / 2 if runs == 1 else 12 + i * (plot_w - 24) / (runs - 1))

        sla_points = " ".join(f"{num(x_of(i))},{num(y_of(s))}" for i, (_, _, s, _) in enumerate(wait.per_run))
        if runs == 1:
            sla_points = f"{left},{num(y_of(wait.sla))} {left + plot_w},{num(y_of(wait.sla))}"
        out.append(
            f"<polyline class='iatk-sla' points='{sla_points}' fill='none' stroke='#d0453a' stroke-dasharray='6,4'/>"
        )
        out.append(
            f"<text x='{left + plot_w - 4}' y='{num(y_of(wait.sla) - 4)}' text-anchor='end' fill='#d0453a'>"
            f"SLA {text(seconds_label(wait.sla))}</text>"
        )
        points = [(x_of(i), y_of(v)) for i, (_, v, _, _) in enumerate(wait.per_run) if v is not None]
        if len(points) > 1:
            line = " ".join(f"{num(x)},{num(y)}" for x, y in points)
            out.append(
                f"<polyline class='iatk-latency-line' points='{line}' fill='none' stroke='#4a7fc1' stroke-width='2'/>"
            )
        for i, (run, value, sla, breached) in enumerate(wait.per_run):
            x = x_of(i)
            if value is None:
                out.append(
                    f"<g><title>{text(run)}: no latency (timed out)</title><text x='{num(x)}' y='{top + 14}' "
                    "text-anchor='middle' fill='#d0453a' font-weight='bold'>×</text></g>"
                )
                continue
            colour = "#d0453a" if breached else "#4a7fc1"
            out.append(
                f"<g><title>{text(run)}: {text(seconds_label(value))} (SLA {text(seconds_label(sla))})</title>"
                f"<circle cx='{num(x)}' cy='{num(y_of(value))}' r='3.5' fill='{colour}'/></g>"
            )
        p90 = "-" if wait.p90 is None else seconds_label(wait.p90)
        margin = "-" if wait.margin is None else seconds_label(wait.margin)
        out.append(
            f"<text x='{left}' y='{top + panel_h + 16}' fill='#333'>{runs} run(s), p90 {text(p90)}, margin "
            f"{text(margin)}, {wait.breaches} breach(es); oldest run left</text>"
        )
    out.append("</svg>")
    return "".join(out)
