"""The listeners ``AwsIatk`` knows: add, remove, poll and wait, over :class:`iatk.Listener` and cleanup.

aws-iatk's listener calls take an id; here each id maps to a live :class:`iatk.Listener` (made by
``add_listener`` or attached on first use), plus the events already handed to the caller.
"""

from __future__ import annotations

import logging
import threading
from collections import OrderedDict
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Any, cast

from iatk._tags import TAG_ID, check_user_tags, is_harness_id
from iatk._text import whole_number
from iatk.exceptions import IatkError, WaitTimeout

from ._errors import IatkException, InvalidParamException, error_code_for
from ._outputs import AddEbListener_Resource, AddEbListenerOutput, PollEventsOutput, RemoveListeners_TagFilter

if TYPE_CHECKING:
    import boto3

    from iatk.events import Event
    from iatk.listener import Listener

log = logging.getLogger("iatk.compat")


class Tracked:
    """A listener plus the ids of the events already handed to the caller (polled or matched).

    aws-iatk deleted every message it received, matched or not. Here every received event stays in
    the listener's buffer until the caller has seen it: ``poll_events`` returns the ones not handed
    out yet, and a wait skips the ones already handed out.
    """

    def __init__(self, listener: Listener) -> None:
        self.listener = listener
        self.lock = threading.Lock()
        self._delivered: OrderedDict[str, None] = OrderedDict()

    def pending(self) -> list[Event]:
        return [event for event in self.listener.events if event.id not in self._delivered]

    def delivered(self, event: Event) -> bool:
        return event.id in self._delivered

    def deliver(self, events: Iterable[Event]) -> None:
        for event in events:
            self._delivered[event.id] = None
        # Events fall out of the listener's bounded buffer; forget their ids once far behind.
        limit = 2 * max(len(self.listener.events), 1000)
        while len(self._delivered) > limit:
            self._delivered.popitem(last=False)


_registry: dict[str, Tracked] = {}
_registry_lock = threading.Lock()


def _int_in(name: str, value: Any, low: int, high: int) -> int:
    if not whole_number(value, low, high):
        raise IatkException(f'"{name}" must be an integer between {low} and {high}; got {value!r}', 400)
    return cast(int, value)


def _check_listener_id(listener_id: Any) -> str:
    if not listener_id:
        raise IatkException('missing required param "ListenerId"', 400)
    if not isinstance(listener_id, str) or not is_harness_id(listener_id):
        raise IatkException(
            f"invalid ID {listener_id!r}: a listener id is 'iatk_eb_' followed by 20 characters from 0-9 "
            "and a-v (add_listener(...).id)",
            400,
        )
    return listener_id


def _tag_filters(tag_filters: Iterable[Any]) -> dict[str, list[str] | None]:
    """``RemoveListeners_TagFilter``s (or ``(key, value)`` / ``(key, [values])`` pairs) as key → values."""
    filters: dict[str, list[str] | None] = {}
    for item in tag_filters:
        key: Any
        values: Any
        if isinstance(item, RemoveListeners_TagFilter):
            key, values = item.key, item.values
        elif isinstance(item, tuple | list) and len(item) == 2:
            key, values = item[0], item[1]
        else:
            raise IatkException(
                f"a tag filter is RemoveListeners_TagFilter(key, values=None) or a (key, value) pair; got {item!r}",
                400,
            )
        if isinstance(values, str):
            values = [values]
        if not isinstance(key, str) or not key:
            raise IatkException(f"a tag filter needs a non-empty key; got {key!r}", 400)
        if values is not None and not all(isinstance(v, str) for v in values):
            raise IatkException(f"tag filter {key!r}: values must be strings; got {values!r}", 400)
        filters[key] = list(values) if values else None
    return filters


def add(
    session: boto3.Session | None,
    event_bus_name: str,
    rule_name: str,
    target_id: str | None,
    tags: Mapping[str, str] | None,
) -> AddEbListenerOutput:
    """``AwsIatk.add_listener``: start a :class:`iatk.Listener` and remember it under its id."""
    from iatk.listener import Listener

    if not event_bus_name:
        raise IatkException('missing required param "EventBusName"', 400)
    if not rule_name:
        raise IatkException('missing required param "RuleName"', 400)
    check_user_tags(tags)
    listener = Listener(event_bus_name, rule=rule_name, target=target_id or None, tags=tags, session=session)
    listener.start()
    with _registry_lock:
        _registry[listener.id] = Tracked(listener)
    return AddEbListenerOutput(
        id=listener.id,
        target_under_test=AddEbListener_Resource("AWS::Events::EventBus", event_bus_name, listener.bus_arn),
        components=[
            AddEbListener_Resource("AWS::SQS::Queue", listener.queue_url, listener.queue_arn),
            AddEbListener_Resource("AWS::Events::Rule", listener.rule_name, listener.rule_arn),
        ],
    )


def remove(
    session: boto3.Session | None,
    ids: Sequence[str] | None,
    tag_filters: Sequence[RemoveListeners_TagFilter | tuple[str, Any]] | None,
) -> None:
    """``AwsIatk.remove_listeners``: remove by ids or by tags; raise once, listing every failure."""
    if ids and tag_filters:
        raise IatkException("only one of ids and tag_filters is needed, not both", 400)
    if not ids and not tag_filters:
        raise IatkException(
            "remove_listeners needs ids=[...] or tag_filters=[...]; got neither, so nothing would be removed",
            400,
        )
    if isinstance(ids, str):
        raise IatkException(f"ids must be a list of listener ids; got the string {ids!r}", 400)
    failures = (
        _remove_by_ids(session, [_check_listener_id(i) for i in ids])
        if ids
        else _remove_by_tags(session, _tag_filters(tag_filters or ()))
    )
    if failures:
        missing = all(code == 404 for code, _ in failures)
        text = ", ".join(text for _, text in failures)
        raise IatkException(f"failed to destroy following listener(s): {text}", 404 if missing else 500)


def _remove_by_ids(session: boto3.Session | None, ids: Sequence[str]) -> list[tuple[int, str]]:
    from iatk._aws import GONE_CODES
    from iatk.cleanup import cleanup
    from iatk.listener import Listener

    failures: list[tuple[int, str]] = []
    for listener_id in dict.fromkeys(ids):
        with _registry_lock:
            tracked = _registry.pop(listener_id, None)
        try:
            if tracked is not None:
                tracked.listener.close()
                continue
            try:
                found = Listener.attach(listener_id, session=session)
            except IatkError as err:
                if err.code not in GONE_CODES:
                    raise
                # The queue is gone: remove whatever is left under that id (e.g. an orphan rule).
                report = cleanup(tags={TAG_ID: listener_id}, types=("queue", "rule"), session=session)
                if not report.deleted:
                    failures.append(
                        (404, f"{{resource group id: {listener_id}, reason: no queue or rule with that id}}")
                    )
                continue
            found.close()
        except IatkError as err:
            failures.append((error_code_for(err), f"{{resource group id: {listener_id}, reason: {err}}}"))
    return failures


def _remove_by_tags(session: boto3.Session | None, filters: Mapping[str, list[str] | None]) -> list[tuple[int, str]]:
    from iatk.cleanup import delete_harness_resources, find_harness_resources

    # Only listeners: the key every listener resource carries is always required.
    wanted: dict[str, list[str] | None] = {TAG_ID: None, **filters}
    found = find_harness_resources(tags=dict.fromkeys(wanted), types=("queue", "rule"), session=session)
    chosen = [
        resource
        for resource in found
        if all(values is None or resource.tags.get(key) in values for key, values in wanted.items())
    ]
    if not chosen:
        return []
    report = delete_harness_resources(chosen, session=session, check=False)
    with _registry_lock:
        for resource in report.deleted:
            _registry.pop(resource.id, None)
    return [
        (error_code_for(failed.error), f"{{resource group id: {failed.resource.id}, reason: {failed.error}}}")
        for failed in report.failed
    ]


def tracked(session: boto3.Session | None, listener_id: str) -> Tracked:
    """The listener known under ``listener_id``; attached (and remembered) on first use."""
    from iatk.listener import Listener

    _check_listener_id(listener_id)
    with _registry_lock:
        found = _registry.get(listener_id)
    if found is None:
        attached = Tracked(Listener.attach(listener_id, session=session))
        with _registry_lock:
            found = _registry.setdefault(listener_id, attached)
    return found


def poll(
    session: boto3.Session | None, listener_id: str, wait_time_seconds: int, max_number_of_messages: int
) -> PollEventsOutput:
    """``AwsIatk.poll_events``: the events not handed out yet, else one long poll."""
    wait = _int_in("WaitTimeSeconds", wait_time_seconds, 0, 20)
    count = _int_in("MaxNumberOfMessages", max_number_of_messages, 1, 10)
    found = tracked(session, listener_id)
    with found.lock:
        chosen = found.pending()[:count] or found.listener.poll(wait, count)
        found.deliver(chosen)
    return PollEventsOutput([event.body for event in chosen])


def wait_until_matched(
    session: boto3.Session | None, listener_id: str, assertion_fn: Callable[[str], Any], timeout_seconds: int
) -> bool:
    """``AwsIatk.wait_until_event_matched``: True once an event not handed out yet passes ``assertion_fn``."""
    from iatk.matchers import callable_matcher

    timeout: Any = timeout_seconds  # checked at runtime: callers may not be typed
    if isinstance(timeout, bool) or not isinstance(timeout, int | float) or not 1 <= timeout <= 999:
        raise InvalidParamException(f"timeout_seconds must be between 1 and 999; got {timeout_seconds!r}")
    if not callable(assertion_fn):
        raise IatkException(f"assertion_fn must be a function of the event body; got {assertion_fn!r}", 400)
    found = tracked(session, listener_id)

    def passes(event: Event) -> Any:
        if found.delivered(event):
            return False
        return assertion_fn(event.body)

    # The wait's name in the SLA table and in timeouts: the user's assertion function, not this wrapper.
    passes.__name__ = getattr(assertion_fn, "__name__", "assertion_fn")
    passes.__qualname__ = getattr(assertion_fn, "__qualname__", passes.__name__)
    passes.__doc__ = getattr(assertion_fn, "__doc__", None)
    with found.lock:
        try:
            event = found.listener.expect_event(callable_matcher(passes), within=float(timeout))
        except WaitTimeout as err:
            log.debug("wait_until_event_matched: %s", err)
            return False
        found.deliver([event])
    return True
