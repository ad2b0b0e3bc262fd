"""Fix-ups of moto itself, applied in the process that runs the embedded server (each idempotent).

Each one changes moto's classes in this process, before the server serves its first request:
:func:`prime_boto3_session` builds the boto3 Session moto keeps for the process without the
machine's AWS profile, and :func:`serialise_moto_events` makes the EventBridge backend safe under
the threaded server. (The copy of CloudFormation's state machines into moto's interpreter is in
:mod:`.stepfunctions`, beside the rest of that story.)
"""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from iatk.exceptions import ConfigError


def prime_boto3_session() -> None:
    """Build the boto3 Session moto's server keeps for the process, with the profile variables set aside.

    moto makes that Session lazily, at the first request for each service, to list the regions, and
    caches it (``AccountSpecificBackend.get_session``; getmoto/moto#5469 made it lazy for this very
    reason). With ``AWS_PROFILE`` naming a profile that does not exist, boto3 raises there and every
    request answers HTTP 500. Building it here, without the profile variables, keeps the machine's
    AWS profile out of the embedded server as it is kept out of the embedded session.
    """
    from moto.core.base_backend import AccountSpecificBackend

    saved = {name: os.environ.pop(name) for name in ("AWS_PROFILE", "AWS_DEFAULT_PROFILE") if name in os.environ}
    try:
        AccountSpecificBackend.get_session()
    except Exception as err:
        raise ConfigError(f"the embedded moto server cannot build its boto3 session: {err}") from err
    finally:
        os.environ.update(saved)


@contextmanager
def profile_set_aside() -> Iterator[None]:
    """Run the block without ``AWS_PROFILE`` / ``AWS_DEFAULT_PROFILE`` (importing some moto modules
    builds a boto3 Session, which fails on a profile that does not exist); restored after."""
    saved = {name: os.environ.pop(name) for name in ("AWS_PROFILE", "AWS_DEFAULT_PROFILE") if name in os.environ}
    try:
        yield
    finally:
        os.environ.update(saved)


def serialise_moto_events() -> None:
    """Make moto's EventBridge backend safe under the threaded server, in this process (idempotent).

    Why: moto's server is threaded, and its events backend is not thread-safe. ``put_events`` walks
    a bus's rules (a dict) while another request's PutRule or DeleteRule changes them, and fails with
    ``RuntimeError: OrderedDict mutated during iteration`` (HTTP 500): xdist workers sharing the
    default bus hit it often. So every public method of ``EventsBackend`` takes one lock, except
    ``put_events``, replaced by :func:`~.eventbridge_put.install_put_events`: it holds the lock only
    to take a snapshot of the bus's rules, and matches and delivers outside it, so puts from several
    threads do not queue behind each other's deliveries. The lock is re-entrant: a delivery to
    another bus (and an S3 notification) puts events in the same thread. A moto server started in
    another process needs this call before it serves
    (``python -c "import iatk.embedded as e; e.serialise_moto_events(); ..."``).
    """
    import functools
    import inspect

    from moto.events.models import EventsBackend

    if getattr(EventsBackend, "_iatk_serialised", False):
        return
    lock = threading.RLock()

    def serialised(method: Any) -> Any:
        @functools.wraps(method)
        def call(*args: Any, **kwargs: Any) -> Any:
            with lock:
                return method(*args, **kwargs)

        return call

    from .eventbridge_put import install_put_events

    for name, member in list(vars(EventsBackend).items()):
        if not name.startswith("_") and name != "put_events" and inspect.isfunction(member):
            setattr(EventsBackend, name, serialised(member))
    install_put_events(lock)
    EventsBackend._iatk_serialised = True  # type: ignore[attr-defined]


#: What EventBridge answers for a PutEvents entry whose source begins with ``aws.``.
AWS_SOURCE_ERROR = ("NotAuthorizedForSourceException", "Not authorized for the source.")


def refuse_aws_sources() -> None:
    """Refuse PutEvents entries whose ``Source`` begins with ``aws.``, as EventBridge does (idempotent).

    EventBridge keeps ``aws.*`` sources for AWS services: a ``PutEvents`` entry with one fails with
    ``NotAuthorizedForSourceException`` (the call succeeds, the entry is counted in
    ``FailedEntryCount``). moto accepts it and routes it, so a test that puts ``aws.ec2`` passes
    offline and fails on AWS. Only the API call is changed: moto's own services (S3 notifications)
    still put ``aws.*`` events on the bus, as AWS's do.
    """
    import json

    from moto.events.responses import EventsHandler

    if getattr(EventsHandler, "_iatk_refuses_aws_sources", False):
        return
    original = EventsHandler.put_events

    def put_events(self: Any) -> str:
        entries = self._get_param("Entries") or []
        refused = [
            index
            for index, entry in enumerate(entries)
            if isinstance(entry, dict) and str(entry.get("Source") or "").startswith("aws.")
        ]
        if not refused:
            return str(original(self))
        kept = [entry for index, entry in enumerate(entries) if index not in refused]
        results: list[Any] = self.events_backend.put_events(kept) if kept else []
        answered = iter(results)
        code, message = AWS_SOURCE_ERROR
        merged = [
            {"ErrorCode": code, "ErrorMessage": message} if index in refused else next(answered)
            for index in range(len(entries))
        ]
        failed = sum(1 for entry in merged if "ErrorCode" in entry)
        return json.dumps({"FailedEntryCount": failed, "Entries": merged})

    EventsHandler.put_events = put_events  # type: ignore[method-assign]
    EventsHandler._iatk_refuses_aws_sources = True  # type: ignore[attr-defined]


def memoise_dispatch() -> None:
    """Find each request's service once per host name, not once per request (idempotent).

    moto's server picks the backend of every request under one lock, and for a host name like
    ``sqs.us-east-1.amazonaws.com`` it first lists moto's package folder (``os.listdir`` and an
    ``isdir`` for each of its ~200 entries), then tries every service's URL regex. Under load that
    lock is where the server's threads wait: with 8 listeners polling, most of a request's time. The
    answer depends only on the host name, so it is kept per host.
    """
    from moto.moto_server.werkzeug_app import DomainDispatcherApplication

    if getattr(DomainDispatcherApplication, "_iatk_memoised", False):
        return
    original = DomainDispatcherApplication.get_backend_for_host
    found: dict[str, Any] = {}

    def get_backend_for_host(self: Any, host: str | None) -> Any:
        if host is None:
            return None
        if host not in found:
            backend = original(self, host)
            if backend is None:
                return None  # not kept: moto prints its hint once per such request, as before
            found[host] = backend
        return found[host]

    DomainDispatcherApplication.get_backend_for_host = get_backend_for_host  # type: ignore[method-assign]
    DomainDispatcherApplication._iatk_memoised = True  # type: ignore[attr-defined]


def cheap_sqs_clock() -> None:
    """moto's SQS reads the clock once per scan of a queue, not twice per message (idempotent).

    Every ReceiveMessage (and every wake-up of a long poll) lists the queue's visible messages, and
    moto asks each message whether it is visible and whether it is delayed, each answer building two
    ``datetime`` objects (``unix_time_millis``): with a few hundred messages in flight, most of a
    receive's time, and so a queue that a fast producer fills drains ever slower. The same test, with
    the time read once per scan (``time.time()``, the clock moto's own reads), answers the same.
    """
    import time

    from moto.sqs.models import Message, Queue

    if getattr(Queue, "_iatk_cheap_clock", False):
        return

    def messages(self: Any) -> list[Any]:
        now = time.time() * 1000.0
        return [m for m in self._messages if now > m.visible_at and not now < m.delayed_until]

    Queue.messages = property(messages)  # type: ignore[method-assign,assignment]
    Message.visible = property(lambda self: time.time() * 1000.0 > self.visible_at)  # type: ignore[method-assign,assignment]
    Message.delayed = property(lambda self: time.time() * 1000.0 < self.delayed_until)  # type: ignore[method-assign,assignment]
    Queue._iatk_cheap_clock = True  # type: ignore[attr-defined]


#: Receipt handles of deleted messages a queue remembers (so deleting one again still succeeds).
REMEMBERED_DELETES = 2000


class _RecentHandles:
    """A set of the latest :data:`REMEMBERED_DELETES` receipt handles (what moto's queue uses of a set)."""

    def __init__(self, limit: int = REMEMBERED_DELETES) -> None:
        from collections import OrderedDict

        self._items: OrderedDict[str, None] = OrderedDict()
        self._limit = limit

    def __contains__(self, item: object) -> bool:
        return item in self._items

    def __len__(self) -> int:
        return len(self._items)

    def add(self, item: str) -> None:
        self._items[item] = None
        self._items.move_to_end(item)
        while len(self._items) > self._limit:
            self._items.popitem(last=False)

    def update(self, items: Any) -> None:
        for item in items:
            self.add(item)


def bound_sqs_deleted_handles() -> None:
    """A queue remembers the latest 2,000 deleted receipt handles, not every one (idempotent).

    moto keeps the receipt handles of every message ever deleted from a queue (``deleted_messages``,
    a set that only grows), so that deleting a message twice succeeds: a listener's queue over 10,000
    events held 10,000 handles, the traced heap growth seen in a long run. Deleting again a message
    deleted long ago (2,000 deletes back) is now ``ReceiptHandleIsInvalid``.
    """
    from moto.sqs.models import Queue

    if getattr(Queue, "_iatk_bounded_deletes", False):
        return
    original = Queue.__init__

    def init(self: Any, *args: Any, **kwargs: Any) -> None:
        original(self, *args, **kwargs)
        self.deleted_messages = _RecentHandles()

    Queue.__init__ = init  # type: ignore[method-assign]
    Queue._iatk_bounded_deletes = True  # type: ignore[attr-defined]


def untrack_sqs_messages() -> None:
    """moto forgets each SQS message once nothing uses it (idempotent).

    Every moto model instance is appended to its class's ``instances_tracked`` list, for the moto
    dashboard (``/moto-api/data.json``), and kept there until a reset: every message ever sent, and
    the copy every ReceiveMessage makes of each message it returns. Over a long run that is the
    server's whole growth: 10,000 events through one listener kept 20,000 messages (about 2 MB of
    traced heap per 1,000 events). A message is no longer tracked (the dashboard lists none); a reset
    (which empties the lists) does not bring the tracking back.
    """
    from moto.sqs.models import Message

    if getattr(Message, "_iatk_untracked", False):
        return

    def new(cls: Any, *args: Any, **kwargs: Any) -> Any:
        return object.__new__(cls)

    Message.__new__ = new  # type: ignore[method-assign]
    Message._iatk_untracked = True  # type: ignore[attr-defined]
