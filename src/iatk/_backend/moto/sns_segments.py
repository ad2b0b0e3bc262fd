"""SNS and X-Ray offline: a publish passes its trace header to the subscribers, and shows its node.

On AWS (X-Ray developer guide, "Amazon SNS and AWS X-Ray"; SNS developer guide, "Active tracing"):

- a ``Publish`` with a trace header passes the trace context on to the subscribers, whatever the
  topic's ``TracingConfig``: an SQS subscriber's message carries it as ``AWSTraceHeader``;
- with ``TracingConfig`` ``PassThrough`` (the default) SNS records nothing itself, and X-Ray infers
  the topic's node from the publisher's ``SNS`` subsegment: ``BatchGetTraces`` returns a segment
  named ``SNS``, origin ``AWS::SNS``, ``"inferred": true``, under that subsegment, with the call's
  ``aws`` fields (``topic_arn``, ``operation``, ``region``, ``resource_names``);
- with ``TracingConfig`` ``Active`` and a sampled header, SNS sends a segment of its own for the
  topic, with the time spent delivering to each subscription; the subscribers continue the trace
  under it.

:func:`install_sns_tracing` does this on moto's SNS. The active topic's segment is named after the
topic, origin ``AWS::SNS::Topic``, one ``aws``-namespace subsegment per subscription delivery (named
after the subscriber's service: ``SQS``, ``Lambda``, ``HTTP``...), each subscriber's header having
that subsegment as ``Parent``. AWS documents what the segment holds but not its exact document:
this shape is iatk's reading, not a recorded answer.
"""

from __future__ import annotations

import functools
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from .trace_context import Header, carrying, current, new_id, store

INFERRED_ORIGIN = "AWS::SNS"
TOPIC_ORIGIN = "AWS::SNS::Topic"
_PROTOCOL_NAMES = {"sqs": "SQS", "lambda": "Lambda", "http": "HTTP", "https": "HTTP", "firehose": "Firehose"}
_deliveries = threading.local()  # the active topic's header and delivery subsegments while it publishes


def inferred_document(header: Header, *, topic_arn: str, region: str, start: float) -> dict[str, Any]:
    """The node X-Ray infers for a publish to a pass-through topic, under the publisher's subsegment."""
    document: dict[str, Any] = {
        "id": new_id(),
        "trace_id": header.root,
        "name": "SNS",
        "origin": INFERRED_ORIGIN,
        "inferred": True,
        "start_time": start,
        "end_time": time.time(),
        "http": {"response": {"status": 200}},
        "aws": {"operation": "Publish", "topic_arn": topic_arn, "region": region, "resource_names": [topic_arn]},
    }
    if header.parent:
        document["parent_id"] = header.parent
    return document


def topic_document(
    header: Header,
    segment_id: str,
    *,
    topic_name: str,
    topic_arn: str,
    region: str,
    account_id: str,
    start: float,
    deliveries: list[dict[str, Any]],
) -> dict[str, Any]:
    """The segment an actively traced topic records for one publish."""
    document: dict[str, Any] = {
        "id": segment_id,
        "trace_id": header.root,
        "name": topic_name,
        "origin": TOPIC_ORIGIN,
        "start_time": start,
        "end_time": time.time(),
        "resource_arn": topic_arn,
        "aws": {"operation": "Publish", "topic_arn": topic_arn, "region": region, "account_id": account_id},
    }
    if header.parent:
        document["parent_id"] = header.parent
    if deliveries:
        document["subsegments"] = deliveries
    return document


def _active(topic: Any) -> bool:
    """Whether the topic's ``TracingConfig`` is ``Active`` (moto keeps attributes in snake case)."""
    value = getattr(topic, "tracing_config", None) or getattr(topic, "TracingConfig", None)
    return str(value or "").lower() == "active"


@contextmanager
def delivering(subscription: Any) -> Iterator[Header | None]:
    """Run one subscription's delivery with the header the subscriber gets, and yield it.

    An active topic's delivery is a subsegment of the topic's segment (recorded with it) and the
    subscriber's header has that subsegment as ``Parent``; otherwise (pass-through) the subscriber
    gets the publisher's header as it came. A subscriber that is not delivered by moto's
    ``Subscription.publish`` (the embedded Lambda service's) runs its hand-over inside this too.
    """
    state = getattr(_deliveries, "state", None)
    if state is None:
        yield current()
        return
    topic_header, deliveries = state
    sub_id, start, fault = new_id(), time.time(), False
    try:
        with carrying(topic_header.child(sub_id)) as header:
            yield header
    except Exception:
        fault = True
        raise
    finally:
        delivery: dict[str, Any] = {
            "id": sub_id,
            "name": _PROTOCOL_NAMES.get(str(subscription.protocol), str(subscription.protocol)),
            "namespace": "aws",
            "start_time": start,
            "end_time": time.time(),
            "aws": {
                "subscription_arn": str(subscription.arn),
                "endpoint": str(subscription.endpoint),
                "protocol": str(subscription.protocol),
            },
        }
        if fault:
            delivery["fault"] = True
        deliveries.append(delivery)


def install_sns_tracing() -> None:
    """Patch moto's SNS backend and subscriptions in this process (idempotent)."""
    from moto.sns.exceptions import SNSNotFoundError
    from moto.sns.models import SNSBackend, Subscription

    if getattr(SNSBackend, "_iatk_traced", False):
        return
    original_publish = SNSBackend.publish
    original_deliver = Subscription.publish

    @functools.wraps(original_publish)
    def publish(self: Any, message: str, arn: str | None, *args: Any, **kwargs: Any) -> Any:
        header = current()
        if header is None or not arn:
            return original_publish(self, message, arn, *args, **kwargs)
        try:
            topic = self.get_topic(arn)
        except SNSNotFoundError:  # an endpoint ARN, or a missing topic: moto answers
            return original_publish(self, message, arn, *args, **kwargs)
        start = time.time()
        if not (_active(topic) and header.recorded):
            answer = original_publish(self, message, arn, *args, **kwargs)
            if header.parent and header.recorded:
                node = inferred_document(header, topic_arn=arn, region=self.region_name, start=start)
                store(self.account_id, self.region_name, [node])
            return answer
        segment_id = new_id()
        _deliveries.state = (header.child(segment_id), [])
        try:
            answer = original_publish(self, message, arn, *args, **kwargs)
        finally:
            _, deliveries = _deliveries.state
            _deliveries.state = None
        document = topic_document(
            header,
            segment_id,
            topic_name=str(topic.name),
            topic_arn=arn,
            region=self.region_name,
            account_id=self.account_id,
            start=start,
            deliveries=deliveries,
        )
        store(self.account_id, self.region_name, [document])
        return answer

    @functools.wraps(original_deliver)
    def deliver(self: Any, *args: Any, **kwargs: Any) -> Any:
        with delivering(self):
            return original_deliver(self, *args, **kwargs)

    SNSBackend.publish = publish  # type: ignore[method-assign]
    Subscription.publish = deliver  # type: ignore[method-assign]
    SNSBackend._iatk_traced = True  # type: ignore[attr-defined]
