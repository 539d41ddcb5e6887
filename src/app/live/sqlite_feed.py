"""The change feed of `make run`: SQLite triggers and a poller, the local DynamoDB Stream.

Triggers on ``orders`` and ``menu_items`` append ``(kind, key, version)`` to
``live_changes`` inside the writing transaction, whoever writes (the API, a retry,
an operator's script with its own sqlite3 connection): a committed write is
announced, a rolled-back one never is, as a DynamoDB Stream holds only what was
written. A thread wakes every :data:`POLL_SECONDS`, asks ``PRAGMA data_version``
whether another connection committed anything (https://www.sqlite.org/pragma.html#pragma_data_version),
and if so reads the new rows and the rows they name in one read transaction (one
snapshot), so each changed order or dish is delivered once per look, at its
latest version, and versions only grow from one look to the next.
"""

from __future__ import annotations

import logging
import sqlite3
import threading
import time
from collections.abc import Callable

from app.live.changes import Change, MenuChanged, OrderChanged
from app.live.fanout import Registry, Transport, deliver
from app.store.sqlite import menu_from_row, order_from_row

log = logging.getLogger("app.live")

POLL_SECONDS = 0.02
KEEP_SECONDS = 60  # rows older than this are trimmed: every process has read them by then
TRIM_EVERY_SECONDS = 5.0

TRIGGERS = """
CREATE TABLE IF NOT EXISTS live_changes (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    kind TEXT NOT NULL,
    key TEXT NOT NULL,
    version INTEGER,
    at INTEGER NOT NULL DEFAULT (CAST(strftime('%s', 'now') AS INTEGER))
);
CREATE TRIGGER IF NOT EXISTS live_order_inserted AFTER INSERT ON orders BEGIN
    INSERT INTO live_changes (kind, key, version) VALUES ('order', NEW.id, NEW.version);
END;
CREATE TRIGGER IF NOT EXISTS live_order_updated AFTER UPDATE ON orders BEGIN
    INSERT INTO live_changes (kind, key, version) VALUES ('order', NEW.id, NEW.version);
END;
CREATE TRIGGER IF NOT EXISTS live_menu_inserted AFTER INSERT ON menu_items BEGIN
    INSERT INTO live_changes (kind, key) VALUES ('menu', NEW.id);
END;
CREATE TRIGGER IF NOT EXISTS live_menu_updated AFTER UPDATE ON menu_items BEGIN
    INSERT INTO live_changes (kind, key) VALUES ('menu', NEW.id);
END;
CREATE TRIGGER IF NOT EXISTS live_menu_deleted AFTER DELETE ON menu_items BEGIN
    INSERT INTO live_changes (kind, key) VALUES ('menu', OLD.id);
END;
"""


def connect(path: str) -> sqlite3.Connection:
    conn = sqlite3.connect(path, timeout=5.0, isolation_level=None, check_same_thread=False)
    conn.row_factory = sqlite3.Row
    return conn


def install(conn: sqlite3.Connection) -> int:
    """Creates the table and triggers (the store's tables must exist); returns the
    last sequence number, where a new feed starts (earlier changes had no listener)."""
    conn.executescript(TRIGGERS)
    row = conn.execute("SELECT COALESCE(MAX(seq), 0) FROM live_changes").fetchone()
    return int(row[0])


def _current(conn: sqlite3.Connection, kind: str, key: str) -> Change | None:
    if kind == "order":
        found = conn.execute("SELECT * FROM orders WHERE id = ?", (key,)).fetchone()
        # A deleted order (only an operator deletes one) announces nothing, as in the cloud.
        return OrderChanged(order_from_row(found)) if found is not None else None
    found = conn.execute("SELECT * FROM menu_items WHERE id = ?", (key,)).fetchone()
    return MenuChanged(item=menu_from_row(found)) if found is not None else MenuChanged(removed=key)


def read_changes(conn: sqlite3.Connection, after: int) -> tuple[list[Change], int]:
    """The changes after sequence ``after`` (each order or dish once, at its current
    state, in the order of its last change) and the new cursor."""
    conn.execute("BEGIN")  # one snapshot for the rows and what they name
    try:
        rows = conn.execute(
            "SELECT seq, kind, key FROM live_changes WHERE seq > ? ORDER BY seq", (after,)
        ).fetchall()
        latest: dict[tuple[str, str], int] = {}
        for row in rows:
            latest.pop((row["kind"], row["key"]), None)  # re-inserted: ordered by its last change
            latest[(row["kind"], row["key"])] = row["seq"]
        changes: list[Change] = []
        for kind, key in latest:
            try:
                change = _current(conn, kind, key)
            except (ValueError, TypeError, KeyError) as error:  # a row an operator's script mangled
                log.warning("live updates: %s %s is unreadable, not announced: %r", kind, key, error)
                continue
            if change is not None:
                changes.append(change)
    finally:
        conn.execute("COMMIT")
    return changes, (rows[-1]["seq"] if rows else after)


class SqliteFeed:
    """The poller thread: started by the app's lifespan under uvicorn, stopped with it."""

    def __init__(
        self,
        path: str,
        registry: Registry,
        transport: Transport,
        *,
        poll_seconds: float = POLL_SECONDS,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.path = path
        self.registry = registry
        self.transport = transport
        self.poll_seconds = poll_seconds
        self.clock = clock
        self._stop = threading.Event()
        self._conn = connect(path)
        self.cursor = install(self._conn)
        self._thread = threading.Thread(target=self._run, name="live-sqlite-feed", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread.ident is not None:  # started
            self._thread.join(timeout=5)
        self._conn.close()

    def poll(self, last_version: int | None) -> int:
        """One look: delivers what was committed since the last; returns data_version."""
        version = int(self._conn.execute("PRAGMA data_version").fetchone()[0])
        if version != last_version:
            changes, self.cursor = read_changes(self._conn, self.cursor)
            now = int(self.clock())
            for change in changes:
                deliver(change, self.registry, self.transport, now=now)
        return version

    def trim(self) -> None:
        self._conn.execute("DELETE FROM live_changes WHERE at < ?", (int(self.clock()) - KEEP_SECONDS,))

    def _run(self) -> None:
        version: int | None = None
        trimmed = 0.0
        while not self._stop.wait(self.poll_seconds):
            try:
                version = self.poll(version)
                if time.monotonic() - trimmed >= TRIM_EVERY_SECONDS:
                    self.trim()
                    trimmed = time.monotonic()
            except sqlite3.Error as error:  # a busy file: the next look tries again
                log.warning("live updates: reading the change feed failed: %s", error)
                version = None
