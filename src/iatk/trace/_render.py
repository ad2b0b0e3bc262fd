"""A tree's text form (``TraceTree.render``) and the path pattern of ``TraceTree.assert_path``."""

from __future__ import annotations

from collections.abc import Sequence
from types import EllipsisType
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from ._model import Segment, Subsegment, TraceTree


def _format_seconds(value: float | None) -> str:
    return "…" if value is None else f"{value:.3f} s"


def _segment_line(segment: Segment, parent: Segment | None) -> str:
    parts = [segment.origin or "-", segment.name or "?", _format_seconds(segment.duration)]
    marks = [flag for flag in ("error", "fault", "throttle") if getattr(segment, flag)]
    if segment.in_progress:
        marks.append("in progress")
    if segment.inferred:
        marks.append("inferred")
    if segment.http_status is not None:
        marks.append(f"http {segment.http_status}")
    if parent is not None and parent.trace_id != segment.trace_id:
        marks.append(f"linked trace {segment.trace_id}")
    if parent is None and segment.parent_id:
        marks.append(f"parent {segment.parent_id} not found")
    if marks:
        parts.append("[" + ", ".join(marks) + "]")
    parts.append(f"id={segment.id}")
    return "  ".join(parts)


def _subsegment_line(sub: Subsegment) -> str:
    marks = [flag for flag in ("error", "fault", "throttle") if getattr(sub, flag)]
    if sub.in_progress:
        marks.append("in progress")
    text = f"· {sub.name or '?'}  {_format_seconds(sub.duration)}"
    return text + (f"  [{', '.join(marks)}]" if marks else "")


def match_path(pattern: Sequence[str | EllipsisType], path: Sequence[Segment]) -> bool:
    # Glob matching where ``...`` is "any number of hops"; memoised on (pattern index, path index).
    memo: dict[tuple[int, int], bool] = {}

    def match(i: int, j: int) -> bool:
        key = (i, j)
        if key not in memo:
            if i == len(pattern):
                memo[key] = j == len(path)
            elif pattern[i] is Ellipsis:
                memo[key] = match(i + 1, j) or (j < len(path) and match(i, j + 1))
            else:
                memo[key] = j < len(path) and path[j].matches(str(pattern[i])) and match(i + 1, j + 1)
        return memo[key]

    return match(0, 0)


def render_tree(tree: TraceTree, *, subsegments: bool = False) -> str:
    """``tree.render()``: an indented text tree, one line per segment (and subsegment, if asked)."""
    lines = [
        f"trace {tree.trace_id}  ({len(tree.segments)} segments, {_format_seconds(tree.duration)}"
        + (", linked-trace limit hit" if tree.linked_trace_limit_exceeded else "")
        + (", X-Ray size limit hit" if tree.source_trace.limit_exceeded else "")
        + ")"
    ]

    def add_subsegments(subs: Sequence[Subsegment], prefix: str) -> None:
        for sub in subs:
            lines.append(f"{prefix}{_subsegment_line(sub)}")
            add_subsegments(sub.subsegments, prefix + "  ")

    def add(segment: Segment, parent: Segment | None, prefix: str, last: bool) -> None:
        lines.append(f"{prefix}{'└─ ' if last else '├─ '}{_segment_line(segment, parent)}")
        inner = prefix + ("   " if last else "│  ")
        if subsegments:
            add_subsegments(segment.subsegments, inner + ("   " if not segment.children else "│  "))
        for index, child in enumerate(segment.children):
            add(child, segment, inner, index == len(segment.children) - 1)

    for index, root in enumerate(tree.roots):
        add(root, None, "", index == len(tree.roots) - 1)
    return "\n".join(lines)


def describe_paths(tree: TraceTree) -> str:
    """The tree's paths, numbered, one per line: how ``assert_path`` lists them."""
    return "\n".join(f"  {n}. " + " → ".join(s.label for s in path) for n, path in enumerate(tree.paths, 1))
