"""The OTLP/HTTP trace receiver: ``POST /v1/traces`` on the embedded server's own port.

Code instrumented with OpenTelemetry exports spans with OTLP/HTTP, on AWS to
``https://xray.<region>.amazonaws.com/v1/traces``. Offline the embedded backend points
``OTEL_EXPORTER_OTLP_TRACES_ENDPOINT`` at ``<server>/v1/traces`` (with
``OTEL_EXPORTER_OTLP_TRACES_PROTOCOL=http/protobuf``). :class:`OtlpMiddleware` sits in front of
moto's WSGI app: it answers that one path and hands every other request to moto. Each span becomes a
segment document (:mod:`.otlp_segments`) stored in moto's X-Ray backend, where ``BatchGetTraces``
and the emulated Transaction Search (:mod:`.transaction_search`) read it.

Both OTLP/HTTP encodings are accepted: binary protobuf (``application/x-protobuf``) and JSON
(``application/json``, with hex trace and span ids as the OTLP specification writes them), gzip
or not. The answer is an ``ExportTraceServiceResponse`` in the request's encoding, with
``partial_success`` when some spans were rejected. Being on the server's port, it needs no
address of its own: an xdist worker attached to the server finds it from the server's URL.
"""

from __future__ import annotations

import base64
import gzip
import json
import logging
import threading
from collections.abc import Callable, Iterable
from typing import Any

from iatk.exceptions import ConfigError

from .otlp_segments import segment_document, span_records

log = logging.getLogger("iatk.embedded")

PATH = "/v1/traces"
ENV_ENDPOINT = "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT"
ENV_PROTOCOL = "OTEL_EXPORTER_OTLP_TRACES_PROTOCOL"
PROTOCOL = "http/protobuf"
_PROTOBUF = "application/x-protobuf"
_JSON = "application/json"
#: The most a request body may be (the exporter sends batches of 512 spans by default).
_MAX_BODY = 32 * 1024 * 1024
_ID_KEYS = ("traceId", "spanId", "parentSpanId", "trace_id", "span_id", "parent_span_id")

StartResponse = Callable[[str, list[tuple[str, str]]], Any]


def endpoint(server_url: str) -> str:
    """The traces endpoint of the embedded server at ``server_url``."""
    return server_url.rstrip("/") + PATH


def _messages() -> tuple[Any, Any]:
    try:
        from opentelemetry.proto.collector.trace.v1 import trace_service_pb2
    except ImportError as err:  # pragma: no cover - depends on the install
        raise ConfigError("receiving OpenTelemetry spans needs opentelemetry-proto: pip install 'iatk[otel]'") from err
    return trace_service_pb2.ExportTraceServiceRequest, trace_service_pb2.ExportTraceServiceResponse


def _json_format() -> Any:
    from google.protobuf import json_format  # type: ignore[import-untyped]

    return json_format


def _hex_ids_to_base64(node: Any) -> Any:
    """OTLP/JSON writes ids in hex; protobuf's JSON reader expects base64 for ``bytes`` fields."""
    if isinstance(node, dict):
        out = {}
        for key, value in node.items():
            if key in _ID_KEYS and isinstance(value, str):
                try:
                    out[key] = base64.b64encode(bytes.fromhex(value)).decode() if value else ""
                except ValueError:
                    raise ValueError(f"{key} {value!r} is not hex") from None
            else:
                out[key] = _hex_ids_to_base64(value)
        return out
    if isinstance(node, list):
        return [_hex_ids_to_base64(item) for item in node]
    return node


def decode(body: bytes, content_type: str) -> Any:
    """An ``ExportTraceServiceRequest`` from a request body (protobuf or OTLP/JSON)."""
    request_type, _ = _messages()
    if content_type == _JSON:
        data = json.loads(body.decode("utf-8"))
        return _json_format().ParseDict(_hex_ids_to_base64(data), request_type(), ignore_unknown_fields=True)
    return request_type.FromString(body)


class SpanStore:
    """Where converted spans go: moto's X-Ray backend of the run's account, in a region.

    The region is the resource's ``cloud.region`` when the exporter sets it, else the backend's.
    The account is moto's default one, the account every embedded session maps to.
    """

    def __init__(self, region: str) -> None:
        self.region = region
        self.accepted = 0
        self.rejected = 0
        self._lock = threading.Lock()

    def put(self, documents: Iterable[tuple[str | None, dict[str, Any]]]) -> list[str]:
        """Store each (region or None, document); returns the reasons of the rejected ones."""
        from moto.core.models import DEFAULT_ACCOUNT_ID
        from moto.xray.exceptions import BadSegmentException
        from moto.xray.models import xray_backends

        problems: list[str] = []
        with self._lock:
            for region, document in documents:
                backend = xray_backends[DEFAULT_ACCOUNT_ID][region or self.region]
                try:
                    backend.process_segment(json.dumps(document))
                except BadSegmentException as err:
                    self.rejected += 1
                    problems.append(f"span {document.get('id')}: {err.message}")
                else:
                    self.accepted += 1
        return problems


class OtlpMiddleware:
    """A WSGI app: ``POST /v1/traces`` is answered here, everything else by ``app`` (moto's)."""

    def __init__(self, app: Callable[..., Iterable[bytes]], store: SpanStore) -> None:
        self.app = app
        self.store = store

    def __call__(self, environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        if environ.get("PATH_INFO") != PATH or environ.get("HTTP_AUTHORIZATION"):
            return self.app(environ, start_response)  # a signed request is moto's (S3 has no "v1" bucket)
        if environ.get("REQUEST_METHOD") != "POST":
            return _reply(start_response, "405 Method Not Allowed", "text/plain", b"POST OTLP trace data here\n")
        content_type = str(environ.get("CONTENT_TYPE") or "").split(";")[0].strip().lower()
        if content_type not in (_PROTOBUF, _JSON):
            text = f"unsupported Content-Type {content_type!r}: send {_PROTOBUF} or {_JSON}\n".encode()
            return _reply(start_response, "415 Unsupported Media Type", "text/plain", text)
        try:
            length = int(environ.get("CONTENT_LENGTH") or 0)
        except ValueError:
            length = 0
        if length > _MAX_BODY:
            return _reply(start_response, "413 Content Too Large", "text/plain", b"request too large\n")
        body = environ["wsgi.input"].read(length) if length else environ["wsgi.input"].read(_MAX_BODY)
        try:
            if str(environ.get("HTTP_CONTENT_ENCODING") or "").lower() == "gzip":
                body = gzip.decompress(body)
            request = decode(body, content_type)
        except Exception as err:  # any decoding failure is the client's: answer 400 and keep serving
            return _reply(
                start_response, "400 Bad Request", "text/plain", f"not an OTLP trace export: {err}\n".encode()
            )
        spans = span_records(request)
        problems = self.store.put(
            (
                span.resource.get("cloud.region") if isinstance(span.resource.get("cloud.region"), str) else None,
                segment_document(span),
            )
            for span in spans
        )
        if problems:
            log.warning("OTLP receiver: %d span(s) rejected: %s", len(problems), "; ".join(problems[:3]))
        _, response_type = _messages()
        response = response_type()
        if problems:
            response.partial_success.rejected_spans = len(problems)
            response.partial_success.error_message = "; ".join(problems[:10])
        if content_type == _JSON:
            payload = json.dumps(_json_format().MessageToDict(response)).encode()
        else:
            payload = response.SerializeToString()
        return _reply(start_response, "200 OK", content_type, payload)


def _reply(start_response: StartResponse, status: str, content_type: str, body: bytes) -> list[bytes]:
    start_response(status, [("Content-Type", content_type), ("Content-Length", str(len(body)))])
    return [body]
