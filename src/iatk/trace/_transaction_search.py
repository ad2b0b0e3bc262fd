"""The Transaction Search source: ``StartTraceRetrieval`` → ``ListRetrievedTraces`` (``TraceFormat=XRAY``).

With Transaction Search on, X-Ray writes spans to the CloudWatch Logs group ``aws/spans`` and
``BatchGetTraces`` no longer finds them. They are read in two steps: ``StartTraceRetrieval`` (trace
ids and a time range) gives a ``RetrievalToken``; ``ListRetrievedTraces`` with that token answers
``RetrievalStatus`` (``SCHEDULED``, ``RUNNING``, ``COMPLETE``, ``FAILED``, ``CANCELLED``, ``TIMEOUT``)
and, once ``COMPLETE``, the traces. With ``TraceFormat=XRAY`` each span's ``Document`` is an X-Ray
segment document, the format the shared assembly reads.

The retry on ``RetrievalStatus`` is this source's own: a retrieval still ``SCHEDULED`` or
``RUNNING`` is polled again on the next attempt (not started again), so get_trace_tree's backoff
and deadline bound it; a ``COMPLETE`` retrieval is a snapshot, so when the trace is missing or
still growing the next attempt starts a new one; a ``FAILED`` / ``TIMEOUT`` / ``CANCELLED`` one is
replaced too. At the deadline (or once the tree is there) :meth:`TransactionSearchSource.close`
cancels what is still running (``CancelTraceRetrieval``).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

from iatk._aws import calling
from iatk.exceptions import AwsError, TraceError

from ._model import number
from ._source import Fetched, RawTrace
from ._xray import add_segments

if TYPE_CHECKING:
    from ._header import TraceHeader

log = logging.getLogger("iatk.trace")

_IDS_LIMIT = 100  # StartTraceRetrieval takes at most 100 trace ids
#: How far before a trace id's epoch second the time range starts, and how far past now it ends.
_BEFORE = 300.0
_AFTER = 300.0
#: A trace id whose first 8 hex digits are not a plausible epoch second (a random W3C id) is looked
#: for over this many seconds before now.
_LOOKBACK = 6 * 3600.0
_PLAUSIBLE_AGE = 30 * 86400.0  # X-Ray keeps traces 30 days

IN_PROGRESS = frozenset({"SCHEDULED", "RUNNING"})

HINT = (
    "Transaction Search writes spans to the aws/spans log group and a retrieval reads them back; "
    "it can take a minute or more: raise within= (or --iatk-trace-timeout), check the region, that "
    "the request was sampled, and that the account's trace destination is CloudWatchLogs "
    "(aws xray get-trace-segment-destination)."
)


def epoch_of(trace_id: str) -> float | None:
    """The epoch second in an X-Ray trace id (``1-<8 hex>-…``), or None when it is not one."""
    try:
        return float(int(trace_id.split("-")[1], 16))
    except (IndexError, ValueError):
        return None


def time_range(ids: Sequence[str], now: float) -> tuple[float, float]:
    """The ``StartTime`` / ``EndTime`` for ``ids``: from before the earliest id's epoch to past now.

    X-Ray ids (and the ids of OpenTelemetry's X-Ray id generator) start with the epoch second the
    trace began. A random W3C id has no time in it: then the range is the last ``_LOOKBACK`` seconds.
    """
    epochs = [e for e in map(epoch_of, ids) if e is not None and now - _PLAUSIBLE_AGE <= e <= now + _AFTER]
    start = min(epochs) - _BEFORE if len(epochs) == len(ids) and epochs else now - _LOOKBACK
    return start, now + _AFTER


class TransactionSearchSource:
    """Trace retrievals from the Transaction Search log group (a :class:`TraceSource`).

    Args:
        client: An X-Ray client (boto3).
        region: For messages.
        wall_clock: Epoch seconds, for the retrieval's time range (a seam for tests).
    """

    name = "Transaction Search"

    def __init__(self, client: Any, region: str, *, wall_clock: Callable[[], float] | None = None) -> None:
        self.client = client
        self.region = region
        self.wall_clock = wall_clock or time.time
        self.requests: dict[str, int] = {}
        #: Every RetrievalStatus seen, oldest first (for messages and tests).
        self.statuses: list[str] = []
        self._running: dict[tuple[str, ...], str] = {}  # ids -> RetrievalToken still in progress
        self._last_count: int | None = None

    def _count(self, operation: str) -> None:
        self.requests[operation] = self.requests.get(operation, 0) + 1

    def _start(self, ids: Sequence[str]) -> str:
        start, end = time_range(ids, self.wall_clock())
        with calling(f"starting a Transaction Search retrieval of {', '.join(ids)} (xray:StartTraceRetrieval)"):
            response = self.client.start_trace_retrieval(TraceIds=list(ids), StartTime=start, EndTime=end)
        self._count("StartTraceRetrieval")
        token = response.get("RetrievalToken")
        if not isinstance(token, str) or not token:
            raise TraceError(f"xray:StartTraceRetrieval returned no RetrievalToken for {list(ids)}")
        return token

    def _list(self, token: str, ids: Sequence[str]) -> tuple[str, list[dict[str, Any]]]:
        items: list[dict[str, Any]] = []
        next_token: str | None = None
        while True:
            kwargs: dict[str, Any] = {"RetrievalToken": token, "TraceFormat": "XRAY"}
            if next_token:
                kwargs["NextToken"] = next_token
            with calling(f"listing the retrieved traces {', '.join(ids)} (xray:ListRetrievedTraces)"):
                response = self.client.list_retrieved_traces(**kwargs)
            self._count("ListRetrievedTraces")
            status = str(response.get("RetrievalStatus") or "")
            if status != "COMPLETE":
                return status, []
            items.extend(response.get("Traces") or ())
            following = response.get("NextToken")
            if not following:
                return status, items
            if following == next_token:
                raise TraceError(f"xray:ListRetrievedTraces returned the same NextToken twice for {list(ids)}")
            next_token = following

    def fetch(self, ids: Sequence[str]) -> Fetched:
        found: dict[str, RawTrace] = {}
        waiting: set[str] = set()
        for first in range(0, len(ids), _IDS_LIMIT):
            chunk = tuple(ids[first : first + _IDS_LIMIT])
            token = self._running.get(chunk) or self._start(chunk)
            self._running[chunk] = token
            status, items = self._list(token, chunk)
            self.statuses.append(status)
            if status in IN_PROGRESS:
                waiting.update(chunk)  # poll the same retrieval next time
                continue
            del self._running[chunk]  # finished, one way or another: a new one next time
            if status != "COMPLETE":
                waiting.update(chunk)
                continue
            self._last_count = len(items)
            for item in items:
                ident = str(item.get("Id"))
                trace = found.get(ident)
                if trace is None:
                    trace = found[ident] = RawTrace(ident, number(item.get("Duration")), False, [])
                add_segments(trace, item.get("Spans") or [])
        return found, waiting

    def close(self) -> None:
        """Cancel the retrievals still in progress (``CancelTraceRetrieval``); errors are logged, not raised."""
        while self._running:
            chunk, token = self._running.popitem()
            try:
                with calling(f"cancelling the retrieval of {', '.join(chunk)} (xray:CancelTraceRetrieval)"):
                    self.client.cancel_trace_retrieval(RetrievalToken=token)
                self._count("CancelTraceRetrieval")
            except AwsError as err:
                log.warning("could not cancel a Transaction Search retrieval: %s", err)

    def last_answer(self) -> str:
        """The last RetrievalStatus, and how many traces the last complete retrieval gave."""
        if not self.statuses:
            return "nothing yet"
        return f"RetrievalStatus {self.statuses[-1]}" + (
            f", {self._last_count} trace(s) in the last complete retrieval" if self._last_count is not None else ""
        )

    def describe_requests(self, *, region: bool = False) -> str:
        parts = [f"{count} to xray:{operation}" for operation, count in self.requests.items()] or ["no requests"]
        text = "requests: " + ", ".join(parts)
        if self.statuses:
            text += f"; last RetrievalStatus {self.statuses[-1]}"
        return f"{text} in {self.region}" if region else text

    def hint(self, header: TraceHeader) -> str:
        if header.sampled is False:
            return "The header says Sampled=0, so the trace may never be recorded. " + HINT
        return HINT
