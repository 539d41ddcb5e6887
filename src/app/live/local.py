"""The in-process hub of `make run`: an in-memory Registry and a Transport onto asyncio queues.

The change feed delivers from its own thread (app.live.sqlite_feed); each
WebSocket connection's task waits on its queue on the event loop. Handing text
over with ``loop.call_soon_threadsafe`` is asyncio's one thread-safe way in
(https://docs.python.org/3/library/asyncio-dev.html#concurrency-and-multithreading).
"""

from __future__ import annotations

import asyncio
import threading

from app.live.audience import Listener, audiences

CLOSE = None  # put on a connection's queue: close it (its token expired)
# A client that reads nothing while changes keep coming is cut off rather than
# buffered without bound; it reconnects and re-reads, as after any drop.
MAX_PENDING = 1000


class MemoryRegistry:
    """Audience -> connections, under one lock (the feed's thread reads, the loop writes)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._members: dict[str, dict[str, Listener]] = {}
        self._audiences: dict[str, tuple[str, ...]] = {}

    def add(self, listener: Listener) -> None:
        names = audiences(listener)
        with self._lock:
            self._audiences[listener.connection_id] = names
            for name in names:
                self._members.setdefault(name, {})[listener.connection_id] = listener

    def remove(self, connection_id: str) -> None:
        with self._lock:
            for name in self._audiences.pop(connection_id, ()):
                members = self._members.get(name, {})
                members.pop(connection_id, None)
                if not members:
                    self._members.pop(name, None)

    def members(self, audience: str) -> list[Listener]:
        with self._lock:
            return list(self._members.get(audience, {}).values())

    def __len__(self) -> int:
        with self._lock:
            return len(self._audiences)


class QueueTransport:
    """Each open connection's queue, on the loop that serves it."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._queues: dict[str, tuple[asyncio.AbstractEventLoop, asyncio.Queue[str | None]]] = {}

    def open(self, connection_id: str) -> asyncio.Queue[str | None]:
        """Called on the connection's event loop."""
        queue: asyncio.Queue[str | None] = asyncio.Queue()
        with self._lock:
            self._queues[connection_id] = (asyncio.get_running_loop(), queue)
        return queue

    def forget(self, connection_id: str) -> None:
        with self._lock:
            self._queues.pop(connection_id, None)

    def _put(self, connection_id: str, text: str | None) -> bool:
        with self._lock:
            entry = self._queues.get(connection_id)
        if entry is None:
            return False
        loop, queue = entry
        if text is not CLOSE and queue.qsize() >= MAX_PENDING:
            text = CLOSE  # too far behind: closed, and forgotten as gone
        try:
            loop.call_soon_threadsafe(queue.put_nowait, text)
        except RuntimeError:  # the loop has closed: the server is stopping
            return False
        return text is not CLOSE

    def send(self, connection_id: str, text: str) -> bool:
        return self._put(connection_id, text)

    def close(self, connection_id: str) -> None:
        self._put(connection_id, CLOSE)


class Hub:
    """What the WebSocket endpoint and the change feed share in one process."""

    def __init__(self) -> None:
        self.registry = MemoryRegistry()
        self.transport = QueueTransport()

    def connect(self, listener: Listener) -> asyncio.Queue[str | None]:
        queue = self.transport.open(listener.connection_id)
        self.registry.add(listener)
        return queue

    def disconnect(self, connection_id: str) -> None:
        self.registry.remove(connection_id)
        self.transport.forget(connection_id)
