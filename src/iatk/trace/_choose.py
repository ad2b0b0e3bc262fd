"""Which source a trace is read from: the ``trace_source`` setting, or the account's destination.

``trace_source`` (``--iatk-trace-source``, ini ``iatk_trace_source``, ``IATK_TRACE_SOURCE``) is
``xray``, ``transaction-search`` or ``auto`` (the default). ``auto`` asks
``xray:GetTraceSegmentDestination`` once per session (the answer is cached on the session's
:class:`~iatk._aws.AwsContext`, so once per run): ``CloudWatchLogs`` and ``ACTIVE`` means
Transaction Search is on and ``BatchGetTraces`` no longer finds the traces, so they are read with
``StartTraceRetrieval`` / ``ListRetrievedTraces``; ``XRay`` (or a change still ``PENDING``) means
X-Ray. When the call fails (an old policy without the permission, a region without the API), the
choice falls back to X-Ray and says so: :attr:`TraceSourceChoice.fell_back` and
:meth:`TraceSourceChoice.describe`, the line a report header shows.
"""

from __future__ import annotations

import threading
import weakref
from dataclasses import dataclass
from typing import TYPE_CHECKING, Final

from iatk._aws import aws, calling
from iatk._config import SPEC_BY_NAME, TRACE_SOURCES, current_settings
from iatk.exceptions import AwsError, ConfigError

from ._transaction_search import TransactionSearchSource
from ._xray import XRaySource

if TYPE_CHECKING:
    import boto3

    from iatk._aws import AwsContext

    from ._source import TraceSource

XRAY: Final = "xray"
TRANSACTION_SEARCH: Final = "transaction-search"
_TITLES = {XRAY: "X-Ray (xray:BatchGetTraces)", TRANSACTION_SEARCH: "Transaction Search (xray:ListRetrievedTraces)"}


@dataclass(frozen=True, slots=True)
class TraceSourceChoice:
    """Where traces are read from, and why.

    Attributes:
        source: ``"xray"`` or ``"transaction-search"``.
        reason: Why: the setting that named it, or the account's destination.
        fell_back: ``auto`` could not ask GetTraceSegmentDestination and chose X-Ray.
        destination, status: GetTraceSegmentDestination's answer (None when not asked or failed).
    """

    source: str
    reason: str
    fell_back: bool = False
    destination: str | None = None
    status: str | None = None

    def describe(self) -> str:
        """One line for a report header: ``traces: Transaction Search (xray:ListRetrievedTraces), because …``."""
        return f"traces: {_TITLES[self.source]}, {self.reason}"

    def open(self, context: AwsContext) -> TraceSource:
        """A fresh source of this kind on ``context``'s X-Ray client."""
        if self.source == TRANSACTION_SEARCH:
            return TransactionSearchSource(context.xray, context.region)
        return XRaySource(context.xray, context.region)


_cache: weakref.WeakKeyDictionary[AwsContext, TraceSourceChoice] = weakref.WeakKeyDictionary()
_cache_lock = threading.Lock()


def _named(setting: str, origin: str) -> str:
    spec = SPEC_BY_NAME["trace_source"]
    where = {
        "option": spec.option,
        "ini": f"ini {spec.ini}",
        "env": spec.env,
        "argument": "source",
    }.get(origin, origin)
    return f"set by {where}={setting}"


def _ask(context: AwsContext) -> TraceSourceChoice:
    try:
        with calling("reading the account's trace destination (xray:GetTraceSegmentDestination)"):
            answer = context.xray.get_trace_segment_destination()
    except (AwsError, ConfigError) as err:
        return TraceSourceChoice(
            XRAY,
            f"because xray:GetTraceSegmentDestination failed ({err.code or type(err).__name__}); "
            "falling back to X-Ray (set --iatk-trace-source to choose)",
            fell_back=True,
        )
    destination, status = answer.get("Destination"), answer.get("Status")
    said = f"the account's trace destination is {destination} ({status})"
    if destination == "CloudWatchLogs" and status == "ACTIVE":
        return TraceSourceChoice(TRANSACTION_SEARCH, f"because {said}", destination=destination, status=status)
    if destination == "CloudWatchLogs":
        said += ": the change to Transaction Search is not active yet"
    return TraceSourceChoice(XRAY, f"because {said}", destination=destination, status=status)


def choose_trace_source(session: boto3.Session | None = None, *, source: str | None = None) -> TraceSourceChoice:
    """Where :func:`get_trace_tree` reads ``session``'s traces from (see the module docstring).

    Args:
        session: The boto3 Session (default: the run's).
        source: ``"xray"``, ``"transaction-search"`` or ``"auto"``; default: the ``trace_source``
            setting.

    Returns:
        The choice; with ``auto`` the account's answer is cached per session, so a run makes one
        ``GetTraceSegmentDestination`` call.

    Raises:
        ConfigError: ``source`` is not one of the three.

    IAM permissions:
        ``xray:GetTraceSegmentDestination`` (``auto`` only; without it the choice is X-Ray).
    """
    if source is None:
        settings = current_settings()
        setting, origin = settings.trace_source, (settings.sources or {}).get("trace_source", "default")
    else:
        setting, origin = str(source).strip().lower().replace("_", "-"), "argument"
        if setting not in TRACE_SOURCES:
            raise ConfigError(f"source: expected one of {', '.join(TRACE_SOURCES)}; got {source!r}")
    if setting != "auto":
        return TraceSourceChoice(setting, _named(setting, origin))
    context = aws(session)
    with _cache_lock:
        found = _cache.get(context)
    if found is None:
        found = _ask(context)
        with _cache_lock:
            found = _cache.setdefault(context, found)
    return found


def forget_trace_source(session: boto3.Session | None = None) -> None:
    """Forget the cached ``auto`` choice for ``session`` (after the account's destination changed)."""
    with _cache_lock:
        _cache.pop(aws(session), None)
