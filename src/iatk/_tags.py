"""Harness ids, run ids and the tags on every resource iatk creates (DESIGN.md §4).

The names and ``iatk:TestHarness:*`` keys are aws-iatk 0.1.0's, so either tool can clean up after
the other. ``iatk:run-id`` and ``iatk:expires-at`` are ours: they let a sweep find what a killed run
left behind, and tell what has expired. ``iatk:owner`` (``<host>/<pid>/<start>``: the run's root
process, the xdist controller for its workers) tells two runs that share a run id apart: a run's own
teardown removes only what it owns.
"""

from __future__ import annotations

import os
import re
import secrets
import socket
import threading
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from datetime import datetime, timedelta, timezone

from .exceptions import ConfigError

HARNESS_PREFIX = "iatk_eb_"
TAG_ID = "iatk:TestHarness:ID"
TAG_TYPE = "iatk:TestHarness:Type"
TAG_TARGET = "iatk:TestHarness:Target"
TAG_CREATED = "iatk:TestHarness:Created"
TAG_RUN_ID = "iatk:run-id"
TAG_EXPIRES = "iatk:expires-at"
#: The run's owner: ``<host>/<pid>/<start, RFC 3339>`` (see :func:`current_owner`).
TAG_OWNER = "iatk:owner"
#: Marks a CloudFormation stack made by ``deploy_stack``.
TAG_DEPLOY = "iatk:deploy"
LISTENER_TYPE = "EventBridge.Listener"
RESERVED_KEYS = frozenset({TAG_ID, TAG_TYPE, TAG_TARGET, TAG_CREATED, TAG_RUN_ID, TAG_EXPIRES, TAG_DEPLOY, TAG_OWNER})

_XID_ALPHABET = "0123456789abcdefghijklmnopqrstuv"  # base32hex, lowercase: what rs/xid emits
_XID_RE = re.compile(r"^[0-9a-v]{20}$")
_counter_lock = threading.Lock()
_counter = secrets.randbelow(1 << 24)
_machine = secrets.token_bytes(3)


def new_xid() -> str:
    """A 20-character, time-ordered unique id in the rs/xid format aws-iatk uses.

    12 bytes (4 s-epoch, 3 machine, 2 pid, 3 counter) in lowercase base32hex.
    """
    global _counter  # noqa: PLW0603 - a process-wide counter is the xid format's design
    with _counter_lock:
        _counter = (_counter + 1) & 0xFFFFFF
        count = _counter
    raw = (
        int(time.time()).to_bytes(4, "big")
        + _machine
        + (os.getpid() & 0xFFFF).to_bytes(2, "big")
        + count.to_bytes(3, "big")
    )
    number = int.from_bytes(raw, "big") << 4  # 96 bits -> 100 bits = 20 base32 digits
    return "".join(_XID_ALPHABET[(number >> shift) & 31] for shift in range(95, -5, -5))


def new_harness_id() -> str:
    """``iatk_eb_`` + a 20-character xid: the rule and queue name of one listener."""
    return HARNESS_PREFIX + new_xid()


def is_harness_id(value: str) -> bool:
    """Whether ``value`` has the form of a harness id (``iatk_eb_`` + 20 xid characters)."""
    return value.startswith(HARNESS_PREFIX) and bool(_XID_RE.match(value[len(HARNESS_PREFIX) :]))


def new_run_id() -> str:
    """A fresh run id: UTC time of the start plus 6 random hex digits, e.g. ``20261123T131500-4f2a9c``."""
    return datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%S") + "-" + secrets.token_hex(3)


def rfc3339(moment: datetime) -> str:
    """RFC 3339 text for an aware datetime, in UTC, whole seconds."""
    return moment.astimezone(timezone.utc).replace(microsecond=0).isoformat().replace("+00:00", "Z")


def parse_time(value: str) -> datetime | None:
    """Parse an RFC 3339 timestamp (with ``Z`` or an offset); None when it is not one."""
    try:
        moment = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
    except ValueError:
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=timezone.utc)


def check_user_tags(tags: Mapping[str, str] | None) -> dict[str, str]:
    """Validate user tags: strings only, and none of iatk's reserved keys."""
    if not tags:
        return {}
    clean: dict[str, str] = {}
    for key, value in tags.items():
        if not isinstance(value, str):
            raise ConfigError(f"tags must map str to str; got {key!r}: {value!r}")
        if key in RESERVED_KEYS:
            raise ConfigError(
                f"invalid tags: reserved tag key {key!r} found in provided tags; "
                f"iatk sets these itself: {', '.join(sorted(RESERVED_KEYS))}"
            )
        clean[key] = value
    return clean


def harness_tags(
    harness_id: str,
    *,
    target_arn: str,
    run_id: str,
    ttl: timedelta,
    user_tags: Mapping[str, str] | None = None,
    now: datetime | None = None,
    owner: str | None = None,
) -> dict[str, str]:
    """The tags for one listener's rule and queue (DESIGN.md §4); ``owner`` defaults to :func:`current_owner`."""
    created = now or datetime.now(timezone.utc)
    tags = check_user_tags(user_tags)
    tags.update(
        {
            TAG_ID: harness_id,
            TAG_TYPE: LISTENER_TYPE,
            TAG_TARGET: target_arn,
            TAG_CREATED: rfc3339(created),
            TAG_RUN_ID: run_id,
            TAG_EXPIRES: rfc3339(created + ttl),
            TAG_OWNER: owner or current_owner(),
        }
    )
    return tags


def deploy_tags(run_id: str, ttl: timedelta, now: datetime | None = None, owner: str | None = None) -> dict[str, str]:
    """The tags on a stack made by ``deploy_stack``; ``owner`` defaults to :func:`current_owner`."""
    created = now or datetime.now(timezone.utc)
    return {
        TAG_DEPLOY: "true",
        TAG_CREATED: rfc3339(created),
        TAG_RUN_ID: run_id,
        TAG_EXPIRES: rfc3339(created + ttl),
        TAG_OWNER: owner or current_owner(),
    }


def as_tag_list(tags: Mapping[str, str]) -> list[dict[str, str]]:
    """``{"k": "v"}`` → ``[{"Key": "k", "Value": "v"}]`` (EventBridge and CloudFormation form)."""
    return [{"Key": key, "Value": value} for key, value in tags.items()]


def from_tag_list(tags: list[dict[str, str]] | None) -> dict[str, str]:
    """The inverse of :func:`as_tag_list`."""
    return {tag["Key"]: tag["Value"] for tag in tags or []}


# The run id: set once per process (the plugin hands the controller's id to xdist workers).
_run_id: str | None = None
_run_id_lock = threading.Lock()


def current_run_id() -> str:
    """This process's run id: ``IATK_RUN_ID`` if set, else one made on first use."""
    global _run_id  # noqa: PLW0603 - one id per process by design
    with _run_id_lock:
        if _run_id is None:
            _run_id = os.environ.get("IATK_RUN_ID") or new_run_id()
        return _run_id


def set_run_id(run_id: str) -> None:
    """Fix the run id for this process (the pytest plugin calls this at configure time)."""
    global _run_id  # noqa: PLW0603 - one id per process by design
    with _run_id_lock:
        _run_id = run_id


@contextmanager
def override_run_id(run_id: str) -> Iterator[str]:
    """Fix the run id for the block, then hand back what was there (None: made again on first use).

    The pytest plugin holds one from configure to unconfigure, so a nested in-process run
    (pytester's) gives the outer run its id back.
    """
    global _run_id  # noqa: PLW0603 - one id per process by design
    with _run_id_lock:
        previous, _run_id = _run_id, run_id
    try:
        yield run_id
    finally:
        with _run_id_lock:
            _run_id = previous


# The owner: the process that started the run (the pytest plugin hands the controller's to xdist workers).
_owner: str | None = None
_OWNER_UNSAFE = re.compile(r"[^A-Za-z0-9_.:+=@-]")  # what a tag value may hold on every service iatk tags


def new_owner(now: datetime | None = None) -> str:
    """``<host>/<pid>/<start>`` for this process: what the ``iatk:owner`` tag says (at most 256 characters)."""
    return f"{this_host()}/{os.getpid()}/{rfc3339(now or datetime.now(timezone.utc))}"


def parse_owner(value: str | None) -> tuple[str, int, datetime] | None:
    """``(host, pid, start)`` from an ``iatk:owner`` tag; None when it is not one."""
    if not value:
        return None
    parts = value.rsplit("/", 2)
    if len(parts) != 3 or not parts[1].isdigit():
        return None
    started = parse_time(parts[2])
    return (parts[0], int(parts[1]), started) if started is not None else None


def this_host() -> str:
    """The host part of an owner made on this machine."""
    return _OWNER_UNSAFE.sub("_", socket.gethostname() or "unknown-host")[:200]


def current_owner() -> str:
    """This run's owner (:func:`new_owner` of this process on first use, unless the plugin set one)."""
    global _owner  # noqa: PLW0603 - one owner per process by design
    with _run_id_lock:
        if _owner is None:
            _owner = new_owner()
        return _owner


@contextmanager
def override_owner(owner: str) -> Iterator[str]:
    """Fix the owner for the block, then hand back what was there (as :func:`override_run_id`)."""
    global _owner  # noqa: PLW0603 - one owner per process by design
    with _run_id_lock:
        previous, _owner = _owner, owner
    try:
        yield owner
    finally:
        with _run_id_lock:
            _owner = previous
