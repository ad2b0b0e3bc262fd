"""The X-Ray daemon relay: code under test that uses aws-xray-sdk sends its segments here.

aws-xray-sdk sends segments over UDP to the X-Ray daemon (``AWS_XRAY_DAEMON_ADDRESS``); moto has no
daemon, and a real one would sign and send them to AWS. The relay listens on a free UDP port of
``127.0.0.1`` and forwards each document to the embedded server's ``PutTraceSegments``.

aws-xray-sdk reads ``AWS_XRAY_DAEMON_ADDRESS`` once, when ``aws_xray_sdk.core`` is first imported
(its global recorder builds its UDP emitter then). So the relay's socket is bound, and its address
exported, before the embedded server imports anything that imports the SDK (moto's ``moto.xray``
does), and :func:`point_recorder` re-points a recorder that was imported earlier still (a conftest's
``from aws_xray_sdk.core import xray_recorder``) while it sends to the SDK's default address.
"""

from __future__ import annotations

import logging
import socket
import sys
import threading
from collections.abc import Callable
from typing import Any

from iatk._aws import IatkSession
from iatk.exceptions import ConfigError

# The embedded backend's logger (the name users filter on; unchanged by the move to this package).
log = logging.getLogger("iatk.embedded")

#: The variable aws-xray-sdk reads the daemon's address from.
ENV_XRAY = "AWS_XRAY_DAEMON_ADDRESS"
DAEMON_HEADER = b'{"format":"json","version":1}'
#: Where aws-xray-sdk sends when ``AWS_XRAY_DAEMON_ADDRESS`` was not set at its import.
SDK_DEFAULT_ADDRESS = ("127.0.0.1", 2000)


class XRayRelay:
    """A UDP listener speaking the X-Ray daemon protocol; forwards each document to PutTraceSegments.

    The daemon protocol is one datagram per document: the header line
    ``{"format":"json","version":1}``, a newline, then the segment JSON.

    The socket is bound at construction, so :attr:`address` can be exported before the server it
    forwards to runs; the session (that server's) is given here or to :meth:`start`.
    """

    def __init__(self, session: IatkSession | None = None) -> None:
        self._xray: Any = session.client("xray") if session is not None else None
        self._sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self._sock.bind(("127.0.0.1", 0))
        self._sock.settimeout(0.2)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._serve, name="iatk-xray-relay", daemon=True)
        self.forwarded = 0
        self.rejected = 0

    @property
    def address(self) -> str:
        host, port = self._sock.getsockname()[:2]
        return f"{host}:{port}"

    def start(self, session: IatkSession | None = None) -> XRayRelay:
        """Start forwarding, to ``session``'s X-Ray (or the one given at construction)."""
        if session is not None:
            self._xray = session.client("xray")
        if self._xray is None:
            raise ConfigError("the X-Ray relay needs the session of the server to forward to: start(session)")
        self._thread.start()
        return self

    def _serve(self) -> None:
        while not self._stop.is_set():
            try:
                datagram = self._sock.recv(65536)
            except (TimeoutError, OSError):
                continue
            header, _, document = datagram.partition(b"\n")
            if not document:  # a bare document, without the header line
                document = header
            try:
                response = self._xray.put_trace_segments(TraceSegmentDocuments=[document.decode()])
            except Exception:  # a relay must keep serving; the test sees a missing segment
                log.exception("X-Ray relay: PutTraceSegments failed")
                self.rejected += 1
                continue
            if response.get("UnprocessedTraceSegments"):
                log.warning("X-Ray relay: segment rejected: %s", response["UnprocessedTraceSegments"])
                self.rejected += 1
            else:
                self.forwarded += 1

    def stop(self) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout=2)
        self._sock.close()


def point_recorder(address: str) -> Callable[[], None] | None:
    """Point an already imported aws-xray-sdk recorder at ``address``; returns how to undo it.

    Only a recorder whose emitter is the SDK's own UDP emitter at the SDK's default address is
    changed (the address it took because ``AWS_XRAY_DAEMON_ADDRESS`` was unset at import); one
    configured elsewhere, or moto's mock emitter, is left as it is. ``None`` when nothing changed.
    """
    core = sys.modules.get("aws_xray_sdk.core")
    recorder = getattr(core, "xray_recorder", None)
    emitter = getattr(recorder, "emitter", None)
    if emitter is None:
        return None
    from aws_xray_sdk.core.emitters.udp_emitter import UDPEmitter

    if type(emitter) is not UDPEmitter or (emitter.ip, emitter.port) != SDK_DEFAULT_ADDRESS:
        return None
    emitter.set_daemon_address(address)
    log.info("aws-xray-sdk was imported before the embedded backend started: its recorder now sends to %s", address)

    def undo() -> None:  # with AWS_XRAY_DAEMON_ADDRESS restored: the SDK reads it first
        emitter.set_daemon_address(":".join(map(str, SDK_DEFAULT_ADDRESS)))

    return undo
