"""A trace as a timeline: a waterfall of segments and subsegments on a time axis, as inline SVG.

One row per segment (depth first through the tree, children in start order) followed by its
subsegments (indented); each bar spans its start and end on a shared axis from the trace's first
start. Faults are red, errors amber, throttles purple, work still in progress grey and dashed; each
bar has a ``<title>`` (the browser's tooltip: no JavaScript) with its times and marks.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from ._svg import FONT, nice_step, num, seconds_label, text

ROW = 22
LABEL_WIDTH = 300
CHART_WIDTH = 560
AXIS = 28
LEGEND = 30

COLOURS = {"ok": "#4a7fc1", "error": "#e0a030", "fault": "#d0453a", "throttle": "#8e5cc4", "in progress": "#9aa3ad"}


@dataclass(frozen=True, slots=True)
class Row:
    """One bar of the timeline."""

    label: str
    depth: int
    start: float | None
    end: float | None
    state: str  # ok, error, fault, throttle, in progress
    marks: tuple[str, ...]
    subsegment: bool


def _state(item: Any) -> tuple[str, tuple[str, ...]]:
    marks = tuple(flag for flag in ("fault", "error", "throttle") if getattr(item, flag, False))
    if getattr(item, "in_progress", False):
        marks = (*marks, "in progress")
    status = getattr(item, "http_status", None)
    if isinstance(status, int):
        marks = (*marks, f"http {status}")
    state = next((m for m in ("fault", "error", "throttle", "in progress") if m in marks), "ok")
    return state, marks


def _sub_rows(sub: Any, depth: int) -> Iterator[Row]:
    state, marks = _state(sub)
    yield Row(sub.name or "?", depth, sub.start_time, sub.end_time, state, marks, True)
    for child in sub.subsegments:
        yield from _sub_rows(child, depth + 1)


def timeline_rows(tree: Any, *, subsegments: bool = True) -> list[Row]:
    """The timeline's rows for a :class:`~iatk.TraceTree`, in drawing order."""
    rows: list[Row] = []
    seen: set[int] = set()

    def visit(segment: Any, depth: int) -> None:
        if id(segment) in seen:
            return
        seen.add(id(segment))
        state, marks = _state(segment)
        rows.append(Row(segment.label, depth, segment.start_time, segment.end_time, state, marks, False))
        if subsegments:
            for sub in segment.subsegments:
                rows.extend(_sub_rows(sub, depth + 1))
        for child in segment.children:
            visit(child, depth + 1)

    for root in tree.roots:
        visit(root, 0)
    return rows


def timeline_svg(tree: Any, *, subsegments: bool = True, title: str | None = None) -> str:
    """The trace as an SVG waterfall (a complete ``<svg>`` element, usable inline in HTML or as a file).

    Args:
        tree: A :class:`~iatk.TraceTree` (``iatk.get_trace_tree(...)``, ``iatk_trace.get_tree()``).
        subsegments: Draw subsegments too (indented under their segment).
        title: The heading drawn above the chart (default: the trace id and its duration).
    """
    rows = timeline_rows(tree, subsegments=subsegments)
    starts = [r.start for r in rows if r.start is not None]
    ends = [r.end if r.end is not None else r.start for r in rows if r.start is not None]
    t0 = min(starts) if starts else 0.0
    span = max((max(ends) - t0) if ends else 0.0, 1e-3)
    step = nice_step(span)
    axis_end = step * max(1, -(-span // step))  # the axis ends on a tick past the last end
    scale = CHART_WIDTH / axis_end
    heading = title or f"trace {tree.source_trace.id}: {seconds_label(span)}, {len(rows)} rows"
    top = 24 + AXIS
    height = top + ROW * len(rows) + LEGEND
    width = LABEL_WIDTH + CHART_WIDTH + 90
    out = [
        (
            f"<svg xmlns='http://www.w3.org/2000/svg' class='iatk-timeline' role='img' width='{width}' "
            f"height='{height}' viewBox='0 0 {width} {height}' {FONT} font-size='12'>"
        ),
        f"<title>{text(heading)}</title>",
        "<rect width='100%' height='100%' fill='#ffffff'/>",
        f"<text x='8' y='16' font-size='13' font-weight='bold'>{text(heading)}</text>",
    ]
    # the time axis: a tick and a label per step, a faint grid line down the chart
    tick = 0.0
    while tick <= axis_end + 1e-9:
        x = LABEL_WIDTH + tick * scale
        out.append(
            f"<line x1='{num(x)}' y1='{top - 6}' x2='{num(x)}' y2='{top + ROW * len(rows)}' stroke='#e3e6ea'/>"
            f"<text x='{num(x)}' y='{top - 10}' text-anchor='middle' fill='#555'>{text(seconds_label(tick))}</text>"
        )
        tick += step
    for index, row in enumerate(rows):
        y = top + index * ROW
        if index % 2:
            out.append(f"<rect x='0' y='{y}' width='{width}' height='{ROW}' fill='#f6f8fa'/>")
        indent = 8 + 14 * row.depth
        name = row.label if len(row.label) <= 44 - row.depth * 2 else row.label[: 42 - row.depth * 2] + "…"
        style = " font-style='italic' fill='#444'" if row.subsegment else ""
        marks = f" [{', '.join(row.marks)}]" if row.marks else ""
        out.append(f"<text x='{indent}' y='{y + 15}'{style}>{'· ' if row.subsegment else ''}{text(name)}</text>")
        if row.start is None:
            out.append(f"<text x='{LABEL_WIDTH}' y='{y + 15}' fill='#999'>no start time{text(marks)}</text>")
            continue
        end = row.end if row.end is not None else t0 + span
        x = LABEL_WIDTH + (row.start - t0) * scale
        bar = max((end - row.start) * scale, 2.0)
        duration = seconds_label(end - row.start) if row.end is not None else "…"
        height_bar = ROW - 10 if row.subsegment else ROW - 6
        dash = " stroke='#6b7580' stroke-dasharray='3,2'" if row.state == "in progress" else ""
        tip = f"{row.label}: starts +{seconds_label(row.start - t0)}, lasts {duration}{marks}"
        out.append(
            f"<g class='iatk-bar iatk-{row.state.replace(' ', '-')}'><title>{text(tip)}</title>"
            f"<rect x='{num(x)}' y='{y + (ROW - height_bar) / 2:g}' width='{num(bar)}' height='{height_bar}' rx='2' "
            f"fill='{COLOURS[row.state]}'{dash}/>"
            f"<text x='{num(x + bar + 4)}' y='{y + 15}' fill='#333'>{text(duration)}{text(marks)}</text></g>"
        )
    legend_y = top + ROW * len(rows) + 20
    x = 8
    for state, colour in COLOURS.items():
        out.append(
            f"<rect x='{x}' y='{legend_y - 10}' width='12' height='12' fill='{colour}'/>"
            f"<text x='{x + 16}' y='{legend_y}'>{text(state)}</text>"
        )
        x += 30 + 8 * len(state)
    out.append("</svg>")
    return "".join(out)
