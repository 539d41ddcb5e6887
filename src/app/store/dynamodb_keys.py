"""The DynamoDB backend's key design and its item <-> record mapping.

Single-table design. Every item has string keys ``PK`` (partition) and ``SK``
(sort); one global secondary index ``GSI1`` serves the only query by a
non-key attribute. Access patterns and the keys that answer them:

=====================================  ==============================  =============================
access pattern                         key                             operation
=====================================  ==============================  =============================
menu item by id                        PK=MENU, SK=ITEM#<id>           GetItem (consistent)
all menu items, by id                  PK=MENU, SK begins_with ITEM#   Query (consistent), never Scan
some menu items (an order's lines)     PK=MENU, SK=ITEM#<id> ...       BatchGetItem (consistent)
order by id                            PK=ORDER#<id>, SK=ORDER         GetItem (consistent)
a customer's orders, newest first      GSI1PK=CUSTOMER#<sub>,          Query GSI1 descending,
                                       GSI1SK=<order id>               cursor = the last order id
open orders, oldest first (kitchen)    a marker PK=ORDER#<id>, SK=OPEN Query GSI1 ascending, then
                                       GSI1PK=KITCHEN#OPEN,            BatchGetItem the orders
                                       GSI1SK=<order id>               (consistent)
idempotency record by key              PK=IDEM#<key>, SK=IDEM          conditional PutItem
rate-limit counter (reserved)          PK=RATE#<client>,               conditional UpdateItem (ADD)
                                       SK=WINDOW#<window start>
=====================================  ==============================  =============================

The whole menu lives in one partition: a restaurant's menu is small (far below
a partition's 10 GB and 3000 reads/s), it is cached in each container, and one
partition is what lets it be read with a Query. Orders get a partition each, so
writes spread evenly. Order ids are ULID-like and sort by creation time, so
``GSI1SK=<order id>`` with ``ScanIndexForward=False`` lists newest first, and the
cursor of a page is just the last id on it.

The kitchen's marker of an order is written in the order's own creation
transaction and deleted when the order is served or cancelled, so the board is
one Query of a sparse partition of the one index (no second index, no Scan).
The delete follows the order's conditional write rather than joining it in a
transaction: the conditional PutItem alone decides which of concurrent writers
wins, as before. Should a process die between the two, the marker outlives its
open order; the board reads every order it lists from the table, consistently,
and leaves out what is no longer open, so a late marker costs a read, never a
wrong board.

Items that expire (idempotency records, rate-limit counters) carry
``expires_at`` in epoch seconds, the table's TTL attribute. TTL deletion is lazy
(within days), so every condition also compares ``expires_at`` with "now".

The mapping is hand-written (a few fields, no Decimal round trip) between the
backend-neutral records of :mod:`app.store.base` and DynamoDB's attribute maps.
It imports no SDK: the operations (:mod:`app.store.dynamodb`) send what it builds.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Final

from app.store.base import MenuItem, Order, OrderLine, StoredResponse

if TYPE_CHECKING:
    from typing import TypeAlias

    from mypy_boto3_dynamodb.type_defs import (
        AttributeDefinitionTypeDef,
        AttributeValueTypeDef,
        GlobalSecondaryIndexTypeDef,
        KeySchemaElementTypeDef,
    )

    Item: TypeAlias = dict[str, AttributeValueTypeDef]

# -- the table, as CreateTable wants it (template.yaml must match; a test compares them) --

GSI1: Final = "GSI1"
TTL_ATTRIBUTE: Final = "expires_at"
BILLING_MODE: Final = "PAY_PER_REQUEST"
KEY_SCHEMA: list[KeySchemaElementTypeDef] = [
    {"AttributeName": "PK", "KeyType": "HASH"},
    {"AttributeName": "SK", "KeyType": "RANGE"},
]
ATTRIBUTE_DEFINITIONS: list[AttributeDefinitionTypeDef] = [
    {"AttributeName": "PK", "AttributeType": "S"},
    {"AttributeName": "SK", "AttributeType": "S"},
    {"AttributeName": "GSI1PK", "AttributeType": "S"},
    {"AttributeName": "GSI1SK", "AttributeType": "S"},
]
GLOBAL_SECONDARY_INDEXES: list[GlobalSecondaryIndexTypeDef] = [
    {
        "IndexName": GSI1,
        "KeySchema": [
            {"AttributeName": "GSI1PK", "KeyType": "HASH"},
            {"AttributeName": "GSI1SK", "KeyType": "RANGE"},
        ],
        "Projection": {"ProjectionType": "ALL"},
    }
]

# -- keys -------------------------------------------------------------------------------

MENU_PK: Final = "MENU"
ITEM_PREFIX: Final = "ITEM#"
KITCHEN_PK: Final = "KITCHEN#OPEN"


def s(value: str) -> AttributeValueTypeDef:
    return {"S": value}


def n(value: int) -> AttributeValueTypeDef:
    return {"N": str(value)}


PING_KEY: Final[Item] = {"PK": s("HEALTH"), "SK": s("PING")}  # never written


def menu_key(item_id: str) -> Item:
    return {"PK": s(MENU_PK), "SK": s(ITEM_PREFIX + item_id)}


def order_key(order_id: str) -> Item:
    return {"PK": s("ORDER#" + order_id), "SK": s("ORDER")}


def idem_key(key: str) -> Item:
    return {"PK": s("IDEM#" + key), "SK": s("IDEM")}


def kitchen_marker_key(order_id: str) -> Item:
    return {"PK": s("ORDER#" + order_id), "SK": s("OPEN")}


def customer_partition(customer: str) -> AttributeValueTypeDef:
    """The GSI1 partition of a customer's orders."""
    return s("CUSTOMER#" + customer)


def customer_orders_start_key(customer: str, after: str) -> Item:
    """Where a page of a customer's orders resumes. A GSI's start key names the
    index keys and the table keys. The order need not exist: the Query resumes at
    the first id below ``after``."""
    return {"GSI1PK": customer_partition(customer), "GSI1SK": s(after), **order_key(after)}


# -- items <-> records ------------------------------------------------------------------


def menu_to_item(menu_item: MenuItem) -> Item:
    return {
        **menu_key(menu_item.id),
        "id": s(menu_item.id),
        "name": s(menu_item.name),
        "price_cents": n(menu_item.price_cents),
        "available": {"BOOL": menu_item.available},
    }


def menu_from_item(item: Mapping[str, Any]) -> MenuItem:
    return MenuItem(
        id=item["id"]["S"],
        name=item["name"]["S"],
        price_cents=int(item["price_cents"]["N"]),
        available=bool(item["available"]["BOOL"]),
    )


def kitchen_marker(order_id: str) -> Item:
    """An open order's entry on the kitchen's board (the sparse GSI1 partition)."""
    return {**kitchen_marker_key(order_id), "GSI1PK": s(KITCHEN_PK), "GSI1SK": s(order_id)}


def kitchen_marker_order_id(item: Mapping[str, Any]) -> str:
    return str(item["GSI1SK"]["S"])


def order_to_item(order: Order) -> Item:
    item: Item = {
        **order_key(order.id),
        "GSI1PK": customer_partition(order.customer),
        "GSI1SK": s(order.id),
        "id": s(order.id),
        "customer": s(order.customer),
        "status": s(order.status),
        "lines": {
            "L": [
                {
                    "M": {
                        "item_id": s(line.item_id),
                        "name": s(line.name),
                        "quantity": n(line.quantity),
                        "unit_price_cents": n(line.unit_price_cents),
                    }
                }
                for line in order.lines
            ]
        },
        "total_cents": n(order.total_cents),
        "created_at": s(order.created_at),
        "updated_at": s(order.updated_at),
        "version": n(order.version),
    }
    if order.note is not None:  # absent means None; "" stays ""
        item["note"] = s(order.note)
    return item


def order_from_item(item: Mapping[str, Any]) -> Order:
    lines = tuple(
        OrderLine(
            item_id=line["M"]["item_id"]["S"],
            name=line["M"]["name"]["S"],
            quantity=int(line["M"]["quantity"]["N"]),
            unit_price_cents=int(line["M"]["unit_price_cents"]["N"]),
        )
        for line in item["lines"]["L"]
    )
    note = item.get("note")
    return Order(
        id=item["id"]["S"],
        customer=item["customer"]["S"],
        status=item["status"]["S"],
        lines=lines,
        total_cents=int(item["total_cents"]["N"]),
        note=note["S"] if note is not None and "S" in note else None,
        created_at=item["created_at"]["S"],
        updated_at=item["updated_at"]["S"],
        version=int(item["version"]["N"]),
    )


def idempotency_claim_item(
    key: str, fingerprint: str, *, owner: str, lock_until: int, expires_at: int
) -> Item:
    """An idempotency record taken by ``owner``: in progress until ``lock_until``."""
    return {
        **idem_key(key),
        "status": s("in_progress"),
        "fingerprint": s(fingerprint),
        "owner": s(owner),
        "lock_until": n(lock_until),
        TTL_ATTRIBUTE: n(expires_at),
    }


def stored_response(item: Mapping[str, Any]) -> StoredResponse:
    """The response a completed idempotency record replays."""
    return StoredResponse(int(item["response_status"]["N"]), item["response_body"]["S"])
