"""When the data store misbehaves: a clear 503 with Retry-After, fast, and nothing half-written."""

from __future__ import annotations

import sqlite3
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from app.main import create_app
from app.settings import Settings
from app.store.dynamodb import DynamoStore
from app.store.sqlite import SqliteStore
from tests.auth.tokens import Issuer
from tests.dynamo_server import new_client

from .proxy import FaultProxy

ORDER = {"lines": [{"item_id": "margherita", "quantity": 1}]}


@pytest.fixture
def proxy(dynamodb_url: str) -> Iterator[FaultProxy]:
    proxy = FaultProxy(dynamodb_url)
    yield proxy
    proxy.close()


def settings(trust: dict[str, Any], **values: object) -> Settings:
    return Settings(**trust, rate_limit="0", **values)  # type: ignore[arg-type]


def headers(scope: str = "orders:read orders:write", **extra: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {Issuer().token(sub='alice', scope=scope)}", **extra}


@pytest.fixture
def dynamo_client(
    proxy: FaultProxy, dynamodb_url: str, trust: dict[str, Any], fake_aws: None
) -> Iterator[tuple[TestClient, DynamoStore]]:
    # The app talks to the proxy; the test reads the truth straight from the server.
    table = f"faults-{time.time_ns()}"
    app = create_app(settings(trust, store="dynamodb", dynamodb_table=table, dynamodb_endpoint_url=proxy.url))
    truth = DynamoStore(table, client=new_client(dynamodb_url))
    with TestClient(app, raise_server_exceptions=False) as client:
        chef = headers("menu:write")
        body = {"name": "Margherita", "price_cents": 1150, "available": True}
        assert client.put("/menu/margherita", json=body, headers=chef).status_code == 201
        yield client, truth


@pytest.mark.parametrize(
    ("status", "error_type"),
    [
        (400, "ProvisionedThroughputExceededException"),
        (400, "ThrottlingException"),
        (500, "InternalServerError"),
        (503, "ServiceUnavailable"),
    ],
)
def test_throttling_and_service_errors_are_503_and_write_nothing(
    dynamo_client: tuple[TestClient, DynamoStore], proxy: FaultProxy, status: int, error_type: str
) -> None:
    client, truth = dynamo_client
    proxy.errors["TransactWriteItems"] = (status, error_type)
    proxy.seen.clear()
    response = client.post("/orders", json=ORDER, headers=headers(**{"Idempotency-Key": "k-1"}))
    assert response.status_code == 503
    assert response.headers["content-type"] == "application/problem+json"
    assert int(response.headers["retry-after"]) >= 1
    assert error_type not in response.text  # nothing internal
    assert proxy.seen.count("TransactWriteItems") == 3  # the SDK's bounded retries, then give up
    assert truth.list_orders("alice", limit=10, after=None).items == []
    # The key was released: once the store recovers, the same retry succeeds.
    proxy.errors.clear()
    retry = client.post("/orders", json=ORDER, headers=headers(**{"Idempotency-Key": "k-1"}))
    assert retry.status_code == 201
    assert len(truth.list_orders("alice", limit=10, after=None).items) == 1


def test_reads_under_throttling_are_503(
    dynamo_client: tuple[TestClient, DynamoStore], proxy: FaultProxy
) -> None:
    client, _ = dynamo_client
    proxy.errors["*"] = (400, "ThrottlingException")
    response = client.get("/orders", headers=headers())
    assert response.status_code == 503
    assert client.get("/health").status_code == 503


def test_a_latency_spike_fails_fast_not_at_the_lambda_timeout(
    dynamo_client: tuple[TestClient, DynamoStore], proxy: FaultProxy
) -> None:
    client, _ = dynamo_client
    proxy.delays["GetItem"] = 5.0  # far beyond the 2 s read timeout
    started = time.monotonic()
    response = client.get("/orders/01JDQ3V8Y6Q0W6D3W6X4T9M2KZ", headers=headers())
    elapsed = time.monotonic() - started
    assert response.status_code == 503
    assert elapsed < 9.0  # the function timeout is 10 s: the client hears a clear 503 first


def test_sqlite_database_locked_is_retried_then_503(tmp_path: Path, trust: dict[str, Any]) -> None:
    path = str(tmp_path / "locked.db")
    store = SqliteStore(path, busy_timeout=0.5)
    app = create_app(settings(trust, sqlite_path=path), store=store)
    with TestClient(app, raise_server_exceptions=False) as client:
        chef = headers("menu:write")
        assert (
            client.put(
                "/menu/margherita", json={"name": "M", "price_cents": 1, "available": True}, headers=chef
            ).status_code
            == 201
        )
        holder = sqlite3.connect(path, isolation_level=None)
        holder.execute("BEGIN IMMEDIATE")  # another writer holds the lock
        try:
            started = time.monotonic()
            response = client.post("/orders", json=ORDER, headers=headers())
            elapsed = time.monotonic() - started
        finally:
            holder.execute("ROLLBACK")
            holder.close()
        assert response.status_code == 503
        assert response.headers["retry-after"] == "1"
        assert 0.4 < elapsed < 5  # it waited (SQLite's busy handler retries), then gave up
        assert client.get("/orders", headers=headers()).json()["items"] == []
        # A lock released in time is simply waited for.
        holder = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
        holder.execute("BEGIN IMMEDIATE")
        threading.Timer(0.2, lambda: (holder.execute("ROLLBACK"), holder.close())).start()
        assert client.post("/orders", json=ORDER, headers=headers()).status_code == 201
