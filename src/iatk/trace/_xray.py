"""The X-Ray source: ``BatchGetTraces`` in batches of 5 ids, pages joined, ``Document`` strings parsed."""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from iatk._aws import calling
from iatk.exceptions import TraceError

from ._model import number
from ._source import Fetched, RawTrace

if TYPE_CHECKING:
    from ._header import TraceHeader

_BATCH_LIMIT = 5  # BatchGetTraces takes at most 5 trace ids per request

HINT = (
    "X-Ray can take 10-30 s to make a trace readable: raise within= (or --iatk-trace-timeout), "
    "and check the region and that the request was sampled (Sampled=1)."
)


def raw_trace(item: Mapping[str, Any]) -> RawTrace:
    """One ``Traces`` item of ``BatchGetTraces``: its ``Document`` strings parsed, nothing resolved yet."""
    trace = RawTrace(str(item.get("Id")), number(item.get("Duration")), bool(item.get("LimitExceeded")), [])
    add_segments(trace, item.get("Segments") or [])
    return trace


def add_segments(trace: RawTrace, segments: Iterable[Mapping[str, Any]]) -> None:
    """Parse each ``Segments`` entry's ``Document`` into ``trace.documents`` (a later page adds more).

    The documents are parsed in one ``json.loads`` of a JSON array of them: one call instead of one
    per document is a third of the parsing time of a 500-span trace (benchmarks/bench_trace.py).
    When that fails, or does not give one object per document, each is parsed on its own, so the
    error names the segment at fault.
    """
    entries = list(segments)
    texts = [entry.get("Document") for entry in entries]
    if all(isinstance(text, str) for text in texts):
        try:
            parsed = json.loads("[" + ",".join(texts) + "]")  # type: ignore[arg-type]
        except ValueError:
            parsed = None
        if isinstance(parsed, list) and len(parsed) == len(texts) and all(type(d) is dict for d in parsed):
            trace.documents.extend(parsed)
            return
    for segment in entries:
        text = segment.get("Document")
        try:
            document = json.loads(text) if isinstance(text, str) else None
        except ValueError as err:
            raise TraceError(
                f"segment {segment.get('Id')} of trace {trace.id}: Document is not JSON ({err}): {text!r:.200}"
            ) from err
        if not isinstance(document, dict):
            raise TraceError(f"segment {segment.get('Id')} of trace {trace.id}: Document is not a JSON object")
        trace.documents.append(document)


class XRaySource:
    """BatchGetTraces with pages and batches of 5; counts requests (a :class:`TraceSource`)."""

    name = "X-Ray"

    def __init__(self, client: Any, region: str) -> None:
        self.client = client
        self.region = region
        self.requests = 0
        self._last = "nothing yet"

    def fetch(self, ids: Sequence[str]) -> Fetched:
        found: dict[str, RawTrace] = {}
        unprocessed: set[str] = set()
        for start in range(0, len(ids), _BATCH_LIMIT):
            chunk = list(ids[start : start + _BATCH_LIMIT])
            token: str | None = None
            while True:
                kwargs: dict[str, Any] = {"TraceIds": chunk}
                if token:
                    kwargs["NextToken"] = token
                with calling(f"reading X-Ray trace {', '.join(chunk)} (xray:BatchGetTraces)"):
                    response = self.client.batch_get_traces(**kwargs)
                self.requests += 1
                for item in response.get("Traces") or ():
                    ident = str(item.get("Id"))
                    if ident in found:
                        add_segments(found[ident], item.get("Segments") or [])
                    else:
                        found[ident] = raw_trace(item)
                unprocessed.update(response.get("UnprocessedTraceIds") or ())
                next_token = response.get("NextToken")
                if not next_token:
                    break
                if next_token == token:
                    raise TraceError(f"xray:BatchGetTraces returned the same NextToken twice for {chunk}")
                token = next_token
        missing = [i for i in ids if i not in found and i not in unprocessed]
        self._last = ", ".join(
            part
            for part in (
                f"{len(found)} trace(s), {sum(len(t.documents) for t in found.values())} segment document(s)",
                f"UnprocessedTraceIds {sorted(unprocessed)}" if unprocessed else "",
                f"no trace for {missing}" if missing else "",
            )
            if part
        )
        # An unprocessed id is "not yet", even if some of its segments came back.
        return {i: t for i, t in found.items() if i not in unprocessed}, unprocessed

    def last_answer(self) -> str:
        """What the last BatchGetTraces answered, in short."""
        return self._last

    def describe_requests(self, *, region: bool = False) -> str:
        text = f"{self.requests} requests to xray:BatchGetTraces"
        return f"{text} in {self.region}" if region else text

    def hint(self, header: TraceHeader) -> str:
        if header.sampled is False:
            return "The header says Sampled=0, so X-Ray may never record this trace. " + HINT
        return HINT
