"""Receiving from an SQS queue: long polls, a bounded buffer deduplicated by event id, deferred deletes.

:class:`SqsInbox` knows SQS and nothing about rules: whatever sends to the queue (an EventBridge
rule today, an SNS subscription later), it reads the queue, keeps what it received, and lets waits
claim entries. Messages its ``skip`` callable recognises (a listener's canaries) are deleted with
the rest and never kept.
"""

from __future__ import annotations

import logging
import math
import time
from collections import OrderedDict, deque
from collections.abc import Callable, Mapping, Sequence
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any

from iatk._aws import BOTO_ERRORS, error_message, frameless, is_gone, wrap
from iatk.events import Event
from iatk.exceptions import ConfigError, ListenerError

from ._records import Entry

_HELP = "Listening to a bus"  # the README section poll()'s argument errors point to

if TYPE_CHECKING:
    from mypy_boto3_sqs import SQSClient

    from iatk.waiting import Deadline

__all__ = ["MAX_LONG_POLL", "MAX_MESSAGES", "VISIBILITY_TIMEOUT", "SqsInbox", "wait_seconds"]

log = logging.getLogger("iatk.listener")

#: SQS long polls last at most 20 s.
MAX_LONG_POLL = 20
#: ReceiveMessage returns at most 10 messages.
MAX_MESSAGES = 10
_MAX_DRAIN = 10  # extra immediate receives at a deadline (100 messages)
_DELETE_TRIES = 3  # a received message's delete is tried this many times (in separate batches), then given up
#: A listener's queue hides a received message for 12 h (SQS's maximum), so a wait can delete what it
#: received later, ten at a time, off the put -> matched path: the events are in the buffer already,
#: and a message that comes back anyway (a listener older than that) is deduplicated.
VISIBILITY_TIMEOUT = 43200


def wait_seconds(remaining: float) -> int:
    """WaitTimeSeconds for a long poll with ``remaining`` seconds left: whole seconds in [1, 20], 0 when done.

    SQS takes whole seconds; rounding up overshoots the deadline by less than a second, where a
    short poll (0) could miss messages (it samples only some SQS servers).
    """
    if remaining <= 0:
        return 0
    return max(1, min(MAX_LONG_POLL, math.ceil(remaining - 1e-3)))


class SqsInbox:
    """What a listener received from its queue, and how it receives more.

    Args:
        sqs: The SQS client.
        queue_url: The queue to read.
        listener_id: The owner's id, for messages and logs.
        size: How many events to keep (the oldest are dropped first).
        skip: True for a message that is not an event for the waits (a canary): deleted, never kept.
        clock: The monotonic clock that stamps receipts.
    """

    def __init__(
        self,
        sqs: SQSClient,
        queue_url: str,
        *,
        listener_id: str,
        size: int,
        skip: Callable[[Event], bool],
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.sqs = sqs
        self.queue_url = queue_url
        self.listener_id = listener_id
        self._skip = skip
        self._clock = clock
        # The buffer, and the ids already seen (bounded too, and longer than the buffer).
        self._buffer: deque[Entry] = deque(maxlen=size)
        self._seen: OrderedDict[str, None] = OrderedDict()
        self._seen_limit = max(4 * size, 1000)
        #: How many events fell out of the full buffer.
        self.dropped = 0
        #: ReceiveMessage calls made so far.
        self.polls = 0
        # Messages a wait received but has not deleted yet: deleted before the next receive, so the
        # DeleteMessageBatch is off the put -> matched path but still one per batch.
        self._undeleted: list[Mapping[str, Any]] = []
        # Failed delete tries per receipt handle, and whether the first failure was logged.
        self._delete_tries: dict[str, int] = {}
        self._delete_warned = False
        #: Messages whose delete was given up (their events are kept; the queue goes at close()).
        self.undeletable = 0

    # -- the buffer ---------------------------------------------------------------------------------

    @property
    def size(self) -> int:
        """How many events the buffer keeps."""
        assert self._buffer.maxlen is not None  # always bounded
        return self._buffer.maxlen

    def __len__(self) -> int:
        return len(self._buffer)

    @property
    def events(self) -> tuple[Event, ...]:
        """Every event in the buffer, in order of receipt (claimed or not)."""
        return tuple(entry.event for entry in self._buffer)

    def unclaimed(self) -> list[Entry]:
        """The entries no wait has claimed, in order of receipt."""
        return [entry for entry in self._buffer if not entry.claimed]

    def clear(self) -> None:
        """Forget the events in the buffer (events already seen stay deduplicated)."""
        self._buffer.clear()

    def discard_pending(self) -> None:
        """Forget the deferred deletes: the queue is being deleted with them."""
        self._undeleted = []
        self._delete_tries.clear()

    # -- receiving ----------------------------------------------------------------------------------

    def poll(self, wait: float, max_messages: int) -> list[Event]:
        """One receive of up to ``wait`` s (rounded up), deleted at once; the new events (see Listener.poll)."""
        __tracebackhide__ = True
        given: Any = wait
        if isinstance(given, bool) or not isinstance(given, (int, float)) or not 0 <= given <= MAX_LONG_POLL:
            raise ConfigError(f"poll(wait=...) takes 0 to {MAX_LONG_POLL} seconds; got {wait!r}", help_section=_HELP)
        most: Any = max_messages
        if isinstance(most, bool) or not isinstance(most, int) or not 1 <= most <= MAX_MESSAGES:
            raise ConfigError(f"poll(max_messages=...) takes 1 to 10; got {max_messages!r}", help_section=_HELP)
        entries, _ = self.receive(math.ceil(wait), max_messages)
        return [entry.event for entry in entries]

    def take(self, deadline: Deadline) -> list[Entry]:
        """One long poll sized to the deadline; at the deadline, also drain what is already queued.

        A receive returns at most 10 messages, so when the deadline passes with a full batch in hand,
        a few more immediate receives (wait 0, at most ``_MAX_DRAIN``) collect what had already arrived.
        """
        __tracebackhide__ = True
        fresh, count = self.receive(wait_seconds(deadline.remaining()), MAX_MESSAGES, defer_delete=True)
        drains = 0
        while count == MAX_MESSAGES and deadline.expired() and drains < _MAX_DRAIN:
            more, count = self.receive(0, MAX_MESSAGES, defer_delete=True)
            fresh += more
            drains += 1
        return fresh

    def receive(self, wait_seconds: int, max_messages: int, *, defer_delete: bool = False) -> tuple[list[Entry], int]:
        """One ReceiveMessage, and its DeleteMessageBatch now or, with ``defer_delete``, later.

        Deferred deletes go out ten at a time (one full DeleteMessageBatch), before a receive, once ten
        are pending; the queue's 12 h visibility timeout keeps those messages hidden meanwhile, and
        ``close()`` deletes the queue with whatever is left. A deferred delete is safe: the events are
        already in the buffer, and a redelivery (a listener attached to a queue with a shorter
        visibility timeout, or older than 12 h) is deduplicated by event id.

        Returns:
            The new entries, and the number of messages received (skipped ones included).
        """
        __tracebackhide__ = True
        self._flush_deletes()
        try:
            response = self.sqs.receive_message(
                QueueUrl=self.queue_url, MaxNumberOfMessages=max_messages, WaitTimeSeconds=wait_seconds
            )
        except BOTO_ERRORS as err:
            what = f"listener {self.listener_id}: sqs:ReceiveMessage on {self.queue_url}"
            if is_gone(err):
                what += (
                    " (its queue was deleted under the listener: by another run's cleanup, a sweep, or a person?"
                    " It cannot receive any more; the events already received stay in listener.events)"
                )
            raise wrap(err, what, ListenerError) from frameless(err)
        self.polls += 1
        messages = response.get("Messages") or []
        if not messages:
            return [], 0
        received = self._clock()
        received_at = datetime.now(timezone.utc)
        fresh: list[Entry] = []
        for message in messages:
            event = Event.from_sqs_message(message, received_at=received_at)
            if self._skip(event):  # deleted with the rest, never shown to a wait
                continue
            if event.id in self._seen:
                continue
            self._remember(event.id)
            if len(self._buffer) == self._buffer.maxlen:
                self.dropped += 1
                if self.dropped == 1:
                    log.warning(
                        "listener %s: buffer full (%d events); the oldest are dropped from now on",
                        self.listener_id,
                        self._buffer.maxlen,
                    )
            entry = Entry(event, received)
            self._buffer.append(entry)
            fresh.append(entry)
        # Kept before deleting: a failed delete loses nothing (it is deferred; a redelivery is deduplicated).
        if defer_delete:
            self._undeleted.extend(messages)
        else:
            self._delete(messages)
        return fresh, len(messages)

    def _flush_deletes(self) -> None:
        """Delete deferred messages in full batches of ten; fewer wait for more (or for close()).

        A batch that fails (throttling, a 5xx, a dropped connection) never fails the caller: its
        messages go back to the end of the deferred list and are tried again before a later receive,
        up to :data:`_DELETE_TRIES` times in all (their events are in the buffer already, and the 12 h
        visibility timeout keeps them hidden meanwhile; a redelivery is deduplicated).
        """
        __tracebackhide__ = True
        batches = len(self._undeleted) // MAX_MESSAGES
        for _ in range(batches):
            batch, self._undeleted = self._undeleted[:MAX_MESSAGES], self._undeleted[MAX_MESSAGES:]
            self._delete(batch)

    def _remember(self, event_id: str) -> None:
        self._seen[event_id] = None
        if len(self._seen) > self._seen_limit:
            self._seen.popitem(last=False)

    def _delete(self, messages: Sequence[Mapping[str, Any]]) -> None:
        """One DeleteMessageBatch (and one immediate retry of the entries it failed); never raises.

        What is still not deleted is deferred (see :meth:`_flush_deletes`), with a warning the first
        time; a message that failed :data:`_DELETE_TRIES` times is given up with a warning.
        """
        __tracebackhide__ = True
        entries: list[Any] = [
            {"Id": str(index), "ReceiptHandle": message["ReceiptHandle"]} for index, message in enumerate(messages)
        ]
        problem = ""
        try:
            response = self.sqs.delete_message_batch(QueueUrl=self.queue_url, Entries=entries)
            failed = response.get("Failed") or []
            if failed:
                retry_ids = {item["Id"] for item in failed}
                retry = [entry for entry in entries if entry["Id"] in retry_ids]
                response = self.sqs.delete_message_batch(QueueUrl=self.queue_url, Entries=retry)
                failed = response.get("Failed") or []  # the retried entries keep their Ids
            if failed:
                problem = "; ".join(f"{item.get('Code')}: {item.get('Message', '')}" for item in failed)
            left = {item["Id"] for item in failed}
        except BOTO_ERRORS as err:
            problem = error_message(err)
            left = {entry["Id"] for entry in entries}
        if not left:
            return
        kept: list[Mapping[str, Any]] = []
        for index, message in enumerate(messages):
            if str(index) not in left:
                continue
            tries = self._delete_tries.get(message["ReceiptHandle"], 0) + 1
            if tries >= _DELETE_TRIES:
                self._delete_tries.pop(message["ReceiptHandle"], None)
                self.undeletable += 1
                log.warning(
                    "listener %s: gave up deleting message %s after %d tries (%s); its event is kept, and "
                    "the queue goes with close()",
                    self.listener_id,
                    message.get("MessageId"),
                    tries,
                    problem,
                )
                continue
            self._delete_tries[message["ReceiptHandle"]] = tries
            kept.append(message)
        if kept and not self._delete_warned:
            self._delete_warned = True
            log.warning(
                "listener %s: sqs:DeleteMessageBatch on %s failed for %d message(s) (%s); their events are "
                "kept, and the deletes are tried again before a later receive",
                self.listener_id,
                self.queue_url,
                len(kept),
                problem,
            )
        self._undeleted.extend(kept)
