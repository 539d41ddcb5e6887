"""A change to the data, from wherever it was seen, and the messages it becomes.

:func:`from_stream_record` reads one DynamoDB Streams record as Lambda delivers it
(``event["Records"][i]``, StreamViewType ``NEW_IMAGE``: the item as it is after the
write, none for a REMOVE; https://docs.aws.amazon.com/amazondynamodb/latest/
developerguide/Streams.Lambda.html). :func:`messages` is the one place that turns a
change into the wire protocol (SPEC "Live orders"): the same JSON as the REST API.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from app.live.audience import ALL, STAFF, customer
from app.menu.wire import item_dict
from app.orders.wire import order_dict
from app.store.base import MenuItem, Order
from app.store.dynamodb_keys import ITEM_PREFIX, MENU_PK, menu_from_item, order_from_item

ORDER_PREFIX = "ORDER#"
ORDER_SK = "ORDER"
EVENT_NAMES = frozenset({"INSERT", "MODIFY", "REMOVE"})


@dataclass(frozen=True, slots=True)
class OrderChanged:
    order: Order


@dataclass(frozen=True, slots=True)
class MenuChanged:
    item: MenuItem | None = None
    removed: str | None = None

    def __post_init__(self) -> None:
        if (self.item is None) == (self.removed is None):
            raise ValueError("a menu change is either an item or a removed id")


Change = OrderChanged | MenuChanged


def _string_key(keys: Mapping[str, Any], name: str) -> str:
    value = keys.get(name)
    if not isinstance(value, Mapping) or not isinstance(value.get("S"), str):
        raise ValueError(f"stream record key {name} is not a string")
    return str(value["S"])


def from_stream_record(record: Mapping[str, Any]) -> Change | None:
    """The change one stream record describes; None for an item that is neither an
    order nor a menu item (idempotency records, rate counters, the kitchen's
    markers) and for a removed order. Malformed: ValueError (the batch reports it)."""
    if not isinstance(record, Mapping):
        raise ValueError("stream record is not an object")
    name = record.get("eventName")
    data = record.get("dynamodb")
    if name not in EVENT_NAMES or not isinstance(data, Mapping) or not isinstance(data.get("Keys"), Mapping):
        raise ValueError("stream record has no eventName or dynamodb.Keys")
    pk, sk = _string_key(data["Keys"], "PK"), _string_key(data["Keys"], "SK")
    is_order = pk.startswith(ORDER_PREFIX) and sk == ORDER_SK
    is_menu = pk == MENU_PK and sk.startswith(ITEM_PREFIX)
    if not (is_order or is_menu):
        return None
    key_id = pk.removeprefix(ORDER_PREFIX) if is_order else sk.removeprefix(ITEM_PREFIX)
    if name == "REMOVE":
        return MenuChanged(removed=key_id) if is_menu else None
    image = data.get("NewImage")
    if not isinstance(image, Mapping):
        raise ValueError(f"stream record {name} has no NewImage (the view type must be NEW_IMAGE)")
    change: Change
    try:
        if is_order:
            order = order_from_item(image)
            image_id, change = order.id, OrderChanged(order)
        else:
            item = menu_from_item(image)
            image_id, change = item.id, MenuChanged(item=item)
    except (KeyError, TypeError, ValueError, AttributeError) as error:
        raise ValueError(f"stream record image is malformed: {error!r}") from None
    if image_id != key_id:
        raise ValueError("stream record image does not match its keys")
    return change


def _text(message: dict[str, object]) -> str:
    return json.dumps(message, separators=(",", ":"))


# The replies to a client's message, the same in every place: {"action": "ping"} is the
# only one understood (SPEC "Live orders"); anything else is answered, never echoed.
PONG = _text({"type": "pong"})
NOT_UNDERSTOOD = _text({"type": "error", "detail": 'The only message understood is {"action": "ping"}.'})


def messages(change: Change) -> list[tuple[str, str]]:
    """``[(audience, JSON text)]``: an order to its customer and the staff, the menu to all."""
    if isinstance(change, OrderChanged):
        text = _text({"type": "order", "order": order_dict(change.order)})
        return [(customer(change.order.customer), text), (STAFF, text)]
    if change.item is not None:
        return [(ALL, _text({"type": "menu", "item": item_dict(change.item)}))]
    return [(ALL, _text({"type": "menu", "removed": change.removed}))]
