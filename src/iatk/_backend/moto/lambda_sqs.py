"""SQS event source mappings as pollers, as Lambda runs them (moto invokes inline, once per message).

moto's mapping invokes the function from inside ``SendMessage``, once per message whatever
``BatchSize``, leaves messages queued before the mapping alone, and keeps invoking after the mapping
is deleted (MOTO.md §8b). :func:`install_sqs_pollers` unhooks the queue from moto's inline path and
gives every enabled SQS mapping its own poller thread, in the server's process, that does what
Lambda's does:

- it receives up to ``BatchSize`` messages (the queue's visibility timeout starts), and with
  ``MaximumBatchingWindowInSeconds`` keeps gathering until the batch is full or the window is over;
- messages that match none of the ``FilterCriteria`` patterns are deleted unseen (as Lambda does);
- it invokes the function synchronously with ``{"Records": [...]}`` in Lambda's SQS record shape
  (``AWSTraceHeader`` joins the trace the sender started);
- on success it deletes the batch; with ``FunctionResponseTypes: [ReportBatchItemFailures]`` it keeps
  the ``batchItemFailures`` the function names (an unknown or empty ``itemIdentifier`` fails the whole
  batch, as on AWS); on a function error it deletes nothing, so the visibility timeout and then the
  queue's redrive policy apply;
- it stops when the mapping is disabled or deleted, and at ``/moto-api/reset``.

A poller wakes on each ``SendMessage`` (moto's queue condition) and otherwise re-checks four times a
second, so messages whose visibility timeout or delay ends are picked up too.
"""

from __future__ import annotations

import contextlib
import json
import logging
import threading
import time
from typing import Any

from .lambda_ import ConcurrencyLimitExceeded, LambdaRuntimeError
from .lambda_service import LambdaService

log = logging.getLogger("iatk.embedded")

__all__ = ["SqsPoller", "install_sqs_pollers", "sqs_record"]

_POLL = 0.25


def sqs_record(message: Any, queue_arn: str, region: str) -> dict[str, Any]:
    """One message as Lambda's SQS event gives it."""
    attributes: dict[str, Any] = {
        "ApproximateReceiveCount": str(message.approximate_receive_count),
        "SentTimestamp": str(message.sent_timestamp),
        "SenderId": str(message.sender_id),
        "ApproximateFirstReceiveTimestamp": str(message.approximate_first_receive_timestamp),
    }
    trace = _trace_header(message)
    if trace:
        attributes["AWSTraceHeader"] = trace
    if queue_arn.endswith(".fifo"):
        attributes["MessageGroupId"] = message.group_id
        attributes["MessageDeduplicationId"] = message.deduplication_id
        if message.sequence_number:
            attributes["SequenceNumber"] = str(message.sequence_number)
    record: dict[str, Any] = {
        "messageId": message.id,
        "receiptHandle": message.receipt_handle,
        "body": message.body,
        "attributes": attributes,
        "messageAttributes": {
            name: {
                **(
                    {"binaryValue": value["BinaryValue"]}
                    if value.get("BinaryValue") is not None
                    else {"stringValue": value.get("StringValue")}
                ),
                "stringListValues": [],
                "binaryListValues": [],
                "dataType": value.get("DataType"),
            }
            for name, value in (message.message_attributes or {}).items()
        },
        "md5OfBody": message.body_md5,
        "eventSource": "aws:sqs",
        "eventSourceARN": queue_arn,
        "awsRegion": region,
    }
    if message.message_attributes:
        record["md5OfMessageAttributes"] = message.attribute_md5
    return record


def _trace_header(message: Any) -> str | None:
    value = (getattr(message, "system_attributes", None) or {}).get("AWSTraceHeader")
    if isinstance(value, dict):
        value = value.get("StringValue") or value.get("string_value")
    return str(value) if value else None


def _filters(esm: Any) -> list[Any] | None:
    """The mapping's compiled filter patterns (None: no filter, everything passes)."""
    from iatk.matchers import pattern

    criteria = esm.filter_criteria or {}
    raw = [item.get("Pattern") for item in criteria.get("Filters") or [] if item.get("Pattern")]
    if not raw:
        return None
    compiled = []
    for text in raw:
        try:
            compiled.append(pattern(text))
        except Exception as err:  # AWS refuses it at CreateEventSourceMapping; moto does not
            log.warning("event source mapping %s: filter %r ignored (%s)", esm.uuid, text, err)
    return compiled


def _matches(filters: list[Any] | None, record: dict[str, Any]) -> bool:
    if filters is None:
        return True
    document = dict(record)
    with contextlib.suppress(TypeError, ValueError):
        document["body"] = json.loads(record["body"])
    return any(getattr(f, "test")(document).matched for f in filters)  # noqa: B009 - PatternMatcher.test


class SqsPoller:
    """The poller of one SQS event source mapping (a daemon thread)."""

    def __init__(self, service: LambdaService, esm: Any) -> None:
        self.service = service
        self.uuid = str(esm.uuid)
        self.account = str(esm.account_id)
        self.region = str(esm.region)
        self.queue_arn = str(esm.event_source_arn)
        self.queue_name = self.queue_arn.split(":")[5]
        self._stop = threading.Event()
        self._busy = False
        self._thread = threading.Thread(target=self._run, name=f"iatk-sqs-poller-{self.uuid[:8]}", daemon=True)

    def start(self) -> SqsPoller:
        self.service.register_idle_probe(f"sqs:{self.uuid}", self.pending)
        self._thread.start()
        return self

    def stop(self, wait: bool = True) -> None:
        self._stop.set()
        self.service.unregister_idle_probe(f"sqs:{self.uuid}")
        if wait and self._thread is not threading.current_thread() and self._thread.is_alive():
            self._thread.join(timeout=5)

    @property
    def alive(self) -> bool:
        return self._thread.is_alive() and not self._stop.is_set()

    def _mapping(self) -> Any:
        from moto.awslambda.utils import get_backend

        esm = get_backend(self.account, self.region).get_event_source_mapping(self.uuid)
        return esm if esm is not None and esm.enabled else None

    def _queue(self) -> Any:
        from moto.sqs.models import sqs_backends

        return sqs_backends[self.account][self.region].get_queue(self.queue_name)

    def pending(self) -> str | None:
        """What this poller still has to do (None: idle, and nothing visible in its queue)."""
        if self._stop.is_set():
            return None
        if self._busy:
            return f"SQS mapping {self.uuid}: a batch of {self.queue_name} is being processed"
        try:
            visible = len(self._queue().messages)
        except Exception:  # the queue is gone
            return None
        if visible and self._mapping() is not None:
            return f"SQS mapping {self.uuid}: {visible} message(s) visible in {self.queue_name}"
        return None

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                esm = self._mapping()
                if esm is None:
                    break
                queue = self._queue()
                if not self._poll(esm, queue):
                    if queue.messages:  # visible but not deliverable now (a FIFO group in flight)
                        self._stop.wait(0.05)
                    else:
                        queue.wait_for_messages(_POLL)
            except Exception as err:
                if self._stop.is_set():
                    break
                log.warning("SQS mapping %s: %s", self.uuid, err)
                self._stop.wait(_POLL)
        self.service.unregister_idle_probe(f"sqs:{self.uuid}")

    def _receive(self, queue: Any, count: int) -> list[Any]:
        from moto.sqs.models import sqs_backends

        backend = sqs_backends[self.account][self.region]
        return list(backend.receive_message(self.queue_name, count, 0, int(queue.visibility_timeout or 30)))

    def _poll(self, esm: Any, queue: Any) -> bool:
        """Take one batch and run it. False: nothing was received."""
        size = int(esm.batch_size or 10)
        self._busy = True
        try:
            batch = self._receive(queue, size)
            if not batch:
                return False
            window = float(esm.max_batch_window or 0)
            end = time.monotonic() + window
            while window and len(batch) < size and not self._stop.is_set():
                left = end - time.monotonic()
                if left <= 0:
                    break
                queue.wait_for_messages(min(left, _POLL))
                batch += self._receive(queue, size - len(batch))
            self._run_batch(esm, batch)
            return True
        finally:
            self._busy = False

    def _delete(self, messages: list[Any]) -> None:
        from moto.sqs.models import sqs_backends

        backend = sqs_backends[self.account][self.region]
        for message in messages:
            try:
                backend.delete_message(self.queue_name, message.receipt_handle)
            except Exception as err:  # deleted meanwhile, or the queue is gone
                log.debug("SQS mapping %s: delete failed: %s", self.uuid, err)

    def _run_batch(self, esm: Any, batch: list[Any]) -> None:
        from moto.awslambda.utils import get_backend

        filters = _filters(esm)
        records, dropped, kept = [], [], []
        for message in batch:
            record = sqs_record(message, self.queue_arn, self.region)
            if _matches(filters, record):
                records.append(record)
                kept.append(message)
            else:
                dropped.append(message)
        self._delete(dropped)
        if not records:
            return
        fn = get_backend(self.account, self.region).get_function(esm.function_arn)
        trace = next(
            (r["attributes"].get("AWSTraceHeader") for r in records if r["attributes"].get("AWSTraceHeader")), None
        )
        try:
            result = self.service.invoke(fn, json.dumps({"Records": records}), trace_header=trace)
        except ConcurrencyLimitExceeded:
            return  # throttled: the messages come back after the visibility timeout
        except LambdaRuntimeError as err:
            log.error("SQS mapping %s: %s", self.uuid, err)
            return
        if result.function_error:
            return  # nothing deleted: the visibility timeout, then the redrive policy
        failed = self._reported_failures(esm, result.payload, kept)
        if failed is None:
            return
        self._delete([m for m in kept if m.id not in failed])

    def _reported_failures(self, esm: Any, payload: bytes, kept: list[Any]) -> set[str] | None:
        """The ids the function reported as failed; None when the whole batch counts as failed."""
        if "ReportBatchItemFailures" not in (esm.function_response_types or []):
            return set()
        try:
            answer = json.loads(payload) if payload else None
        except ValueError:
            return set()  # not a JSON response: Lambda treats it as a full success
        if not isinstance(answer, dict) or not answer.get("batchItemFailures"):
            return set()
        ids = {m.id for m in kept}
        failed: set[str] = set()
        for item in answer["batchItemFailures"]:
            ident = item.get("itemIdentifier") if isinstance(item, dict) else None
            if not ident or ident not in ids:
                log.warning(
                    "SQS mapping %s: batchItemFailures names %r, not in the batch: all of it failed", self.uuid, ident
                )
                return None
            failed.add(str(ident))
        return failed


_pollers: dict[str, SqsPoller] = {}
_pollers_lock = threading.Lock()


def _sync(service: LambdaService, esm: Any) -> None:
    """Start or stop the mapping's poller to match its ``Enabled``."""
    if esm is None or str(esm.event_source_arn).split(":")[2:3] != ["sqs"]:
        return
    with _pollers_lock:
        poller = _pollers.get(esm.uuid)
        if esm.enabled and (poller is None or not poller.alive):
            _pollers[esm.uuid] = SqsPoller(service, esm).start()
            return
        if not esm.enabled and poller is not None:
            del _pollers[esm.uuid]
        else:
            return
    poller.stop()


def _unhook(esm: Any) -> None:
    """Take the mapping off moto's inline path in SendMessage."""
    from moto.sqs.models import sqs_backends

    if str(esm.event_source_arn).split(":")[2:3] != ["sqs"]:
        return
    for queue in sqs_backends[esm.account_id][esm.region].queues.values():
        if queue.queue_arn == esm.event_source_arn:
            for key, value in list(queue.lambda_event_source_mappings.items()):
                if value is esm:
                    del queue.lambda_event_source_mappings[key]


def stop_all() -> None:
    """Stop every poller (``/moto-api/reset`` and shutdown)."""
    with _pollers_lock:
        pollers = list(_pollers.values())
        _pollers.clear()
    for poller in pollers:
        poller.stop(wait=False)
    for poller in pollers:
        poller.stop()


def install_sqs_pollers(service: LambdaService) -> None:
    """Run SQS mappings as pollers of ``service`` (the patch of moto is made once per process)."""
    from moto.awslambda.models import LambdaBackend

    from .lambda_service import current_service

    service.on_reset(stop_all)
    if getattr(LambdaBackend, "_iatk_pollers", False):
        return
    original_create = LambdaBackend.create_event_source_mapping
    original_update = LambdaBackend.update_event_source_mapping
    original_delete = LambdaBackend.delete_event_source_mapping

    def create(self: Any, spec: dict[str, Any]) -> Any:
        esm = original_create(self, spec)
        _unhook(esm)
        _sync(current_service(), esm)
        return esm

    def update(self: Any, uuid: str, spec: dict[str, Any]) -> Any:
        esm = original_update(self, uuid, spec)
        _sync(current_service(), esm)
        return esm

    def delete(self: Any, uuid: str) -> Any:
        esm = original_delete(self, uuid)
        with _pollers_lock:
            poller = _pollers.pop(uuid, None)
        if poller is not None:
            poller.stop()
        return esm

    LambdaBackend.create_event_source_mapping = create  # type: ignore[method-assign]
    LambdaBackend.update_event_source_mapping = update  # type: ignore[method-assign]
    LambdaBackend.delete_event_source_mapping = delete  # type: ignore[method-assign]
    LambdaBackend._iatk_pollers = True  # type: ignore[attr-defined]
