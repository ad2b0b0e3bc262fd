"""Raw traces into a :class:`TraceTree`: shared by every trace source.

How a tree is built from a source's raw traces (each a list of parsed segment documents):

* Each segment document is a node. A segment's ``parent_id`` is looked up among the segment ids
  *and* the subsegment ids at any depth; a segment whose parent is a subsegment goes under the
  segment that holds that subsegment.
* Separate ``"type": "subsegment"`` documents (streamed by the SDKs; moto returns them as segments)
  are merged into their parent's ``subsegments``.
* Roots are the segments with no ``parent_id``. A trace started by a patched client usually has one;
  when several calls of the same client each start a service segment there are several, and
  ``tree.roots`` holds them all in (start time, id) order, ``tree.root`` being the first.
* Children are ordered by (start time, id), so paths are deterministic whatever order the API used.
* Not ready yet, and retried until the deadline: the trace is unknown (or in
  ``UnprocessedTraceIds``), a segment's parent is not there, a segment is still in progress.
* Complete as X-Ray (and aws-iatk) see it: only *segments* hold a trace back. A segment document
  in progress is a partial copy whose final one is still to come; a subsegment still marked
  ``in_progress`` inside a closed segment is final (X-Ray keeps a subsegment whose end was never
  sent open for good). Such subsegments stay in the tree with ``in_progress=True`` (rendered
  ``[in progress]``); a test that needs them closed says so with ``until=``.
* Two copies of one segment id (an in-progress copy and the final one) keep the final one.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Final

from ._model import REFERENCE_TYPE_KEY, Segment, Trace, TraceTree, mapping, number, sort_key
from ._source import Fetched, RawTrace

#: How many levels of linked traces ``follow_links=True`` fetches below the source trace.
MAX_LINK_DEPTH: Final = 5

_CHILD_REFERENCE = "child"

#: A source's ``fetch`` (or any function of the same shape, e.g. a lookup in saved responses).
Lookup = Callable[[Sequence[str]], Fetched]


def _describe(document: Mapping[str, Any]) -> str:
    words = [str(document[key]) for key in ("origin", "name") if document.get(key)]
    return f"{document.get('id')} ({' '.join(words) or '?'})"


def _better(new: dict[str, Any], old: dict[str, Any]) -> bool:
    # moto keeps every copy it was sent: prefer a finished copy, then the later end.
    if bool(old.get("in_progress")) != bool(new.get("in_progress")):
        return bool(old.get("in_progress"))
    return (number(new.get("end_time")) or 0.0) > (number(old.get("end_time")) or 0.0)


@dataclass(slots=True)
class _Assembled:
    """One trace with parents resolved (mutable; frozen into Segments at the end)."""

    raw: RawTrace
    segments: dict[str, dict[str, Any]]
    children: dict[str, list[str]]
    roots: list[str]
    orphans: list[str]
    problems: list[str]
    child_links: list[tuple[str, str]]  # (linked trace id, holder segment id)


def _register(
    node: dict[str, Any], owner: str, index: dict[str, str], nodes: dict[str, dict[str, Any]], linking: set[str]
) -> None:
    """Index ``node`` and its subsegments under the segment ``owner``; note the owners with links."""
    ident = node.get("id")
    if isinstance(ident, str) and ident not in index:
        index[ident] = owner
        nodes[ident] = node
    if node.get("links"):
        linking.add(owner)
    subs = node.get("subsegments")
    if isinstance(subs, list):
        for sub in subs:
            if isinstance(sub, dict):
                _register(sub, owner, index, nodes, linking)


def _scan(node: Mapping[str, Any], segment: str | None, problems: list[str] | None, linked: list[str]) -> None:
    """One walk over a segment document and its subsegments: in-progress parts, and child links.

    ``problems`` is None once the walk is inside a closed segment: a subsegment left open there is
    final, not a sign of more to come. The open subsegments of an open segment are named with it.
    """
    if node.get("in_progress") and problems is not None:
        where = (
            f"subsegment {node.get('name')!r} ({node.get('id')}) of segment {segment}"
            if segment
            else (f"segment {_describe(node)}")
        )
        problems.append(f"{where} is still in progress")
    links = node.get("links")
    if links:
        for link in links:
            if isinstance(link, dict):
                attributes = mapping(link.get("attributes"))
                if attributes.get(REFERENCE_TYPE_KEY) == _CHILD_REFERENCE and link.get("trace_id"):
                    linked.append(str(link["trace_id"]))
    subs = node.get("subsegments")
    if isinstance(subs, list):
        owner = segment or str(node.get("id"))
        for sub in subs:
            if isinstance(sub, dict):
                _scan(sub, owner, problems, linked)


def _copy_nodes(node: dict[str, Any]) -> dict[str, Any]:
    """A copy of a document's node dicts and ``subsegments`` lists, the only parts merging changes.

    The other values (``http``, ``aws``, annotations...) are shared with the document as read: nothing
    writes to them. A deep copy of a 500-span trace took 40 % of get_trace_tree (benchmarks/bench_trace.py).
    """
    copied = dict(node)
    subs = node.get("subsegments")
    if isinstance(subs, list):
        copied["subsegments"] = [_copy_nodes(sub) if isinstance(sub, dict) else sub for sub in subs]
    return copied


def _assemble(raw: RawTrace) -> _Assembled:
    segments: dict[str, dict[str, Any]] = {}
    separate: dict[str, dict[str, Any]] = {}
    for document in raw.documents:
        ident = document.get("id")
        if not isinstance(ident, str) or not ident:
            continue
        target = separate if document.get("type") == "subsegment" else segments
        if ident not in target or _better(document, target[ident]):
            target[ident] = document
    if separate:  # merging edits documents: work on copies, so Trace.documents stays as read
        segments = {ident: _copy_nodes(doc) for ident, doc in segments.items()}
        separate = {ident: _copy_nodes(doc) for ident, doc in separate.items()}
    index: dict[str, str] = {}  # any segment or subsegment id -> id of the segment holding it
    nodes: dict[str, dict[str, Any]] = {}
    linking: set[str] = set()  # the segments with a link somewhere in them
    for ident, document in segments.items():
        _register(document, ident, index, nodes, linking)
    problems: list[str] = []

    # Separate subsegment documents can hang off each other: attach until nothing moves. The SDKs
    # stream a finished subsegment on its own and may send it again inside its parent's document,
    # so a document whose id is already in the tree is a copy and is dropped.
    pending = [doc for _, doc in sorted(separate.items())]
    while pending:
        waiting = []
        moved = False
        for doc in pending:
            parent = doc.get("parent_id")
            if doc["id"] in index:
                moved = True
            elif isinstance(parent, str) and parent in nodes:
                nodes[parent].setdefault("subsegments", []).append(doc)
                _register(doc, index[parent], index, nodes, linking)
                moved = True
            else:
                waiting.append(doc)
        if not moved:
            for doc in waiting:
                problems.append(f"subsegment {_describe(doc)}'s parent {doc.get('parent_id')} not found")
            break
        pending = waiting

    children: dict[str, list[str]] = {ident: [] for ident in segments}
    roots: list[str] = []
    orphans: list[str] = []
    linked_from: dict[str, list[str]] = {}  # segment id -> child-linked trace ids in it
    for ident, document in segments.items():
        parent = document.get("parent_id")
        if not parent:
            roots.append(ident)
        elif parent in index and index[parent] != ident:
            children[index[parent]].append(ident)
        else:
            orphans.append(ident)
            problems.append(f"segment {_describe(document)}'s parent {parent} not found")
        if document.get("in_progress") or ident in linking:  # else the walk would find nothing
            found: list[str] = []
            _scan(document, None, problems if document.get("in_progress") else None, found)
            if found:
                linked_from[ident] = found

    reached: set[str] = set()
    stack = roots + orphans
    while stack:
        ident = stack.pop()
        if ident not in reached:
            reached.add(ident)
            stack.extend(children[ident])
    for ident, document in segments.items():
        if ident not in reached:  # a parent cycle: only possible with malformed documents
            problems.append(f"segment {_describe(document)} is in a parent_id cycle")
    if not segments:
        problems.append(f"trace {raw.id} has no segments yet")

    links = [(linked, ident) for ident in sorted(linked_from) for linked in linked_from[ident]]
    return _Assembled(raw, segments, children, roots, orphans, problems, links)


@dataclass(slots=True)
class Outcome:
    """One attempt's result: the tree (if the source trace was there) and what is still missing."""

    tree: TraceTree | None  # None when the source trace is not there at all
    problems: list[str]
    found: bool


def build(lookup: Lookup, source: str, follow_links: bool) -> Outcome:
    """Read ``source`` (and, with ``follow_links``, its linked traces level by level) and build the tree.

    ``lookup`` is called once for the source trace and once per level of links; the tree is built
    even when parts are missing, so a "not complete yet" report can show what is there.
    """
    found, _ = lookup([source])
    if source not in found:
        return Outcome(None, [f"trace {source} not found"], False)
    problems: list[str] = []
    assembled = {source: _assemble(found[source])}
    problems.extend(assembled[source].problems)
    attached: dict[tuple[str, str], list[str]] = {}  # (trace, holder segment) -> linked trace ids
    limit_hit = False
    if follow_links:
        level, depth = [source], 0
        while level:
            wanted: dict[str, tuple[str, str]] = {}
            for trace_id in level:
                for linked, holder in assembled[trace_id].child_links:
                    if linked not in assembled and linked not in wanted:
                        wanted[linked] = (trace_id, holder)
            if not wanted:
                break
            if depth >= MAX_LINK_DEPTH:
                limit_hit = True
                break
            got, not_there = lookup(list(wanted))
            level = []
            for linked, (trace_id, holder) in wanted.items():
                if linked not in got or linked in not_there:
                    problems.append(f"linked trace {linked} (linked from segment {holder}) not found")
                    continue
                assembled[linked] = _assemble(got[linked])
                problems.extend(assembled[linked].problems)
                attached.setdefault((trace_id, holder), []).append(linked)
                level.append(linked)
            depth += 1

    def freeze(trace_id: str, ident: str) -> Segment:
        part = assembled[trace_id]
        kids = [freeze(trace_id, child) for child in part.children[ident]]
        for linked in attached.get((trace_id, ident), ()):
            kids.extend(freeze(linked, root) for root in assembled[linked].roots + assembled[linked].orphans)
        return Segment.from_api(part.segments[ident], children=kids)

    def as_trace(part: _Assembled, by_id: Mapping[str, Segment]) -> Trace:
        segments = sorted((by_id[i] for i in part.segments if i in by_id), key=lambda s: sort_key(s.start_time, s.id))
        raw = part.raw
        return Trace(raw.id, raw.duration, raw.limit_exceeded, tuple(segments), tuple(raw.documents))

    main = assembled[source]
    if not main.segments:
        return Outcome(None, problems, True)
    roots = sorted(
        (freeze(source, ident) for ident in main.roots + main.orphans), key=lambda s: sort_key(s.start_time, s.id)
    )
    walk: list[Segment] = []
    paths: list[tuple[Segment, ...]] = []

    def visit(segment: Segment, trail: tuple[Segment, ...]) -> None:
        walk.append(segment)
        here = (*trail, segment)
        if not segment.children:
            paths.append(here)
        for child in segment.children:
            visit(child, here)

    for root in roots:
        visit(root, ())
    by_trace: dict[str, dict[str, Segment]] = {}
    for segment in walk:
        by_trace.setdefault(segment.trace_id, {})[segment.id] = segment
    followed = tuple(as_trace(assembled[t], by_trace.get(t, {})) for t in assembled if t != source)
    tree = TraceTree(
        root=roots[0],
        roots=tuple(roots),
        paths=tuple(paths),
        segments=tuple(walk),
        source_trace=as_trace(main, by_trace.get(source, {})),
        linked_traces=followed,
        linked_trace_limit_exceeded=limit_hit,
    )
    return Outcome(tree, problems, True)


def incomplete_message(trace_id: str, outcome: Outcome, when: str, hint: str) -> str:
    if not outcome.found:
        text = f"trace {trace_id} not found {when}"
    else:
        shown = outcome.problems[:5]
        more = f" (and {len(outcome.problems) - 5} more)" if len(outcome.problems) > 5 else ""
        text = f"trace {trace_id} incomplete {when}: " + "; ".join(shown) + more
        if outcome.tree is not None:
            text += f"\nhave:\n{outcome.tree.render()}"
    return f"{text}\n{hint}" if hint else text
