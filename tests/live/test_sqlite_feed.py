"""The local change feed: what the SQLite triggers record, and what a look reads from them."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from app.live.changes import MenuChanged, OrderChanged
from app.live.local import MemoryRegistry
from app.live.sqlite_feed import SqliteFeed, connect, install, read_changes
from app.store.sqlite import SqliteStore

from .records import dish, order
from .test_fanout import ALICE, COOK, Recorder


@pytest.fixture
def store(tmp_path: Path) -> SqliteStore:
    store = SqliteStore(str(tmp_path / "app.db"))
    store.ping()  # the schema
    return store


def test_each_changed_row_is_read_once_at_its_latest_state_in_the_order_of_its_last_change(
    store: SqliteStore,
) -> None:
    conn = connect(store.path)
    start = install(conn)
    first = order("01JDQ3V8Y6Q0W6D3W6X4T9M2K1")
    store.create_order(first)
    store.put_menu_item(dish("marinara"))
    moved = order("01JDQ3V8Y6Q0W6D3W6X4T9M2K1", status="preparing", version=2)
    store.update_order(moved, expected_version=1)
    changes, cursor = read_changes(conn, start)
    assert changes == [MenuChanged(item=dish("marinara")), OrderChanged(moved)]
    store.put_menu_item(dish("marinara", available=False))
    store.delete_menu_item("marinara")
    changes, cursor = read_changes(conn, cursor)
    assert changes == [MenuChanged(removed="marinara")]
    assert read_changes(conn, cursor) == ([], cursor)


def test_a_rolled_back_write_leaves_nothing_to_read(store: SqliteStore) -> None:
    conn = connect(store.path)
    start = install(conn)
    writer = sqlite3.connect(store.path, isolation_level=None)
    writer.execute("BEGIN IMMEDIATE")
    writer.execute("INSERT INTO menu_items VALUES ('ghost', 'Ghost', 1, 1)")
    writer.execute("ROLLBACK")
    assert read_changes(conn, start) == ([], start)


def test_a_deleted_order_announces_nothing_and_an_unreadable_row_is_skipped(store: SqliteStore) -> None:
    conn = connect(store.path)
    start = install(conn)
    store.create_order(order("01JDQ3V8Y6Q0W6D3W6X4T9M2K1"))
    store.create_order(order("01JDQ3V8Y6Q0W6D3W6X4T9M2K2"))
    writer = sqlite3.connect(store.path, isolation_level=None)
    writer.execute("DELETE FROM orders WHERE id = '01JDQ3V8Y6Q0W6D3W6X4T9M2K1'")
    writer.execute("UPDATE orders SET lines = 'not json' WHERE id = '01JDQ3V8Y6Q0W6D3W6X4T9M2K2'")
    store.put_menu_item(dish())
    assert read_changes(conn, start)[0] == [MenuChanged(item=dish())]


def test_a_feed_delivers_what_was_committed_since_it_started_and_trims_old_rows(store: SqliteStore) -> None:
    store.put_menu_item(dish("before"))  # before the feed (and its triggers): nobody was listening
    registry, transport = MemoryRegistry(), Recorder()
    registry.add(ALICE)
    registry.add(COOK)
    clock = [1_800_000_000.0]
    feed = SqliteFeed(store.path, registry, transport, clock=lambda: clock[0])
    version = feed.poll(None)
    assert transport.sent == []
    store.create_order(order(customer="bob"))
    assert feed.poll(version) != version
    assert transport.receivers() == ["c-cook"]

    conn = connect(store.path)
    assert conn.execute("SELECT COUNT(*) FROM live_changes").fetchone()[0] == 1
    clock[0] += 3600  # an hour on: every row is old
    feed.trim()
    assert conn.execute("SELECT COUNT(*) FROM live_changes").fetchone()[0] == 0
    feed.stop()
