"""EventBridge target delivery on the embedded server: every target it can reach, as AWS delivers.

moto's ``Rule.send_to_targets`` delivers to SQS, CloudWatch Logs, another bus, archives and API
destinations, and raises ``NotImplementedError`` for anything else, which fails the whole
``PutEvents`` (HTTP 500) and hides the event from every listener on the bus. It also ignores a rule's
``State``, a target's ``Input`` and ``InputPath``, quotes no string an ``InputTransformer``
substitutes, and leaves ``account`` out of the envelope. :func:`deliver_rule_targets` replaces it
(installed by :func:`install_target_delivery`, in the process that runs the server):

- a disabled rule delivers nothing;
- each target gets the event's whole envelope (``version``, ``id``, ``detail-type``, ``source``,
  ``account``, ``time``, ``region``, ``resources``, ``detail``), or its ``Input``, its
  ``InputPath``'s value, or its ``InputTransformer``'s rendering (:func:`render_input_template`);
- the target is delivered by the deliverer registered for its ARN's service
  (:func:`register_target_deliverer`): SQS, CloudWatch Logs and another event bus inside the call
  (so a listener's queue has the event when ``PutEvents`` returns), Step Functions (``StartExecution``
  with a fresh name) and SNS after it, on a delivery thread, as AWS does;
- a target that cannot be delivered never fails ``PutEvents`` or the rule's other targets: it is
  logged (logger ``iatk.embedded``, WARNING) and recorded (:func:`undelivered`), and any process can
  read the record over HTTP (``GET /iatk-api/undelivered``, :func:`read_undelivered`), so a wait
  that times out can say "rule R: target T not delivered (why)".

**The seam for more targets.** ``register_target_deliverer(service, deliver, asynchronous=True)``
adds or replaces the deliverer of one ARN service. The Lambda runtime registers ``"lambda"`` there;
until it does, a Lambda target is recorded as "not delivered (no Lambda runtime in the embedded
backend)" and the event still reaches the other targets.

Only the delivery functions import moto (lazily); the input rendering and the record are plain Python.
"""

from __future__ import annotations

import json
import logging
import queue
import re
import threading
import time
import uuid
from collections import deque
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import asdict, dataclass, field
from datetime import datetime, timezone
from typing import Any

from .trace_context import carrying, current as current_trace

log = logging.getLogger("iatk.embedded")

#: The path a server with iatk's fix-ups answers with its record of undelivered targets.
UNDELIVERED_PATH = "/iatk-api/undelivered"

#: The envelope's fields, in the order AWS sends them.
ENVELOPE_FIELDS = ("version", "id", "detail-type", "source", "account", "time", "region", "resources", "detail")


class Undeliverable(Exception):
    """Raised by a deliverer: the target cannot be delivered; the message says why."""


@dataclass(frozen=True, slots=True)
class TargetArn:
    """A target's ARN, split: ``arn:partition:service:region:account:resource``."""

    arn: str
    service: str
    region: str
    account: str
    resource: str

    @classmethod
    def parse(cls, arn: str) -> TargetArn:
        parts = arn.split(":", 5)
        if len(parts) < 6 or parts[0] != "arn":
            raise Undeliverable(f"{arn!r} is not an ARN")
        return cls(arn, parts[2], parts[3], parts[4], parts[5])

    @property
    def resource_type(self) -> str:
        """The resource's type (``log-group``, ``event-bus``, ``stateMachine``), or "" when it has none."""
        for separator in (":", "/"):
            if separator in self.resource:
                return self.resource.split(separator, 1)[0]
        return ""

    @property
    def resource_id(self) -> str:
        """The resource's id without its type (a queue's name, a bus's name, a log group's name)."""
        for separator in (":", "/"):
            if separator in self.resource:
                return self.resource.split(separator, 1)[1]
        return self.resource


@dataclass(frozen=True, slots=True)
class Delivery:
    """One target's delivery: what a deliverer gets."""

    rule_name: str
    rule_arn: str
    bus: str
    target: Mapping[str, Any]
    arn: TargetArn
    #: The text to deliver: the envelope as JSON, or the target's Input / InputPath / InputTransformer.
    input: str
    #: The envelope as AWS sends it (with ``account``; ``time`` as ISO 8601 text).
    event: Mapping[str, Any]
    #: The account and region of the rule (the server's backend that received PutEvents).
    account_id: str
    region: str
    #: The X-Ray trace header the target continues (``Root=…;Parent=…;Sampled=…``), or None
    #: (see :mod:`.events_segments`); a deliverer hands it on as the target's service would.
    trace_header: str | None = None


Deliver = Callable[[Delivery], None]


@dataclass(frozen=True, slots=True)
class TargetDeliverer:
    """A registered deliverer: the function, and whether it runs after PutEvents returns."""

    deliver: Deliver
    asynchronous: bool


_deliverers: dict[str, TargetDeliverer] = {}


def register_target_deliverer(service: str, deliver: Deliver, *, asynchronous: bool = True) -> None:
    """Deliver the targets whose ARN names ``service`` (``lambda``, ``states``, ...) with ``deliver``.

    ``deliver`` raises :class:`Undeliverable` (or any exception) when the target cannot be
    delivered: the failure is logged and recorded, and neither PutEvents nor the other targets fail.
    With ``asynchronous`` (the default, as AWS delivers) it runs on the delivery thread after the
    PutEvents call has returned; it must then not rely on the EventBridge backend's lock. Replaces a
    deliverer already registered for ``service``.
    """
    _deliverers[service] = TargetDeliverer(deliver, asynchronous)


def target_deliverer(service: str) -> TargetDeliverer | None:
    """The deliverer registered for ``service``, or None."""
    return _deliverers.get(service)


# -- the record of undelivered targets ----------------------------------------------------------


@dataclass(frozen=True, slots=True)
class UndeliveredTarget:
    """A target an event did not reach, and why."""

    rule: str
    rule_arn: str
    bus: str
    target_id: str
    target_arn: str
    event_id: str
    reason: str
    at: float = field(default_factory=time.time)

    def __str__(self) -> str:
        return f"rule {self.rule}: target {self.target_id} ({self.target_arn}) not delivered ({self.reason})"


_record: deque[UndeliveredTarget] = deque(maxlen=1000)
_record_lock = threading.Lock()


def _remember(item: UndeliveredTarget) -> None:
    with _record_lock:
        _record.append(item)
    log.warning("embedded EventBridge: %s", item)


def undelivered(*, bus: str | None = None, since: float | None = None) -> list[UndeliveredTarget]:
    """This process's record of undelivered targets (the latest 1,000), optionally for one bus or since a time."""
    with _record_lock:
        items = list(_record)
    return [i for i in items if (bus is None or i.bus == bus) and (since is None or i.at >= since)]


def forget_undelivered() -> None:
    """Clear the record (the server does at ``POST /moto-api/reset``)."""
    with _record_lock:
        _record.clear()


def read_undelivered(url: str, *, bus: str | None = None, since: float | None = None) -> list[UndeliveredTarget]:
    """The undelivered targets of the embedded server at ``url``, read over HTTP from any process.

    A server without iatk's fix-ups (a standalone ``moto_server``) has no record: the answer is an
    empty list. ``bus`` is a bus name; ``since`` a ``time.time()`` value.
    """
    import urllib.error
    import urllib.parse

    from .control import _DIRECT

    query = urllib.parse.urlencode({k: v for k, v in (("bus", bus), ("since", since)) if v is not None})
    try:
        with _DIRECT.open(f"{url.rstrip('/')}{UNDELIVERED_PATH}?{query}", timeout=10) as response:
            items = json.loads(response.read().decode())
    except (urllib.error.URLError, OSError, ValueError):
        return []
    return [UndeliveredTarget(**item) for item in items if isinstance(item, dict)]


def with_iatk_api(app: Callable[..., Iterable[bytes]]) -> Callable[..., Iterable[bytes]]:
    """Wrap moto's WSGI app: answer ``GET /iatk-api/undelivered``; forget the record at reset."""

    def application(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        path = environ.get("PATH_INFO", "")
        if path == UNDELIVERED_PATH:
            from urllib.parse import parse_qs

            params = {k: v[-1] for k, v in parse_qs(environ.get("QUERY_STRING", "")).items()}
            since = float(params["since"]) if params.get("since") else None
            body = json.dumps([asdict(i) for i in undelivered(bus=params.get("bus"), since=since)]).encode()
            start_response("200 OK", [("Content-Type", "application/json"), ("Content-Length", str(len(body)))])
            return [body]
        if path == "/moto-api/reset" and environ.get("REQUEST_METHOD") == "POST":
            forget_undelivered()
        return app(environ, start_response)

    return application


# -- the input a target gets -------------------------------------------------------------------

_PATH_STEP = re.compile(r"\.([^.\[\]]+)|\[(\d+|\*)\]|\[['\"]([^'\"]+)['\"]\]")
_MISSING = object()


def json_path(document: Any, path: str) -> Any:
    """The value at an EventBridge JSON path (``$``, ``$.a.b``, ``$.a[0]``, ``$.a[*].b``, ``$['a-b']``).

    Returns a list where the path has a wildcard, and :data:`_MISSING`'s stand-in ``None`` for a path
    that matches nothing (see :func:`find_path`).
    """
    found = find_path(document, path)
    return None if found is _MISSING else found


def find_path(document: Any, path: str) -> Any:
    """Like :func:`json_path`, but a sentinel (not None) for a path that matches nothing."""
    text = path.strip()
    if not text.startswith("$"):
        raise ValueError(f"JSON path {path!r} must start with $")
    current: list[Any] = [document]
    wildcard = False
    position = 1
    while position < len(text):
        step = _PATH_STEP.match(text, position)
        if step is None:
            raise ValueError(f"JSON path {path!r}: cannot read it from {text[position:]!r}")
        position = step.end()
        key, index, quoted = step.group(1), step.group(2), step.group(3)
        name = key if key is not None else quoted
        following: list[Any] = []
        for value in current:
            if index == "*" or name == "*":
                wildcard = True
                following += (
                    list(value.values()) if isinstance(value, dict) else list(value) if isinstance(value, list) else []
                )
            elif index is not None:
                if isinstance(value, list) and int(index) < len(value):
                    following.append(value[int(index)])
            elif isinstance(value, dict) and name in value:
                following.append(value[name])
        current = following
    if wildcard:
        return current
    return current[0] if current else _MISSING


_PLACEHOLDER = re.compile(r"<([A-Za-z0-9_.\-]+)>")


def render_input_template(template: str, values: Mapping[str, Any], *, raw_json: frozenset[str] = frozenset()) -> str:
    """An ``InputTemplate`` with each ``<name>`` of ``values`` substituted, quoted as AWS does.

    In a JSON template (one that starts with ``{``, ``[`` or ``"``), a placeholder that stands as a
    value gets the value as JSON, so a string comes out quoted (``{"id": <id>}`` → ``{"id": "a-1"}``,
    where moto gave ``{"id": a-1}``); inside a quoted string it gets the text (a string without its
    quotes, escaped for the string it sits in). In any other template the text is put as it is.
    ``raw_json`` names placeholders whose value is inserted as JSON wherever they are
    (``aws.events.event``, ``aws.events.event.json``: "not escaped", per the AWS documentation). A
    placeholder ``values`` does not name is left as written; a variable whose path matched nothing is
    ``null`` as a value and empty text inside a string.
    """
    structured = template.lstrip()[:1] in ("{", "[", '"')
    out: list[str] = []
    in_string = False
    position = 0
    while position < len(template):
        char = template[position]
        if in_string and char == "\\":
            out.append(template[position : position + 2])
            position += 2
            continue
        if char == '"':
            in_string = not in_string
        elif char == "<":
            found = _PLACEHOLDER.match(template, position)
            if found and found.group(1) in values:
                name = found.group(1)
                out.append(
                    _substitution(values[name], structured=structured, in_string=in_string, raw=name in raw_json)
                )
                position = found.end()
                continue
        out.append(char)
        position += 1
    return "".join(out)


def _substitution(value: Any, *, structured: bool, in_string: bool, raw: bool) -> str:
    missing = value is _MISSING
    if raw or (structured and not in_string):
        return "null" if missing else json.dumps(value)
    if missing or value is None:
        return ""
    text = value if isinstance(value, str) else json.dumps(value)
    return json.dumps(text)[1:-1] if structured else text


def iso_time(value: Any) -> str:
    """An event ``time`` as AWS writes it: ISO 8601, UTC, whole seconds, ``Z``."""
    if isinstance(value, (int, float)):
        moment = datetime.fromtimestamp(float(value), tz=timezone.utc)
    elif isinstance(value, datetime):
        moment = value if value.tzinfo else value.replace(tzinfo=timezone.utc)
    else:
        text = str(value)
        try:
            moment = datetime.fromtimestamp(float(text), tz=timezone.utc)
        except ValueError:
            return text
    return moment.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def envelope(message: Mapping[str, Any], *, account_id: str, region: str) -> dict[str, Any]:
    """The event as AWS delivers it: every envelope field, in AWS's order, ``time`` as ISO text."""
    event: dict[str, Any] = {
        "version": message.get("version", "0"),
        "id": message.get("id", str(uuid.uuid4())),
        "detail-type": message.get("detail-type", ""),
        "source": message.get("source", ""),
        "account": message.get("account") or account_id,
        "time": iso_time(message.get("time") or time.time()),
        "region": message.get("region") or region,
        "resources": list(message.get("resources") or []),
        "detail": message.get("detail", {}),
    }
    if "replay-name" in message:
        event["replay-name"] = message["replay-name"]
    return event


def target_input(
    target: Mapping[str, Any], event: Mapping[str, Any], *, rule_name: str, rule_arn: str, ingestion_time: float
) -> str:
    """The text a target gets: its ``Input``, its ``InputPath``'s value, its ``InputTransformer``'s
    rendering, or the whole envelope, as JSON."""
    if target.get("Input") is not None:
        return str(target["Input"])
    if target.get("InputPath"):
        return json.dumps(json_path(dict(event), str(target["InputPath"])))
    transformer = target.get("InputTransformer")
    if transformer:
        values: dict[str, Any] = {
            name: find_path(dict(event), str(path)) for name, path in (transformer.get("InputPathsMap") or {}).items()
        }
        without_detail = {k: v for k, v in event.items() if k != "detail"}
        values.update(
            {
                "aws.events.rule-arn": rule_arn,
                "aws.events.rule-name": rule_name,
                "aws.events.event.ingestion-time": iso_time(ingestion_time),
                "aws.events.event": without_detail,
                "aws.events.event.json": dict(event),
            }
        )
        return render_input_template(
            str(transformer.get("InputTemplate", "")),
            values,
            raw_json=frozenset({"aws.events.event", "aws.events.event.json"}),
        )
    return json.dumps(dict(event))


# -- delivering --------------------------------------------------------------------------------


class _DeliveryThread:
    """One daemon thread that runs the asynchronous deliveries in order, after PutEvents returns."""

    def __init__(self) -> None:
        self._jobs: queue.SimpleQueue[Callable[[], None]] = queue.SimpleQueue()
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()

    def submit(self, job: Callable[[], None]) -> None:
        with self._lock:
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(target=self._run, name="iatk-eventbridge-targets", daemon=True)
                self._thread.start()
        self._jobs.put(job)

    def _run(self) -> None:
        while True:
            self._jobs.get()()


_delivery_thread = _DeliveryThread()


def _attempt(deliverer: TargetDeliverer, delivery: Delivery) -> None:
    try:
        deliverer.deliver(delivery)
    except Exception as err:  # one target never fails the others, nor PutEvents
        reason = str(err) if isinstance(err, Undeliverable) else f"{type(err).__name__}: {err}"
        _remember(
            UndeliveredTarget(
                rule=delivery.rule_name,
                rule_arn=delivery.rule_arn,
                bus=delivery.bus,
                target_id=str(delivery.target.get("Id", "?")),
                target_arn=delivery.arn.arn,
                event_id=str(delivery.event.get("id", "")),
                reason=reason or type(err).__name__,
            )
        )


def deliver_rule_targets(
    rule: Any, message: Mapping[str, Any], transform_input: bool = True, *, matched: bool = False
) -> None:
    """Send one event to a moto ``Rule``'s targets (the replacement of ``Rule.send_to_targets``).

    ``matched``: the caller has matched the rule's pattern already (iatk's PutEvents, :mod:`.eventbridge_put`).
    """
    if str(getattr(rule, "state", "ENABLED")).upper() != "ENABLED":
        return
    if not matched and not rule.event_pattern.matches_event(message):
        return
    event = envelope(message, account_id=rule.account_id, region=rule.region_name)
    ingestion = float(message.get("ingestion-time") or time.time())
    for target in list(rule.targets):
        _deliver_one(rule, target, message, event, ingestion, transform_input=transform_input)


def _deliver_one(
    rule: Any,
    target: Mapping[str, Any],
    message: Mapping[str, Any],
    event: Mapping[str, Any],
    ingestion: float,
    *,
    transform_input: bool,
) -> None:
    target_id = str(target.get("Id", "?"))
    try:
        arn = TargetArn.parse(str(target.get("Arn", "")))
        if arn.service == "events" and arn.resource_type in ("", "api-destination"):
            _moto_delivery(rule, target, message)  # archives and API destinations: moto's own code
            return
        text = (
            target_input(target, event, rule_name=rule.name, rule_arn=rule.arn, ingestion_time=ingestion)
            if transform_input
            else json.dumps(dict(event))
        )
        deliverer = _deliverers.get(arn.service)
        if deliverer is None:
            raise Undeliverable(f"the embedded backend cannot deliver to {arn.service} targets")
    except Exception as err:
        reason = str(err) if isinstance(err, Undeliverable) else f"{type(err).__name__}: {err}"
        _remember(
            UndeliveredTarget(
                rule.name, rule.arn, rule.event_bus_name, target_id, str(target.get("Arn")), str(event["id"]), reason
            )
        )
        return
    delivery = Delivery(
        rule_name=rule.name,
        rule_arn=rule.arn,
        bus=rule.event_bus_name,
        target=dict(target),
        arn=arn,
        input=text,
        event=event,
        account_id=rule.account_id,
        region=rule.region_name,
        trace_header=str(header) if (header := current_trace()) is not None else None,
    )
    if deliverer.asynchronous:
        _delivery_thread.submit(lambda: _attempt(deliverer, delivery))
    else:
        _attempt(deliverer, delivery)


_original_send: Any = None


def _moto_delivery(rule: Any, target: Mapping[str, Any], message: Mapping[str, Any]) -> None:
    import copy

    single = copy.copy(rule)
    single.targets = [dict(target)]
    _original_send(single, copy.deepcopy(dict(message)))  # an archive keeps it: its own copy


# -- the deliverers --------------------------------------------------------------------------


def deliver_sqs(delivery: Delivery) -> None:
    """SQS: SendMessage with the input as body (a FIFO queue needs content-based deduplication)."""
    from moto.sqs.models import sqs_backends

    backend = sqs_backends[delivery.arn.account][delivery.arn.region]
    name = delivery.arn.resource
    group = (delivery.target.get("SqsParameters") or {}).get("MessageGroupId")
    if name.endswith(".fifo"):
        if not group:
            raise Undeliverable("a FIFO queue target needs SqsParameters.MessageGroupId")
        attributes = backend.get_queue_attributes(queue_name=name, attribute_names=["ContentBasedDeduplication"])
        if str(attributes.get("ContentBasedDeduplication")).lower() != "true":
            raise Undeliverable("a FIFO queue target needs content-based deduplication on the queue")
    with carrying(delivery.trace_header):  # the message's AWSTraceHeader
        backend.send_message(queue_name=name, message_body=delivery.input, group_id=group)


def deliver_logs(delivery: Delivery) -> None:
    """CloudWatch Logs: one log event in a new stream of the log group (a name ending ``:*`` too)."""
    from moto.logs.models import logs_backends

    group = delivery.arn.resource_id
    group = group.removesuffix(":*")
    backend = logs_backends[delivery.arn.account][delivery.arn.region]
    stream = str(uuid.uuid4())
    backend.create_log_stream(group, stream)
    backend.put_log_events(group, stream, [{"timestamp": int(time.time() * 1000), "message": delivery.input}])


def deliver_event_bus(delivery: Delivery) -> None:
    """Another event bus: the event is put there (its source, detail type, detail, resources, time)."""
    from moto.events.models import events_backends

    if delivery.arn.resource_type != "event-bus":
        raise Undeliverable(f"{delivery.arn.arn} is not an event bus")
    event = delivery.event
    entry: dict[str, Any] = {
        "Source": event["source"],
        "DetailType": event["detail-type"],
        "Detail": json.dumps(event["detail"]),
        "Resources": list(event["resources"]),
        "Time": event["time"],
        "EventBusName": delivery.arn.resource_id,
    }
    backend = events_backends[delivery.arn.account][delivery.arn.region]
    failed = [e for e in backend.put_events([entry]) if e.get("ErrorCode")]
    if failed:
        raise Undeliverable(f"{failed[0]['ErrorCode']}: {failed[0].get('ErrorMessage', '')}")


def deliver_state_machine(delivery: Delivery) -> None:
    """Step Functions: StartExecution with the input and a fresh execution name."""
    from moto.core.config import default_user_config
    from moto.stepfunctions.models import stepfunctions_backends

    if delivery.arn.resource_type != "stateMachine":
        raise Undeliverable(f"{delivery.arn.arn} is not a state machine")
    if default_user_config.get("stepfunctions", {}).get("execute_state_machine"):
        from moto.stepfunctions.parser.models import stepfunctions_parser_backends

        parser: Any = stepfunctions_parser_backends[delivery.arn.account][delivery.arn.region]
        # The execution continues the event's trace (its StateMachine segment under the bus's).
        parser.start_execution(delivery.arn.arn, str(uuid.uuid4()), delivery.input, trace_header=delivery.trace_header)
        return
    backend = stepfunctions_backends[delivery.arn.account][delivery.arn.region]
    backend.start_execution(delivery.arn.arn, str(uuid.uuid4()), delivery.input)


def deliver_sns(delivery: Delivery) -> None:
    """SNS: Publish the input to the topic."""
    from moto.sns.models import sns_backends

    with carrying(delivery.trace_header):  # passed on to the topic's subscribers
        sns_backends[delivery.arn.account][delivery.arn.region].publish(message=delivery.input, arn=delivery.arn.arn)


def no_lambda_runtime(delivery: Delivery) -> None:
    """The Lambda target until a Lambda runtime registers its own deliverer."""
    raise Undeliverable("no Lambda runtime in the embedded backend")


def _register_defaults() -> None:
    for service, deliver, asynchronous in (
        ("sqs", deliver_sqs, False),
        ("logs", deliver_logs, False),
        ("events", deliver_event_bus, False),
        ("states", deliver_state_machine, True),
        ("sns", deliver_sns, True),
        ("lambda", no_lambda_runtime, True),
    ):
        _deliverers.setdefault(service, TargetDeliverer(deliver, asynchronous))


_register_defaults()


def install_target_delivery() -> None:
    """Replace moto's ``Rule.send_to_targets`` with :func:`deliver_rule_targets` (idempotent)."""
    global _original_send  # noqa: PLW0603 - moto's method, kept for archives and API destinations
    from moto.events.models import Rule

    if getattr(Rule, "_iatk_targets", False):
        return
    _original_send = Rule.send_to_targets
    Rule.send_to_targets = deliver_rule_targets  # type: ignore[method-assign,assignment]
    Rule._iatk_targets = True  # type: ignore[attr-defined]


def describe(items: Iterable[UndeliveredTarget]) -> Iterator[str]:
    """One line per undelivered target, for a wait's timeout evidence."""
    for item in items:
        yield str(item)
