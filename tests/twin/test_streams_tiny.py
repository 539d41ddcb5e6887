"""The twin's event source mapping on the tiny live stack (tests/twin/tiny_live): items
written through the HTTP API reach the stream function as Lambda's records, in order,
filtered; a record the function fails on is retried MaximumRetryAttempts times, then
its invocation record lands in the SQS on-failure queue while the rest are delivered;
a post to a gone connection is a GoneException in the function."""

from __future__ import annotations

import asyncio
import json
import time
import uuid
from typing import Any

import boto3
import httpx
import pytest
from websockets.asyncio.client import ClientConnection, connect

from tests.lambda_events.conftest import load
from tests.twin.conftest import Twin

KEYS: dict[str, Any] = {
    "region_name": "us-east-1",
    "aws_access_key_id": "testing",
    "aws_secret_access_key": "testing",
}
RETRIES = 2  # the tiny stack's MaximumRetryAttempts


@pytest.fixture(scope="module")
def twin(tiny_live: Twin) -> Twin:
    return tiny_live


def put(twin: Twin, text: str, to: str) -> None:
    answer = httpx.put(f"{twin.url}/notes/{uuid.uuid4().hex}", json={"text": text, "to": to}, timeout=30)
    assert answer.status_code == 204


async def connection_id(ws: ClientConnection) -> str:
    await ws.send(json.dumps({"action": "echo"}))
    return str(json.loads(await asyncio.wait_for(ws.recv(), 10))["event"]["requestContext"]["connectionId"])


async def receive(ws: ClientConnection, count: int, wait_s: float = 15) -> list[dict[str, Any]]:
    """``count`` distinct records, in the order they first arrive: delivery is at least
    once (a batch that fails after sending some is sent again, as Lambda retries it)."""
    records: dict[str, dict[str, Any]] = {}
    while len(records) < count:
        record = json.loads(await asyncio.wait_for(ws.recv(), wait_s))
        records.setdefault(record["dynamodb"]["SequenceNumber"], record)
    return list(records.values())


def failures(twin: Twin) -> list[dict[str, Any]]:
    sqs = boto3.client("sqs", endpoint_url=twin.dynamodb_endpoint, **KEYS)
    url = sqs.get_queue_url(QueueName="twin-Failures-twin")["QueueUrl"]
    messages = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, WaitTimeSeconds=1).get(
        "Messages", []
    )
    for message in messages:
        sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])
    return [json.loads(m["Body"]) for m in messages]


def text(record: dict[str, Any]) -> str:
    return str(record["dynamodb"]["NewImage"]["text"]["S"])


def test_records_arrive_in_order_as_lambda_shapes_them_filtered(twin: Twin) -> None:
    async def scenario() -> list[dict[str, Any]]:
        async with connect(twin.ws_url + "?token=good-ann") as ws:
            me = await connection_id(ws)
            # Not a note: the mapping's FilterCriteria (PK prefix NOTE#) keeps it from the function.
            client = boto3.client("dynamodb", endpoint_url=twin.dynamodb_endpoint, **KEYS)
            item = {"PK": {"S": "OTHER#1"}, "text": {"S": "filtered"}, "to": {"S": me}}
            await asyncio.to_thread(client.put_item, TableName="twin-Table-twin", Item=item)
            for n in range(5):
                await asyncio.to_thread(put, twin, f"note {n}", me)
            return await receive(ws, 5)

    records = run(scenario())
    assert [text(r) for r in records] == [f"note {n}" for n in range(5)]
    sample = load("dynamodb-update.json")["Records"][0]  # sam local generate-event dynamodb update
    for record in records:
        assert set(record) == set(sample)
        assert set(record["dynamodb"]) == set(sample["dynamodb"])
        assert record["eventVersion"] == sample["eventVersion"] == "1.1"
        assert record["eventSource"] == "aws:dynamodb"
        assert record["eventName"] == "INSERT"
        assert record["eventSourceARN"].startswith(
            "arn:aws:dynamodb:us-east-1:123456789012:table/twin-Table-twin/stream/"
        )
        assert record["dynamodb"]["StreamViewType"] == "NEW_IMAGE"
        assert type(record["dynamodb"]["ApproximateCreationDateTime"]) is type(
            sample["dynamodb"]["ApproximateCreationDateTime"]
        )
    sequence = [int(r["dynamodb"]["SequenceNumber"]) for r in records]
    assert sequence == sorted(sequence)


@pytest.mark.parametrize("failure", ["poison", "boom"])
def test_a_failing_record_is_retried_then_sent_to_the_queue_and_the_rest_delivered(
    twin: Twin, failure: str
) -> None:
    """ "poison": the function reports the record (batchItemFailures); "boom": the whole
    invocation fails (bisected until the record is alone)."""
    failures(twin)  # an empty queue to start with
    reports = len(twin.reports())

    async def scenario() -> list[dict[str, Any]]:
        async with connect(twin.ws_url + "?token=good-bea") as ws:
            me = await connection_id(ws)
            for note in ("before", failure, "after", "last"):
                await asyncio.to_thread(put, twin, note, me)
            return await receive(ws, 3, wait_s=30)

    assert [text(r) for r in run(scenario())] == ["before", "after", "last"]
    deadline = time.monotonic() + 15
    sent: list[dict[str, Any]] = []
    while not sent and time.monotonic() < deadline:
        sent = failures(twin)
    (record,) = sent
    assert record["requestContext"]["condition"] == "RetryAttemptsExhausted"
    assert record["requestContext"]["approximateInvokeCount"] == 1 + RETRIES
    assert record["requestContext"]["functionArn"].endswith(":function:twin-Consume")
    assert record["version"] == "1.0"
    info = record["DDBStreamBatchInfo"]
    assert info["batchSize"] == 1
    assert info["startSequenceNumber"] == info["endSequenceNumber"]
    assert info["streamArn"].startswith(
        "arn:aws:dynamodb:us-east-1:123456789012:table/twin-Table-twin/stream/"
    )
    assert ("functionError" in record["responseContext"]) is (failure == "boom")
    # The failed record's invocations are there in the REPORT lines as Lambda writes them.
    assert sum(1 for r in twin.reports()[reports:] if r["status"] == "error") >= (
        RETRIES + 1 if failure == "boom" else 0
    )
    assert "event source mapping ConsumeChanges: RetryAttemptsExhausted" in twin.log()


def test_a_post_to_a_gone_connection_is_a_gone_exception(twin: Twin) -> None:
    async def gone() -> str:
        async with connect(twin.ws_url + "?token=good-cy") as ws:
            return await connection_id(ws)

    departed = run(gone())

    async def scenario() -> list[dict[str, Any]]:
        async with connect(twin.ws_url + "?token=good-cy") as ws:
            me = await connection_id(ws)
            await asyncio.to_thread(put, twin, "to nobody", departed)
            await asyncio.to_thread(put, twin, "to me", me)
            return await receive(ws, 1)

    assert [text(r) for r in run(scenario())] == ["to me"]
    client = boto3.client("dynamodb", endpoint_url=twin.dynamodb_endpoint, **KEYS)
    assert "Item" in client.get_item(TableName="twin-Table-twin", Key={"PK": {"S": f"GONE#{departed}"}})


def run(coroutine: Any) -> Any:
    return asyncio.run(coroutine)
