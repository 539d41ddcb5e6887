"""What only the DynamoDB backend has: its table, its wire calls, its failures.

The shared behaviour is in test_contract.py. These tests talk to a real server on
loopback (moto's, see tests/dynamo_server.py) or to small loopback servers that
fail on purpose; they watch the HTTP requests botocore actually sends.
"""

from __future__ import annotations

import json
import socket
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, NamedTuple

import pytest

from app.store.base import (
    AlreadyExists,
    IdempotencyCompletion,
    Order,
    OrderLine,
    StoredResponse,
    StoreError,
    StoreUnavailable,
    VersionConflict,
)
from app.store.dynamodb import (
    ATTRIBUTE_DEFINITIONS,
    GLOBAL_SECONDARY_INDEXES,
    KEY_SCHEMA,
    TTL_ATTRIBUTE,
    DynamoStore,
)
from tests.dynamo_server import new_client, new_store

NOW = 1_790_000_000


@pytest.fixture
def aws_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """For stores that build their own client: fake credentials, no profile or config file."""
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "no-aws-config"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "no-aws-credentials"))
    for name in (
        "AWS_SESSION_TOKEN",
        "AWS_SECURITY_TOKEN",
        "AWS_PROFILE",
        "AWS_RETRY_MODE",
        "AWS_MAX_ATTEMPTS",
    ):
        monkeypatch.delenv(name, raising=False)


class SentOperations(list[str]):
    """The DynamoDB operations a client put on the wire, from their X-Amz-Target header."""

    def __call__(self, request: Any, **_: Any) -> None:
        self.append(request.headers["X-Amz-Target"].decode().split(".")[-1])


class Watched(NamedTuple):
    sent: SentOperations
    store: DynamoStore
    client: Any


@pytest.fixture
def watched(dynamodb_url: str) -> Watched:
    client = new_client(dynamodb_url)
    store = new_store(dynamodb_url, client)
    sent = SentOperations()
    client.meta.events.register("before-send.dynamodb", sent)
    return Watched(sent, store, client)


def make_order(order_id: str, note: str | None = None) -> Order:
    return Order(
        id=order_id,
        customer="alice",
        status="placed",
        lines=(OrderLine("margherita", "Margherita", 2, 1150),),
        total_cents=2300,
        note=note,
        created_at="2026-11-25T07:00:00.000Z",
        updated_at="2026-11-25T07:00:00.000Z",
        version=1,
    )


def completion(key: str, owner: str) -> IdempotencyCompletion:
    return IdempotencyCompletion(key, owner, StoredResponse(201, '{"id": "x"}'), NOW + 86400)


# -- the table -------------------------------------------------------------------


def test_ensure_table_creates_the_documented_keys_index_billing_and_ttl(dynamodb_url: str) -> None:
    store = new_store(dynamodb_url)
    client = new_client(dynamodb_url)

    table = client.describe_table(TableName=store.table_name)["Table"]
    assert table["KeySchema"] == KEY_SCHEMA
    assert sorted(table["AttributeDefinitions"], key=str) == sorted(ATTRIBUTE_DEFINITIONS, key=str)
    assert [
        {k: gsi[k] for k in ("IndexName", "KeySchema", "Projection")}
        for gsi in table["GlobalSecondaryIndexes"]
    ] == GLOBAL_SECONDARY_INDEXES
    assert table["BillingModeSummary"]["BillingMode"] == "PAY_PER_REQUEST"
    assert table["TableStatus"] == "ACTIVE"
    ttl = client.describe_time_to_live(TableName=store.table_name)["TimeToLiveDescription"]
    assert ttl == {"TimeToLiveStatus": "ENABLED", "AttributeName": TTL_ATTRIBUTE}


def test_ensure_table_on_an_existing_table_keeps_its_data(
    watched: Watched,
) -> None:
    sent, store, _ = watched
    store.create_order(make_order("01ORDER"))

    store.ensure_table()

    assert "CreateTable" not in sent
    assert store.get_order("01ORDER") == make_order("01ORDER")


def test_items_carry_their_keys_numbers_and_a_numeric_ttl(dynamodb_url: str) -> None:
    """DynamoDB's TTL ignores an ``expires_at`` that is not a Number of epoch seconds."""
    store = new_store(dynamodb_url)
    client = new_client(dynamodb_url)
    store.claim_idempotency("k1", "fp", owner="o1", now=NOW, lock_until=NOW + 30, expires_at=NOW + 86400)
    store.create_order(make_order("01ORDER"), completion("k1", "o1"))

    order = client.get_item(
        TableName=store.table_name, Key={"PK": {"S": "ORDER#01ORDER"}, "SK": {"S": "ORDER"}}
    )
    assert order["Item"]["GSI1PK"] == {"S": "CUSTOMER#alice"}
    assert order["Item"]["GSI1SK"] == {"S": "01ORDER"}
    assert order["Item"]["version"] == {"N": "1"}
    assert order["Item"]["lines"]["L"][0]["M"]["quantity"] == {"N": "2"}
    assert "note" not in order["Item"]  # None is stored as no attribute
    record = client.get_item(TableName=store.table_name, Key={"PK": {"S": "IDEM#k1"}, "SK": {"S": "IDEM"}})
    assert record["Item"]["status"] == {"S": "completed"}
    assert record["Item"][TTL_ATTRIBUTE] == {"N": str(NOW + 86400)}


# -- the calls on the wire ---------------------------------------------------------


def test_the_menu_is_read_with_a_query_never_a_scan(
    watched: Watched,
) -> None:
    sent, store, _ = watched
    store.list_menu()
    store.get_menu_items(["margherita", "calzone"])
    assert sent == ["Query", "BatchGetItem"]


def test_ping_is_one_get_item(watched: Watched) -> None:
    sent, store, _ = watched
    assert store.ping() is True
    assert sent == ["GetItem"]


def test_a_claim_is_decided_by_one_conditional_write(
    watched: Watched,
) -> None:
    """The losing claim learns who holds the key from the failed write itself
    (ReturnValuesOnConditionCheckFailure), not from a second, racy read."""
    sent, store, _ = watched
    store.claim_idempotency("k1", "fp", owner="o1", now=NOW, lock_until=NOW + 30, expires_at=NOW + 86400)
    sent.clear()

    claim = store.claim_idempotency(
        "k1", "fp", owner="o2", now=NOW, lock_until=NOW + 30, expires_at=NOW + 86400
    )

    assert claim.state == "in_progress"
    assert sent == ["PutItem"]


def test_without_the_old_item_in_the_error_a_claim_reads_the_record(
    watched: Watched,
) -> None:
    """Some DynamoDB-compatible servers ignore ReturnValuesOnConditionCheckFailure."""
    sent, store, client = watched
    store.claim_idempotency("k1", "fp", owner="o1", now=NOW, lock_until=NOW + 30, expires_at=NOW + 86400)
    store.create_order(make_order("01ORDER"), completion("k1", "o1"))

    def drop_old_item(parsed: dict[str, Any], **_: Any) -> None:
        parsed.pop("Item", None)

    client.meta.events.register("after-call.dynamodb.PutItem", drop_old_item)
    sent.clear()

    claim = store.claim_idempotency(
        "k1", "fp", owner="o2", now=NOW, lock_until=NOW + 30, expires_at=NOW + 86400
    )

    assert claim.state == "completed"
    assert claim.response == StoredResponse(201, '{"id": "x"}')
    assert sent == ["PutItem", "GetItem"]


# -- transactions ------------------------------------------------------------------


def test_a_duplicate_order_id_in_the_transaction_is_already_exists_and_keeps_the_key_held(
    watched: Watched,
) -> None:
    sent, store, _ = watched
    store.create_order(make_order("01ORDER"))
    store.claim_idempotency("k1", "fp", owner="o1", now=NOW, lock_until=NOW + 30, expires_at=NOW + 86400)

    with pytest.raises(AlreadyExists):
        store.create_order(make_order("01ORDER", note="second"), completion("k1", "o1"))

    assert "TransactWriteItems" in sent
    assert store.get_order("01ORDER") == make_order("01ORDER")
    # The transaction was cancelled as a whole: the key is still in progress, not completed.
    again = store.claim_idempotency(
        "k1", "fp", owner="o2", now=NOW, lock_until=NOW + 30, expires_at=NOW + 86400
    )
    assert again.state == "in_progress"


def test_a_lost_key_in_the_transaction_is_version_conflict_and_writes_no_order(dynamodb_url: str) -> None:
    store = new_store(dynamodb_url)
    store.claim_idempotency("k1", "fp", owner="o1", now=NOW, lock_until=NOW + 30, expires_at=NOW + 86400)

    with pytest.raises(VersionConflict):
        store.create_order(make_order("01ORDER"), completion("k1", "someone-else"))

    assert store.get_order("01ORDER") is None


# -- failures become StoreUnavailable, quickly ---------------------------------------


def test_a_missing_table_is_store_unavailable_naming_the_table(dynamodb_url: str) -> None:
    store = DynamoStore("no-such-table", client=new_client(dynamodb_url))

    with pytest.raises(StoreUnavailable, match="no-such-table"):
        store.get_order("01ORDER")
    assert store.ping() is False


@pytest.mark.usefixtures("aws_env")
def test_a_closed_port_is_store_unavailable_at_once() -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]  # closed again when the block ends
    store = DynamoStore("orders", endpoint_url=f"http://127.0.0.1:{port}")

    started = time.monotonic()
    with pytest.raises(StoreUnavailable):
        store.list_menu()
    assert store.ping() is False
    assert time.monotonic() - started < 5


@pytest.mark.usefixtures("aws_env")
def test_a_server_that_never_answers_is_store_unavailable_within_the_timeouts() -> None:
    """botocore's defaults would wait 60 s per read and try DynamoDB 10 times;
    the store's client gives up after 3 attempts of 2 s (plus jittered backoff),
    well inside API Gateway's 30 s."""
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(8)  # the kernel accepts connections; nobody ever answers
        store = DynamoStore("orders", endpoint_url=f"http://127.0.0.1:{listener.getsockname()[1]}")

        started = time.monotonic()
        with pytest.raises(StoreUnavailable, match="ReadTimeout"):
            store.get_order("01ORDER")
        elapsed = time.monotonic() - started

    assert 2 <= elapsed < 15


class FailingDynamo:
    """A loopback server answering every request with one DynamoDB error."""

    def __init__(self, status: int, error_type: str) -> None:
        self.requests = 0
        body = json.dumps(
            {"__type": f"com.amazonaws.dynamodb.v20120810#{error_type}", "message": "no"}
        ).encode()
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                self.rfile.read(int(self.headers["Content-Length"]))
                outer.requests += 1
                self.send_response(status)
                self.send_header("Content-Type", "application/x-amz-json-1.0")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: Any) -> None:
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        threading.Thread(target=self.httpd.serve_forever, args=(0.02,), daemon=True).start()

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.mark.usefixtures("aws_env")
@pytest.mark.parametrize(
    ("status", "error_type"),
    [
        (400, "ProvisionedThroughputExceededException"),
        (500, "InternalServerError"),
    ],
)
def test_throttling_and_server_errors_are_retried_three_times_then_store_unavailable(
    status: int, error_type: str
) -> None:
    server = FailingDynamo(status, error_type)
    try:
        store = DynamoStore("orders", endpoint_url=server.url)
        with pytest.raises(StoreUnavailable, match=error_type) as raised:
            store.list_menu()
    finally:
        server.close()
    assert server.requests == 3
    assert raised.value.retry_after >= 1


@pytest.mark.usefixtures("aws_env")
def test_an_unexpected_error_is_a_store_error_not_a_botocore_exception() -> None:
    server = FailingDynamo(400, "ValidationException")
    try:
        store = DynamoStore("orders", endpoint_url=server.url)
        with pytest.raises(StoreError) as raised:
            store.get_menu_item("margherita")
    finally:
        server.close()
    assert type(raised.value) is StoreError  # a bug here, so a 500, not a retryable 503
    assert server.requests == 1
