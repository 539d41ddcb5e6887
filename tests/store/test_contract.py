"""The storage contract, run against both backends (SQLite file, DynamoDB server on loopback)."""

from __future__ import annotations

import threading
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace

import pytest

from app.orders.ids import new_order_id
from app.store.base import (
    AlreadyExists,
    IdempotencyCompletion,
    MenuItem,
    Order,
    OrderLine,
    Store,
    StoredResponse,
    VersionConflict,
)

NOW = int(time.time())


def make_order(customer: str = "alice", *, order_id: str | None = None, ms: int | None = None) -> Order:
    line = OrderLine("margherita", "Margherita", 2, 1150)
    return Order(
        id=order_id or new_order_id(ms),
        customer=customer,
        status="placed",
        lines=(line,),
        total_cents=2300,
        note="extra basil",
        created_at="2026-11-25T07:00:00.000Z",
        updated_at="2026-11-25T07:00:00.000Z",
        version=1,
    )


def claim(store: Store, key: str, fingerprint: str = "fp", owner: str = "o1", now: int = NOW, **kw: int):  # type: ignore[no-untyped-def]
    return store.claim_idempotency(
        key,
        fingerprint,
        owner=owner,
        now=now,
        lock_until=kw.get("lock_until", now + 30),
        expires_at=kw.get("expires_at", now + 86400),
    )


# -- menu --------------------------------------------------------------------


def test_menu_put_get_list_delete(store: Store) -> None:
    assert store.list_menu() == []
    pizza = MenuItem("margherita", "Margherita", 1150, True)
    assert store.put_menu_item(pizza) is True
    assert store.put_menu_item(replace(pizza, price_cents=1200)) is False
    assert store.get_menu_item("margherita") == replace(pizza, price_cents=1200)
    store.put_menu_item(MenuItem("calzone", "Calzone", 1300, False))
    assert [item.id for item in store.list_menu()] == ["calzone", "margherita"]
    assert set(store.get_menu_items(["calzone", "nope", "calzone"])) == {"calzone"}
    assert store.delete_menu_item("calzone") is True
    assert store.delete_menu_item("calzone") is False
    assert store.get_menu_item("calzone") is None


# -- orders --------------------------------------------------------------------


def test_order_round_trip(store: Store) -> None:
    order = make_order()
    store.create_order(order)
    assert store.get_order(order.id) == order
    assert store.get_order(new_order_id()) is None


def test_an_order_id_is_never_written_twice(store: Store) -> None:
    order = make_order()
    store.create_order(order)
    with pytest.raises(AlreadyExists):
        store.create_order(replace(order, customer="mallory"))
    assert store.get_order(order.id) == order


def test_list_orders_newest_first_with_pages(store: Store) -> None:
    base = 1_700_000_000_000
    mine = [make_order(ms=base + i) for i in range(5)]
    for order in mine:
        store.create_order(order)
    store.create_order(make_order("bob", ms=base + 10))
    expected = [order.id for order in reversed(mine)]

    first = store.list_orders("alice", limit=2, after=None)
    assert [o.id for o in first.items] == expected[:2]
    assert first.next_after == expected[1]
    second = store.list_orders("alice", limit=2, after=first.next_after)
    assert [o.id for o in second.items] == expected[2:4]
    third = store.list_orders("alice", limit=2, after=second.next_after)
    assert [o.id for o in third.items] == expected[4:]
    assert third.next_after is None
    assert [o.customer for o in store.list_orders("bob", limit=10, after=None).items] == ["bob"]
    assert store.list_orders("nobody", limit=10, after=None).items == []


def test_open_orders_of_every_customer_oldest_first_until_served_or_cancelled(store: Store) -> None:
    base = 1_700_000_000_000
    first, second, third = make_order(ms=base), make_order("bob", ms=base + 1), make_order(ms=base + 2)
    for order in (first, second, third):
        store.create_order(order)
    assert [o.id for o in store.list_open_orders(limit=10)] == [first.id, second.id, third.id]
    assert [o.id for o in store.list_open_orders(limit=2)] == [first.id, second.id]

    preparing = replace(first, status="preparing", version=2)
    store.update_order(preparing, expected_version=1)
    store.update_order(replace(preparing, status="ready", version=3), expected_version=2)
    store.update_order(replace(second, status="cancelled", version=2), expected_version=1)
    listed = store.list_open_orders(limit=10)
    assert [(o.id, o.status, o.version) for o in listed] == [(first.id, "ready", 3), (third.id, "placed", 1)]
    assert listed[1] == third  # the whole order, as stored

    store.update_order(replace(first, status="served", version=4), expected_version=3)
    assert [o.id for o in store.list_open_orders(limit=10)] == [third.id]
    # A losing conditional write leaves the board as it was.
    with pytest.raises(VersionConflict):
        store.update_order(replace(third, status="cancelled", version=2), expected_version=7)
    assert [o.id for o in store.list_open_orders(limit=10)] == [third.id]


def test_an_order_placed_with_an_idempotency_key_is_open_too(store: Store) -> None:
    assert claim(store, "k-open").state == "new"
    order = make_order()
    completion = IdempotencyCompletion("k-open", "o1", StoredResponse(201, "{}"), NOW + 86400)
    store.create_order(order, completion)
    assert [o.id for o in store.list_open_orders(limit=10)] == [order.id]


def test_update_is_conditional_on_the_version(store: Store) -> None:
    order = make_order()
    store.create_order(order)
    moved = replace(order, status="preparing", version=2)
    store.update_order(moved, expected_version=1)
    assert store.get_order(order.id) == moved
    with pytest.raises(VersionConflict):
        store.update_order(replace(order, status="cancelled", version=2), expected_version=1)
    assert store.get_order(order.id) == moved
    with pytest.raises(VersionConflict):
        store.update_order(make_order(), expected_version=1)  # never created


def test_concurrent_updates_one_winner_per_version(store: Store) -> None:
    order = make_order()
    store.create_order(order)
    rounds, writers = 5, 12
    winners: Counter[int] = Counter()
    for version in range(1, rounds + 1):
        barrier = threading.Barrier(writers)

        def attempt(writer: int, version: int = version, barrier: threading.Barrier = barrier) -> bool:
            updated = replace(order, note=f"writer {writer}", version=version + 1)
            barrier.wait()
            try:
                store.update_order(updated, expected_version=version)
            except VersionConflict:
                return False
            return True

        with ThreadPoolExecutor(writers) as pool:
            results = list(pool.map(attempt, range(writers)))
        winners[version] = results.count(True)
    assert winners == dict.fromkeys(range(1, rounds + 1), 1)
    final = store.get_order(order.id)
    assert final is not None
    assert final.version == rounds + 1


# -- idempotency -----------------------------------------------------------------


def test_idempotency_claim_then_complete_then_replay(store: Store) -> None:
    assert claim(store, "k").state == "new"
    assert claim(store, "k", owner="o2").state == "in_progress"
    assert claim(store, "k", fingerprint="other").state == "mismatch"
    order = make_order()
    response = StoredResponse(201, '{"id": "x"}')
    store.create_order(order, IdempotencyCompletion("k", "o1", response, NOW + 86400))
    replay = claim(store, "k", owner="o3")
    assert replay.state == "completed"
    assert replay.response == response
    assert claim(store, "k", fingerprint="other").state == "mismatch"


def test_idempotency_record_expires(store: Store) -> None:
    assert claim(store, "k", expires_at=NOW + 10).state == "new"
    assert claim(store, "k", owner="o2", now=NOW + 11, fingerprint="new-body").state == "new"


def test_a_dead_owners_claim_is_taken_over_and_its_late_write_refused(store: Store) -> None:
    assert claim(store, "k", lock_until=NOW + 30).state == "new"
    assert claim(store, "k", owner="o2", now=NOW + 31).state == "new"
    late = make_order()
    with pytest.raises(VersionConflict):
        store.create_order(late, IdempotencyCompletion("k", "o1", StoredResponse(201, "{}"), NOW + 86400))
    assert store.get_order(late.id) is None  # the order and its record stand or fall together


def test_release_frees_the_key_for_its_owner_only(store: Store) -> None:
    claim(store, "k")
    store.release_idempotency("k", owner="someone-else")
    assert claim(store, "k", owner="o2").state == "in_progress"
    store.release_idempotency("k", owner="o1")
    assert claim(store, "k", owner="o2").state == "new"


def test_fifty_concurrent_claims_one_winner(store: Store) -> None:
    barrier = threading.Barrier(50)

    def attempt(i: int) -> str:
        barrier.wait()
        return claim(store, "same-key", owner=f"owner-{i}").state

    with ThreadPoolExecutor(50) as pool:
        states = Counter(pool.map(attempt, range(50)))
    assert states == {"new": 1, "in_progress": 49}


def test_ping(store: Store) -> None:
    assert store.ping() is True
