"""The stream consumer (app.aws_lambda.live_stream.handler) as Lambda runs it: a batch
of DynamoDB Streams records (sam local generate-event's envelope, the store's items),
the connections table on moto's server, the @connections endpoint on 127.0.0.1
reached through AWS_ENDPOINT_URL_APIGATEWAYMANAGEMENTAPI."""

from __future__ import annotations

import time
from typing import Any

from app.aws_lambda.live_stream import handler
from app.live.audience import ALL, STAFF, Listener, customer
from app.live.dynamo_registry import DynamoRegistry
from app.orders.wire import order_dict
from app.store.dynamodb_keys import menu_to_item
from tests.lambda_events.conftest import LambdaContext
from tests.live.cloud import ConnectionsEndpoint
from tests.live.records import dish, order, order_record, record

LATER = int(time.time()) + 3600


def batch(*records: dict[str, Any]) -> dict[str, Any]:
    return {"Records": list(records)}


def connect(registry: DynamoRegistry, *listeners: Listener) -> None:
    for listener in listeners:
        registry.add(listener)


def members(registry: DynamoRegistry, audience: str) -> set[str]:
    return {listener.connection_id for listener in registry.members(audience)}


def test_an_order_reaches_its_customer_and_the_kitchen_and_a_gone_connection_is_forgotten_alone(
    cloud: DynamoRegistry, endpoint: ConnectionsEndpoint
) -> None:
    connect(
        cloud,
        Listener("alice-phone=", "alice", staff=False, expires_at=LATER),
        Listener("alice-laptop=", "alice", staff=False, expires_at=LATER),
        Listener("bob=", "bob", staff=False, expires_at=LATER),
        Listener("kitchen=", "cook", staff=True, expires_at=LATER),
    )
    endpoint.gone.add("alice-laptop=")
    placed = order(customer="alice")
    answer = handler(batch(order_record("INSERT", placed)), LambdaContext(function_name="LiveStreamFunction"))
    assert answer == {"batchItemFailures": []}
    message = {"type": "order", "order": order_dict(placed)}
    assert endpoint.received("alice-phone=") == [message]
    assert endpoint.received("kitchen=") == [message]
    assert endpoint.received("bob=") == []  # never another customer's order
    assert endpoint.signed  # SigV4: the cloud refuses an unsigned call
    # The 410 removed that connection, from every audience, and no other.
    assert members(cloud, customer("alice")) == {"alice-phone="}
    assert members(cloud, ALL) == {"alice-phone=", "bob=", "kitchen="}
    assert members(cloud, STAFF) == {"kitchen="}


def test_one_poisoned_record_is_reported_and_the_records_before_it_are_delivered(
    cloud: DynamoRegistry, endpoint: ConnectionsEndpoint
) -> None:
    connect(cloud, Listener("kitchen=", "cook", staff=True, expires_at=LATER))
    first = order(order_id="01JDQ3V8Y6Q0W6D3W6X4T9M2K1", version=1)
    second = order(order_id="01JDQ3V8Y6Q0W6D3W6X4T9M2K1", status="preparing", version=2)
    poisoned = order_record("MODIFY", order(order_id="01JDQ3V8Y6Q0W6D3W6X4T9M2K2"), sequence=3)
    del poisoned["dynamodb"]["NewImage"]["version"]  # an image the app cannot read
    after = record("INSERT", dict(menu_to_item(dish())), sequence=4)
    records = [order_record("INSERT", first, 1), order_record("MODIFY", second, 2), poisoned, after]
    answer = handler(batch(*records), LambdaContext(function_name="LiveStreamFunction"))
    assert answer == {"batchItemFailures": [{"itemIdentifier": poisoned["dynamodb"]["SequenceNumber"]}]}
    # In order, the two before it; nothing after it (Lambda retries from the poisoned one).
    assert [m["order"]["version"] for m in endpoint.received("kitchen=")] == [1, 2]


def test_a_failing_post_fails_the_batch_at_that_record(
    cloud: DynamoRegistry, endpoint: ConnectionsEndpoint
) -> None:
    """Not gone, just failing (a 500): the connection is kept and the record retried."""
    connect(cloud, Listener("kitchen=", "cook", staff=True, expires_at=LATER))
    endpoint.failing.add("kitchen=")
    placed = order_record("INSERT", order(), sequence=7)
    answer = handler(batch(placed), LambdaContext(function_name="LiveStreamFunction"))
    assert answer == {"batchItemFailures": [{"itemIdentifier": placed["dynamodb"]["SequenceNumber"]}]}
    assert members(cloud, STAFF) == {"kitchen="}


def test_an_expired_connection_is_sent_nothing_closed_and_forgotten(
    cloud: DynamoRegistry, endpoint: ConnectionsEndpoint
) -> None:
    connect(
        cloud,
        Listener("old=", "alice", staff=False, expires_at=int(time.time()) - 1),
        Listener("new=", "alice", staff=False, expires_at=LATER),
    )
    removed = record("REMOVE", dict(menu_to_item(dish("tiramisu"))))
    answer = handler(batch(removed), LambdaContext(function_name="LiveStreamFunction"))
    assert answer == {"batchItemFailures": []}
    assert endpoint.received("new=") == [{"type": "menu", "removed": "tiramisu"}]
    assert endpoint.received("old=") == []
    assert endpoint.deletes == ["old="]
    assert members(cloud, ALL) == {"new="}
    assert members(cloud, customer("alice")) == {"new="}


def test_records_of_other_items_send_nothing(cloud: DynamoRegistry, endpoint: ConnectionsEndpoint) -> None:
    connect(cloud, Listener("kitchen=", "cook", staff=True, expires_at=LATER))
    idempotency = record("INSERT", {"PK": {"S": "IDEMPOTENCY#k"}, "SK": {"S": "RECORD"}})
    assert handler(batch(idempotency), LambdaContext()) == {"batchItemFailures": []}
    assert endpoint.posts == []
