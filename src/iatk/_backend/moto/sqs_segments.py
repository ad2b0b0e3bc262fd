"""SQS and X-Ray offline: messages carry ``AWSTraceHeader``; a traced send shows the queue's node.

On AWS (X-Ray developer guide, "Amazon SQS and AWS X-Ray"), a message sent with a trace header
keeps it as the ``AWSTraceHeader`` message system attribute, which ``ReceiveMessage`` returns when
asked (``MessageSystemAttributeNames=["AWSTraceHeader"]`` or ``All``); the consumer continues the
trace from it. The header comes from the ``SendMessage`` / ``SendMessageBatch`` call's
``X-Amzn-Trace-Id``, or from the entry's own ``MessageSystemAttributes.AWSTraceHeader``, which
wins. SQS records no segment of its own: X-Ray infers the queue's node from the sender's ``SQS``
subsegment, and ``BatchGetTraces`` returns it as a segment named after the service (``SQS``), origin
``AWS::SQS::Queue``, ``"inferred": true``, under that subsegment, with the call's ``aws`` fields
(as recorded ``BatchGetTraces`` answers show for S3, SNS and DynamoDB calls).

moto keeps an explicit ``AWSTraceHeader`` on ``SendMessage`` but drops it from
``SendMessageBatch`` entries, and ignores the HTTP header. :func:`install_sqs_tracing` fixes both,
and for a traced send (a header with a ``Parent``, not ``Sampled=0``) records the inferred queue
segment under that parent. Messages that services put (EventBridge targets, SNS subscriptions,
Step Functions tasks) get the header those services hand over (:mod:`.trace_context`).
"""

from __future__ import annotations

import functools
import threading
import time
from typing import Any

from .trace_context import Header, current, new_id, store

ORIGIN = "AWS::SQS::Queue"
ATTRIBUTE = "AWSTraceHeader"
_batch = threading.local()  # the system attributes of a batch's entries, in the order moto sends them


def queue_document(
    header: Header, *, queue_name: str, queue_url: str, region: str, account_id: str, operation: str, start: float
) -> dict[str, Any]:
    """The inferred segment of one traced send to a queue, under the sender's subsegment."""
    document: dict[str, Any] = {
        "id": new_id(),
        "trace_id": header.root,
        "name": "SQS",
        "origin": ORIGIN,
        "inferred": True,
        "start_time": start,
        "end_time": time.time(),
        "http": {"response": {"status": 200}},
        "aws": {
            "operation": operation,
            "queue_url": queue_url,
            "region": region,
            "resource_names": [queue_url],
        },
        "resource_arn": f"arn:aws:sqs:{region}:{account_id}:{queue_name}",
    }
    if header.parent:
        document["parent_id"] = header.parent
    return document


def _with_header(system_attributes: Any) -> Any:
    """The message's system attributes with ``AWSTraceHeader`` from the current header when it has none."""
    if isinstance(system_attributes, dict) and ATTRIBUTE in system_attributes:
        return system_attributes
    header = current()
    if header is None:
        return system_attributes
    return {**(system_attributes or {}), ATTRIBUTE: {"DataType": "String", "StringValue": str(header)}}


def install_sqs_tracing() -> None:
    """Patch moto's SQS backend and responses in this process (idempotent)."""
    from moto.sqs.models import SQSBackend
    from moto.sqs.responses import SQSResponse

    if getattr(SQSBackend, "_iatk_traced", False):
        return
    original_send = SQSBackend.send_message
    original_batch = SQSBackend.send_message_batch
    original_send_response = SQSResponse.send_message
    original_batch_response = SQSResponse.send_message_batch

    @functools.wraps(original_send)
    def send_message(self: Any, *args: Any, **kwargs: Any) -> Any:
        pending = getattr(_batch, "entries", None)
        if pending:  # one call per batch entry, in order: give it the entry's own system attributes
            given = pending.pop(0)
            if given and not kwargs.get("system_attributes"):
                kwargs["system_attributes"] = given
        kwargs["system_attributes"] = _with_header(kwargs.get("system_attributes"))
        return original_send(self, *args, **kwargs)

    @functools.wraps(original_batch)
    def send_message_batch(self: Any, queue_name: str, entries: dict[str, Any]) -> Any:
        _batch.entries = [entry.get("MessageSystemAttributes") for entry in entries.values()]
        try:
            return original_batch(self, queue_name, entries)
        finally:
            _batch.entries = None

    def traced(original: Any, operation: str) -> Any:
        @functools.wraps(original)
        def respond(self: Any) -> Any:
            header, start = current(), time.time()
            answer = original(self)
            if header is not None and header.parent and header.recorded:
                name = self._get_queue_name()
                url = str(self._get_param("QueueUrl") or name)
                document = queue_document(
                    header,
                    queue_name=name,
                    queue_url=url,
                    region=self.region,
                    account_id=self.current_account,
                    operation=operation,
                    start=start,
                )
                store(self.current_account, self.region, [document])
            return answer

        return respond

    SQSBackend.send_message = send_message  # type: ignore[method-assign]
    SQSBackend.send_message_batch = send_message_batch  # type: ignore[method-assign]
    SQSResponse.send_message = traced(original_send_response, "SendMessage")  # type: ignore[method-assign]
    SQSResponse.send_message_batch = traced(original_batch_response, "SendMessageBatch")  # type: ignore[method-assign]
    SQSBackend._iatk_traced = True  # type: ignore[attr-defined]
