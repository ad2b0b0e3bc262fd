"""A test's iatk section in an HTML report (pytest-html's extras): its waits, failed waits' events, its trace.

Plain HTML and inline SVG, no JavaScript: the waits as a table (what, SLA, latency, outcome), each
failed wait's received events with why they missed, the trace's timeline and its text tree.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from ._failed import FailedWait
from ._svg import text
from ._timeline import timeline_svg

STYLE = (
    "<style>.iatk{font-family:sans-serif;font-size:13px;margin:6px 0}.iatk h4{margin:10px 0 4px}"
    ".iatk table{border-collapse:collapse;margin:4px 0}.iatk td,.iatk th{border:1px solid #d0d4d9;padding:3px 7px;"
    "text-align:left;vertical-align:top}.iatk th{background:#f0f2f5}.iatk .bad{color:#b3261e;font-weight:bold}"
    ".iatk .good{color:#1e7b34}.iatk pre{background:#f6f8fa;padding:6px;white-space:pre-wrap;margin:4px 0}</style>"
)


def waits_table(waits: Sequence[Mapping[str, Any]]) -> str:
    """The waits as an HTML table: what was awaited (whole), SLA, latency, outcome."""
    rows = []
    for wait in waits:
        latency = wait.get("latency")
        outcome = str(wait.get("outcome"))
        css = "good" if outcome in ("matched", "held") else "bad"
        rows.append(
            f"<tr><td>{text(wait.get('awaited', ''))}</td><td>{float(wait.get('sla') or 0):g} s</td>"
            f"<td>{'-' if latency is None else f'{float(latency):.3f} s'}</td>"
            f"<td class='{css}'>{text(outcome)}</td></tr>"
        )
    return (
        "<table class='iatk-waits'><tr><th>awaited</th><th>SLA</th><th>latency</th><th>outcome</th></tr>"
        + "".join(rows)
        + "</table>"
    )


def failed_wait_html(failed: FailedWait) -> str:
    """A failed wait: what it awaited, and each event it received with why it did not match."""
    rows = []
    for event, reasons in failed.rows():
        what = f"{event.source!r} / {event.detail_type!r}" if event.is_envelope else "(not an EventBridge envelope)"
        why = "<br>".join(text(r) for r in reasons) or "-"
        rows.append(f"<tr><td>{text(event.id)}</td><td>{text(what)}</td><td>{why}</td></tr>")
    table = (
        "<table class='iatk-events'><tr><th>event id</th><th>source / detail-type</th>"
        "<th>why it did not match</th></tr>" + "".join(rows) + "</table>"
        if rows
        else "<p>No event was received.</p>"
    )
    return f"<h4>Failed wait: {text(failed.description)}</h4>{table}<pre>{text(failed.message)}</pre>"


def html_section(
    waits: Sequence[Mapping[str, Any]] = (),
    failed: Sequence[FailedWait] = (),
    tree: Any = None,
    trace_text: str | None = None,
) -> str:
    """A test's whole iatk section (empty string when there is nothing to show)."""
    parts = []
    if waits:
        parts.append("<h4>Waits</h4>" + waits_table(waits))
    parts.extend(failed_wait_html(f) for f in failed)
    if tree is not None:
        parts.append("<h4>Trace timeline</h4><div class='iatk-timeline-box'>" + timeline_svg(tree) + "</div>")
    if trace_text:
        parts.append(f"<h4>Trace</h4><pre class='iatk-tree'>{text(trace_text)}</pre>")
    if not parts:
        return ""
    return STYLE + "<div class='iatk'>" + "".join(parts) + "</div>"
