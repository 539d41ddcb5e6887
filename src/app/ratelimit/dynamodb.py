"""Counters in the app's DynamoDB table, shared by every Lambda instance.

One ``UpdateItem`` per request: ``ADD`` is atomic on the server, so concurrent
instances never lose an increment, and ``UPDATED_NEW`` returns the count in the
same round trip. Items live at ``PK=RATE#<client>``, ``SK=WINDOW#<start>`` and
expire through the table's TTL attribute. The client is the container's one
DynamoDB client (``app.store.sdk``), shared with the store; it sends
``UpdateItem`` once, never retried: a limiter that cannot answer is skipped
(fail open) rather than delaying the request.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from mypy_boto3_dynamodb.client import DynamoDBClient


class DynamoCounter:
    blocking = True

    def __init__(
        self, table: str, *, endpoint_url: str | None = None, client: DynamoDBClient | Any = None
    ) -> None:
        self.table = table
        if client is None:
            from app.store.sdk import new_client

            client = new_client(endpoint_url)
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
