"""A write DynamoDB applied but whose answer was lost (a timeout, a 500, a dropped
connection): the SDK retries it with the same ClientRequestToken, the client gets
its 201 (or a 503 telling it to retry with the same key, never a 500), and the
order exists exactly once.

moto does not honour ClientRequestToken (DynamoDB answers a repeat within 10
minutes as a success), so here the SDK's retry is cancelled by the order's own
``attribute_not_exists`` condition: the app must see that the order is its own.
"""

from __future__ import annotations

import time

import pytest
from fastapi.testclient import TestClient

from app.store.dynamodb import DynamoStore

from .proxy import FaultProxy
from .test_dependency_faults import ORDER, dynamo_client, headers, proxy

__all__ = ["dynamo_client", "proxy"]  # fixtures, shared with the other fault tests

LOST_500 = (500, "InternalServerError")


def tokens(proxy: FaultProxy) -> list[str]:
    return [body.get("ClientRequestToken", "") for op, body in proxy.requests if op == "TransactWriteItems"]


@pytest.fixture
def app(dynamo_client: tuple[TestClient, DynamoStore], proxy: FaultProxy) -> tuple[TestClient, DynamoStore]:
    proxy.requests.clear()  # the menu's set-up
    return dynamo_client


@pytest.mark.parametrize(
    "lost", [LOST_500, None, 2.3], ids=["answered-500", "connection-dropped", "answered-after-timeout"]
)
def test_a_lost_answer_is_retried_with_the_same_token_and_the_order_exists_once(
    app: tuple[TestClient, DynamoStore], proxy: FaultProxy, lost: tuple[int, str] | float | None
) -> None:
    client, truth = app
    proxy.lose["TransactWriteItems"] = [lost]
    response = client.post("/orders", json=ORDER, headers=headers(**{"Idempotency-Key": "lost-1"}))
    assert response.status_code == 201, response.text
    order = response.json()
    # The SDK sent the transaction twice, both times as the same operation.
    assert tokens(proxy) == [f"{order['id']}-v1"] * 2
    assert [o.id for o in truth.list_orders("alice", limit=10, after=None).items] == [order["id"]]
    assert [o.id for o in truth.list_open_orders(limit=10)] == [order["id"]]  # on the kitchen's board
    # The idempotency record completed with the order: the same key replays it.
    again = client.post("/orders", json=ORDER, headers=headers(**{"Idempotency-Key": "lost-1"}))
    assert (again.status_code, again.json()["id"]) == (201, order["id"])
    assert len(truth.list_orders("alice", limit=10, after=None).items) == 1


def test_without_a_key_too(app: tuple[TestClient, DynamoStore], proxy: FaultProxy) -> None:
    client, truth = app
    proxy.lose["TransactWriteItems"] = [LOST_500]
    response = client.post("/orders", json=ORDER, headers=headers())
    assert response.status_code == 201, response.text
    # Without a key the transaction carries the order's own token too.
    assert tokens(proxy) == [f"{response.json()['id']}-v1"] * 2
    assert [o.id for o in truth.list_orders("alice", limit=10, after=None).items] == [response.json()["id"]]


def test_every_answer_lost_is_settled_by_reading_the_order(
    app: tuple[TestClient, DynamoStore], proxy: FaultProxy
) -> None:
    client, truth = app
    proxy.lose["TransactWriteItems"] = [LOST_500] * 3  # the first applied, no attempt answered
    response = client.post("/orders", json=ORDER, headers=headers(**{"Idempotency-Key": "lost-3"}))
    assert response.status_code == 201, response.text
    assert tokens(proxy) == [f"{response.json()['id']}-v1"] * 3
    assert [o.id for o in truth.list_orders("alice", limit=10, after=None).items] == [response.json()["id"]]


def test_an_unknown_outcome_is_a_503_to_retry_with_the_same_key(
    app: tuple[TestClient, DynamoStore], proxy: FaultProxy
) -> None:
    client, truth = app
    # Nothing reaches the table and nothing can be read back: the outcome is unknown.
    proxy.errors["TransactWriteItems"] = LOST_500
    proxy.errors["GetItem"] = LOST_500
    response = client.post("/orders", json=ORDER, headers=headers(**{"Idempotency-Key": "unknown-1"}))
    assert response.status_code == 503
    assert response.headers["content-type"] == "application/problem+json"
    assert int(response.headers["retry-after"]) >= 1
    assert "same Idempotency-Key" in response.json()["detail"]
    # Nothing half-written: the key was released, so the retry runs and places it once.
    proxy.errors.clear()
    retry = client.post("/orders", json=ORDER, headers=headers(**{"Idempotency-Key": "unknown-1"}))
    assert retry.status_code == 201
    assert [o.id for o in truth.list_orders("alice", limit=10, after=None).items] == [retry.json()["id"]]


def test_attempts_that_time_out_are_a_503_and_the_retry_replays_the_order(
    app: tuple[TestClient, DynamoStore], proxy: FaultProxy
) -> None:
    client, truth = app
    # Each attempt outlasts the 2 s read timeout and reaches the table afterwards: the first
    # lands, the others meet its condition. No read-back (it could outlast the function).
    proxy.delays["TransactWriteItems"] = 2.3
    response = client.post("/orders", json=ORDER, headers=headers(**{"Idempotency-Key": "slow-1"}))
    assert response.status_code == 503
    assert "same Idempotency-Key" in response.json()["detail"]
    assert "GetItem" not in proxy.seen[proxy.seen.index("TransactWriteItems") :]
    proxy.delays.clear()
    time.sleep(2.5)  # the last attempt lands too
    retry = client.post("/orders", json=ORDER, headers=headers(**{"Idempotency-Key": "slow-1"}))
    assert retry.status_code == 201
    assert retry.headers["idempotent-replayed"] == "true"
    assert [o.id for o in truth.list_orders("alice", limit=10, after=None).items] == [retry.json()["id"]]
