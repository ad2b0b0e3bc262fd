"""The seam between where traces come from and how a tree is built from them.

A source (X-Ray's ``BatchGetTraces`` in ``_xray.py`` today; an OpenTelemetry / Transaction Search
source next) answers one question, "these trace ids: which can you give me now?", with
:class:`RawTrace` records: the trace's segment documents, parsed, in X-Ray's segment document
format (the format the model reads: ``id``, ``parent_id``, ``start_time``, ``subsegments``...).
Everything after that is shared: parents and links are resolved by ``_assemble.py``, the waiting,
retrying and ``until`` by ``_get.py``. Adding a source is one new module with a class that has the
members of :class:`TraceSource`, passed to ``_get.read_trace_tree(..., source=...)``.

The sources: ``_xray.py`` (``BatchGetTraces``) and ``_transaction_search.py``
(``StartTraceRetrieval`` / ``ListRetrievedTraces``); ``_choose.py`` picks one per account.

Two members are optional, looked up with ``getattr``: ``close()``, called once when the wait ends
(success, timeout or error) to release what the source holds (Transaction Search cancels the
retrievals still running), and ``last_answer()``, a short text of what the source last returned,
for the timeout's message.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    from ._header import TraceHeader


@dataclass(slots=True)
class RawTrace:
    """One trace as a source read it: the documents parsed, nothing resolved yet.

    Attributes:
        id: The trace id.
        duration: The trace's duration as the source reports it (seconds), or None.
        limit_exceeded: The source cut the trace short (X-Ray's ``LimitExceeded``).
        documents: Every segment document (and separate subsegment document), parsed, in the order
            read, duplicates included: the assembly keeps the best copy of each id.
    """

    id: str
    duration: float | None
    limit_exceeded: bool
    documents: list[dict[str, Any]]


#: A source's answer for some ids: the traces it has now, and the ids it says are not ready yet.
#: An id in neither (or in both) is "not found yet" as well.
Fetched = tuple[dict[str, RawTrace], set[str]]


class TraceSource(Protocol):
    """Where get_trace_tree reads traces from (see the module docstring).

    ``fetch`` is called once per attempt for the source trace, then once per level of linked traces
    (``follow_links=True``); it raises iatk errors (``iatk._aws.calling``): an
    :class:`~iatk.exceptions.AwsError` with a throttling code is retried like "not yet", any other
    error ends the wait at once.
    """

    @property
    def name(self) -> str:
        """What the wait calls the trace, e.g. ``"X-Ray"``: "X-Ray trace 1-… to satisfy until"."""
        ...

    def fetch(self, ids: Sequence[str]) -> Fetched:
        """The traces among ``ids`` that are readable now, and the ids known not to be ready."""
        ...

    def describe_requests(self, *, region: bool = False) -> str:
        """The requests made so far, for messages: ``"7 requests to xray:BatchGetTraces"``.

        With ``region=True`` it says where as well (``"... in us-east-1"``).
        """
        ...

    def hint(self, header: TraceHeader) -> str:
        """The advice that ends a "not found" / "incomplete" message for ``header``'s trace."""
        ...
