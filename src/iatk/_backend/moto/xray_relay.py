"""The X-Ray daemon relay: code under test that uses aws-xray-sdk sends its segments here.

aws-xray-sdk sends segments over UDP to the X-Ray daemon (``AWS_XRAY_DAEMON_ADDRESS``); moto has no
daemon, and a real one would sign and send them to AWS. The relay listens on a free UDP port of
``127.0.0.1`` and forwards each document to the embedded server's ``PutTraceSegments``.
"""

from __future__ import annotations

import logging
import socket
import threading

from iatk._aws import IatkSession

# The embedded backend's logger (the name users filter on; unchanged by the move to this package).
log = logging.getLogger("iatk.embedded")

#: The variable aws-xray-sdk reads the daemon's address from.
ENV_XRAY = "AWS_XRAY_DAEMON_ADDRESS"
DAEMON_HEADER = b'{"format":"json","version":1}'


class XRayRelay:
    """A UDP listener speaking the X-Ray daemon protocol; forwards each document to PutTraceSegments.

    The daemon protocol is one datagram per document: the header line
    ``{"format":"json","version":1}``, a newline, then the segment JSON.
    """

    def __init__(self, session: IatkSession) -> None:
        self._xray = session.client("xray")
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

    def start(self) -> XRayRelay:
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
