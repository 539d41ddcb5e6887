"""Counters in the app's DynamoDB table, shared by every Lambda instance.

One ``UpdateItem`` per request: ``ADD`` is atomic on the server, so concurrent
instances never lose an increment, and ``UPDATED_NEW`` returns the count in the
same round trip. Items live at ``PK=RATE#<client>``, ``SK=WINDOW#<start>`` and
expire through the table's TTL attribute. The client has short timeouts and no
retries: a limiter that cannot answer quickly is skipped (fail open) rather
than delaying the request.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import boto3
from botocore.config import Config

if TYPE_CHECKING:
    from mypy_boto3_dynamodb.client import DynamoDBClient

LIMITER_CLIENT_CONFIG = Config(connect_timeout=0.5, read_timeout=0.5, retries={"total_max_attempts": 1})


class DynamoCounter:
    blocking = True

    def __init__(
        self, table: str, *, endpoint_url: str | None = None, client: DynamoDBClient | Any = None
    ) -> None:
        self.table = table
        if client is None:
            session = boto3.session.Session()
            client = session.client("dynamodb", endpoint_url=endpoint_url, config=LIMITER_CLIENT_CONFIG)
        self.client = client

    def increment(self, key: str, window_start: int, expires_at: int) -> int:
        result = self.client.update_item(
            TableName=self.table,
            Key={"PK": {"S": f"RATE#{key}"}, "SK": {"S": f"WINDOW#{window_start}"}},
            UpdateExpression="ADD #count :one SET expires_at = :expires",
            ExpressionAttributeNames={"#count": "count"},
            ExpressionAttributeValues={":one": {"N": "1"}, ":expires": {"N": str(expires_at)}},
            ReturnValues="UPDATED_NEW",
        )
        return int(result["Attributes"]["count"]["N"])
