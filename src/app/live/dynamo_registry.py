"""The cloud's Registry: connections in a DynamoDB table (template.yaml ConnectionsTable).

Items (keys ``PK``/``SK``, strings; every item carries ``expires_at``, the table's
TTL attribute, so DynamoDB deletes what no ``$disconnect`` removed):

- one membership per audience the connection hears: ``PK=AUD#<audience>``,
  ``SK=CONN#<connection id>``, with ``sub``, ``staff`` and ``expires_at``: an
  audience's members are one Query on its partition (never a Scan);
- one ``PK=CONN#<id>``, ``SK=CONN`` item naming those audiences, so a disconnect
  (or a gone connection) deletes exactly its own memberships without reading any.

The client is botocore's low-level DynamoDB client, handed in (this module imports
no SDK). The IAM actions it needs: PutItem (``add``, one transaction),
DeleteItem (``remove``: the CONN item's old image names the rest) and Query
(``members``); template.yaml grants each function only the ones it calls.
DynamoDB's TTL deletes late (typically within days), so ``members`` returns
expired listeners too and :func:`app.live.fanout.deliver` closes and forgets them.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from app.live.audience import Listener, audiences

AUDIENCE_PREFIX = "AUD#"
CONNECTION_PREFIX = "CONN#"
CONNECTION_SK = "CONN"
TTL_ATTRIBUTE = "expires_at"
TABLE_VARIABLE = "APP_LIVE_CONNECTIONS_TABLE"


def _s(value: str) -> dict[str, str]:
    return {"S": value}


class DynamoRegistry:
    def __init__(self, client: Any, table: str) -> None:
        self._client = client
        self._table = table

    def add(self, listener: Listener) -> None:
        """The connection's memberships and its CONN item, all or nothing."""
        connection = CONNECTION_PREFIX + listener.connection_id
        expires = {"N": str(listener.expires_at)}
        heard = audiences(listener)
        items: list[dict[str, Any]] = [
            {
                "PK": _s(AUDIENCE_PREFIX + audience),
                "SK": _s(connection),
                "sub": _s(listener.sub),
                "staff": {"BOOL": listener.staff},
                TTL_ATTRIBUTE: expires,
            }
            for audience in heard
        ]
        items.append(
            {
                "PK": _s(connection),
                "SK": _s(CONNECTION_SK),
                "audiences": {"L": [_s(audience) for audience in heard]},
                TTL_ATTRIBUTE: expires,
            }
        )
        self._client.transact_write_items(
            TransactItems=[{"Put": {"TableName": self._table, "Item": item}} for item in items]
        )

    def remove(self, connection_id: str) -> None:
        """Its CONN item, then each membership that item named; nothing else."""
        connection = CONNECTION_PREFIX + connection_id
        answer = self._client.delete_item(
            TableName=self._table,
            Key={"PK": _s(connection), "SK": _s(CONNECTION_SK)},
            ReturnValues="ALL_OLD",
        )
        old = answer.get("Attributes") or {}
        for entry in old.get("audiences", {}).get("L", []):
            self._client.delete_item(
                TableName=self._table,
                Key={"PK": _s(AUDIENCE_PREFIX + entry["S"]), "SK": _s(connection)},
            )

    def members(self, audience: str) -> list[Listener]:
        """Every membership of ``audience``: one Query, page by page (1 MB each)."""
        found: list[Listener] = []
        request: dict[str, Any] = {
            "TableName": self._table,
            "KeyConditionExpression": "PK = :audience",
            "ExpressionAttributeValues": {":audience": _s(AUDIENCE_PREFIX + audience)},
        }
        while True:
            page = self._client.query(**request)
            found.extend(_listener(item) for item in page.get("Items", []))
            last = page.get("LastEvaluatedKey")
            if not last:
                return found
            request["ExclusiveStartKey"] = last


def _listener(item: dict[str, Any]) -> Listener:
    return Listener(
        connection_id=item["SK"]["S"].removeprefix(CONNECTION_PREFIX),
        sub=item["sub"]["S"],
        staff=bool(item["staff"]["BOOL"]),
        expires_at=int(item[TTL_ATTRIBUTE]["N"]),
    )


def from_environment(environ: Mapping[str, str]) -> DynamoRegistry:
    """The registry of a Live* function: the table template.yaml names in
    APP_LIVE_CONNECTIONS_TABLE, through the container's one DynamoDB client (the
    regional endpoint; APP_DYNAMODB_ENDPOINT_URL or the SDK's own endpoint setting
    for a local server)."""
    from app.store.sdk import new_client

    table = environ.get(TABLE_VARIABLE)
    if not table:
        raise RuntimeError(f"{TABLE_VARIABLE} is not set (the connections table)")
    return DynamoRegistry(new_client(environ.get("APP_DYNAMODB_ENDPOINT_URL") or None), table)
