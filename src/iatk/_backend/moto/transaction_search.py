"""Transaction Search's X-Ray operations on moto, which lacks them (moto 5.2.5 answers 404).

:func:`emulate_transaction_search` adds five operations to moto's X-Ray service, in this process:

- ``GetTraceSegmentDestination`` / ``UpdateTraceSegmentDestination``: the account's destination,
  ``XRay`` until changed; a change is ``ACTIVE`` at once (on AWS it is ``PENDING`` for a while);
- ``StartTraceRetrieval``: checks ``TraceIds`` (at most 100), ``StartTime`` and ``EndTime``, and
  returns a ``RetrievalToken``;
- ``ListRetrievedTraces``: ``COMPLETE`` with the traces among the ids that have a segment starting
  inside the time range, read from moto's X-Ray store when listed (``TraceFormat=XRAY``: each span
  is a segment document, as ``BatchGetTraces`` returns them); ``TraceFormat=OTEL`` is refused with a
  clear message, as the store holds X-Ray documents;
- ``CancelTraceRetrieval``: a retrieval listed after it answers ``CANCELLED``.

Offline both read paths see every trace, whatever the destination: segments sent with
``PutTraceSegments``, through the X-Ray relay or the OTLP receiver all land in one store, so a test
can read one trace through X-Ray and through Transaction Search and compare. The destination only
steers ``trace_source=auto``.
"""

from __future__ import annotations

import datetime as dt
import json
import secrets
import threading
from typing import Any

_lock = threading.Lock()
#: (account, region) -> (Destination, Status)
_destinations: dict[tuple[str, str], tuple[str, str]] = {}
#: token -> the retrieval (account, region, ids, start, end, cancelled)
_retrievals: dict[str, dict[str, Any]] = {}
_MAX_IDS = 100
_PAGE = 50  # traces per ListRetrievedTraces page


def _seconds(value: Any) -> float | None:
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return float(value)
    if isinstance(value, str):
        try:
            return float(value)
        except ValueError:
            try:
                return dt.datetime.fromisoformat(value.replace("Z", "+00:00")).timestamp()
            except ValueError:
                return None
    return None


def _error(code: str, message: str, status: int = 400) -> tuple[str, dict[str, Any]]:
    return json.dumps({"__type": code, "message": message}), {"status": status, "x-amzn-ErrorType": code}


def _key(response: Any) -> tuple[str, str]:
    return (str(response.current_account), str(response.region))


def get_trace_segment_destination(self: Any) -> str:
    with _lock:
        destination, status = _destinations.get(_key(self), ("XRay", "ACTIVE"))
    return json.dumps({"Destination": destination, "Status": status})


def update_trace_segment_destination(self: Any) -> str | tuple[str, dict[str, Any]]:
    destination = self._get_param("Destination")
    if destination not in ("XRay", "CloudWatchLogs"):
        return _error("InvalidRequestException", f"Destination must be XRay or CloudWatchLogs, got {destination!r}")
    with _lock:
        _destinations[_key(self)] = (destination, "ACTIVE")
    return json.dumps({"Destination": destination, "Status": "ACTIVE"})


def start_trace_retrieval(self: Any) -> str | tuple[str, dict[str, Any]]:
    ids = self._get_param("TraceIds")
    start, end = _seconds(self._get_param("StartTime")), _seconds(self._get_param("EndTime"))
    if not isinstance(ids, list) or not all(isinstance(i, str) and 1 <= len(i) <= 35 for i in ids):
        return _error("InvalidRequestException", "TraceIds must be a list of trace ids (1 to 35 characters each)")
    if len(ids) > _MAX_IDS:
        return _error("InvalidRequestException", f"at most {_MAX_IDS} TraceIds per retrieval, got {len(ids)}")
    if start is None or end is None:
        return _error("InvalidRequestException", "StartTime and EndTime are required")
    if end < start:
        return _error("InvalidRequestException", "EndTime must not be before StartTime")
    token = secrets.token_urlsafe(48)
    account, region = _key(self)
    with _lock:
        _retrievals[token] = {
            "account": account,
            "region": region,
            "ids": list(dict.fromkeys(ids)),
            "start": start,
            "end": end,
            "cancelled": False,
        }
    return json.dumps({"RetrievalToken": token})


def _traces(retrieval: dict[str, Any]) -> list[dict[str, Any]]:
    from moto.xray.models import xray_backends

    backend = xray_backends[retrieval["account"]][retrieval["region"]]
    stored = backend._segment_collection._traces  # the documents as sent, per trace id
    traces = []
    for trace_id in retrieval["ids"]:
        trace = stored.get(trace_id)  # a defaultdict: .get() does not create the key
        segments = list(trace["segments"]) if trace else []
        starts = [s.start_time for s in segments if isinstance(s.start_time, (int, float))]
        if not starts or not any(retrieval["start"] <= t <= retrieval["end"] for t in starts):
            continue
        ends = [s.end_time for s in segments if isinstance(s.end_time, (int, float))]
        duration = (max(ends) - min(starts)) if ends else None
        item: dict[str, Any] = {"Id": trace_id, "Spans": [{"Id": s.id, "Document": s.raw} for s in segments]}
        if duration is not None:
            item["Duration"] = round(duration, 3)
        traces.append(item)
    return traces


def list_retrieved_traces(self: Any) -> str | tuple[str, dict[str, Any]]:
    token = self._get_param("RetrievalToken")
    trace_format = self._get_param("TraceFormat") or "XRAY"
    with _lock:
        retrieval = _retrievals.get(token) if isinstance(token, str) else None
    if retrieval is None or _key(self) != (retrieval["account"], retrieval["region"]):
        return _error("ResourceNotFoundException", f"no trace retrieval with the token {str(token)[:20]!r}...", 404)
    if trace_format != "XRAY":
        return _error(
            "InvalidRequestException",
            f"iatk's embedded backend answers TraceFormat XRAY only (asked for {trace_format!r})",
        )
    if retrieval["cancelled"]:
        return json.dumps({"RetrievalStatus": "CANCELLED", "TraceFormat": trace_format, "Traces": []})
    traces = _traces(retrieval)
    offset = int(self._get_param("NextToken") or 0) if str(self._get_param("NextToken") or "0").isdigit() else 0
    page = traces[offset : offset + _PAGE]
    answer: dict[str, Any] = {"RetrievalStatus": "COMPLETE", "TraceFormat": trace_format, "Traces": page}
    if offset + _PAGE < len(traces):
        answer["NextToken"] = str(offset + _PAGE)
    return json.dumps(answer)


def cancel_trace_retrieval(self: Any) -> str | tuple[str, dict[str, Any]]:
    token = self._get_param("RetrievalToken")
    with _lock:
        retrieval = _retrievals.get(token) if isinstance(token, str) else None
        if retrieval is not None:
            retrieval["cancelled"] = True
    if retrieval is None:
        return _error("ResourceNotFoundException", "no trace retrieval with that token", 404)
    return "{}"


_OPERATIONS = {
    "GetTraceSegmentDestination": get_trace_segment_destination,
    "UpdateTraceSegmentDestination": update_trace_segment_destination,
    "StartTraceRetrieval": start_trace_retrieval,
    "ListRetrievedTraces": list_retrieved_traces,
    "CancelTraceRetrieval": cancel_trace_retrieval,
}


def emulate_transaction_search() -> None:
    """Add the five operations to moto's X-Ray service in this process (idempotent).

    moto routes X-Ray by path (``/TraceSegments`` → ``trace_segments``), so each operation is a
    path in ``moto.xray.urls.url_paths`` and a method of ``XRayResponse`` named after it. Call it
    before the server answers its first X-Ray request (moto builds each service's routes once).
    """
    from moto.core.utils import camelcase_to_underscores
    from moto.xray import urls
    from moto.xray.responses import XRayResponse

    if getattr(XRayResponse, "_iatk_transaction_search", False):
        return
    for operation, handler in _OPERATIONS.items():
        urls.url_paths[f"{{0}}/{operation}$"] = XRayResponse.dispatch
        setattr(XRayResponse, camelcase_to_underscores(operation), handler)
    XRayResponse._iatk_transaction_search = True  # type: ignore[attr-defined]
