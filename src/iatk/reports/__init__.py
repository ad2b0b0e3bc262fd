"""Reports people look at rather than read: trace timelines, SLA logs and charts, HTML and Markdown.

No pytest here, and no AWS call: the pytest plugin (``--iatk-artifacts``, ``--iatk-sla-log``, the
pytest-html section, the GitHub Actions summary) and the CLI (``iatk report``, ``iatk trace --svg``)
are adapters over these functions.

- :mod:`._timeline`: :func:`timeline_svg`, a trace as a waterfall of segments on a time axis;
- :mod:`._latency`: the SLA log (:func:`sla_log_line`, :func:`read_sla_logs`), :func:`latency_stats`
  and :func:`latency_chart_svg`;
- :mod:`._failed`: :class:`FailedWait` (a failed wait's events and why each missed);
- :mod:`._html`, :mod:`._markdown`: a test's HTML section, the run's Markdown summary.
"""

from __future__ import annotations

from ._failed import FailedWait
from ._html import html_section, waits_table
from ._latency import (
    SLA_LOG_KEYS,
    WaitStats,
    ci_commit,
    latency_chart_svg,
    latency_stats,
    percentile,
    read_sla_logs,
    sla_log_line,
)
from ._markdown import markdown_summary
from ._timeline import timeline_rows, timeline_svg

__all__ = [
    "SLA_LOG_KEYS",
    "FailedWait",
    "WaitStats",
    "ci_commit",
    "html_section",
    "latency_chart_svg",
    "latency_stats",
    "markdown_summary",
    "percentile",
    "read_sla_logs",
    "sla_log_line",
    "timeline_rows",
    "timeline_svg",
    "waits_table",
]
