"""A stream record becomes a change, and a change becomes messages for its audiences only."""

from __future__ import annotations

import copy
import json
from typing import Any

import pytest

from app.live.audience import ALL, STAFF, customer
from app.live.changes import MenuChanged, OrderChanged, from_stream_record, messages
from app.orders.wire import order_json
from app.store.dynamodb_keys import idempotency_claim_item, kitchen_marker, menu_to_item, n, s

from .records import dish, order, order_record, record


@pytest.mark.parametrize("event_name", ["INSERT", "MODIFY"])
def test_an_order_written_to_the_table_is_an_order_change(event_name: str) -> None:
    placed = order(status="preparing", version=2)
    assert from_stream_record(order_record(event_name, placed)) == OrderChanged(placed)


def test_an_order_without_a_note_keeps_none() -> None:
    plain = order(note=None)
    assert from_stream_record(order_record("INSERT", plain)) == OrderChanged(plain)


def test_a_removed_order_announces_nothing() -> None:
    assert from_stream_record(order_record("REMOVE", order())) is None


@pytest.mark.parametrize("event_name", ["INSERT", "MODIFY"])
def test_a_menu_item_written_is_a_menu_change(event_name: str) -> None:
    item = dish(available=False)
    assert from_stream_record(record(event_name, dict(menu_to_item(item)))) == MenuChanged(item=item)


def test_a_removed_menu_item_names_its_id() -> None:
    gone = record("REMOVE", dict(menu_to_item(dish("tiramisu"))))
    assert "NewImage" not in gone["dynamodb"]
    assert from_stream_record(gone) == MenuChanged(removed="tiramisu")


OTHER_ITEMS: dict[str, dict[str, Any]] = {
    "idempotency record": dict(idempotency_claim_item("k1", "f", owner="o", lock_until=1, expires_at=2)),
    "rate-limit counter": {"PK": s("RATE#1.2.3.4"), "SK": s("WINDOW#60"), "count": n(3)},
    "kitchen marker": dict(kitchen_marker("01JDQ3V8Y6Q0W6D3W6X4T9M2KZ")),
}


@pytest.mark.parametrize("what", OTHER_ITEMS)
@pytest.mark.parametrize("event_name", ["INSERT", "MODIFY", "REMOVE"])
def test_items_that_are_neither_orders_nor_dishes_announce_nothing(what: str, event_name: str) -> None:
    assert from_stream_record(record(event_name, OTHER_ITEMS[what])) is None


def _broken(change: str) -> dict[str, Any]:
    good = order_record("MODIFY", order())
    bad = copy.deepcopy(good)
    data = bad["dynamodb"]
    if change == "no dynamodb":
        del bad["dynamodb"]
    elif change == "no keys":
        del data["Keys"]
    elif change == "numeric key":
        data["Keys"]["PK"] = {"N": "1"}
    elif change == "unknown event":
        bad["eventName"] = "UPSERT"
    elif change == "no image":
        del data["NewImage"]
    elif change == "image lacks a field":
        del data["NewImage"]["version"]
    elif change == "image of another order":
        data["NewImage"]["id"] = s("01JDQ3V8Y6Q0W6D3W6X4T9M2ZZ")
    elif change == "image of wrong type":
        data["NewImage"]["lines"] = s("[]")
    return bad


@pytest.mark.parametrize(
    "change",
    [
        "no dynamodb",
        "no keys",
        "numeric key",
        "unknown event",
        "no image",
        "image lacks a field",
        "image of another order",
        "image of wrong type",
    ],
)
def test_a_malformed_record_is_a_value_error(change: str) -> None:
    with pytest.raises(ValueError, match="stream record"):
        from_stream_record(_broken(change))


def test_something_that_is_not_a_record_is_a_value_error() -> None:
    with pytest.raises(ValueError, match="not an object"):
        from_stream_record(["not", "a", "record"])  # type: ignore[arg-type]


def test_an_order_goes_to_its_customer_and_the_staff_only_with_the_rest_apis_body() -> None:
    mine = order(customer="alice", status="ready", version=3)
    sent = messages(OrderChanged(mine))
    assert [audience for audience, _ in sent] == [customer("alice"), STAFF]
    assert customer("bob") not in {audience for audience, _ in sent}
    for _, text in sent:
        message = json.loads(text)
        assert message == {"type": "order", "order": json.loads(order_json(mine))}
        assert message["order"]["version"] == 3


def test_a_menu_change_goes_to_everyone() -> None:
    item = dish(price_cents=1200)
    assert messages(MenuChanged(item=item)) == [
        (
            ALL,
            '{"type":"menu","item":{"id":"margherita","name":"Margherita","price_cents":1200,"available":true}}',
        )
    ]
    assert messages(MenuChanged(removed="margherita")) == [(ALL, '{"type":"menu","removed":"margherita"}')]


def test_a_menu_change_is_an_item_or_a_removal_never_both_or_neither() -> None:
    with pytest.raises(ValueError, match="either an item or a removed id"):
        MenuChanged()
    with pytest.raises(ValueError, match="either an item or a removed id"):
        MenuChanged(item=dish(), removed="margherita")
