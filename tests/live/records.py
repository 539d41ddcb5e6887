"""DynamoDB Streams records as Lambda delivers them, holding the table's real items.

The envelope is `sam local generate-event dynamodb update`'s (committed under
tests/lambda_events/fixtures); Keys and NewImage are what the DynamoDB store
writes (app.store.dynamodb_keys), with the stream's view type NEW_IMAGE (no
image at all on a REMOVE, only the keys).
"""

from __future__ import annotations

import copy
from typing import Any

from app.store.base import MenuItem, Order, OrderLine
from app.store.dynamodb_keys import order_to_item
from tests.lambda_events.conftest import load

KEY_NAMES = ("PK", "SK")


def record(event_name: str, item: dict[str, Any], sequence: int = 1) -> dict[str, Any]:
    """One record of ``event_name`` (INSERT, MODIFY, REMOVE) for the table item ``item``."""
    envelope = next(r for r in load("dynamodb-update.json")["Records"] if r["eventName"] == event_name)
    result = copy.deepcopy(envelope)
    data = result["dynamodb"]
    data.pop("OldImage", None)
    data.pop("NewImage", None)
    data["Keys"] = {name: item[name] for name in KEY_NAMES}
    data["StreamViewType"] = "NEW_IMAGE"
    data["SequenceNumber"] = f"{4421584500000000017450439091 + sequence}"
    if event_name != "REMOVE":
        data["NewImage"] = copy.deepcopy(item)
    return result


def order(order_id: str = "01JDQ3V8Y6Q0W6D3W6X4T9M2KZ", customer: str = "alice", **changes: Any) -> Order:
    values: dict[str, Any] = {
        "id": order_id,
        "customer": customer,
        "status": "placed",
        "lines": (OrderLine("margherita", "Margherita", 2, 1150),),
        "total_cents": 2300,
        "note": "Extra basil, please",
        "created_at": "2026-12-05T17:00:00Z",
        "updated_at": "2026-12-05T17:00:00Z",
        "version": 1,
    }
    values.update(changes)
    return Order(**values)


def dish(item_id: str = "margherita", **changes: Any) -> MenuItem:
    values: dict[str, Any] = {"id": item_id, "name": "Margherita", "price_cents": 1150, "available": True}
    values.update(changes)
    return MenuItem(**values)


def order_record(event_name: str, value: Order, sequence: int = 1) -> dict[str, Any]:
    return record(event_name, dict(order_to_item(value)), sequence)
