"""Fixed-window counters: at most ``limit`` requests per client per window.

A fixed window needs one atomic increment per request, which is what lets the
DynamoDB limiter hold the limit across every Lambda instance with a single
round trip. Its known cost: a client can spend one window's quota at its very
end and the next at its start (at most twice the limit over any window-long
span straddling a boundary); the gateway's stage throttling bounds the total.
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

from app.settings import RateLimit


@dataclass(frozen=True, slots=True)
class Decision:
    allowed: bool
    limit: int
    remaining: int
    reset_seconds: int  # until the window ends


class Counter(Protocol):
    # True when increment does I/O: the middleware then keeps it off the event loop.
    blocking: bool

    def increment(self, key: str, window_start: int, expires_at: int) -> int:
        """Add one to the counter of (key, window) and return the new count."""
        ...


class Limiter:
    def __init__(self, rate: RateLimit, counter: Counter, *, clock: Callable[[], float] = time.time) -> None:
        self.rate = rate
        self.counter = counter
        self.clock = clock

    def hit(self, key: str) -> Decision:
        now = self.clock()
        window = self.rate.window_seconds
        start = int(now // window) * window
        count = self.counter.increment(key, start, start + window + 60)
        reset = max(1, math.ceil(start + window - now))
        limit = self.rate.limit
        return Decision(count <= limit, limit, max(0, limit - count), reset)


class MemoryCounter:
    """One process's counters (local runs; a single uvicorn worker)."""

    blocking = False  # a dict update under a lock: cheaper inline than any thread hand-off

    def __init__(self, *, clock: Callable[[], float] = time.time) -> None:
        self._counts: dict[tuple[str, int], int] = {}
        self._lock = threading.Lock()
        self._clock = clock
        self._current_window = -1

    def increment(self, key: str, window_start: int, expires_at: int) -> int:
        with self._lock:
            if window_start != self._current_window:
                # A new window: drop every counter of the old ones.
                self._counts = {k: v for k, v in self._counts.items() if k[1] >= window_start}
                self._current_window = window_start
            count = self._counts.get((key, window_start), 0) + 1
            self._counts[(key, window_start)] = count
            return count
