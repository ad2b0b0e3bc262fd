"""Listening to an EventBridge bus: a temporary rule and SQS queue, and waits with an SLA.

A :class:`Listener` adds one rule to a bus (a copy of an existing rule's pattern, or a pattern you give)
whose only target is a private SQS queue, then reads that queue with long polls::

    with iatk.Listener("orders", rule="OrderPlacedRule", session=session) as listener:
        iatk.put_events({"Source": "shop", "DetailType": "OrderPlaced", "Detail": {"id": 42}}, bus="orders")
        event = listener.expect_event(iatk.match(detail={"id": 42}), within=10)
        listener.expect_no_event(iatk.match(detail_type="OrderFailed"), during=3)

What it creates (DESIGN.md §4): a rule and a standard queue both named ``iatk_eb_<20-char id>``, one
target (Id = the listener id) and a queue policy that lets only ``events.amazonaws.com`` send, and only
for the new rule (``aws:SourceArn``). The queue has SSE-SQS on and a 1 h retention. Both carry the
``iatk:TestHarness:*`` tags plus ``iatk:run-id`` and ``iatk:expires-at``, so ``iatk cleanup`` (and
aws-iatk's ``remove_listeners``) can find what a killed run left behind.

Creation is all-or-nothing and the listener is *ready* when :meth:`Listener.start` returns: on the
embedded moto backend delivery is synchronous; elsewhere a canary event that only the listener's rule
matches is put and awaited (see :meth:`Listener.start`).

Waits (DESIGN.md §5): each attempt is one ``ReceiveMessage`` long poll of up to 20 s, so an event is
seen within milliseconds of arrival. Received messages are deleted at once (one batch) and kept in the
listener's bounded buffer, deduplicated by event id. Every wait looks at the buffer first; an event
returned by one wait is *claimed* and is not returned by a later one.

Two limits follow from SQS. A long poll lasts whole seconds, so a window that is not a whole number
of seconds can last up to 1 s longer (the last poll is rounded up rather than made a short poll,
which samples only some SQS servers and can miss a message); an event received in that extra time
counts. And a transformed body (a target with Input, InputPath or InputTransformer) carries no event
id, so it is deduplicated by SQS MessageId only: a redelivered message counts once, but an event
that EventBridge delivers twice (it delivers at least once) arrives as two messages and counts twice.

The package, one part per module (the public names are all re-exported here):

- :mod:`._listener`: :class:`Listener`, the facade composing the parts below;
- :mod:`._spec`: ``ListenerSpec``, every argument checked before any AWS call;
- :mod:`._harness`: ``EventBridgeHarness``, the queue, policy, rule and target; rollback, close, find;
- :mod:`._eventbridge`: the lookups before creation (bus, rule to copy, target), ARN helpers;
- :mod:`._readiness`: the canary (its ``$or`` branch, its plan through a target, recognising it, awaiting it);
- :mod:`._inbox`: ``SqsInbox``, long polls, dedup, the bounded buffer, claims, deferred deletes;
- :mod:`._waits`: expect_event / expect_events / expect_no_event over an inbox, their records and evidence;
- :mod:`._records`: :class:`ListenerResource`, :class:`WaitRecord` and the buffer's entries.
"""

from __future__ import annotations

from iatk.exceptions import UnexpectedEvent
from iatk.waiting import subscribe_waits

from ._listener import Listener
from ._records import ListenerResource, WaitRecord

__all__ = [
    "Listener",
    "ListenerResource",
    "UnexpectedEvent",
    "WaitRecord",
    "subscribe_waits",
]
