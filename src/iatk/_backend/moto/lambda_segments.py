"""Lambda's service segments offline, for the embedded Lambda runtime to record around each invocation.

On AWS a traced invocation shows two segments: the Lambda service's (origin ``AWS::Lambda``, named
after the function, under the caller's subsegment: its ``parent_id`` is the ``Parent`` of the
incoming trace header) and the function's (origin ``AWS::Lambda::Function``, under the first, with
``Initialization`` on a cold start, ``Invocation`` and ``Overhead`` subsegments). The function's
code runs under ``_X_AMZN_TRACE_ID`` = ``Root=…;Parent=<function segment id>;Sampled=1``, so the
subsegments its SDK sends (aws-xray-sdk through the relay, OpenTelemetry through ``/v1/traces``)
nest under the function segment.

The runtime's use::

    trace = LambdaInvocationTrace.begin(header, function_arn=arn, request_id=request_id)
    env["_X_AMZN_TRACE_ID"] = trace.function_header      # before the handler runs
    ...                                                   # run the handler
    trace.finish(error=None)                              # or error="Unhandled"

``begin`` returns None when there is no header or it says ``Sampled=0``: nothing is recorded then.
It only reads and writes moto's X-Ray store of this process, so it must run in the server's process.
"""

from __future__ import annotations

import json
import logging
import secrets
import time
from dataclasses import dataclass, field
from typing import Any

from .trace_context import header_fields

log = logging.getLogger("iatk.embedded")


@dataclass
class LambdaInvocationTrace:
    """The two segments of one traced invocation, begun before the handler runs and stored at :meth:`finish`."""

    root: str
    parent: str | None
    function_arn: str
    request_id: str
    start: float
    cold_start: bool = False
    init_end: float | None = None
    service_id: str = field(default_factory=lambda: secrets.token_hex(8))
    function_id: str = field(default_factory=lambda: secrets.token_hex(8))

    @classmethod
    def begin(
        cls,
        trace_header: str | None,
        *,
        function_arn: str,
        request_id: str,
        cold_start: bool = False,
        start: float | None = None,
    ) -> LambdaInvocationTrace | None:
        """Start recording an invocation received with ``trace_header`` (None: not traced, record nothing)."""
        if not trace_header:
            return None
        parts = header_fields(trace_header)
        if not parts.get("root") or parts.get("sampled") == "0":
            return None
        return cls(
            parts["root"],
            parts.get("parent") or None,
            function_arn,
            request_id,
            time.time() if start is None else start,
            cold_start,
        )

    @property
    def function_header(self) -> str:
        """The ``_X_AMZN_TRACE_ID`` the handler runs under: its segments nest under the function segment."""
        return f"Root={self.root};Parent={self.function_id};Sampled=1"

    def initialised(self, at: float | None = None) -> None:
        """Mark the end of a cold start's initialisation (the ``Initialization`` subsegment)."""
        self.init_end = time.time() if at is None else at

    def documents(self, end: float, error: str | None = None) -> list[dict[str, Any]]:
        """The service and function segment documents, as X-Ray shows them on AWS."""
        invoke_start = self.init_end if self.cold_start and self.init_end is not None else self.start
        # Overhead starts strictly after Invocation (a microsecond at least), so the two never tie
        # on start time and keep their order in the tree however fast the call was.
        overhead = max(invoke_start + 1e-6, end - 0.0005)
        end = max(end, overhead)
        arn_parts = self.function_arn.split(":")
        name = arn_parts[6] if len(arn_parts) > 6 else self.function_arn
        account = arn_parts[4] if len(arn_parts) > 4 else None
        service: dict[str, Any] = {
            "id": self.service_id,
            "trace_id": self.root,
            "name": name,
            "origin": "AWS::Lambda",
            "start_time": self.start,
            "end_time": end,
            "http": {"response": {"status": 200}},
            "aws": {"request_id": self.request_id},
            "resource_arn": self.function_arn,
        }
        if self.parent:
            service["parent_id"] = self.parent
        subsegments: list[dict[str, Any]] = []
        if self.cold_start and self.init_end is not None:
            subsegments.append(
                {
                    "id": secrets.token_hex(8),
                    "name": "Initialization",
                    "start_time": self.start,
                    "end_time": self.init_end,
                    "aws": {"function_arn": self.function_arn},
                }
            )
        subsegments.append(
            {"id": secrets.token_hex(8), "name": "Invocation", "start_time": invoke_start, "end_time": overhead}
        )
        subsegments.append({"id": secrets.token_hex(8), "name": "Overhead", "start_time": overhead, "end_time": end})
        function: dict[str, Any] = {
            "id": self.function_id,
            "trace_id": self.root,
            "parent_id": self.service_id,
            "name": name,
            "origin": "AWS::Lambda::Function",
            "start_time": self.start,
            "end_time": end,
            "aws": {"function_arn": self.function_arn, "resource_names": [name]},
            "subsegments": subsegments,
        }
        if account:
            function["aws"]["account_id"] = account
        if error:
            function["fault"] = True
            function["cause"] = {"exceptions": [{"id": secrets.token_hex(8), "type": error, "message": error}]}
        return [service, function]

    def finish(self, *, error: str | None = None, end: float | None = None, region: str | None = None) -> None:
        """Store both segments in moto's X-Ray store (the function ARN's account and region)."""
        from moto.xray.exceptions import BadSegmentException
        from moto.xray.models import xray_backends

        arn_parts = self.function_arn.split(":")
        account = arn_parts[4] if len(arn_parts) > 4 else "123456789012"
        where = region or (arn_parts[3] if len(arn_parts) > 3 else "us-east-1")
        backend = xray_backends[account][where]
        for document in self.documents(time.time() if end is None else end, error):
            try:
                backend.process_segment(json.dumps(document))
            except BadSegmentException as err:
                log.warning("Lambda segment of %s rejected: %s", self.function_arn, err.message)
