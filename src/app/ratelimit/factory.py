"""The configured limiter, built once per container; boto3 loads at the first request, not at import."""

from __future__ import annotations

import threading
from collections.abc import Callable

from app.ratelimit.limiter import Counter, Limiter, MemoryCounter
from app.settings import Settings


class LazyCounter:
    """Builds the real counter on first use (keeps the SDK out of the cold-start import)."""

    blocking = True

    def __init__(self, build: Callable[[], Counter]) -> None:
        self._build = build
        self._counter: Counter | None = None
        self._lock = threading.Lock()

    def increment(self, key: str, window_start: int, expires_at: int) -> int:
        counter = self._counter
        if counter is None:
            with self._lock:
                if self._counter is None:
                    self._counter = self._build()
                counter = self._counter
        return counter.increment(key, window_start, expires_at)


def build_limiter(settings: Settings) -> Limiter | None:
    rate = settings.rate
    if not rate.enabled:
        return None
    if settings.store == "dynamodb":
        table, endpoint = settings.dynamodb_table, settings.dynamodb_endpoint_url
        assert table is not None

        def dynamo() -> Counter:
            from app.ratelimit.dynamodb import DynamoCounter

            return DynamoCounter(table, endpoint_url=endpoint)

        return Limiter(rate, LazyCounter(dynamo))
    # One process's memory: right for local runs and a single uvicorn worker.
    return Limiter(rate, MemoryCounter())
