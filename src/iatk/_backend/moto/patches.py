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
    """Run moto's EventBridge backend one call at a time, in this process (idempotent).

    Why: moto's server is threaded, and its events backend is not thread-safe. ``put_events`` walks
    a bus's rules (a dict) while another request's PutRule or DeleteRule changes them, and fails with
    ``RuntimeError: OrderedDict mutated during iteration`` (HTTP 500): xdist workers sharing the
    default bus hit it often. So every public method of ``EventsBackend`` takes one lock. It is
    re-entrant: ``put_events`` delivers to other buses (and S3 notifications put events) in the same
    thread, through the same wrapped methods. A moto server started in another process needs this
    call before it serves (``python -c "import iatk.embedded as e; e.serialise_moto_events(); ..."``).
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

    for name, member in list(vars(EventsBackend).items()):
        if not name.startswith("_") and inspect.isfunction(member):
            setattr(EventsBackend, name, serialised(member))
    EventsBackend._iatk_serialised = True  # type: ignore[attr-defined]
