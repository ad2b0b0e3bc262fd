"""OpenTelemetry spans into X-Ray segment documents, the way X-Ray stores spans sent to its OTLP endpoint.

Input: the spans of one OTLP ``ExportTraceServiceRequest``, already decoded into plain Python values
(:func:`span_records` reads the protobuf message). Output: one segment document per span, in
X-Ray's segment document format, which ``PutTraceSegments`` / ``BatchGetTraces`` carry and the trace
tree reads. The mapping follows AWS's description of how X-Ray turns OTLP spans into segments
(README, "X-Ray traces", sources):

* span kind ``SERVER`` or ``CONSUMER``, or a span with no parent: a **segment**, named after the
  resource's ``service.name``; its ``origin`` comes from ``cloud.platform`` (``aws_lambda`` →
  ``AWS::Lambda::Function``, ``aws_ec2`` → ``AWS::EC2::Instance``...);
* ``CLIENT``, ``PRODUCER`` and ``INTERNAL`` spans with a parent: **subsegments**, sent as separate
  ``"type": "subsegment"`` documents whose ``parent_id`` is the parent span; an AWS SDK call
  (``rpc.system`` = ``aws-api``) is named after ``rpc.service`` in namespace ``aws`` with
  ``aws.operation`` = ``rpc.method``, another outgoing HTTP call after the server it called, in
  namespace ``remote``;
* ``http.*`` / ``url.*`` (old and new semantic conventions) → ``http.request`` / ``http.response``,
  ``db.*`` → ``sql``, ``aws.*`` and the resource's ``cloud.*`` → ``aws``;
* status ``ERROR`` → ``fault`` (or ``error`` for a 4xx answer, with ``throttle`` for 429), and each
  ``exception`` event → an entry of ``cause.exceptions``;
* the attributes named in ``aws.xray.annotations`` → ``annotations``; every other span attribute
  → ``metadata.default``; span links → ``links``.

Trace ids become X-Ray ids (``1-<first 8 hex>-<other 24 hex>``), span ids stay 16 hex digits, and
times (nanoseconds) become epoch seconds.
"""

from __future__ import annotations

import re
import secrets
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

KIND_INTERNAL, KIND_SERVER, KIND_CLIENT, KIND_PRODUCER, KIND_CONSUMER = 1, 2, 3, 4, 5
STATUS_ERROR = 2

_ORIGINS = {
    "aws_lambda": "AWS::Lambda::Function",
    "aws_ec2": "AWS::EC2::Instance",
    "aws_ecs": "AWS::ECS::Container",
    "aws_eks": "AWS::EKS::Container",
    "aws_elastic_beanstalk": "AWS::ElasticBeanstalk::Environment",
    "aws_app_runner": "AWS::AppRunner::Service",
}
#: Attribute keys each field is read from, new semantic conventions first.
_METHOD = ("http.request.method", "http.method")
_URL = ("url.full", "http.url")
_STATUS = ("http.response.status_code", "http.status_code")
_AGENT = ("user_agent.original", "http.user_agent")
_CLIENT_IP = ("client.address", "http.client_ip", "net.peer.ip")
_PEER = ("server.address", "net.peer.name", "peer.service")
_ANNOTATION_KEY = re.compile(r"[^A-Za-z0-9_]")
#: Attributes mapped to a field (kept out of metadata).
_MAPPED = frozenset(
    {
        *_METHOD,
        *_URL,
        *_STATUS,
        *_AGENT,
        *_CLIENT_IP,
        "rpc.system",
        "rpc.service",
        "rpc.method",
        "aws.xray.annotations",
        "aws.request_id",
        "aws.requestId",
        "aws.region",
        "aws.sqs.queue_url",
        "aws.queue_url",
        "aws.dynamodb.table_names",
        "aws.table_name",
        "db.statement",
        "db.query.text",
        "db.system",
        "db.user",
        "db.name",
        "db.namespace",
    }
)


@dataclass(slots=True)
class SpanRecord:
    """One span, decoded: ids in hex, times in nanoseconds, attributes as plain values."""

    trace_id: str  # 32 hex
    span_id: str  # 16 hex
    parent_span_id: str  # 16 hex or ""
    name: str
    kind: int
    start_ns: int
    end_ns: int
    attributes: dict[str, Any]
    resource: dict[str, Any]
    status_code: int = 0
    status_message: str = ""
    events: list[tuple[str, int, dict[str, Any]]] = field(default_factory=list)
    links: list[tuple[str, str, dict[str, Any]]] = field(default_factory=list)
    scope: str = ""


def any_value(value: Any) -> Any:
    """A protobuf ``AnyValue`` as a plain Python value (lists and dicts for arrays and key-value lists)."""
    kind = value.WhichOneof("value")
    if kind is None:
        return None
    if kind == "array_value":
        return [any_value(v) for v in value.array_value.values]
    if kind == "kvlist_value":
        return {kv.key: any_value(kv.value) for kv in value.kvlist_value.values}
    if kind == "bytes_value":
        return value.bytes_value.hex()
    return getattr(value, kind)


def _attributes(pairs: Iterable[Any]) -> dict[str, Any]:
    return {kv.key: any_value(kv.value) for kv in pairs}


def span_records(request: Any) -> list[SpanRecord]:
    """Every span of an ``ExportTraceServiceRequest`` message, decoded."""
    records: list[SpanRecord] = []
    for resource_spans in request.resource_spans:
        resource = _attributes(resource_spans.resource.attributes)
        for scope_spans in resource_spans.scope_spans:
            scope = scope_spans.scope.name
            for span in scope_spans.spans:
                records.append(
                    SpanRecord(
                        trace_id=span.trace_id.hex(),
                        span_id=span.span_id.hex(),
                        parent_span_id=span.parent_span_id.hex(),
                        name=span.name,
                        kind=int(span.kind),
                        start_ns=int(span.start_time_unix_nano),
                        end_ns=int(span.end_time_unix_nano),
                        attributes=_attributes(span.attributes),
                        resource=resource,
                        status_code=int(span.status.code),
                        status_message=span.status.message,
                        events=[(e.name, int(e.time_unix_nano), _attributes(e.attributes)) for e in span.events],
                        links=[
                            (link.trace_id.hex(), link.span_id.hex(), _attributes(link.attributes))
                            for link in span.links
                        ],
                        scope=scope,
                    )
                )
    return records


def seconds(nanos: int) -> float:
    """Epoch nanoseconds as epoch seconds (whole seconds and fraction apart: no rounding drift)."""
    whole, fraction = divmod(nanos, 1_000_000_000)
    return whole + fraction / 1e9


def xray_trace_id(hex_id: str) -> str:
    """A 32-hex OpenTelemetry trace id in X-Ray form, ``1-<8 hex>-<24 hex>``."""
    return f"1-{hex_id[:8]}-{hex_id[8:]}"


def _first(attributes: Mapping[str, Any], keys: Iterable[str]) -> Any:
    for key in keys:
        value = attributes.get(key)
        if value is not None and value != "":
            return value
    return None


def is_segment(span: SpanRecord) -> bool:
    """Whether X-Ray makes ``span`` a segment (server / consumer spans, and spans with no parent)."""
    return span.kind in (KIND_SERVER, KIND_CONSUMER) or not span.parent_span_id


def _http(span: SpanRecord) -> dict[str, Any]:
    attributes = span.attributes
    request = {
        key: value
        for key, value in (
            ("method", _first(attributes, _METHOD)),
            ("url", _first(attributes, _URL)),
            ("user_agent", _first(attributes, _AGENT)),
            ("client_ip", _first(attributes, _CLIENT_IP) if span.kind == KIND_SERVER else None),
        )
        if value is not None
    }
    status = _first(attributes, _STATUS)
    http: dict[str, Any] = {}
    if request:
        http["request"] = request
    if isinstance(status, int):
        http["response"] = {"status": status}
    return http


def _aws(span: SpanRecord, segment: bool) -> dict[str, Any]:
    attributes, resource = span.attributes, span.resource
    aws: dict[str, Any] = {}
    if attributes.get("rpc.system") == "aws-api" and attributes.get("rpc.method"):
        aws["operation"] = attributes["rpc.method"]
    for key, names in (
        ("request_id", ("aws.request_id", "aws.requestId")),
        ("region", ("aws.region",)),
        ("queue_url", ("aws.sqs.queue_url", "aws.queue_url")),
        ("table_name", ("aws.table_name",)),
    ):
        value = _first(attributes, names)
        if value is not None:
            aws[key] = value
    tables = attributes.get("aws.dynamodb.table_names")
    if "table_name" not in aws and isinstance(tables, list) and len(tables) == 1:
        aws["table_name"] = tables[0]
    if segment:
        if resource.get("cloud.account.id"):
            aws["account_id"] = resource["cloud.account.id"]
        if resource.get("faas.name") or resource.get("cloud.platform") == "aws_lambda":
            aws["function_name"] = resource.get("faas.name") or resource.get("service.name")
        sdk = {
            k: resource[r]
            for k, r in (("sdk", "telemetry.sdk.name"), ("sdk_version", "telemetry.sdk.version"))
            if r in resource
        }
        if sdk:
            aws["xray"] = sdk
    return aws


def _sql(attributes: Mapping[str, Any]) -> dict[str, Any]:
    return {
        key: value
        for key, value in (
            ("sanitized_query", _first(attributes, ("db.query.text", "db.statement"))),
            ("database_type", attributes.get("db.system")),
            ("user", attributes.get("db.user")),
            ("url", _first(attributes, ("db.namespace", "db.name"))),
        )
        if value is not None
    }


def _cause(span: SpanRecord) -> dict[str, Any] | None:
    exceptions = []
    for name, _time, attributes in span.events:
        if name != "exception":
            continue
        entry: dict[str, Any] = {"id": secrets.token_hex(8)}
        if attributes.get("exception.type"):
            entry["type"] = attributes["exception.type"]
        if attributes.get("exception.message"):
            entry["message"] = attributes["exception.message"]
        stack = attributes.get("exception.stacktrace")
        if isinstance(stack, str) and stack:
            entry["stack"] = [{"label": line.strip()} for line in stack.splitlines() if line.strip()][-50:]
        exceptions.append(entry)
    if exceptions:
        return {"exceptions": exceptions}
    if span.status_code == STATUS_ERROR and span.status_message:
        return {"exceptions": [{"id": secrets.token_hex(8), "message": span.status_message}]}
    return None


def _name(span: SpanRecord, segment: bool) -> tuple[str, str | None]:
    """The document's name and (subsegments) namespace."""
    attributes = span.attributes
    if segment:
        return str(span.resource.get("service.name") or span.resource.get("faas.name") or span.name), None
    if attributes.get("rpc.system") == "aws-api" and attributes.get("rpc.service"):
        return str(attributes["rpc.service"]), "aws"
    if span.kind in (KIND_CLIENT, KIND_PRODUCER):
        peer = _first(attributes, _PEER)
        return (str(peer) if peer else span.name), "remote"
    return span.name, None


def segment_document(span: SpanRecord) -> dict[str, Any]:
    """The X-Ray segment (or separate subsegment) document for one span (see the module docstring)."""
    segment = is_segment(span)
    name, namespace = _name(span, segment)
    document: dict[str, Any] = {
        "id": span.span_id,
        "trace_id": xray_trace_id(span.trace_id),
        "name": name[:200],
        "start_time": seconds(span.start_ns),
        "end_time": seconds(span.end_ns or span.start_ns),
    }
    if span.parent_span_id:
        document["parent_id"] = span.parent_span_id
    if segment:
        origin = _ORIGINS.get(str(span.resource.get("cloud.platform") or ""))
        if origin:
            document["origin"] = origin
    else:
        document["type"] = "subsegment"
        if namespace:
            document["namespace"] = namespace
    http = _http(span)
    if http:
        document["http"] = http
    aws = _aws(span, segment)
    if aws:
        document["aws"] = aws
    sql = _sql(span.attributes)
    if sql and "sanitized_query" in sql:
        document["sql"] = sql
    status = http.get("response", {}).get("status")
    if isinstance(status, int) and 400 <= status < 500:
        document["error"] = True
        if status == 429:
            document["throttle"] = True
    elif span.status_code == STATUS_ERROR or (isinstance(status, int) and status >= 500):
        document["fault"] = True
    cause = _cause(span)
    if cause is not None and (document.get("fault") or document.get("error")):
        document["cause"] = cause
    wanted = span.attributes.get("aws.xray.annotations")
    keys = set(wanted) if isinstance(wanted, list) else set()
    annotations = {
        _ANNOTATION_KEY.sub("_", key): value
        for key, value in span.attributes.items()
        if key in keys and isinstance(value, (str, int, float, bool))
    }
    if annotations:
        document["annotations"] = annotations
    rest = {k: v for k, v in span.attributes.items() if k not in _MAPPED and k not in keys}
    if rest:
        document["metadata"] = {"default": rest}
    if span.links:
        document["links"] = [
            {"trace_id": xray_trace_id(trace_id), "id": span_id, "attributes": attributes}
            for trace_id, span_id, attributes in span.links
        ]
    return document
