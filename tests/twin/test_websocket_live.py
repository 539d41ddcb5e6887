"""Live orders through the twin (`make cloud`), end to end: the stack's WebSocket API,
its authorizer and functions in the Lambda workers, the DataTable's stream through the
event source mapping, over real sockets. An order placed over the twin's HTTP API
arrives over its WebSocket API to the customer who placed it and to staff, never to
another customer; what the stream function cannot read is retried and parked in the
SQS queue while the rest is delivered; a gone or expired connection is cleaned."""

from __future__ import annotations

import asyncio
import json
import re
import time
import uuid
from collections.abc import Iterator
from typing import Any

import boto3
import httpx
import pytest
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed, InvalidStatus

from app.live.audience import Listener
from app.live.dynamo_registry import DynamoRegistry
from tests.twin.conftest import Twin, built_artifact, run_twin

KEYS: dict[str, Any] = {"region_name": "us-east-1", "aws_access_key_id": "x", "aws_secret_access_key": "x"}
DATA = "serverless-api-dev-DataTable-twin"
CONNECTIONS = "serverless-api-dev-ConnectionsTable-twin"
CUSTOMER = "orders:read orders:write"


@pytest.fixture(scope="module")
def twin(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Twin]:
    """The stack as `make cloud` serves it, for this module alone (it writes a malformed
    order into the table, which no other module should meet)."""
    with run_twin(tmp_path_factory.mktemp("live"), "--artifact", str(built_artifact())) as served:
        chef = served.bearer("chef", CUSTOMER, group="chef")
        dish = {"name": "Margherita", "price_cents": 1150, "available": True}
        assert (
            httpx.put(f"{served.url}/menu/margherita", json=dish, headers=chef, timeout=30).status_code == 201
        )
        yield served


def run(coroutine: Any) -> Any:
    return asyncio.run(coroutine)


async def next_message(ws: ClientConnection, wait_s: float = 15) -> dict[str, Any]:
    message: dict[str, Any] = json.loads(await asyncio.wait_for(ws.recv(), wait_s))
    return message


def place(twin: Twin, customer: dict[str, str]) -> dict[str, Any]:
    order = httpx.post(
        f"{twin.url}/orders",
        json={"lines": [{"item_id": "margherita", "quantity": 1}]},
        headers={**customer, "Idempotency-Key": uuid.uuid4().hex},
        timeout=30,
    )
    assert order.status_code == 201, order.text
    body: dict[str, Any] = order.json()
    return body


def mark_dish(twin: Twin, available: bool) -> None:
    """A menu change: every connection hears it, after whatever the stream carried before."""
    chef = twin.bearer("chef", CUSTOMER, group="chef")
    dish = {"name": "Margherita", "price_cents": 1150, "available": available}
    assert httpx.put(f"{twin.url}/menu/margherita", json=dish, headers=chef, timeout=30).status_code == 200


def test_start_up_says_what_stands_in_for_the_live_parts(twin: Twin) -> None:
    log = twin.log()
    assert re.search(
        r"substituted websocket: the WebSocket API WebSocketApi at ws://127\.0\.0\.1:\d+/dev \(routes "
        r"\$connect, \$default, \$disconnect, ping; \$connect through LiveAuthorizerFunction",
        log,
    )
    assert re.search(r"@connections at http://127\.0\.0\.1:\d+/dev/@connections/ID", log)
    assert (
        "substituted stream: LiveStreamFunctionChanges reads DataTable's stream on the local server "
        "4 times a second (Lambda's rate), batches of up to 100, 2 filter(s), 5 retries, bisecting, "
        "partial batch failures, then the SQS queue serverless-api-dev-LiveFailureQueue-twin"
    ) in log
    for name in ("LiveAuthorizerFunction", "LiveSocketFunction", "LiveStreamFunction"):
        assert f"twin: function serverless-api-dev-{name}: app.aws_lambda." in log


def test_a_customer_hears_their_own_orders_staff_hear_all_others_none(twin: Twin) -> None:
    alice, bob = twin.bearer("alice", CUSTOMER), twin.bearer("bob", CUSTOMER)
    staff = twin.bearer("staff", CUSTOMER, group="staff")

    async def scenario() -> None:
        url = twin.ws_url + "?token="
        async with (
            connect(url + alice["Authorization"][7:]) as a,
            connect(url + bob["Authorization"][7:]) as b,
            connect(url + staff["Authorization"][7:]) as s,
            httpx.AsyncClient(timeout=30) as http,
        ):
            await a.send('{"action": "ping"}')
            assert await next_message(a) == {"type": "pong"}
            order = await asyncio.to_thread(place, twin, alice)
            read = (await http.get(f"{twin.url}/orders/{order['id']}", headers=alice)).json()
            expected = {"type": "order", "order": read}  # exactly GET /orders/{id}, version included
            assert await next_message(a) == expected
            assert await next_message(s) == expected
            moved = await http.patch(
                f"{twin.url}/orders/{order['id']}",
                json={"status": "preparing"},
                headers={**staff, "If-Match": '"v1"'},
            )
            assert moved.status_code == 200
            assert (await next_message(a))["order"]["version"] == 2
            assert (await next_message(s))["order"]["status"] == "preparing"
            # The menu change comes after both order changes in the stream: bob's first
            # message is the menu's, so nothing of alice's order reached him before it.
            await asyncio.to_thread(mark_dish, twin, False)
            assert (await next_message(b)) == {"type": "menu", "item": (await next_message(a))["item"]}
            assert (await next_message(s))["type"] == "menu"
            await asyncio.to_thread(mark_dish, twin, True)

    run(scenario())
    log = twin.log()
    assert "token=" not in log  # the gateway's lines never hold the query string
    assert alice["Authorization"][7:] not in log


@pytest.mark.parametrize(
    ("token", "status"),
    [("", 401), ("not-a-jwt", 401), ("expired", 401), ("no-read-scope", 403)],
)
def test_the_handshake_refusals(twin: Twin, token: str, status: int) -> None:
    if token == "expired":
        token = twin.token("alice", CUSTOMER, ttl=-60)
    elif token == "no-read-scope":
        token = twin.token("alice", "orders:write")

    async def attempt() -> int:
        try:
            async with connect(f"{twin.ws_url}?token={token}"):
                pass
        except InvalidStatus as refused:
            return refused.response.status_code
        return 101

    assert run(attempt()) == status


def failure_queue(twin: Twin) -> tuple[Any, str]:
    sqs = boto3.client("sqs", endpoint_url=twin.dynamodb_endpoint, **KEYS)
    return sqs, sqs.get_queue_url(QueueName="serverless-api-dev-LiveFailureQueue-twin")["QueueUrl"]


def test_a_malformed_order_is_retried_then_parked_and_the_rest_delivered(twin: Twin) -> None:
    staff = twin.bearer("staff", CUSTOMER, group="staff")
    dynamodb = boto3.client("dynamodb", endpoint_url=twin.dynamodb_endpoint, **KEYS)
    reports = len(twin.reports())

    async def scenario() -> dict[str, Any]:
        async with connect(twin.ws_url + "?token=" + staff["Authorization"][7:]) as s:
            # An operator's script writes an order the app cannot read (no lines, no status).
            bad = {"PK": {"S": "ORDER#BROKEN"}, "SK": {"S": "ORDER"}, "customer": {"S": "mallory"}}
            await asyncio.to_thread(dynamodb.put_item, TableName=DATA, Item=bad)
            order = await asyncio.to_thread(place, twin, twin.bearer("carol", CUSTOMER))
            message = await next_message(s, wait_s=30)
            assert message["order"]["id"] == order["id"]
            return order

    run(scenario())
    sqs, url = failure_queue(twin)
    deadline, parked = time.monotonic() + 30, []
    while not parked and time.monotonic() < deadline:
        parked = sqs.receive_message(QueueUrl=url, WaitTimeSeconds=1).get("Messages", [])
    (message,) = parked
    record = json.loads(message["Body"])
    assert record["requestContext"]["condition"] == "RetryAttemptsExhausted"
    assert record["requestContext"]["approximateInvokeCount"] == 1 + 5  # MaximumRetryAttempts: 5
    assert record["DDBStreamBatchInfo"]["batchSize"] == 1
    # The parked record is the malformed order's: read from the stream where it says.
    streams = boto3.client("dynamodbstreams", endpoint_url=twin.dynamodb_endpoint, **KEYS)
    info = record["DDBStreamBatchInfo"]
    iterator = streams.get_shard_iterator(
        StreamArn=info["streamArn"],
        ShardId=info["shardId"],
        ShardIteratorType="AT_SEQUENCE_NUMBER",
        SequenceNumber=info["startSequenceNumber"],
    )["ShardIterator"]
    assert streams.get_records(ShardIterator=iterator, Limit=1)["Records"][0]["dynamodb"]["Keys"]["PK"] == {
        "S": "ORDER#BROKEN"
    }
    assert len(twin.reports()) - reports >= 1 + 5


def test_gone_and_expired_connections_are_cleaned(twin: Twin) -> None:
    dynamodb = boto3.client("dynamodb", endpoint_url=twin.dynamodb_endpoint, **KEYS)
    # A registration whose socket is long gone ($disconnect never came): the push gets 410.
    registry = DynamoRegistry(dynamodb, CONNECTIONS)
    registry.add(Listener("GoneConnection1=", "dora", staff=True, expires_at=int(time.time()) + 3600))
    assert registry.members("staff")

    async def scenario() -> None:
        short = twin.token("erin", CUSTOMER, ttl=3)
        async with connect(f"{twin.ws_url}?token={short}") as ws:
            await asyncio.sleep(4)  # past the token's exp: the next change closes it
            await asyncio.to_thread(mark_dish, twin, False)
            with pytest.raises(ConnectionClosed):
                await next_message(ws)
        await asyncio.to_thread(mark_dish, twin, True)

    run(scenario())
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline and any(
        m.connection_id == "GoneConnection1=" for m in registry.members("staff")
    ):
        time.sleep(0.2)
    assert not any(m.connection_id == "GoneConnection1=" for m in registry.members("staff"))
    assert "Item" not in dynamodb.get_item(
        TableName=CONNECTIONS, Key={"PK": {"S": "CONN#GoneConnection1="}, "SK": {"S": "CONN"}}
    )
    assert "DELETE /dev/@connections/" in twin.log()
