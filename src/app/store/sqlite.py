"""The SQLite backend: one file, WAL, a connection per thread, schema on first use.

Every write runs in a ``BEGIN IMMEDIATE`` transaction, which takes the write
lock up front, so a read-check-write inside it cannot interleave with another
writer: the conditional writes of the contract (version checks, idempotency
claims) are exact. A lock held longer than the busy timeout becomes
:class:`StoreUnavailable` (503), never a driver exception.
"""

from __future__ import annotations

import json
import sqlite3
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from app.store.base import (
    OPEN_STATUSES,
    AlreadyExists,
    IdempotencyClaim,
    IdempotencyCompletion,
    MenuItem,
    Order,
    OrderLine,
    OrderPage,
    StoredResponse,
    StoreUnavailable,
    VersionConflict,
)

BUSY_TIMEOUT_SECONDS = 5.0

SCHEMA = """
CREATE TABLE IF NOT EXISTS menu_items (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    price_cents INTEGER NOT NULL,
    available INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS orders (
    id TEXT PRIMARY KEY,
    customer TEXT NOT NULL,
    status TEXT NOT NULL,
    lines TEXT NOT NULL,
    total_cents INTEGER NOT NULL,
    note TEXT,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    version INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS orders_by_customer ON orders (customer, id DESC);
CREATE INDEX IF NOT EXISTS orders_by_status ON orders (status, id);
CREATE TABLE IF NOT EXISTS idempotency (
    key TEXT PRIMARY KEY,
    fingerprint TEXT NOT NULL,
    owner TEXT NOT NULL,
    status TEXT NOT NULL,
    response_status INTEGER,
    response_body TEXT,
    lock_until INTEGER NOT NULL,
    expires_at INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS idempotency_expiry ON idempotency (expires_at);
"""


def menu_from_row(row: sqlite3.Row) -> MenuItem:
    return MenuItem(row["id"], row["name"], row["price_cents"], bool(row["available"]))


def order_from_row(row: sqlite3.Row) -> Order:
    return Order(
        id=row["id"],
        customer=row["customer"],
        status=row["status"],
        lines=tuple(OrderLine(**line) for line in json.loads(row["lines"])),
        total_cents=row["total_cents"],
        note=row["note"],
        created_at=row["created_at"],
        updated_at=row["updated_at"],
        version=row["version"],
    )


def _order_values(order: Order) -> tuple[Any, ...]:
    lines = json.dumps(
        [
            {
                "item_id": line.item_id,
                "name": line.name,
                "quantity": line.quantity,
                "unit_price_cents": line.unit_price_cents,
            }
            for line in order.lines
        ]
    )
    return (
        order.customer,
        order.status,
        lines,
        order.total_cents,
        order.note,
        order.created_at,
        order.updated_at,
        order.version,
        order.id,
    )


class SqliteStore:
    def __init__(self, path: str, *, busy_timeout: float = BUSY_TIMEOUT_SECONDS) -> None:
        self.path = path
        self.busy_timeout = busy_timeout
        self._local = threading.local()
        self._schema_lock = threading.Lock()
        self._schema_ready = False
        self._connections: list[sqlite3.Connection] = []

    # -- plumbing --------------------------------------------------------

    def _connection(self) -> sqlite3.Connection:
        conn: sqlite3.Connection | None = getattr(self._local, "conn", None)
        if conn is None:
            if self.path != ":memory:":
                Path(self.path).parent.mkdir(parents=True, exist_ok=True)
            conn = sqlite3.connect(
                self.path, timeout=self.busy_timeout, isolation_level=None, check_same_thread=False
            )
            conn.row_factory = sqlite3.Row
            conn.execute("PRAGMA synchronous=NORMAL")
            conn.execute("PRAGMA foreign_keys=ON")
            self._local.conn = conn
            self._connections.append(conn)
            with self._schema_lock:
                if not self._schema_ready:
                    # WAL is a property of the file: set once, by the first connection,
                    # before any other of this store's threads begins a transaction. A
                    # BEGIN racing a connection that is switching the journal mode gets
                    # SQLITE_BUSY at once, without the busy timeout (seen as "database
                    # is locked" when fifty threads opened their first connection together).
                    conn.execute("PRAGMA journal_mode=WAL")
                    conn.executescript(SCHEMA)
                    self._schema_ready = True
        return conn

    @contextmanager
    def _read(self) -> Iterator[sqlite3.Connection]:
        try:
            yield self._connection()
        except sqlite3.OperationalError as error:
            raise StoreUnavailable(f"SQLite: {error}") from error

    @contextmanager
    def _write(self) -> Iterator[sqlite3.Connection]:
        """One write transaction, holding the write lock from its start."""
        try:
            conn = self._connection()
            conn.execute("BEGIN IMMEDIATE")
        except sqlite3.OperationalError as error:
            raise StoreUnavailable(f"SQLite: {error}") from error
        try:
            yield conn
        except BaseException:
            conn.execute("ROLLBACK")
            raise
        try:
            conn.execute("COMMIT")
        except sqlite3.OperationalError as error:
            conn.execute("ROLLBACK")
            raise StoreUnavailable(f"SQLite: {error}") from error

    # -- menu ------------------------------------------------------------

    def list_menu(self) -> list[MenuItem]:
        with self._read() as conn:
            rows = conn.execute("SELECT * FROM menu_items ORDER BY id").fetchall()
        return [menu_from_row(row) for row in rows]

    def get_menu_item(self, item_id: str) -> MenuItem | None:
        with self._read() as conn:
            row = conn.execute("SELECT * FROM menu_items WHERE id = ?", (item_id,)).fetchone()
        return menu_from_row(row) if row else None

    def get_menu_items(self, item_ids: list[str]) -> dict[str, MenuItem]:
        unique = sorted(set(item_ids))
        if not unique:
            return {}
        marks = ",".join("?" * len(unique))
        with self._read() as conn:
            rows = conn.execute(f"SELECT * FROM menu_items WHERE id IN ({marks})", unique).fetchall()  # noqa: S608
        return {row["id"]: menu_from_row(row) for row in rows}

    def put_menu_item(self, item: MenuItem) -> bool:
        with self._write() as conn:
            existed = conn.execute("SELECT 1 FROM menu_items WHERE id = ?", (item.id,)).fetchone()
            conn.execute(
                "INSERT INTO menu_items (id, name, price_cents, available) VALUES (?, ?, ?, ?) "
                "ON CONFLICT(id) DO UPDATE SET name = excluded.name, "
                "price_cents = excluded.price_cents, available = excluded.available",
                (item.id, item.name, item.price_cents, int(item.available)),
            )
        return existed is None

    def delete_menu_item(self, item_id: str) -> bool:
        with self._write() as conn:
            cursor = conn.execute("DELETE FROM menu_items WHERE id = ?", (item_id,))
        return cursor.rowcount > 0

    # -- orders ----------------------------------------------------------

    def create_order(self, order: Order, completion: IdempotencyCompletion | None = None) -> None:
        with self._write() as conn:
            try:
                conn.execute(
                    "INSERT INTO orders (customer, status, lines, total_cents, note, created_at, "
                    "updated_at, version, id) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    _order_values(order),
                )
            except sqlite3.IntegrityError as error:
                raise AlreadyExists(order.id) from error
            if completion is not None:
                cursor = conn.execute(
                    "UPDATE idempotency SET status = 'completed', response_status = ?, "
                    "response_body = ?, expires_at = ? "
                    "WHERE key = ? AND owner = ? AND status = 'in_progress'",
                    (
                        completion.response.status,
                        completion.response.body,
                        completion.expires_at,
                        completion.key,
                        completion.owner,
                    ),
                )
                if cursor.rowcount != 1:
                    # Someone else took the key over: roll the order back with it.
                    raise VersionConflict(f"idempotency key no longer held by {completion.owner}")

    def get_order(self, order_id: str) -> Order | None:
        with self._read() as conn:
            row = conn.execute("SELECT * FROM orders WHERE id = ?", (order_id,)).fetchone()
        return order_from_row(row) if row else None

    def list_orders(self, customer: str, *, limit: int, after: str | None) -> OrderPage:
        query = "SELECT * FROM orders WHERE customer = ?"
        params: list[Any] = [customer]
        if after is not None:
            query += " AND id < ?"
            params.append(after)
        query += " ORDER BY id DESC LIMIT ?"
        params.append(limit + 1)
        with self._read() as conn:
            rows = conn.execute(query, params).fetchall()
        orders = [order_from_row(row) for row in rows[:limit]]
        more = len(rows) > limit
        return OrderPage(items=orders, next_after=orders[-1].id if more and orders else None)

    def list_open_orders(self, *, limit: int) -> list[Order]:
        marks = ", ".join("?" * len(OPEN_STATUSES))
        with self._read() as conn:
            rows = conn.execute(
                f"SELECT * FROM orders WHERE status IN ({marks}) ORDER BY id LIMIT ?",  # noqa: S608 - placeholders
                (*sorted(OPEN_STATUSES), limit),
            ).fetchall()
        return [order_from_row(row) for row in rows]

    def update_order(self, order: Order, *, expected_version: int) -> None:
        with self._write() as conn:
            cursor = conn.execute(
                "UPDATE orders SET customer = ?, status = ?, lines = ?, total_cents = ?, note = ?, "
                "created_at = ?, updated_at = ?, version = ? WHERE id = ? AND version = ?",
                (*_order_values(order), expected_version),
            )
            if cursor.rowcount != 1:
                raise VersionConflict(order.id)

    # -- idempotency -----------------------------------------------------

    def claim_idempotency(
        self, key: str, fingerprint: str, *, owner: str, now: int, lock_until: int, expires_at: int
    ) -> IdempotencyClaim:
        with self._write() as conn:
            # Expired records go here, in the same transaction (SQLite has no TTL).
            conn.execute("DELETE FROM idempotency WHERE expires_at <= ?", (now,))
            row = conn.execute("SELECT * FROM idempotency WHERE key = ?", (key,)).fetchone()
            if row is not None and row["expires_at"] > now:
                if row["fingerprint"] != fingerprint:
                    return IdempotencyClaim("mismatch")
                if row["status"] == "completed":
                    return IdempotencyClaim(
                        "completed", StoredResponse(row["response_status"], row["response_body"])
                    )
                if row["lock_until"] > now:
                    return IdempotencyClaim("in_progress")
                # The owner died mid-request: take the key over.
            conn.execute(
                "INSERT OR REPLACE INTO idempotency "
                "(key, fingerprint, owner, status, lock_until, expires_at) "
                "VALUES (?, ?, ?, 'in_progress', ?, ?)",
                (key, fingerprint, owner, lock_until, expires_at),
            )
        return IdempotencyClaim("new")

    def release_idempotency(self, key: str, *, owner: str) -> None:
        with self._write() as conn:
            conn.execute(
                "DELETE FROM idempotency WHERE key = ? AND owner = ? AND status = 'in_progress'",
                (key, owner),
            )

    # -- operations ------------------------------------------------------

    def ping(self) -> bool:
        try:
            with self._read() as conn:
                conn.execute("SELECT 1 FROM menu_items LIMIT 1").fetchall()
        except StoreUnavailable:
            return False
        return True

    def close(self) -> None:
        for conn in self._connections:
            conn.close()
        self._connections.clear()
        self._local = threading.local()
