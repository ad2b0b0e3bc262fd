"""Readiness: the canary event that shows a new rule delivers to the listener's queue.

Rules take effect eventually on AWS. So the listener's rule also matches a canary (an ``$or``
branch only the listener's rule has), :meth:`Canary.await_` puts one every 2 s and receives until one
arrives, and :meth:`Canary.skip` keeps every canary (this listener's, and other listeners' that a
broad pattern lets in) out of the buffer.
"""

from __future__ import annotations

import json
import logging
import re
import time
from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any, Literal, Protocol

from iatk.events import Event, put_events
from iatk.waiting import Deadline

from ._eventbridge import StepFailed
from ._inbox import MAX_MESSAGES, wait_seconds

if TYPE_CHECKING:
    import boto3

__all__ = ["CANARY_INTERVAL", "CANARY_PREFIX", "CANARY_SOURCE", "CANARY_TIMEOUT", "Canary", "Receiver"]

log = logging.getLogger("iatk.listener")

#: How long :meth:`Listener.start` waits for the canary before giving up (real AWS only).
CANARY_TIMEOUT = 60.0
#: A new canary is put this often until one arrives (a canary put before the rule is live is lost).
CANARY_INTERVAL = 2.0
CANARY_SOURCE = "iatk.canary"
#: Every canary's detail-type starts with this (then the listener id).
CANARY_PREFIX = f"{CANARY_SOURCE} iatk_eb_"
_PATTERN_LIMIT = 4096  # PutRule's EventPattern length limit
# InputPath / InputPathsMap paths a canary can carry its marker in: $.detail.a.b (plain keys only).
_DETAIL_PATH = re.compile(r"^\$\.detail((?:\.[A-Za-z0-9_-]+)+)$")
_WHOLE_EVENT_PATHS = frozenset({"$", "$.detail", "$.detail-type", "$.id"})
# What only a canary carries into a transformed body: its detail's key (InputPath $.detail, or a
# template with the whole event) or its detail-type.
_CANARY_MARK = re.compile(r'"iatk-canary"\s*:\s*"iatk_eb_[0-9a-v]{20}"|iatk\.canary iatk_eb_[0-9a-v]{20}')


#: What the canary's detail holds at a path a template substitutes unquoted: JSON in any position.
_UNQUOTED_VALUE = 0


def placeholder_quoting(template: str) -> dict[str, set[bool]]:
    """Each ``<name>`` of an input template, with whether it stands inside a JSON string (True) or not.

    A template that is not JSON text (``"<name> is done"`` unquoted) has its placeholders outside
    strings, as a scan from the first character sees them.
    """
    found: dict[str, set[bool]] = {}
    in_string = False
    index = 0
    while index < len(template):
        char = template[index]
        if char == "\\" and in_string:
            index += 2
            continue
        if char == '"':
            in_string = not in_string
        elif char == "<":
            end = template.find(">", index + 1)
            name = template[index + 1 : end] if end > 0 else ""
            if name and '"' not in name and "<" not in name:
                found.setdefault(name, set()).add(in_string)
                index = end + 1
                continue
        index += 1
    return found


class Receiver(Protocol):
    """What the canary receives through: one receive from the listener's queue (an inbox)."""

    def receive(self, wait_seconds: int, max_messages: int) -> object:
        """One ReceiveMessage of up to ``wait_seconds``; what it returns is not used."""
        ...


def _set_path(document: dict[str, Any], keys: Sequence[str], value: str | int) -> bool:
    """Set ``document[k1][k2]... = value``, making dicts on the way; False when a non-dict is in the way."""
    node = document
    for key in keys[:-1]:
        child = node.setdefault(key, {})
        if not isinstance(child, dict):
            return False
        node = child
    if isinstance(node.get(keys[-1]), dict):
        return False
    node[keys[-1]] = value
    return True


class Canary:
    """One listener's canary: its pattern branch, its plan through a copied target, and its arrival.

    Args:
        listener_id: The listener's id (the canary's marker).
        pattern: The listener's pattern text now (None before a copied rule is read).
        clock: The monotonic clock for the canary's deadline.
    """

    def __init__(
        self, listener_id: str, pattern: Callable[[], str | None], clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.listener_id = listener_id
        self._pattern = pattern
        self._clock = clock
        #: What identifies this listener's canaries in a body: its id, then each canary's event id.
        self.tokens: list[str] = []
        #: How many of this listener's canaries have been received (and skipped).
        self.arrived = 0

    def pattern(self, pattern_text: str) -> str | None:
        """``{"$or": [<pattern>, <canary branch>]}``, or None when that is too long for PutRule."""
        branch = {"source": [CANARY_SOURCE], "detail-type": [f"{CANARY_SOURCE} {self.listener_id}"]}
        wrapped = json.dumps({"$or": [json.loads(pattern_text), branch]}, separators=(",", ":"))
        return wrapped if len(wrapped) <= _PATTERN_LIMIT else None

    def plan(self, target_input: Mapping[str, Any]) -> tuple[dict[str, Any], bool]:
        """The canary's detail, and whether the copied target's output will show the canary's marker.

        The detail substitutes cleanly into any input template: a detail path the template puts
        inside quotes carries the marker (this listener's id), one it puts unquoted gets a number,
        so the rendering is JSON also on a server that inserts strings without quotes (a standalone
        moto server). When no marker shows, the listener awaits the canary through an
        untransformed target first.
        """
        detail: dict[str, Any] = {"iatk-canary": self.listener_id}
        config = target_input
        if not config:
            return detail, True
        if "Input" in config:
            return detail, False

        def carries(path: str) -> bool:
            if path in _WHOLE_EVENT_PATHS:
                return True
            found = _DETAIL_PATH.match(path)
            return found is not None and _set_path(detail, found.group(1)[1:].split("."), self.listener_id)

        if "InputPath" in config:
            return detail, carries(str(config["InputPath"]))
        transformer = config.get("InputTransformer") or {}
        template = str(transformer.get("InputTemplate", ""))
        visible = "<aws.events.event" in template
        quoting = placeholder_quoting(template)
        paths = (transformer.get("InputPathsMap") or {}).items()
        used = [(str(path), quoting[str(key)]) for key, path in paths if str(key) in quoting]
        # An unquoted <key>: a string there is not JSON on a server that does not quote it (moto),
        # and a path the canary lacks leaves "<key>" itself there. A number is JSON in any position.
        unquoted = {path for path, where in used if False in where}
        for path in sorted(unquoted):
            found = _DETAIL_PATH.match(path)
            if found is not None:
                _set_path(detail, found.group(1)[1:].split("."), _UNQUOTED_VALUE)
        for path, _ in used:
            if path not in unquoted and not any(other.startswith(f"{path}.") for other in unquoted) and carries(path):
                visible = True
        return detail, visible

    def kind(self, event: Event) -> Literal["own", "other"] | None:
        """Whether a received event is this listener's canary, another listener's, or neither.

        Another listener's canary reaches this queue when this listener's pattern also matches it
        (``anything-but``, ``exists``, a pattern on detail fields the canary fills): listeners made at
        the same time on one bus (xdist workers) would otherwise see each other's canaries. Those are
        dropped too, unless the listener's own pattern names ``iatk.canary`` as a source.
        """
        if event.is_envelope:
            if event.source != CANARY_SOURCE or not (event.detail_type or "").startswith(CANARY_PREFIX):
                return None
            if event.detail_type == f"{CANARY_SOURCE} {self.listener_id}" or event.id in self.tokens:
                return "own"
            return None if self._wants_canaries else "other"
        # A transformed body: the canary's marker (this listener's id) or its event id show in it.
        if self.tokens and any(token in event.body for token in self.tokens):
            return "own"
        if not self._wants_canaries and _CANARY_MARK.search(event.body):
            return "other"
        return None

    def skip(self, event: Event) -> bool:
        """For the inbox: True for any canary (counting this listener's own in :attr:`arrived`)."""
        kind = self.kind(event)
        if kind == "own":
            self.arrived += 1
        return kind is not None

    @property
    def _wants_canaries(self) -> bool:
        """True when the listener's own (or copied) pattern names the canary source: then it gets them."""
        pattern_text = self._pattern()
        return pattern_text is not None and f'"{CANARY_SOURCE}"' in pattern_text

    def await_(
        self,
        receiver: Receiver,
        *,
        bus: str,
        session: boto3.Session,
        target_input: Mapping[str, Any],
    ) -> None:
        """Put a canary every :data:`CANARY_INTERVAL` s and receive until one arrives.

        Raises:
            StepFailed: None arrived within :data:`CANARY_TIMEOUT` s.
        """
        detail, _ = self.plan(target_input)
        self.tokens.append(self.listener_id)
        deadline = Deadline(CANARY_TIMEOUT, clock=self._clock)
        next_put = deadline.start
        puts = 0
        while True:
            now = self._clock()
            if now >= next_put:
                ids = put_events(
                    {"Source": CANARY_SOURCE, "DetailType": f"{CANARY_SOURCE} {self.listener_id}", "Detail": detail},
                    bus=bus,
                    session=session,
                )
                self.tokens.extend(ids)
                puts += 1
                next_put = now + CANARY_INTERVAL
            until_next = max(next_put - self._clock(), 0.0)
            before = self.arrived
            receiver.receive(wait_seconds(min(until_next, deadline.remaining())), MAX_MESSAGES)
            if self.arrived > before:
                log.debug(
                    "listener %s: canary arrived after %.2f s (%d put)", self.listener_id, deadline.elapsed(), puts
                )
                return
            if deadline.expired():
                raise StepFailed(
                    f"the listener's rule did not deliver its canary within {CANARY_TIMEOUT:g} s "
                    f"({puts} canaries put); "
                    "EventBridge may be slow to apply new rules, or the queue policy is not honoured"
                )
