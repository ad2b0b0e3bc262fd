"""Rule copying with input transformations, and exactly-n waits for a batch."""

from __future__ import annotations

import json
import uuid

import iatk


def order(order_id: int, total: float, customer: str = "c-1") -> dict:
    return {
        "Source": "shop.orders",
        "DetailType": "OrderPlaced",
        "Detail": {"orderId": order_id, "total": total, "customer": {"id": customer}},
    }


def for_customer(customer: str) -> iatk.Matcher:
    """Only this test's orders: tests running side by side (pytest -n 4) share the bus."""

    def mine(event: iatk.Event) -> bool:
        return bool(event.json().get("customerId") == customer)

    return iatk.as_matcher(mine)


def test_listener_sees_what_fulfilment_sees(orders_stack, fulfilment_view, iatk_put_events):
    """The copied InputTransformer applies: the body is fulfilment's message, not the envelope."""
    bus = orders_stack.output("OrdersBusName")
    customer = uuid.uuid4().hex
    iatk_put_events(order(42, 19.5, customer), bus=bus)

    event = fulfilment_view.expect_event(for_customer(customer), within=10)

    assert not event.is_envelope
    assert event.json() == {"orderId": 42, "amount": 19.5, "customerId": customer, "action": "ship"}


def test_batch_gives_exactly_n(orders_stack, fulfilment_view, iatk_put_events):
    """Twelve orders (two PutEvents calls), of which two are free: exactly ten reach fulfilment."""
    bus = orders_stack.output("OrdersBusName")
    customer = uuid.uuid4().hex
    orders = [order(n, 0 if n % 6 == 0 else 10.0 + n, customer) for n in range(12)]
    iatk_put_events(*orders, bus=bus)

    events = fulfilment_view.expect_events(10, for_customer(customer), within=3)

    assert sorted(e.json()["orderId"] for e in events) == [1, 2, 3, 4, 5, 7, 8, 9, 10, 11]


def test_matcher_on_a_transformed_body(orders_stack, fulfilment_view, iatk_put_events):
    """A function matcher reads the transformed body; a pattern matcher would need an envelope."""
    bus = orders_stack.output("OrdersBusName")
    customer = uuid.uuid4().hex
    iatk_put_events(order(1, 5.0, customer), order(2, 500.0, customer), bus=bus)

    def big(event: iatk.Event) -> None:
        assert event.json()["amount"] > 100, f"amount {event.json()['amount']} is small"

    mine = for_customer(customer) & iatk.as_matcher(big)
    assert fulfilment_view.expect_event(mine, within=10).json()["orderId"] == 2


def test_same_app_without_a_listener(orders_stack, iatk_put_events, iatk_session):
    """The app itself works too: fulfilment's queue gets the transformed order."""
    sqs = iatk_session.client("sqs")
    url = orders_stack.output("FulfilmentQueueUrl")
    customer = uuid.uuid4().hex
    iatk_put_events(order(77, 1.0, customer), bus=orders_stack.output("OrdersBusName"))
    bodies = []
    for _ in range(5):
        for message in sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, WaitTimeSeconds=2).get("Messages", []):
            bodies.append(json.loads(message["Body"]))
            sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])
        if any(b["customerId"] == customer for b in bodies):
            break
    assert {"orderId": 77, "amount": 1.0, "customerId": customer, "action": "ship"} in bodies
