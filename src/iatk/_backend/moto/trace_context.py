"""The trace header a request carries, kept for the services it reaches inside the embedded server.

On AWS the ``X-Amzn-Trace-Id`` of a call travels on: SQS stores it on the message as the
``AWSTraceHeader`` system attribute, EventBridge hands it to the targets of the event, SNS to the
topic's subscribers, Step Functions to the services its tasks call. In the embedded server all of
them are moto's code, run in the thread that answers the request (or, for EventBridge's
asynchronous targets, in the delivery thread). So the header lives in a thread-local:

- :func:`with_trace_context` (a WSGI wrapper) sets it from each request's ``X-Amzn-Trace-Id``;
- :func:`carrying` sets it for a service-to-service hand-over (a target delivery, an SNS
  subscription, a state machine task), with the ``Parent`` the receiver should see;
- :func:`current` reads it, where a message is stored or a segment recorded.

:func:`store` writes segment documents to moto's X-Ray store of this process.
"""

from __future__ import annotations

import json
import logging
import re
import secrets
import threading
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

log = logging.getLogger("iatk.embedded")

HTTP_HEADER = "X-Amzn-Trace-Id"
_ROOT_RE = re.compile(r"1-[0-9a-fA-F]{8}-[0-9a-fA-F]{24}")
_ID_RE = re.compile(r"[0-9a-fA-F]{16}")
_local = threading.local()


def header_fields(text: str) -> dict[str, str]:
    """An ``X-Amzn-Trace-Id`` header's fields by lower-case key (the first of a repeated key wins)."""
    fields: dict[str, str] = {}
    for part in text.split(";"):
        key, _, value = part.strip().partition("=")
        if key:
            fields.setdefault(key.lower(), value.strip())
    return fields


@dataclass(frozen=True, slots=True)
class Header:
    """An X-Ray trace header, as the embedded services read it (invalid ones are dropped, as on AWS)."""

    root: str
    parent: str | None
    sampled: bool | None

    @classmethod
    def parse(cls, text: str | None) -> Header | None:
        """``Root=1-…;Parent=…;Sampled=1`` (keys in any case); None for a missing or invalid header."""
        if not text:
            return None
        parts = header_fields(str(text))
        root, parent = parts.get("root", ""), parts.get("parent") or None
        if not _ROOT_RE.fullmatch(root) or (parent is not None and not _ID_RE.fullmatch(parent)):
            return None
        sampled = {"1": True, "0": False}.get(parts.get("sampled", ""))
        return cls(root, parent, sampled)

    def child(self, parent: str) -> Header:
        """The header a callee gets when ``parent`` (a segment or subsegment id) called it."""
        return Header(self.root, parent, self.sampled)

    @property
    def recorded(self) -> bool:
        """Whether services record segments for it: ``Sampled=0`` means no (absent: the caller's choice, yes)."""
        return self.sampled is not False

    def __str__(self) -> str:
        text = f"Root={self.root}"
        if self.parent:
            text += f";Parent={self.parent}"
        if self.sampled is not None:
            text += f";Sampled={int(self.sampled)}"
        return text


def current() -> Header | None:
    """The header of what this thread is doing now (a request, a delivery), or None."""
    header: Header | None = getattr(_local, "header", None)
    return header


@contextmanager
def carrying(header: Header | str | None) -> Iterator[Header | None]:
    """Run a block with ``header`` as :func:`current` (None: no header), then restore the previous one."""
    value = Header.parse(header) if isinstance(header, str) else header
    previous = getattr(_local, "header", None)
    _local.header = value
    try:
        yield value
    finally:
        _local.header = previous


def with_trace_context(app: Callable[..., Iterable[bytes]]) -> Callable[..., Iterable[bytes]]:
    """A WSGI wrapper: each request runs with its ``X-Amzn-Trace-Id`` (if valid) as :func:`current`."""

    def application(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        with carrying(Header.parse(environ.get("HTTP_X_AMZN_TRACE_ID"))):
            return app(environ, start_response)

    return application


def new_id() -> str:
    """A fresh 16-hex segment id."""
    return secrets.token_hex(8)


def store(account_id: str, region: str, documents: Iterable[Mapping[str, Any]]) -> None:
    """Put segment documents into moto's X-Ray store of this process; a rejected one is logged."""
    from moto.xray.exceptions import BadSegmentException
    from moto.xray.models import xray_backends

    backend = xray_backends[account_id][region]
    for document in documents:
        try:
            backend.process_segment(json.dumps(document, default=str))
        except BadSegmentException as err:
            log.warning("service segment %s rejected: %s", document.get("id"), err.message)
