"""The twin's DynamoDB stand-in under the twin's concurrency: every transaction
from many threads at once is answered as DynamoDB would, none with a 500."""

from __future__ import annotations

import uuid
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError

from twin.dynamo import SerialMotoServer

if TYPE_CHECKING:
    from mypy_boto3_dynamodb.client import DynamoDBClient

THREADS = 24
TRANSACTIONS = 240


@pytest.fixture
def dynamodb() -> Iterator[DynamoDBClient]:
    server = SerialMotoServer("127.0.0.1", 0)
    server.start()
    host, port = server.get_host_and_port()
    client = boto3.session.Session().client(
        "dynamodb",
        endpoint_url=f"http://{host}:{port}",
        region_name="us-east-1",
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
        # One attempt: a 500 must be seen, not retried away; a pool for every thread.
        config=Config(retries={"total_max_attempts": 1}, max_pool_connections=THREADS),
    )
    client.create_table(
        TableName="orders",
        KeySchema=[{"AttributeName": "PK", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "PK", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
    )
    try:
        yield client
    finally:
        client.close()
        server.stop()


def test_concurrent_transactions_all_succeed(dynamodb: DynamoDBClient) -> None:
    client = dynamodb
    ids = [uuid.uuid4().hex for _ in range(TRANSACTIONS)]

    def place(order_id: str) -> int:
        # The shape of create_order's transaction: the order (only if new) and its marker.
        try:
            client.transact_write_items(
                TransactItems=[
                    {
                        "Put": {
                            "TableName": "orders",
                            "Item": {"PK": {"S": f"ORDER#{order_id}"}},
                            "ConditionExpression": "attribute_not_exists(PK)",
                        }
                    },
                    {"Put": {"TableName": "orders", "Item": {"PK": {"S": f"KITCHEN#{order_id}"}}}},
                ]
            )
        except ClientError as error:
            return int(error.response["ResponseMetadata"]["HTTPStatusCode"])
        return 200

    with ThreadPoolExecutor(THREADS) as pool:
        statuses = Counter(pool.map(place, ids))
    assert statuses == {200: TRANSACTIONS}
    stored = client.scan(TableName="orders", Select="COUNT", ConsistentRead=True)
    assert stored["Count"] == 2 * TRANSACTIONS
